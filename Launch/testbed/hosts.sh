#!/usr/bin/env bash
# Multi-host test bed on one machine (root, iproute2): N "test hosts" = network namespaces
# PREFIX-h1..PREFIX-hN, each with its own address 10.231.X.i/24 on a veth pair joined to a bridge
# PREFIXbr (10.231.X.254, where mpirun listens), and its own UTS hostname for the processes the
# launch agent starts there. MPI traffic is forced onto TCP over these addresses (no shared memory).
#
#   hosts.sh up N [PREFIX]             create N hosts (PREFIX default avtb; ≤ 10 letters/digits)
#   hosts.sh down [PREFIX]             remove them; also every test bed whose owner process is gone
#   hosts.sh run N [PREFIX] -- CMD…    up, run CMD with AVTB_PREFIX set, down (also on failure)
#   hosts.sh profile NAME [PREFIX]     shape every link: bare, 1g, 10g, 1g-0.1ms, 1g-1ms, loss1
#   hosts.sh link up|down HOST [PREFIX]  take a host's link down (packets vanish, sockets stay open)
#   hosts.sh kill HOST [PREFIX]        SIGKILL every process running in a host
#   hosts.sh mpirun PREFIX [mpirun args] -- PROGRAM [ARGS]   run a job on the test hosts
#   hosts.sh hostfile [PREFIX]         print the hostfile path (slots = ranks per host)
#   hosts.sh dropped [PREFIX]          packets the loss1 profile has dropped so far (all hosts)
#
# Delay profiles need tc netem (sch_netem) and loss needs nftables with numgen (nft); a kernel
# without them gets a clear error for those profiles only. AVTB_OWNER=PID marks a test bed as
# belonging to a process: `up` and `down` remove any whose owner has ended (a crashed test run).
# AVTB_SLOTS sets the slots per host in the hostfile (default 2); AVTB_ABORT_GRACE_S how long
# mpirun may take to end once a job aborts (default 10 s, see Launch/abort-guard.sh).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
state_root=/run/avtrain-testbed

die() { echo "hosts.sh: $*" >&2; exit 1; }
need_root() { [ "$(id -u)" -eq 0 ] || die "needs root (network namespaces); run as root or skip the test bed"; }
check_prefix() {
  [[ "$1" =~ ^[a-z][a-z0-9]{0,9}$ ]] || die "prefix '$1' must be 1-10 lower-case letters/digits starting with a letter"
}
host_ns() { echo "$1-h$2"; }

# Removes test bed PREFIX: namespaces (which takes their veth ends along), the bridge, host-side
# veths, the nft table and the state folder. Never fails on what is already gone.
teardown() {
  local p="$1" ns
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$p-h[0-9]+$" || true); do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
  local dev
  for dev in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E "^${p}(br|v[0-9]+)$" || true); do
    ip link del "$dev" 2>/dev/null || true
  done
  rm -rf "${state_root:?}/$p"
}

# Removes every test bed whose recorded owner process has ended.
prune_orphans() {
  local d owner
  for d in "$state_root"/*/; do
    [ -f "$d/owner" ] || continue
    owner="$(cat "$d/owner")"
    if ! kill -0 "$owner" 2>/dev/null; then
      echo "hosts.sh: removing test bed $(basename "$d") (owner $owner has ended)" >&2
      teardown "$(basename "$d")"
    fi
  done
}

# A free third octet for 10.231.X.0/24 (not used by another test bed or route).
free_subnet() {
  local x
  for x in $(seq 1 254); do
    grep -qx "$x" "$state_root"/*/subnet 2>/dev/null && continue
    ip route show 2>/dev/null | grep -q "^10\.231\.$x\.0/24" && continue
    echo "$x"; return
  done
  die "no free subnet 10.231.X.0/24 left"
}

cmd_up() {
  local n="${1:-}" p="${2:-avtb}"
  [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 200 ] || die "up: host count '$n' must be 1...200"
  check_prefix "$p"; need_root
  command -v ip >/dev/null || die "ip (iproute2) not installed"
  mkdir -p "$state_root"
  prune_orphans
  teardown "$p"
  trap 'echo "hosts.sh: up failed; removing test bed $p" >&2; teardown "$p"' ERR
  mkdir -p "$state_root/$p"
  local x; x="$(free_subnet)"
  echo "$x" > "$state_root/$p/subnet"
  [ -n "${AVTB_OWNER:-}" ] && echo "$AVTB_OWNER" > "$state_root/$p/owner"
  ip link add "${p}br" type bridge
  ip addr add "10.231.$x.254/24" dev "${p}br"
  ip link set "${p}br" up
  local slots="${AVTB_SLOTS:-2}" hostfile="$state_root/$p/hostfile" i ns
  : > "$hostfile"
  for i in $(seq 1 "$n"); do
    ns="$(host_ns "$p" "$i")"
    ip netns add "$ns"
    ip link add "${p}v$i" type veth peer name eth0 netns "$ns"
    ip link set "${p}v$i" master "${p}br" up
    ip -n "$ns" addr add "10.231.$x.$i/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
    ip -n "$ns" route add default via "10.231.$x.254"
    echo "$ns slots=$slots" >> "$hostfile"
  done
  trap - ERR
  echo "hosts.sh: $n test host(s) $p-h1..$p-h$n on 10.231.$x.0/24 (bridge ${p}br); hostfile $hostfile"
}

cmd_down() {
  local p="${1:-avtb}"
  check_prefix "$p"; need_root
  teardown "$p"
  prune_orphans
  echo "hosts.sh: test bed $p removed"
}

subnet_of() { [ -f "$state_root/$1/subnet" ] || die "no test bed '$1' (run: hosts.sh up N $1)"; cat "$state_root/$1/subnet"; }
hosts_of() { ip netns list | awk '{print $1}' | grep -E "^$1-h[0-9]+$" | sort -V; }

# Both directions of host i's link: the host-side veth (bridge → host) and eth0 in the host.
shape() {
  local p="$1" i="$2" qdisc=("${@:3}")
  tc qdisc replace dev "${p}v$i" root "${qdisc[@]}"
  ip netns exec "$(host_ns "$p" "$i")" tc qdisc replace dev eth0 root "${qdisc[@]}"
}
unshape() {
  local p="$1" i="$2"
  tc qdisc del dev "${p}v$i" root 2>/dev/null || true
  ip netns exec "$(host_ns "$p" "$i")" tc qdisc del dev eth0 root 2>/dev/null || true
  ip netns exec "$(host_ns "$p" "$i")" nft delete table netdev avtb 2>/dev/null || true
}
has_netem() {
  local p="$1" ok=1
  ip link add "${p}probe" type dummy 2>/dev/null || return 1
  tc qdisc add dev "${p}probe" root netem delay 1ms 2>/dev/null && ok=0
  ip link del "${p}probe" 2>/dev/null || true
  return $ok
}

cmd_profile() {
  local name="${1:-}" p="${2:-avtb}"
  check_prefix "$p"; need_root; subnet_of "$p" >/dev/null
  local ns i rate="" delay=""
  case "$name" in
    bare) ;;
    1g) rate=1gbit ;;
    10g) rate=10gbit ;;
    1g-0.1ms) rate=1gbit; delay=50us ;;   # one-way host-to-host 0.1 ms: half on each veth end
    1g-1ms) rate=1gbit; delay=500us ;;
    loss1) command -v nft >/dev/null || die "profile loss1 needs nftables (apt-get install nftables)" ;;
    *) die "profile '$name': expected bare, 1g, 10g, 1g-0.1ms, 1g-1ms or loss1" ;;
  esac
  if [ -n "$delay" ] && ! has_netem "$p"; then
    die "profile $name needs tc netem, which this kernel lacks (sch_netem); rate-only profiles: 1g, 10g"
  fi
  for ns in $(hosts_of "$p"); do
    i="${ns##*-h}"
    unshape "$p" "$i"
    if [ -n "$delay" ]; then
      shape "$p" "$i" netem delay "$delay" rate "$rate" limit 100000
    elif [ -n "$rate" ]; then
      # burst must hold a whole GSO packet (64 KB) or tbf drops it; the queue (16 MB, a deep-buffered
      # switch) must not drop either: on a sub-ms RTT every drop costs TCP a 200 ms retransmit timeout.
      shape "$p" "$i" tbf rate "$rate" burst "$([ "$rate" = 1gbit ] && echo 256kb || echo 1mb)" limit 16mb
    elif [ "$name" = loss1 ]; then
      # 1 % of the packets arriving at each host vanish (netdev ingress: before any socket sees them).
      ip netns exec "$ns" nft -f - <<EOF
table netdev avtb {
  chain lossy { type filter hook ingress device "eth0" priority 0; numgen random mod 100 < 1 counter drop; }
}
EOF
    fi
  done
  echo "hosts.sh: profile $name on every link of $p"
}

# Sum of the loss1 drop counters of every host (0 when no loss profile is set).
cmd_dropped() {
  local p="${1:-avtb}" ns total=0 n
  check_prefix "$p"; need_root; subnet_of "$p" >/dev/null
  for ns in $(hosts_of "$p"); do
    n=$(ip netns exec "$ns" nft list chain netdev avtb lossy 2>/dev/null | sed -n 's/.*counter packets \([0-9]*\).*/\1/p' | head -1)
    total=$((total + ${n:-0}))
  done
  echo "$total"
}

cmd_link() {
  local updown="${1:-}" host="${2:-}" p="${3:-avtb}"
  [[ "$updown" =~ ^(up|down)$ ]] || die "link: expected up or down, got '$updown'"
  check_prefix "$p"; need_root
  [[ "$host" =~ ^$p-h([0-9]+)$ ]] || die "link: host '$host' is not one of $p-h1..."
  ip link set "${p}v${BASH_REMATCH[1]}" "$updown"
  if [ "$updown" = up ]; then
    # Addresses that failed to resolve while the link was down would stay unreachable for a while.
    ip neigh flush dev "${p}br" 2>/dev/null || true
    ip -n "$host" neigh flush dev eth0 2>/dev/null || true
  fi
}

cmd_kill() {
  local host="${1:-}" p="${2:-avtb}"
  check_prefix "$p"; need_root
  [[ "$host" =~ ^$p-h[0-9]+$ ]] || die "kill: host '$host' is not one of $p-h1..."
  ip netns pids "$host" | xargs -r kill -9
}

cmd_mpirun() {
  local p="${1:-}"; shift || true
  check_prefix "$p"; need_root
  local x; x="$(subnet_of "$p")"
  local args=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do args+=("$1"); shift; done
  [ "${1:-}" = "--" ] && shift
  [ $# -gt 0 ] || die "mpirun: usage: hosts.sh mpirun PREFIX [mpirun args] -- PROGRAM [ARGS]"
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  # TCP only (no shared memory, no UCX), on the test subnet; ssh replaced by the netns agent.
  # abort-guard ends mpirun AVTB_ABORT_GRACE_S (10) s after the job began to abort: after MPI_Abort
  # mpirun would otherwise wait many minutes for the daemon of a host whose link is down.
  exec "$here/../abort-guard.sh" "${AVTB_ABORT_GRACE_S:-10}" -- mpirun --oversubscribe --hostfile "$state_root/$p/hostfile" \
    --mca plm_rsh_agent "$here/netns-agent.sh" --mca plm_rsh_no_tree_spawn 1 \
    --mca pml ob1 --mca btl tcp,self --mca btl_tcp_if_include "10.231.$x.0/24" \
    --mca oob_tcp_if_include "10.231.$x.0/24" \
    -x OMPI_MCA_btl_tcp_if_include="10.231.$x.0/24" \
    "${args[@]}" "$@"
}

cmd_run() {
  local n="${1:-}"; shift || true
  local p=avtb
  if [ $# -gt 0 ] && [ "$1" != "--" ]; then p="$1"; shift; fi
  [ "${1:-}" = "--" ] && shift
  [ $# -gt 0 ] || die "run: usage: hosts.sh run N [PREFIX] -- COMMAND..."
  run_prefix="$p"          # global: the EXIT trap runs after this function's locals are gone
  trap 'teardown "$run_prefix"' EXIT
  trap 'exit 130' INT TERM
  cmd_up "$n" "$p"
  set +e
  AVTB_PREFIX="$p" "$@"
  local status=$?
  set -e
  return $status
}

cmd="${1:-}"; shift || true
case "$cmd" in
  up) cmd_up "$@" ;;
  down) cmd_down "$@" ;;
  run) cmd_run "$@" ;;
  profile) cmd_profile "$@" ;;
  link) cmd_link "$@" ;;
  kill) cmd_kill "$@" ;;
  mpirun) cmd_mpirun "$@" ;;
  dropped) cmd_dropped "$@" ;;
  hostfile) p="${1:-avtb}"; subnet_of "$p" >/dev/null; echo "$state_root/$p/hostfile" ;;
  *) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac

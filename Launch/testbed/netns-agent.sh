#!/bin/sh
# OpenMPI launch agent of the multi-host test bed (mpirun --mca plm_rsh_agent), used instead of
# ssh: `netns-agent.sh [options] HOST COMMAND...` runs the remote command (a shell command line,
# as ssh would receive it) inside network namespace HOST, with HOST as its UTS hostname, so the
# orted and its ranks see only that test host's network. Options ssh would take are ignored.
while [ $# -gt 0 ]; do
  case "$1" in -*) shift ;; *) break ;; esac
done
[ $# -ge 2 ] || { echo "netns-agent.sh: usage: netns-agent.sh HOST COMMAND..." >&2; exit 2; }
host="$1"; shift
exec ip netns exec "$host" unshare --uts -- /bin/sh -c 'hostname "$0" && eval "$*"' "$host" "$@"

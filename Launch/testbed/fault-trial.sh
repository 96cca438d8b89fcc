#!/usr/bin/env bash
# One fault trial on the test bed: an avtrain job on every test host, then the last host's link
# goes down (`link`) or its processes are SIGKILLed (`kill`) once a few checkpoints exist; prints
# how long the job took to end after the fault, its exit status and the lines naming the lost rank.
#   Launch/testbed/fault-trial.sh link|kill PREFIX RANKS CONFIG TIMEOUT_S [avtrain --set args…]
# The test bed must be up (hosts.sh up N PREFIX). Output of the job: $AVTB_LOG (default a temp file).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
fault="${1:-}" p="${2:-}" ranks="${3:-}" config="${4:-}" timeout="${5:-}"
[[ "$fault" =~ ^(link|kill)$ ]] && [ -n "$p" ] && [[ "$ranks" =~ ^[0-9]+$ ]] && [ -f "$config" ] && [[ "$timeout" =~ ^[0-9.]+$ ]] ||
  { echo "usage: fault-trial.sh link|kill PREFIX RANKS CONFIG TIMEOUT_S [--set k=v …]" >&2; exit 2; }
shift 5
log="${AVTB_LOG:-$(mktemp /tmp/avtb-trial.XXXXXX)}"
last="$(ip netns list | awk '{print $1}' | grep -E "^$p-h[0-9]+$" | sort -V | tail -1)"
[ -n "$last" ] || { echo "fault-trial.sh: no test bed $p" >&2; exit 1; }
# Whatever happens, the host comes back and nothing of the job survives in it.
trap '"$here/hosts.sh" link up "$last" "$p" 2>/dev/null; ip netns pids "$last" | xargs -r kill -9 2>/dev/null' EXIT
out_dir="$(sed -n 's/^out_dir = "\(.*\)"/\1/p' "$config" | tail -1)"
"$here/hosts.sh" mpirun "$p" -n "$ranks" --map-by node -- "$root/.build/release/avtrain" --config "$config" \
  --set "dist.timeout_s=$timeout" "$@" > "$log" 2>&1 &
job=$!
# Wait for the first checkpoints (the run is in steady state), at most 120 s.
for _ in $(seq 1 1200); do
  [ "$(ls "$out_dir"/step-*.safetensors 2>/dev/null | wc -l)" -ge 2 ] && break
  kill -0 "$job" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$job" 2>/dev/null || { echo "fault-trial.sh: the job ended before the fault:"; tail -5 "$log"; exit 1; }
t0=$(date +%s.%N)
if [ "$fault" = link ]; then "$here/hosts.sh" link down "$last" "$p"; else "$here/hosts.sh" kill "$last" "$p"; fi
set +e
wait "$job"; status=$?
set -e
t1=$(date +%s.%N)
printf 'trial %s %s: job ended %.1f s after the fault, exit %d (timeout_s %s); log %s\n' "$fault" "$last" \
  "$(echo "$t1 - $t0" | bc)" "$status" "$timeout" "$log"
grep -E "no answer from|noticed that|MPI_ABORT was invoked|ORTE has lost" "$log" | sort | uniq | head -8 || true

#!/usr/bin/env bash
# Runs an mpirun command line and makes sure mpirun itself ends once the job is aborting.
#   Launch/abort-guard.sh GRACE_S -- mpirun … avtrain …
# After MPI_Abort (e.g. avtrain's collective timeout on a lost host) mpirun waits for every
# node's daemon to confirm the kill; a daemon behind a dead link never does, and mpirun waits
# for TCP to give up (many minutes). This wrapper passes the job's output through (stdout and
# stderr merged), and when a line says the job is ending (MPI_ABORT, a rank that stopped
# answering or died, a lost daemon) gives mpirun GRACE_S seconds, then SIGTERM, then SIGKILL.
# Daemons on reachable nodes lose their lifeline to mpirun and kill their ranks.
# Exit status: mpirun's, or 1 if it had to be killed.
set -uo pipefail
grace="${1:-}"; shift || true
[ "${1:-}" = "--" ] && shift
[[ "$grace" =~ ^[0-9]+$ ]] && [ $# -gt 0 ] || { echo "usage: abort-guard.sh GRACE_S -- COMMAND…" >&2; exit 2; }
fifo="$(mktemp -u /tmp/abort-guard.XXXXXX)"
mkfifo "$fifo"
trap 'rm -f "$fifo"' EXIT
"$@" > "$fifo" 2>&1 &
pid=$!
exec 3< "$fifo"
deadline=""
while true; do
  if IFS= read -r -t 1 line <&3; then
    printf '%s\n' "$line"
    case "$line" in
      *"MPI_ABORT was invoked"*|*"no answer from rank"*|*"noticed that process rank"*|*"ORTE has lost communication"*)
        [ -n "$deadline" ] || deadline=$(( $(date +%s) + grace )) ;;
    esac
  elif [ $? -le 128 ]; then
    break   # end of output: mpirun has ended
  fi
  if [ -n "$deadline" ] && [ "$(date +%s)" -ge "$deadline" ] && kill -0 "$pid" 2>/dev/null; then
    echo "abort-guard: mpirun still running ${grace} s after the job began to abort (a lost node's daemon cannot confirm); killing it" >&2
    kill -TERM "$pid" 2>/dev/null; sleep 1; kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    exit 1
  fi
done
wait "$pid"

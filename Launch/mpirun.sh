#!/usr/bin/env bash
# Starts an avtrain job under OpenMPI with the settings every rank needs.
#   Launch/mpirun.sh -n 8 [--hostfile hosts] -- .build/release/avtrain --config Launch/swin-b.toml
# - OPENBLAS_CORETYPE: the kernel set avtool found fitting on this node, passed to every rank so no
#   rank runs OpenBLAS's generic fallback (ranks would also fix it themselves by re-exec).
# - AVTRAIN_THREADS / OPENBLAS_NUM_THREADS: threads per rank (default 1; ranks bind to cores).
# - Running as root (containers) and more ranks than cores are allowed explicitly.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
avtool="${AVTOOL:-$here/.build/release/avtool}"
mpi_args=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do mpi_args+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
[ $# -gt 0 ] || { echo "usage: $0 -n RANKS [mpirun options] -- PROGRAM [ARGS]" >&2; exit 2; }

export OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-$("$avtool" doctor --core 2>/dev/null)}"
export AVTRAIN_THREADS="${AVTRAIN_THREADS:-1}"
export OPENBLAS_NUM_THREADS="$AVTRAIN_THREADS"
export OMP_NUM_THREADS=1
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
bind=()
[ "$AVTRAIN_THREADS" -gt 1 ] && bind=(--map-by "slot:PE=$AVTRAIN_THREADS" --bind-to core)
echo "mpirun.sh: OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE, $AVTRAIN_THREADS thread(s) per rank" >&2
exec mpirun --oversubscribe "${bind[@]}" \
  -x OPENBLAS_CORETYPE -x AVTRAIN_THREADS -x OPENBLAS_NUM_THREADS -x OMP_NUM_THREADS \
  "${mpi_args[@]}" "$@"

# Environment for the recipe. A source checkout works without installing:
# the repository root goes on PYTHONPATH (a pip install needs nothing here).
MAIN_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
export PYTHONPATH="${MAIN_ROOT}${PYTHONPATH:+:${PYTHONPATH}}"
export PYTHONIOENCODING=UTF-8
# Small models on few cores: one thread per process is the fastest here.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

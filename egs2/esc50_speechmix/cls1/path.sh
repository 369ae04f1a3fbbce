# Environment for the recipe. A source checkout works without installing:
# the repository root goes on PYTHONPATH (a pip install needs nothing here).
MAIN_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
export PYTHONPATH="${MAIN_ROOT}${PYTHONPATH:+:${PYTHONPATH}}"
# Use the project's virtual environment when there is one and none is active
# (as the asr1 and ssl1 recipes do); otherwise the python on PATH must have
# espnet-mixrep's dependencies.
if [ -z "${VIRTUAL_ENV:-}" ] && [ -f "${MAIN_ROOT}/.venv/bin/activate" ]; then
    # shellcheck disable=SC1091
    . "${MAIN_ROOT}/.venv/bin/activate"
fi
export PYTHONIOENCODING=UTF-8
# Small models on few cores: one thread per process is the fastest here.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

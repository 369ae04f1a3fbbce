# Environment for the recipe (sourced by asr.sh and run.sh from the recipe dir,
# egs2/<name>/<task>).
MAIN_ROOT=$(cd "$PWD/../../.." && pwd)
# Use the project's virtual environment when there is one and none is active;
# otherwise the python on PATH must have espnet-mixrep installed.
if [ -z "${VIRTUAL_ENV:-}" ] && [ -f "${MAIN_ROOT}/.venv/bin/activate" ]; then
    # shellcheck disable=SC1091
    . "${MAIN_ROOT}/.venv/bin/activate"
fi
export PATH="$PWD/utils:$PATH"
export PYTHONIOENCODING=UTF-8
# One BLAS thread per process unless asked otherwise (jobs run in parallel).
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

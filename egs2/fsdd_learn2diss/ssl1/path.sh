# Activate the Python environment that has espnet and espnet-mixrep installed.
# Set ESPNET_MIXREP_VENV to use another one; with neither, the current python is used.
export MAIN_ROOT=${MAIN_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
venv=${ESPNET_MIXREP_VENV:-${MAIN_ROOT}/.venv}
if [ -f "${venv}/bin/activate" ]; then
    . "${venv}/bin/activate"
fi
export PYTHONIOENCODING=UTF-8
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

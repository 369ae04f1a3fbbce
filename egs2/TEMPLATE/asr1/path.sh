# Environment of every recipe (egs2/<corpus>/<task>/path.sh links here), sourced
# from the recipe directory by run.sh, asr.sh, cls.sh and local/ scripts.
MAIN_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
export MAIN_ROOT
# A source checkout works without installing: its package comes first.
export PYTHONPATH="${MAIN_ROOT}${PYTHONPATH:+:${PYTHONPATH}}"
# The Python environment: $ESPNET_MIXREP_VENV when set; else the repository's
# .venv unless another virtual environment is active; else the python on PATH,
# which must then have espnet-mixrep's dependencies.
if [ -n "${ESPNET_MIXREP_VENV:-}" ]; then
    if [ ! -f "${ESPNET_MIXREP_VENV}/bin/activate" ]; then
        echo "path.sh: ESPNET_MIXREP_VENV=${ESPNET_MIXREP_VENV}: no bin/activate there" 1>&2
        return 1
    fi
    # shellcheck disable=SC1091
    . "${ESPNET_MIXREP_VENV}/bin/activate"
elif [ -z "${VIRTUAL_ENV:-}" ] && [ -f "${MAIN_ROOT}/.venv/bin/activate" ]; then
    # shellcheck disable=SC1091
    . "${MAIN_ROOT}/.venv/bin/activate"
fi
export PATH="$PWD/utils:$PATH"
export PYTHONIOENCODING=UTF-8
# One BLAS thread per process unless asked otherwise: small models, jobs side by side.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

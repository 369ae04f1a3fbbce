#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment in .venv and install
# espnet-mixrep into it, editable, with its test dependencies.
# Re-running is cheap: it reinstalls only when setup.py or constraints.txt changed.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
venv=.venv
stamp="$venv/.installed-$(cat setup.py constraints.txt pyproject.toml | sha256sum | cut -c1-16)"
if [ -f "$stamp" ] && "$venv/bin/python" -c "import espnet_mixrep, espnet2" 2>/dev/null; then
    exit 0
fi
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 9))'; then
    echo "$0: Python >= 3.9 is needed (found $("$python" --version 2>&1)); set PYTHON=..." >&2
    exit 1
fi
echo "Setting up $venv (espnet 202511, torch; a few GB on the first run) ..."
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
rm -f "$venv"/.installed-*
"$venv/bin/pip" install --quiet --disable-pip-version-check -c constraints.txt -e ".[test]"
touch "$stamp"

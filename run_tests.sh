#!/usr/bin/env bash
# The test command: sets up .venv if needed, then runs the whole test suite.
# Extra arguments go to pytest (e.g. ./run_tests.sh -k mixrep -x).
set -euo pipefail
cd "$(dirname "$0")"
bash tools/setup_venv.sh
export PYTHONWARNINGS="${PYTHONWARNINGS:-ignore::FutureWarning}"
set +e
.venv/bin/python -m pytest -ra --durations=15 "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
    echo "run_tests.sh: pytest collected no tests; treating that as a failure" >&2
    exit 1
fi
exit "$rc"

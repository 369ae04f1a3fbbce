#!/usr/bin/env bash
# Local job runner (the role Kaldi's run.pl plays): run_local.sh LOG COMMAND...
# Runs COMMAND, writes its output to LOG, and fails with the log's tail shown.
set -euo pipefail
log=$1; shift
mkdir -p "$(dirname "${log}")"
echo "# $*" > "${log}"
if ! "$@" >> "${log}" 2>&1; then
    tail -n 20 "${log}" >&2
    echo "ERROR: command failed, see ${log}" >&2
    exit 1
fi

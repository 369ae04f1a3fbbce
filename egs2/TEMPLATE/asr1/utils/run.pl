#!/usr/bin/env bash
# Local job runner with Kaldi run.pl's interface (the name is kept because
# cmd.sh files and espnet2.bin.launch refer to it):
#   utils/run.pl [--gpu N] [--max_jobs_run N] [JOB=1:n] <log> <command ...>
# Runs the jobs in parallel on this machine; see espnet_mixrep/bin/run_jobs.py.
exec python -m espnet_mixrep.bin.run_jobs local "$@"

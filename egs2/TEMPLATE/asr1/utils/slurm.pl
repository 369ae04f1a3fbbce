#!/usr/bin/env bash
# Slurm job runner with Kaldi slurm.pl's interface (job arrays via sbatch --wait):
#   utils/slurm.pl [--gpu N] [--mem 8G] [--num_threads N] [--time T] [--partition P] [JOB=1:n] <log> <command ...>
# espnet2.bin.launch recognises the name "slurm.pl" for multi-node training.
exec python -m espnet_mixrep.bin.run_jobs slurm "$@"

# Job runners with Kaldi's interface, chosen by cmd_backend (or $CMD_BACKEND):
#   local: utils/run.pl runs the jobs in parallel on this machine.
#   slurm: utils/slurm.pl submits them as Slurm job arrays (sbatch --wait);
#          multi-node training goes through it (espnet2.bin.launch + srun).
# Options understood by both: --gpu N --mem X --num_threads N --max_jobs_run N
# --time T (slurm also: --partition P --account A).
cmd_backend=${CMD_BACKEND:-local}

case "${cmd_backend}" in
    local)
        train_cmd="utils/run.pl"
        cuda_cmd="utils/run.pl"
        decode_cmd="utils/run.pl"
        ;;
    slurm)
        train_cmd="utils/slurm.pl --mem 4G --time 24:00:00"
        cuda_cmd="utils/slurm.pl --mem 16G --num_threads 4 --time 48:00:00"
        decode_cmd="utils/slurm.pl --mem 4G --time 4:00:00"
        ;;
    *)
        echo "cmd.sh: unknown cmd_backend '${cmd_backend}' (local or slurm)" 1>&2
        return 1
        ;;
esac

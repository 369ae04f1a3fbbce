# Job runners: "utils/run_local.sh LOG COMMAND..." runs on this machine.
# On a cluster, replace them by a wrapper with the same calling convention
# (e.g. one that submits "COMMAND" with sbatch and waits, writing LOG).
export train_cmd="utils/run_local.sh"
export cuda_cmd="utils/run_local.sh"
export decode_cmd="utils/run_local.sh"

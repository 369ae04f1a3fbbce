# Job runner. This recipe runs every step in-process on the local machine
# (CPU, a few minutes); there are no array jobs to dispatch, so there is no
# run.pl/slurm switch to set. Kept for ESPnet's recipe layout.
export train_cmd=""

#!/usr/bin/env bash
# Helpers shared by the recipe drivers (asr.sh, cls.sh and the run.sh files),
# sourced after their options are parsed:  . ./utils/driver_helpers.sh
#
#   check_stage_range STAGE STOP_STAGE FIRST LAST [TO_THE_END]
#       fail unless both are stage numbers FIRST..LAST (STOP_STAGE may also be
#       TO_THE_END, the driver's "run to the last stage" default) selecting a stage.
#   run_in_group COMMAND...   run COMMAND as its own process group and wait for it.
#   start_group COMMAND...    start it so in the background (its PID: $last_group_pid);
#   wait_group PID            then wait for it.
#   prefix_lines TEXT         copy stdin to stdout, each line prefixed by TEXT: for the
#                             output of parallel jobs,  start_group ... > >(prefix_lines "[a] ") 2>&1
#   run_with_progress PROBE COMMAND...
#                             run_in_group COMMAND, logging what the shell command PROBE
#                             prints (e.g. the last finished epoch) whenever that changes.
#   launch_training EXP_DIR ENTRY_POINT ARGS...
#                             the one way every driver trains, as ESPnet's drivers do:
#                             espnet2.bin.launch runs ${python} -m ENTRY_POINT --resume true
#                             --retrain ${retrain} --output_dir EXP_DIR ARGS through ${cuda_cmd}
#                             (cmd.sh) on ${ngpu} GPUs and ${num_nodes} nodes (${dist_host},
#                             ${dist_master_port} when set), logging to EXP_DIR/train.log and
#                             writing ${run_args} (when set) to EXP_DIR/run.sh. A rerun resumes
#                             from EXP_DIR/checkpoint.pth. On failure it logs the log's last
#                             ERROR lines and returns 1.
#   Both use the driver's log function.
#
# Why process groups: bash starts a background job with SIGINT ignored, so
# Ctrl-C never reaches a trainer started with "&" (nor its children); and
# killing one PID leaves that job's children running. Sourcing this file traps
# INT and TERM: every group started here gets SIGTERM (then SIGKILL after
# $group_kill_timeout seconds) and the driver exits with 130 (INT) or 143 (TERM).
# Commands run in the foreground share the driver's group and get Ctrl-C directly.

group_kill_timeout=${group_kill_timeout:-10}
_driver_groups=()

check_stage_range() {
    local stage=$1 stop_stage=$2 first=$3 last=$4 to_the_end=${5:-}
    local allowed="${first}..${last}"
    [ -n "${to_the_end}" ] && allowed+=" (or ${to_the_end}: up to the last stage)"
    if ! [[ "${stage}" =~ ^[0-9]+$ ]] || (( 10#${stage} < first || 10#${stage} > last )); then
        echo "$0: --stage '${stage}': not a stage of this script (allowed: ${first}..${last})" >&2
        exit 1
    fi
    if ! [[ "${stop_stage}" =~ ^[0-9]+$ ]] \
        || { [ "${stop_stage}" != "${to_the_end}" ] && (( 10#${stop_stage} < first || 10#${stop_stage} > last )); }; then
        echo "$0: --stop_stage '${stop_stage}': not a stage of this script (allowed: ${allowed})" >&2
        exit 1
    fi
    if (( 10#${stage} > 10#${stop_stage} )); then
        echo "$0: --stage ${stage} --stop_stage ${stop_stage} selects no stage (stages run from --stage up to --stop_stage; allowed: ${first}..${last})" >&2
        exit 1
    fi
}

start_group() {
    setsid "$@" &
    last_group_pid=$!
    _driver_groups+=("${last_group_pid}")
}

wait_group() {
    local pid=$1 rc=0 kept=() g
    wait "${pid}" || rc=$?
    for g in "${_driver_groups[@]}"; do [ "${g}" = "${pid}" ] || kept+=("${g}"); done
    _driver_groups=("${kept[@]+"${kept[@]}"}")
    return "${rc}"
}

run_in_group() {
    start_group "$@"
    wait_group "${last_group_pid}"
}

# It ignores INT and TERM and ends with its input: a job whose output pipe
# died with the Ctrl-C would itself die of SIGPIPE (bash reports "Terminated"
# children on stderr) before it had stopped its own jobs.
prefix_lines() {
    trap '' INT TERM
    exec sed -u -e "s|^|$1|"
}

run_with_progress() {
    local probe=$1; shift
    start_group "$@"
    local pid=${last_group_pid} last="" now ticks=0
    while kill -0 "${pid}" 2>/dev/null; do
        sleep 1
        (( ++ticks % 3 == 0 )) || continue
        now=$(eval "${probe}" 2>/dev/null || true)
        if [ -n "${now}" ] && [ "${now}" != "${last}" ]; then log "  ${now}"; last=${now}; fi
    done
    wait_group "${pid}"
}

launch_training() {
    local exp_dir=$1 entry_point=$2; shift 2
    local launch_opts=()
    [ -n "${dist_host:-}" ] && launch_opts+=(--host "${dist_host}")
    [ -n "${dist_master_port:-}" ] && launch_opts+=(--master_port "${dist_master_port}")
    mkdir -p "${exp_dir}"
    [ -n "${run_args:-}" ] && printf '%s\n' "${run_args}" > "${exp_dir}/run.sh"
    if ! run_with_progress "grep -a 'epoch results' '${exp_dir}/train.log' | tail -n 1 | sed -e 's/^.*INFO: //' | cut -c 1-200" \
        ${python} -m espnet2.bin.launch --cmd "${cuda_cmd} --name ${exp_dir##*/}" --log "${exp_dir}/train.log" \
            --ngpu "${ngpu}" --num_nodes "${num_nodes}" --init_file_prefix "${exp_dir}/.dist_init_" \
            --multiprocessing_distributed true "${launch_opts[@]+"${launch_opts[@]}"}" -- \
            ${python} -m "${entry_point}" --resume true --retrain "${retrain}" --output_dir "${exp_dir}" "$@"; then
        log "ERROR: training failed; see ${exp_dir}/train.log$(grep -a '^ERROR: ' "${exp_dir}/train.log" 2>/dev/null | tail -n 2 | sed -e 's/^/\n  /')"
        return 1
    fi
}

# Signal every group started here, wait for them to exit, SIGKILL what is left.
stop_groups() {
    local g deadline=$(( SECONDS + group_kill_timeout )) alive
    [ "${#_driver_groups[@]}" -gt 0 ] || return 0
    for g in "${_driver_groups[@]}"; do kill -TERM -- "-${g}" 2>/dev/null || true; done
    while :; do
        alive=0
        for g in "${_driver_groups[@]}"; do kill -0 -- "-${g}" 2>/dev/null && alive=1; done
        [ "${alive}" -eq 1 ] && [ "${SECONDS}" -lt "${deadline}" ] || break
        sleep 0.2
    done
    for g in "${_driver_groups[@]}"; do kill -KILL -- "-${g}" 2>/dev/null || true; done
    _driver_groups=()
}

_on_interrupt() {
    # Stop the jobs before saying so: stderr may be a pipe whose reader the
    # same Ctrl-C has killed (run.sh's sed prefixing a parallel job's lines).
    trap '' INT TERM PIPE
    stop_groups
    echo "$0: interrupted (SIG$1): stopped its jobs" >&2 || true
    exit "$2"
}
trap '_on_interrupt INT 130' INT
trap '_on_interrupt TERM 143' TERM

#!/usr/bin/env bash
# Kaldi-style option parsing, sourced by a script after it set its defaults:
#   stage=1; nj=4; . utils/parse_options.sh
# "--name value" (or "--name=value") sets the shell variable "name" (dashes in
# the name become underscores). Unknown options are an error, so a typo never
# runs silently with a default. "--config file" sources the file first;
# "--help" prints $help_message and exits. Positional arguments are left in "$@".
#
# A wrapper that hands the options it does not own to another driver (run.sh ->
# asr.sh / cls.sh) names an array for them before sourcing:
#   other_opts=(); passthrough_opts=other_opts; . utils/parse_options.sh
# Unknown "--name value" pairs are then appended to that array (the driver
# that receives them rejects what it does not know either).

while true; do
    [ -z "${1:-}" ] && break
    case "$1" in
        --help|-h)
            if [ -z "${help_message:-}" ]; then echo "No help found." 1>&2; else printf "%s\n" "${help_message}" 1>&2; fi
            exit 0 ;;
        --*=*)
            __name=$(echo "${1%%=*}" | sed -e 's/^--//' -e 's/-/_/g')
            __value="${1#*=}"
            shift
            set -- "--${__name}" "${__value}" "$@"
            continue ;;
        --config)
            [ $# -lt 2 ] && { echo "$0: option --config needs a value" 1>&2; exit 1; }
            [ -f "$2" ] || { echo "$0: config file '$2' not found" 1>&2; exit 1; }
            # shellcheck disable=SC1090
            . "$2"
            shift 2 ;;
        --*)
            __name=$(echo "${1#--}" | sed -e 's/-/_/g')
            if ! [[ "${__name}" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
                echo "$0: invalid option name '$1'" 1>&2; exit 1
            fi
            [ $# -lt 2 ] && { echo "$0: option $1 needs a value" 1>&2; exit 1; }
            # Only variables the script declared (set, possibly empty) are options;
            # the parser's own names never are.
            if [ -z "${!__name+set}" ] || [ "${__name}" = "${passthrough_opts:-}" ] || [ "${__name}" = passthrough_opts ]; then
                if [ -n "${passthrough_opts:-}" ]; then
                    eval "${passthrough_opts}+=(\"\$1\" \"\$2\")"
                    shift 2
                    continue
                fi
                echo "$0: invalid option $1 (run with --help for the list)" 1>&2; exit 1
            fi
            # Booleans stay lower-case "true"/"false" as Kaldi checks them.
            __old="${!__name}"
            if [ "${__old}" = "true" ] || [ "${__old}" = "false" ]; then
                if [ "$2" != "true" ] && [ "$2" != "false" ]; then
                    echo "$0: option $1 takes true or false, got '$2'" 1>&2; exit 1
                fi
            fi
            printf -v "${__name}" '%s' "$2"
            shift 2 ;;
        *) break ;;
    esac
done
unset __name __value __old
true

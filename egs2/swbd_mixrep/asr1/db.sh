# Switchboard corpus locations (override by exporting them, or pass the options to run.sh).
# SWBD: the directory holding LDC97S62, LDC2002S09 and LDC2002T43 (ESPnet's layout).
SWBD="${SWBD:-}"
# Or each one on its own (default: under SWBD):
SWBD1="${SWBD1:-${SWBD:+${SWBD}/LDC97S62}}"                          # LDC97S62 (.sph anywhere below)
EVAL2000_SPEECH="${EVAL2000_SPEECH:-${SWBD:+${SWBD}/LDC2002S09/hub5e_00}}"  # holds english/*.sph, english/hub5e_00.pem
EVAL2000_TEXT="${EVAL2000_TEXT:-${SWBD:+${SWBD}/LDC2002T43}}"          # holds 2000_hub5_eng_eval_tr/reference/
# ms98 transcripts (switchboard_word_alignments.tar.gz, unpacked); default:
# ${SWBD1}/transcriptions/swb_ms98_transcriptions
MS98="${MS98:-}"

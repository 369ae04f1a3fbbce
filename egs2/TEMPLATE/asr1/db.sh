# Corpus locations used by the recipes' local/data.sh (empty: the recipe
# downloads the corpus if it can, or stops with a message saying what to set).
FSDD="${FSDD_DIR:-}"
WSJ0="${WSJ0:-}"
WSJ1="${WSJ1:-}"
SWBD="${SWBD:-}"
EVAL2000="${EVAL2000:-}"

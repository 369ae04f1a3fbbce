# WSJ corpus locations (override by exporting WSJ0 / WSJ1, or pass --wsj0 / --wsj1 to run.sh).
# WSJ0: LDC93S6B, the directory holding the discs 11-1.1 ... 11-13.1
# WSJ1: LDC94S13B, the directory holding the discs 13-1.1 ... 13-34.1
WSJ0="${WSJ0:-}"
WSJ1="${WSJ1:-}"

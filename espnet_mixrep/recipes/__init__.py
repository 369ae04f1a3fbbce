"""Recipe helpers: one module per corpus (download_x / prepare_x), Kaldi data
directories, scoring and packing; recipe shell stages only call these."""

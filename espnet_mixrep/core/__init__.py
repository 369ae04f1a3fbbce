"""The core every other layer builds on: user errors and Kaldi data
directories with atomic writes (:mod:`.datadir`), audio I/O, the wav.scp
reader and resampling (:mod:`.audio`, with the SPHERE / shorten / G.711
decoders), and the statistics of the benchmarks (:mod:`.stats`). It imports no
other part of espnet_mixrep."""

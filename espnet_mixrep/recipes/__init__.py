"""One module per corpus: ``download_x()`` / ``prepare_x()`` write Kaldi data
directories; the recipes' stage 1 calls them through bin/ commands."""

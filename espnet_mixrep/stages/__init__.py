"""What the recipe drivers' stages run, for every corpus: formatting audio
into dump/ (:mod:`.format`), token lists, training guards, decoding, scoring,
packing and upload, and the classification stages (:mod:`.cls`). Called
through the bin/ commands."""

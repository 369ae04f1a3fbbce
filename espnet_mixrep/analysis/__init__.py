"""Layer-wise analysis of speech models: PWCCA and k-means mutual information
of each layer's representations against unit labels (Pasad et al.; Clark et
al.'s MR-HuBERT study). Entry point: ``python -m espnet_mixrep.bin.layer_analysis``."""

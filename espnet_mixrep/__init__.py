"""espnet-mixrep: mixup-style regularisers and analysis tools as an ESPnet plugin.

Importing this package is cheap (no torch, no espnet); the ESPnet classes are
registered by :mod:`espnet_mixrep.registration` when ESPnet's task modules load.
"""

__version__ = "0.1.0"

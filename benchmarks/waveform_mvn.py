"""Per-batch cost of ``normalize: waveform_mvn`` against ESPnet's ``utterance_mvn`` on raw waveforms.

Both normalise each row of a (batch, samples) batch to zero mean and unit
variance; this prints the mean time per call of each on one CPU thread and
their ratio, measured in the same run.

    python benchmarks/waveform_mvn.py                      # 32 one-second clips at 8 kHz
    python benchmarks/waveform_mvn.py --batch 64 --samples 16000
"""

from __future__ import annotations

import argparse
import time
from typing import Callable, List, Optional

import torch
from espnet2.layers.utterance_mvn import UtteranceMVN

from espnet_mixrep.speechmix.normalize import WaveformMVN


def _seconds_per_call(fn: Callable[[], object], calls: int) -> float:
    fn()  # warm-up
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--samples", type=int, default=8000)
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    x = torch.randn(args.batch, args.samples) * 0.1
    lengths = torch.full((args.batch,), args.samples)
    ours, espnet = WaveformMVN(), UtteranceMVN(norm_means=True, norm_vars=True)
    t_ours = _seconds_per_call(lambda: ours(x, lengths), args.calls)
    t_espnet = _seconds_per_call(lambda: espnet(x.clone(), lengths), args.calls)
    print(f"batch {args.batch} x {args.samples} samples, {args.calls} calls, 1 thread")
    print(f"waveform_mvn  {1000 * t_ours:8.2f} ms per call")
    print(f"utterance_mvn {1000 * t_espnet:8.2f} ms per call")
    print(f"ratio utterance_mvn / waveform_mvn: {t_espnet / t_ours:.0f}")


if __name__ == "__main__":
    main()

"""Write a SPHERE (or WAV) file as 16-bit WAV on stdout: the wav.scp command of
the WSJ / Switchboard recipes when sph2pipe is not installed.

    python -m espnet_mixrep.bin.sph2wav [--channel N] [--rate HZ] FILE|-

``-`` reads stdin (e.g. sph2pipe output to be resampled).
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from espnet_mixrep.core.audio import resample
from espnet_mixrep.core.sphere import SphereError, read_audio_bytes, write_wav_stream


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", help="SPHERE or WAV file, '-' for stdin")
    parser.add_argument("--channel", type=int, default=None, help="1-based channel to keep (like sph2pipe -c)")
    parser.add_argument("--rate", type=int, default=None, help="resample to this rate (Hz)")
    args = parser.parse_args(argv)

    if args.path == "-":
        data, name = sys.stdin.buffer.read(), "<stdin>"
    else:
        with open(args.path, "rb") as f:
            data, name = f.read(), args.path
    try:
        samples, rate = read_audio_bytes(data, name)
    except SphereError as e:
        print(f"sph2wav: {e}", file=sys.stderr)
        return 1
    if args.channel is not None:
        if not 1 <= args.channel <= samples.shape[1]:
            print(f"sph2wav: {name} has {samples.shape[1]} channel(s), not {args.channel}", file=sys.stderr)
            return 1
        samples = samples[:, args.channel - 1]
    elif samples.shape[1] == 1:
        samples = samples[:, 0]
    if args.rate is not None:
        samples = resample(samples, rate, args.rate)
        rate = args.rate
    write_wav_stream(sys.stdout.buffer, samples, rate)
    return 0


if __name__ == "__main__":
    sys.exit(main())

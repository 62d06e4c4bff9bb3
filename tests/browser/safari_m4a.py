"""Writes what Safari's MediaRecorder gives the page (`audio/mp4`): fragmented MP4 (an empty `moov`,
then `moof`/`mdat` fragments) with mono AAC-LC at 48 kHz, from any audio file PyAV (FFmpeg) reads.

Usage: safari_m4a.py IN OUT.m4a
"""
import sys

import av


def main(src: str, dst: str) -> None:
    resampler = av.AudioResampler(format="fltp", layout="mono", rate=48000)
    with av.open(src) as inp, av.open(
        dst, "w", format="mp4",
        options={"movflags": "frag_keyframe+empty_moov+default_base_moof"},
    ) as out:
        stream = out.add_stream("aac", rate=48000, layout="mono")
        stream.bit_rate = 128_000
        for frame in inp.decode(audio=0):
            for f in resampler.resample(frame):
                for packet in stream.encode(f):
                    out.mux(packet)
        for f in resampler.resample(None):
            for packet in stream.encode(f):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: safari_m4a.py IN OUT.m4a")
    main(sys.argv[1], sys.argv[2])

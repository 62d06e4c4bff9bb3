"""Times librosa's front end on the benchmark clips: load at 16 kHz (soundfile + soxr_hq resampling),
then the reference log-mel (tests/parity/reference.py); and torchaudio's equivalent chain when PyTorch is
installed. Prints JSON {clip: {median_ms, runs}, torchaudio: {clip: {…}}}.

Usage: python tests/bench/librosa_bench.py CLIP.wav [CLIP.wav ...]
"""
import json
import os
import statistics
import sys
import time

import librosa

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "parity"))
import reference  # noqa: E402

RUNS = 30
out = {}
for path in sys.argv[1:]:
    y, _ = librosa.load(path, sr=16000)  # warm-up: imports, caches, soxr plans
    reference.log_mel(y)
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        y, _ = librosa.load(path, sr=16000)
        reference.log_mel(y)
        times.append((time.perf_counter() - t0) * 1e3)
    out[os.path.basename(path)] = {"median_ms": statistics.median(times), "runs": RUNS}


def torchaudio_front_end():
    """The same chain with torchaudio's DSP when PyTorch is installed (the benchmark environment):
    soundfile decode, torchaudio's sinc resampler, MelSpectrogram (Slaney mel, power 2), AmplitudeToDB
    with an 80 dB floor, min-max scaling; one thread, as librosa runs."""
    try:
        import soundfile
        import torch
        import torchaudio
    except ImportError:
        return None
    torch.set_num_threads(1)
    mel = torchaudio.transforms.MelSpectrogram(sample_rate=16000, n_fft=1024, hop_length=512, n_mels=64,
                                               f_min=50.0, f_max=8000.0, power=2.0, norm="slaney",
                                               mel_scale="slaney", center=True, pad_mode="constant")
    to_db = torchaudio.transforms.AmplitudeToDB(stype="power", top_db=80.0)

    def run(path):
        y, sr = soundfile.read(path, dtype="float32", always_2d=True)
        x = torch.from_numpy(y.mean(axis=1))
        if sr != 16000:
            x = torchaudio.functional.resample(x, sr, 16000)
        s = to_db(mel(x))
        return (s - s.min()) / (s.max() - s.min())

    res = {}
    for path in sys.argv[1:]:
        run(path)
        times = []
        for _ in range(RUNS):
            t0 = time.perf_counter()
            run(path)
            times.append((time.perf_counter() - t0) * 1e3)
        res[os.path.basename(path)] = {"median_ms": statistics.median(times), "runs": RUNS,
                                       "version": torchaudio.__version__}
    return res


ta = torchaudio_front_end()
if ta is not None:
    out["torchaudio"] = ta
print(json.dumps(out))

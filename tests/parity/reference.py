"""Reference front end with librosa, exactly as OPERA's `pre_process_audio_mel_t` and
`get_entire_signal_librosa` compute it (OPERA, src/util.py), with f_max = 8000 Hz.

Used by tests/parity/run.py; also runnable by hand:
    python tests/parity/reference.py IN.wav OUT.npy [--trim]
"""
import sys

import librosa
import numpy as np

SR = 16000
N_FFT = 1024
HOP = 512
N_MELS = 64
F_MIN = 50
F_MAX = 8000


def log_mel(y: np.ndarray) -> np.ndarray:
    """(frames, 64) float32 scaled to [0, 1]."""
    s = librosa.feature.melspectrogram(
        y=y, sr=SR, n_mels=N_MELS, fmin=F_MIN, fmax=F_MAX, n_fft=N_FFT, hop_length=HOP
    )
    s = librosa.power_to_db(s, ref=np.max)
    if s.max() == s.min():
        raise ValueError("constant spectrogram")
    return ((s - s.min()) / (s.max() - s.min())).T.astype(np.float32)


def trim(y: np.ndarray) -> np.ndarray:
    yt, _ = librosa.effects.trim(y, top_db=60, frame_length=1600, hop_length=800)
    return yt


def load(path: str) -> np.ndarray:
    y, sr = librosa.load(path, sr=None, mono=True)
    if sr != SR:
        raise ValueError(f"{path}: expected {SR} Hz, got {sr}")
    return y


if __name__ == "__main__":
    src, dst = sys.argv[1], sys.argv[2]
    y = load(src)
    if "--trim" in sys.argv[3:]:
        y = trim(y)
    np.save(dst, log_mel(y))

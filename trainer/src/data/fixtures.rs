//! Test helpers: small files written in the datasets' official layouts, and the real data folder.

use std::path::{Path, PathBuf};

/// `../shared/data` when present; otherwise `None` after saying why the test is skipped.
pub fn shared_data() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("skipped: the real data folder {} is absent", p.display());
        None
    }
}

/// Writes a text file, creating its folders.
pub fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Writes a mono 16-bit PCM WAV of `frames` samples of a 200 Hz tone.
pub fn write_wav(path: &Path, rate: u32, frames: usize) {
    write_wav_channels(path, rate, frames, 1);
}

/// Writes a 16-bit PCM WAV with `channels` channels (channel k has a tone of 200·(k+1) Hz).
pub fn write_wav_channels(path: &Path, rate: u32, frames: usize, channels: u16) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let data_len = (frames * channels as usize * 2) as u32;
    let mut b = Vec::with_capacity(44 + data_len as usize);
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data_len).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * channels as u32 * 2).to_le_bytes());
    b.extend_from_slice(&(channels * 2).to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_len.to_le_bytes());
    for i in 0..frames {
        for k in 0..channels {
            let f = 200.0 * (k as f64 + 1.0);
            let v =
                (0.3 * (std::f64::consts::TAU * f * i as f64 / rate as f64).sin() * 32767.0) as i16;
            b.extend_from_slice(&v.to_le_bytes());
        }
    }
    std::fs::write(path, b).unwrap();
}

//! Front-end benchmark: decode + resample + log-mel of a 60 s clip at 44.1 kHz and at 16 kHz (all cores
//! and one thread), and resample + log-mel from PCM on one thread (what the browser's wasm does after
//! `decodeAudioData`). `scripts/bench.sh` runs this with librosa and the wasm build on the same clips.
//!
//! The clips are 16-bit WAV files of a deterministic test signal (a chirp over pink-ish noise bursts)
//! written to `target/bench-clips/` so that `scripts/bench.sh` can time librosa on the very same files.

use std::hint::black_box;
use std::path::PathBuf;

use acula_core::audio::{self, DecodeLimits};
use acula_core::{
    features_from_bytes, features_from_planes, FrontEnd, FrontEndConfig, ProcessOptions,
};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn clip(rate: u32, seconds: u32) -> Vec<i16> {
    let n = (rate * seconds) as usize;
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..n)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let noise = (state >> 40) as f64 / (1u64 << 24) as f64 - 0.5;
            let t = i as f64 / f64::from(rate);
            let chirp = (2.0 * std::f64::consts::PI * (100.0 * t + 30.0 * t * t)).sin();
            let gate = if (t * 2.0).fract() < 0.3 { 1.0 } else { 0.1 };
            ((0.4 * chirp + 0.3 * noise * gate) * 32_000.0) as i16
        })
        .collect()
}

fn wav_bytes(samples: &[i16], rate: u32) -> Vec<u8> {
    let mut b = Vec::with_capacity(44 + samples.len() * 2);
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + samples.len() as u32 * 2).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * 2).to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&(samples.len() as u32 * 2).to_le_bytes());
    for s in samples {
        b.extend_from_slice(&s.to_le_bytes());
    }
    b
}

fn bench(c: &mut Criterion) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-clips");
    let _ = std::fs::create_dir_all(&dir);
    let front_end = FrontEnd::new(FrontEndConfig::default()).expect("reference config is valid");
    let one_thread = FrontEnd::new(FrontEndConfig::default())
        .expect("reference config is valid")
        .with_threads(1);
    let limits = DecodeLimits::default();
    let mut group = c.benchmark_group("front_end_60s");
    group.sample_size(30);
    for rate in [44_100u32, 16_000] {
        let pcm16 = clip(rate, 60);
        let bytes = wav_bytes(&pcm16, rate);
        let pcm: Vec<f32> = pcm16.iter().map(|&s| f32::from(s) / 32_768.0).collect();
        let _ = std::fs::write(dir.join(format!("clip_{rate}.wav")), &bytes);
        group.throughput(Throughput::Elements(u64::from(rate) * 60));
        group.bench_function(format!("decode_resample_logmel_{rate}Hz"), |b| {
            b.iter(|| {
                features_from_bytes(
                    &front_end,
                    black_box(&bytes),
                    Some("wav"),
                    &limits,
                    &ProcessOptions::default(),
                )
                .expect("bench clip is valid")
            })
        });
        group.bench_function(format!("decode_resample_logmel_{rate}Hz_1thread"), |b| {
            b.iter(|| {
                features_from_bytes(
                    &one_thread,
                    black_box(&bytes),
                    Some("wav"),
                    &limits,
                    &ProcessOptions::default(),
                )
                .expect("bench clip is valid")
            })
        });
        // The parts, for the breakdown in BENCHMARKS.md (all cores).
        group.bench_function(format!("part_decode_{rate}Hz"), |b| {
            b.iter(|| {
                audio::decode(black_box(&bytes), Some("wav"), &limits).expect("bench clip is valid")
            })
        });
        if rate != 16_000 {
            group.bench_function(format!("part_resample_{rate}Hz"), |b| {
                b.iter(|| {
                    audio::resample(black_box(&pcm), rate, 16_000).expect("bench clip is valid")
                })
            });
        } else {
            group.bench_function("part_logmel_16000Hz", |b| {
                b.iter(|| {
                    front_end
                        .log_mel(black_box(&pcm))
                        .expect("bench clip is valid")
                })
            });
        }
        group.bench_function(format!("pcm_resample_logmel_{rate}Hz_1thread"), |b| {
            b.iter(|| {
                features_from_planes(
                    &one_thread,
                    &[black_box(&pcm)],
                    rate,
                    &ProcessOptions::default(),
                )
                .expect("bench clip is valid")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

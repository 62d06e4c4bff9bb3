//! Entry points of the fuzz targets (`fuzz/`, run by `scripts/fuzz.sh` with cargo-fuzz on nightly)
//! and of the regression test that replays their seed corpus and every input a fuzzing run found
//! (`tests/fixtures/fuzz/<target>/`) on stable. Each takes arbitrary bytes and must return: a bad
//! input is an `Err` somewhere inside, never a panic, an abort or an allocation beyond the limits.
//! The `assert!`s check what must hold for inputs that are accepted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use acula_core::audio::decode::DecodeLimits;
use acula_core::bundle::{sha256_hex, Bundle, MANIFEST};
use acula_core::screen::{ScreenOptions, Screener};
use acula_core::{FrontEnd, FrontEndConfig, ProcessOptions};

use crate::backend::Backend;
use crate::data::table::{whitespace_rows, Table};

/// A fuzz target: arbitrary bytes in, nothing out (failures are panics).
pub type Target = fn(&[u8]);

/// The targets, by name (the names of `fuzz/fuzz_targets/*.rs`).
pub const TARGETS: [(&str, Target); 4] = [
    ("audio", audio),
    ("bundle", bundle),
    ("tables", tables),
    ("datasets", datasets),
];

const HINTS: [Option<&str>; 8] = [
    None,
    Some("wav"),
    Some("mp3"),
    Some("ogg"),
    Some("flac"),
    Some("m4a"),
    Some("webm"),
    Some("txt"),
];

/// Decoding and the front end from arbitrary bytes: `acula features` and the screening pipeline's
/// first half. The first byte picks the file-name extension the decoder is told (or none), the rest
/// is the file. Any input must end in `Ok` or an `Err`, within the decoder's limits: no panic, no abort.
pub fn audio(data: &[u8]) {
    let Some((&first, bytes)) = data.split_first() else {
        return;
    };
    let front_end = FrontEnd::new(FrontEndConfig::default())
        .expect("the default configuration is valid")
        .with_threads(1);
    // 60 s at most keeps one run short; the limit logic is the same at 600 s.
    let limits = DecodeLimits { max_seconds: 60 };
    let opts = ProcessOptions {
        trim: first & 0x10 != 0,
        pad: first & 0x20 != 0,
    };
    let hint = HINTS[usize::from(first) % HINTS.len()];
    if let Ok((decoded, processed)) =
        acula_core::features_from_bytes(&front_end, bytes, hint, &limits, &opts)
    {
        assert!(decoded.sample_rate > 0, "a decoded file has a rate");
        let f = &processed.features;
        assert_eq!(f.data.len(), f.frames * f.n_mels);
        assert!(f.data.iter().all(|v| v.is_finite()), "non-finite feature");
        let cfg = front_end.config();
        let _ = f.chunked(cfg.chunk_frames, cfg.min_chunk_frames);
    }
}

struct Real {
    manifest: serde_json::Value,
    files: BTreeMap<String, Vec<u8>>,
    /// The files a screener reads (not the demo recordings).
    parts: Vec<String>,
}

fn real() -> &'static Real {
    static REAL: OnceLock<Real> = OnceLock::new();
    REAL.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../www/models/default");
        let read =
            |name: &str| std::fs::read(dir.join(name)).expect("the default bundle is present");
        let manifest: serde_json::Value =
            serde_json::from_slice(&read(MANIFEST)).expect("the default manifest is JSON");
        let names: Vec<String> = manifest["files"]
            .as_object()
            .expect("files")
            .keys()
            .cloned()
            .collect();
        let files = names.iter().map(|n| (n.clone(), read(n))).collect();
        let parts = names
            .into_iter()
            .filter(|n| !n.starts_with("example-"))
            .collect();
        Real {
            manifest,
            files,
            parts,
        }
    })
}

fn tone() -> &'static [f32] {
    static TONE: OnceLock<Vec<f32>> = OnceLock::new();
    TONE.get_or_init(|| {
        (0..48_000)
            .map(|i| 0.3 * (i as f32 * 2.0 * std::f32::consts::PI * 220.0 / 16_000.0).sin())
            .collect()
    })
}

/// Bundle loading from arbitrary bytes. A bundle's checksums are in its manifest, so whoever can
/// change a bundle can make any file pass them: this target replaces one part of the real default
/// bundle (`www/models/default`) with the input and fixes the manifest's checksum, then loads it
/// (`Bundle::new`, `Screener::new`) and, when that works, screens three seconds of a tone.
/// The first byte picks the part: 0 the manifest itself, else one of the model files. Every input
/// must be accepted or refused with an error: no panic, no abort, no allocation beyond the limit.
pub fn bundle(data: &[u8]) {
    let Some((&first, payload)) = data.split_first() else {
        return;
    };
    let real = real();
    let mut files = real.files.clone();
    let manifest = match usize::from(first) % (real.parts.len() + 1) {
        0 => payload.to_vec(),
        k => {
            let name = &real.parts[k - 1];
            let mut m = real.manifest.clone();
            m["files"][name.as_str()]["sha256"] = sha256_hex(payload).into();
            m["files"][name.as_str()]["bytes"] = payload.len().into();
            files.insert(name.clone(), payload.to_vec());
            serde_json::to_vec(&m).expect("a Value serialises")
        }
    };
    let Ok(bundle) = Bundle::new(&manifest, files) else {
        return;
    };
    let device = Backend::Flex
        .device()
        .map_err(|e| e.message().to_string())
        .expect("flex");
    let Ok(screener) = Screener::new(&bundle, &device) else {
        return;
    };
    let opts = ScreenOptions {
        recording: None,
        top_k: 3,
    };
    let _ = screener.screen(tone(), 16_000, &opts);
}

/// A scratch folder of this process for the readers that take a path (callers create it).
fn scratch(what: &str) -> PathBuf {
    std::env::temp_dir().join(format!("acula-fuzz-{what}-{}", std::process::id()))
}

/// The byte-level readers behind the loaders and the training commands: `.npy` arrays, delimited
/// tables (comma, tab, semicolon, whitespace), reports CSV + embeddings, and JSON configurations.
/// The first byte picks the reader. Each input is read or refused with an error; no panic.
pub fn tables(data: &[u8]) {
    let Some((&first, bytes)) = data.split_first() else {
        return;
    };
    match first % 6 {
        0 => {
            if let Ok((shape, values)) = crate::npy::decode_f32(bytes) {
                assert_eq!(shape.iter().product::<usize>(), values.len());
            }
        }
        1..=3 => {
            let text = String::from_utf8_lossy(bytes);
            let delimiter = [b',', b'\t', b';'][usize::from(first % 6) - 1];
            if let Ok(t) = Table::parse(&text, delimiter) {
                let names: Vec<String> = t.column_names().map(str::to_string).collect();
                for row in &t.rows {
                    for n in &names {
                        let _ = t.get(row, n);
                    }
                    let _ = t.get(row, "no such column");
                }
            }
        }
        4 => {
            let text = String::from_utf8_lossy(bytes);
            for (_, fields) in whitespace_rows(&text) {
                let _ = fields.len();
            }
        }
        _ => {
            // A reports CSV and an embeddings file: the input split at its first NUL byte.
            let (csv, npy) = match bytes.iter().position(|&b| b == 0) {
                Some(i) => (&bytes[..i], &bytes[i + 1..]),
                None => (bytes, &[][..]),
            };
            let dir = scratch("tables");
            std::fs::create_dir_all(&dir).expect("scratch");
            let (c, n) = (dir.join("reports.csv"), dir.join("emb.npy"));
            std::fs::write(&c, csv).expect("scratch");
            std::fs::write(&n, npy).expect("scratch");
            if let Ok((rows, dim, values)) = crate::reports::read_with_embeddings(&c, &n) {
                assert_eq!(rows.len() * dim, values.len());
            }
            let _ = crate::features::load_config(Some(&c));
        }
    }
}

/// One layout: the files whose text comes from the input (in order), and fixed extra paths
/// (a path ending in `/` is a folder, anything else an empty file).
struct Layout {
    fuzzed: &'static [&'static str],
    fixed: &'static [&'static str],
}

const LAYOUTS: &[Layout] = &[
    Layout {
        fuzzed: &["metadata.json"],
        fixed: &["raw/", "raw/a.mp3"],
    },
    Layout {
        fuzzed: &["combined_data.csv"],
        fixed: &[],
    },
    Layout {
        fuzzed: &[
            "patient_diagnosis.csv",
            "audio_and_txt_files/101_1b1_Al_sc_Meditron.txt",
            "demographic_info.txt",
        ],
        fixed: &["audio_and_txt_files/101_1b1_Al_sc_Meditron.wav"],
    },
    Layout {
        fuzzed: &[
            "ICBHI_Challenge_diagnosis.txt",
            "ICBHI_final_database/101_1b1_Al_sc_Meditron.txt",
            "ICBHI_Challenge_demographic_information.txt",
            "ICBHI_challenge_train_test.txt",
        ],
        fixed: &["ICBHI_final_database/101_1b1_Al_sc_Meditron.wav"],
    },
    Layout {
        fuzzed: &["metadata_compiled.csv"],
        fixed: &["wav/", "aaa.webm"],
    },
    Layout {
        fuzzed: &[
            "participant_metadata.csv",
            "audio_metadata.csv",
            "train_test_splits.csv",
        ],
        fixed: &["audio/p1_cough.wav"],
    },
    Layout {
        fuzzed: &[
            "training_data.csv",
            "training_data/1234.txt",
            "training_data/1234_AV.tsv",
        ],
        fixed: &["training_data/1234_AV.wav"],
    },
    Layout {
        fuzzed: &["Labels.csv"],
        fixed: &[
            "RespiratoryDatabase@TR/",
            "RespiratoryDatabase@TR/H001_L1.wav",
        ],
    },
];

/// Dataset loaders on arbitrary metadata. The first byte picks a dataset layout; the rest, split at
/// NUL bytes, fills that layout's text files (metadata JSON, CSV tables, annotation files, or a file
/// name); the audio files are empty (loaders do not decode). `data::load` must return a dataset or
/// an error, and a dataset must keep its invariants: every record has an id and a subject, and no
/// subject sits on both sides of the official split.
pub fn datasets(data: &[u8]) {
    let Some((&first, bytes)) = data.split_first() else {
        return;
    };
    let dir = &scratch("datasets");
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("scratch");
    // KAUH: the input is a recording's file name (the whole label is in it).
    if usize::from(first) % (LAYOUTS.len() + 1) == LAYOUTS.len() {
        let name = String::from_utf8_lossy(bytes);
        if name.is_empty() || name.len() > 200 || name.contains(['/', '\\', '\0']) {
            return;
        }
        let audio = dir.join("Audio Files");
        std::fs::create_dir_all(&audio).expect("scratch");
        if std::fs::write(audio.join(format!("{name}.wav")), b"").is_err() {
            return;
        }
    } else {
        let layout = &LAYOUTS[usize::from(first) % (LAYOUTS.len() + 1)];
        let mut parts = bytes.split(|&b| b == 0);
        for f in layout.fuzzed {
            let p = dir.join(f);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("scratch");
            std::fs::write(&p, parts.next().unwrap_or_default()).expect("scratch");
        }
        for f in layout.fixed {
            let p = dir.join(f);
            if f.ends_with('/') {
                std::fs::create_dir_all(&p).expect("scratch");
            } else {
                std::fs::create_dir_all(p.parent().expect("parent")).expect("scratch");
                std::fs::write(&p, b"").expect("scratch");
            }
        }
    }
    let Ok(ds) = crate::data::load(dir) else {
        return;
    };
    let mut sides: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for r in &ds.records {
        assert!(!r.id.is_empty(), "a record without an id");
        if let Some(split) = &r.split {
            sides
                .entry(&r.subject)
                .or_default()
                .insert(format!("{split:?}"));
        }
    }
    for (subject, s) in &sides {
        assert!(s.len() <= 1, "subject {subject:?} in splits {s:?}");
    }
    let _ = ds.segment_records();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every committed seed (`fuzz/seeds/<target>/`) and every input a fuzzing run found
    /// (`tests/fixtures/fuzz/<target>/`, one file per fixed finding) goes through its target again:
    /// a panic fails the test with the file's name.
    #[test]
    fn seeds_and_found_inputs_replay_without_a_panic() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut seen = BTreeMap::new();
        for (name, target) in TARGETS {
            for dir in [
                root.join("fuzz/seeds").join(name),
                root.join("tests/fixtures/fuzz").join(name),
            ] {
                let Ok(entries) = std::fs::read_dir(&dir) else {
                    continue;
                };
                let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
                files.sort();
                for f in files {
                    let bytes = std::fs::read(&f).unwrap();
                    let outcome =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| target(&bytes)));
                    assert!(outcome.is_ok(), "{name}: {} panicked", f.display());
                    *seen.entry(name).or_insert(0) += 1;
                }
            }
        }
        // Each target has seeds, so a moved folder cannot turn this test into a no-op.
        for (name, _) in TARGETS {
            assert!(
                seen.get(name).copied().unwrap_or(0) >= 2,
                "{name}: seeds missing"
            );
        }
    }
}

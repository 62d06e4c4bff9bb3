//! The cough detector through the CLI: `acula predict --recording cough --json` lists the coughs it
//! found as `segments` (seconds from the start of the file) and screens only those; a recording with
//! no cough gets the `no_cough` verdict; `acula eval-events` runs on the real covid19-cough folder.
//! The coughs are the bundle's own real example recording (CC0), placed into quiet noise at known
//! offsets.

use std::path::{Path, PathBuf};

use super::{acula, data, root, skip, Wav};

fn bundle() -> PathBuf {
    root().join("www/models/default")
}

/// The real cough of the bundle's first example at 16 kHz (through `acula decode`).
fn real_cough(dir: &Path) -> Vec<f32> {
    let out = dir.join("cough.wav");
    let o = acula()
        .arg("decode")
        .arg(bundle().join("example-1.mp3"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let b = std::fs::read(&out).unwrap();
    // A float WAV as `acula decode` writes it: the samples follow the "data" chunk header.
    let at = b.windows(4).position(|w| w == b"data").unwrap() + 8;
    b[at..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// `seconds` of faint noise with `cough` added at each offset; written as a 16-bit WAV.
fn recording(dir: &Path, name: &str, cough: &[f32], at: &[f64], seconds: f64) -> PathBuf {
    let rate = 16_000u32;
    let n = (seconds * f64::from(rate)) as usize;
    let mut s = 12_345u32;
    let mut y: Vec<f64> = (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            0.0002 * (f64::from(s) / f64::from(u32::MAX) - 0.5)
        })
        .collect();
    for &t in at {
        let i = (t * f64::from(rate)) as usize;
        for (k, v) in cough.iter().enumerate() {
            if let Some(x) = y.get_mut(i + k) {
                *x += f64::from(*v);
            }
        }
    }
    let frames: Vec<Vec<f64>> = y.into_iter().map(|v| vec![v.clamp(-1.0, 1.0)]).collect();
    let path = dir.join(name);
    std::fs::write(&path, Wav::pcm(1, rate, 16).bytes(&frames)).unwrap();
    path
}

fn predict(path: &Path, kind: &str) -> serde_json::Value {
    let o = acula()
        .arg("predict")
        .arg(path)
        .arg("--bundle")
        .arg(bundle())
        .args(["--recording", kind, "--json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v[0].clone()
}

/// The (start, end) of every cough segment.
fn coughs(o: &serde_json::Value) -> Vec<(f64, f64)> {
    o["segments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "cough")
        .map(|s| (s["start"].as_f64().unwrap(), s["end"].as_f64().unwrap()))
        .collect()
}

#[test]
fn coughs_are_found_where_they_were_placed_and_only_they_are_screened() {
    let dir = tempfile::tempdir().unwrap();
    let cough = real_cough(dir.path());
    let len = cough.len() as f64 / 16_000.0;
    for at in [[1.0, 6.0], [2.5, 9.0]] {
        let path = recording(dir.path(), "placed.wav", &cough, &at, 14.0);
        let o = predict(&path, "cough");
        assert_eq!(o["verdict"], "ok", "{o}");
        let found = coughs(&o);
        assert!(!found.is_empty(), "{o}");
        // Every cough found lies within a placed copy, and each copy has one.
        for (a, b) in &found {
            assert!(
                at.iter().any(|t| *a >= t - 0.05 && *b <= t + len + 0.05),
                "cough {a}–{b} s is not within a copy placed at {at:?} ({len} s long)"
            );
        }
        for t in at {
            assert!(
                found.iter().any(|(a, _)| *a >= t - 0.05 && *a < t + len),
                "{found:?} {t}"
            );
        }
        // What the encoder saw (chunks) is the coughs, padded, not the 14 s of noise.
        let seen: f64 = o["chunks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["end_s"].as_f64().unwrap() - c["start_s"].as_f64().unwrap())
            .sum();
        assert!(seen < 2.0 * len + 1.0, "{seen} s analysed");
        assert!(o["scores"]["covid19_cough"]["score"].is_number(), "{o}");
    }
}

#[test]
fn a_recording_without_a_cough_gets_the_no_cough_verdict() {
    let dir = tempfile::tempdir().unwrap();
    // A steady, loud 220 Hz hum: sound, but no cough.
    let rate = 16_000u32;
    let frames: Vec<Vec<f64>> = (0..rate as usize * 4)
        .map(|i| vec![0.3 * (i as f64 * 2.0 * std::f64::consts::PI * 220.0 / 16_000.0).sin()])
        .collect();
    let path = dir.path().join("hum.wav");
    std::fs::write(&path, Wav::pcm(1, rate, 16).bytes(&frames)).unwrap();
    let o = predict(&path, "cough");
    assert_eq!(o["verdict"], "no_cough", "{o}");
    assert!(o["message"].as_str().unwrap().contains("No cough"), "{o}");
    assert!(o["scores"].as_object().unwrap().is_empty(), "{o}");
    assert!(coughs(&o).is_empty());
    // The text output names the verdict by the JSON's id, not the Rust variant.
    let text = acula()
        .arg("predict")
        .arg(&path)
        .arg("--bundle")
        .arg(bundle())
        .args(["--recording", "cough"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("  quality: no_cough — No cough"), "{text}");
    // The same file as a lung sound is analysed as a whole: stretches, no cough verdict.
    let o = predict(&path, "lung");
    assert_ne!(o["verdict"], "no_cough", "{o}");
    let segs = o["segments"].as_array().unwrap();
    assert!(
        !segs.is_empty() && segs.iter().all(|s| s["kind"] == "stretch"),
        "{o}"
    );
}

#[test]
fn eval_events_runs_on_the_real_coughs() {
    let coughs = data().join("covid19-cough");
    let lung = data().join("kauh-subset");
    if !coughs.is_dir() || !lung.is_dir() {
        skip(
            "eval_events_runs_on_the_real_coughs",
            "../shared/data is not here",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (md, tuned) = (dir.path().join("events.md"), dir.path().join("tuned.json"));
    let o = acula()
        .arg("eval-events")
        .arg("--coughs")
        .arg(&coughs)
        .arg("--lung")
        .arg(&lung)
        .args(["--limit", "40", "--mixtures", "2", "--out"])
        .arg(&md)
        .arg("--tuned")
        .arg(&tuned)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&md).unwrap();
    assert!(
        text.contains("| **all** |") && text.contains("voiced babble"),
        "{text}"
    );
    let cfg: serde_json::Value = serde_json::from_slice(&std::fs::read(&tuned).unwrap()).unwrap();
    assert!(cfg["on_db"].as_f64().unwrap() >= cfg["off_db"].as_f64().unwrap());
    // A folder that is not a dataset: one clear line, nothing written.
    let o = acula()
        .arg("eval-events")
        .arg("--coughs")
        .arg(dir.path())
        .arg("--lung")
        .arg(&lung)
        .arg("--out")
        .arg(dir.path().join("never.md"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("coughs:") && err.lines().count() == 1, "{err}");
    assert!(!dir.path().join("never.md").exists());
}

#[test]
fn contributions_follow_the_cough_when_it_is_moved() {
    let dir = tempfile::tempdir().unwrap();
    let cough = real_cough(dir.path());
    let len = cough.len() as f64 / 16_000.0;
    let mut seen = Vec::new();
    // Two copies of the cough; the second is moved by 3 s.
    for at in [[1.0, 4.0], [1.0, 7.0]] {
        let path = recording(dir.path(), "moved.wav", &cough, &at, 12.0);
        let o = acula()
            .arg("predict")
            .arg(&path)
            .arg("--bundle")
            .arg(bundle())
            .args(["--recording", "cough", "--json", "--contributions"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let c = v[0]["contributions"].as_array().unwrap().clone();
        assert!(c.len() >= 2, "{}", v[0]);
        // Each part lies around a placed copy, and each copy has a part.
        for p in &c {
            let (a, b) = (p["start"].as_f64().unwrap(), p["end"].as_f64().unwrap());
            assert!(at.iter().any(|t| a >= t - 0.2 && b <= t + len + 0.3), "{p}");
            assert!(
                p["scores"]["covid19_cough"].as_f64().unwrap().is_finite(),
                "{p}"
            );
        }
        for t in at {
            assert!(
                c.iter()
                    .any(|p| (p["start"].as_f64().unwrap() - t).abs() < len),
                "{t}"
            );
        }
        seen.push(c);
    }
    // The parts of the first copy stay; those of the moved copy move by 3 s.
    assert_eq!(seen[0].len(), seen[1].len());
    let half = seen[0].len() / 2;
    for (i, (x, y)) in seen[0].iter().zip(&seen[1]).enumerate() {
        let shift = y["start"].as_f64().unwrap() - x["start"].as_f64().unwrap();
        let expected = if i < half { 0.0 } else { 3.0 };
        assert!((shift - expected).abs() < 0.03, "{x} {y}");
    }
    // The text output lists them.
    let path = recording(dir.path(), "moved.wav", &cough, &[1.0, 4.0], 12.0);
    let o = acula()
        .arg("predict")
        .arg(&path)
        .arg("--bundle")
        .arg(bundle())
        .args(["--recording", "cough", "--contributions"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("contribution of ") && text.contains("covid19_cough"),
        "{text}"
    );
    assert!(text.contains("coughs found ("), "{text}");
}

//! `acula export` and `acula predict` end to end: a tiny alignment run on synthetic heart sounds is
//! exported with a murmur head, the bundle verifies, `predict --json` answers one object per file in
//! input order (errors included), quality verdicts replace scores, and a damaged or newer bundle is
//! refused with one line. The teacher is a file of made-up report embeddings (a mock of a language
//! model: the real MiniLM is covered by `tests/parity/teacher.py`).

use std::path::{Path, PathBuf};

use super::{acula, signal, Wav};

fn ok(c: &mut std::process::Command) -> std::process::Output {
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o
}

/// A bundle exported from a 4-step alignment run; returns (bundle dir, heart dataset dir).
fn tiny_bundle(tmp: &Path) -> (PathBuf, PathBuf) {
    let ds = tmp.join("heart");
    ok(acula()
        .args([
            "synth",
            "heart",
            "--patients",
            "40",
            "--seconds",
            "4",
            "--seed",
            "3",
            "--out",
        ])
        .arg(&ds));
    let csv = tmp.join("r.csv");
    ok(acula().arg("reports").arg(&ds).arg("--out").arg(&csv));
    super::train::mock_teacher(&csv, tmp);
    let cfg = tmp.join("align.json");
    std::fs::write(&cfg, super::train::TINY_ALIGN).unwrap();
    let run = tmp.join("run");
    ok(acula()
        .arg("align")
        .arg(&csv)
        .arg("--embeddings")
        .arg(tmp.join("emb.npy"))
        .arg("--out")
        .arg(&run)
        .arg("--config")
        .arg(&cfg));
    let bundle = tmp.join("bundle");
    ok(acula()
        .arg("export")
        .arg("--run")
        .arg(&run)
        .arg("--reports")
        .arg(&csv)
        .arg("--embeddings")
        .arg(tmp.join("emb.npy"))
        .arg("--task")
        .arg(format!("{}:murmur", ds.display()))
        .arg("--out")
        .arg(&bundle));
    (bundle, ds)
}

fn predict_json(
    bundle: &Path,
    files: &[PathBuf],
    extra: &[&str],
) -> (Option<i32>, serde_json::Value, String) {
    let o = acula()
        .arg("predict")
        .args(files)
        .arg("--bundle")
        .arg(bundle)
        .arg("--json")
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    let v = serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null);
    (o.status.code(), v, stderr)
}

#[test]
fn export_then_predict() {
    let tmp = tempfile::tempdir().unwrap();
    let (bundle, ds) = tiny_bundle(tmp.path());

    // The manifest lists every file with its size, and says what the bundle is.
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["format"], "acula-bundle");
    assert_eq!(m["format_version"], 1);
    assert!(m["intended_use"]
        .as_str()
        .unwrap()
        .contains("not a diagnostic device"));
    for f in [
        "model.safetensors",
        "heads.safetensors",
        "reports.json",
        "reports.safetensors",
    ] {
        let len = std::fs::metadata(bundle.join(f)).unwrap().len();
        assert_eq!(m["files"][f]["bytes"], len, "{f}");
        assert_eq!(m["files"][f]["sha256"].as_str().unwrap().len(), 64);
    }
    let reports: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("reports.json")).unwrap()).unwrap();
    let reports = reports.as_array().unwrap();
    assert_eq!(m["reports"]["count"], reports.len());
    assert!(
        reports.iter().all(|r| r["synthetic"] == true),
        "synthetic recordings are flagged"
    );
    let task = &m["tasks"][0];
    assert_eq!(task["id"], "heart_murmur");
    assert_eq!(task["recording"], "heart");
    assert_eq!(task["synthetic"], true);
    assert!(task["metrics"]["test_auroc"].is_number(), "{task}");
    // Every input set was tried and tested; the binary head is calibrated; the familiarity check
    // has references for heart recordings.
    assert_eq!(task["metrics"]["candidates"].as_array().unwrap().len(), 5);
    assert!(task["inputs"].as_array().is_some_and(|i| !i.is_empty()));
    assert!(task["calibration"]["method"]
        .as_str()
        .unwrap()
        .contains("Platt"));
    assert_eq!(m["familiarity"]["kinds"][0]["recording"], "heart");
    assert!(
        m["files"]["familiarity.safetensors"]["bytes"]
            .as_u64()
            .unwrap()
            > 0
    );

    // Two recordings, random bytes, a missing file, silence: one object each, in order. The two
    // recordings are ones the familiarity check accepts (it refuses ~5 % of held-out recordings by
    // design; the first ten hold at least two it accepts).
    let mut all: Vec<PathBuf> = std::fs::read_dir(ds.join("training_data"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wav"))
        .collect();
    all.sort();
    all.truncate(10);
    let (_, first, _) = predict_json(&bundle, &all, &[]);
    let wavs: Vec<PathBuf> = all
        .iter()
        .zip(first.as_array().unwrap())
        .filter(|(_, o)| o["verdict"] == "ok" && o["familiarity"][0]["familiar"] == true)
        .map(|(p, _)| p.clone())
        .take(2)
        .collect();
    assert_eq!(wavs.len(), 2, "{first}");
    let junk = tmp.path().join("junk.wav");
    std::fs::write(
        &junk,
        (0..4000u32)
            .map(|i| (i * 7919 % 251) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let silent = tmp.path().join("silent.wav");
    std::fs::write(
        &silent,
        Wav::pcm(1, 16_000, 16).bytes(&vec![vec![0.0]; 48_000]),
    )
    .unwrap();
    let short = tmp.path().join("short.wav");
    std::fs::write(
        &short,
        Wav::pcm(1, 16_000, 16).bytes(&signal(1, 16_000, 0.4)),
    )
    .unwrap();
    let files = vec![
        wavs[0].clone(),
        junk.clone(),
        tmp.path().join("missing.wav"),
        silent,
        short,
        wavs[1].clone(),
    ];
    let (code, v, stderr) = predict_json(&bundle, &files, &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("2 of 6 files could not be screened"),
        "{stderr}"
    );
    let arr = v.as_array().expect("a JSON array");
    assert_eq!(arr.len(), 6);
    for (o, f) in arr.iter().zip(&files) {
        assert_eq!(o["file"], f.display().to_string());
    }
    for i in [0, 5] {
        let o = &arr[i];
        assert_eq!(o["quality"]["verdict"], "ok", "{o}");
        let s = o["scores"]["heart_murmur"]["score"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&s), "{s}");
        let reports = o["reports"].as_array().unwrap();
        assert_eq!(reports.len(), 3);
        assert!(!reports[0]["text"].as_str().unwrap().is_empty());
        let sims: Vec<f64> = reports
            .iter()
            .map(|r| r["similarity"].as_f64().unwrap())
            .collect();
        assert!(sims[0] >= sims[1] && sims[1] >= sims[2], "{sims:?}");
        assert!(!o["chunks"].as_array().unwrap().is_empty());
    }
    assert!(
        arr[1]["error"]
            .as_str()
            .unwrap()
            .contains("not a recognised audio file"),
        "{}",
        arr[1]
    );
    assert!(
        arr[2]["error"].as_str().unwrap().contains("cannot open"),
        "{}",
        arr[2]
    );
    assert_eq!(arr[3]["quality"]["verdict"], "no_sound");
    assert!(arr[3]
        .get("scores")
        .is_none_or(|s| s.as_object().unwrap().is_empty()));
    assert_eq!(arr[4]["quality"]["verdict"], "too_short");

    // The bad-input matrix through `predict`: each file gets its own one-line error, in order.
    let good = Wav::pcm(1, 16_000, 16).bytes(&signal(1, 16_000, 1.0));
    let mut nan = signal(1, 16_000, 1.0);
    nan[10][0] = f64::NAN;
    let mut huge = signal(1, 16_000, 1.0);
    huge[20][0] = 3e38;
    let matrix: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.wav", vec![], "empty"),
        ("header.wav", good[..12].to_vec(), "no format chunk"),
        ("fmt.wav", good[..30].to_vec(), "cut short"),
        ("frame.wav", good[..44].to_vec(), "no audio samples"),
        (
            "notes.wav",
            b"my notes, not audio\n".repeat(50),
            "not a recognised",
        ),
        (
            "nan.wav",
            Wav::float(1, 16_000, 32).bytes(&nan),
            "NaN or infinite",
        ),
        (
            "huge.wav",
            Wav::float(1, 16_000, 32).bytes(&huge),
            "far outside [-1, 1]",
        ),
        (
            "zero-rate.wav",
            Wav::pcm(1, 0, 16).bytes(&signal(1, 16_000, 0.1)),
            "0 Hz",
        ),
        (
            "channels.wav",
            Wav::pcm(1000, 16_000, 16).bytes(&[vec![0.1; 1000]]),
            "1000 audio channels",
        ),
    ];
    let mut paths = Vec::new();
    for (name, bytes, _) in &matrix {
        let p = tmp.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        paths.push(p);
    }
    let (code, v, stderr) = predict_json(&bundle, &paths, &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("9 of 9 files could not be screened"),
        "{stderr}"
    );
    for (o, (name, _, needle)) in v.as_array().unwrap().iter().zip(&matrix) {
        let e = o["error"].as_str().unwrap_or_default();
        assert!(e.contains(needle), "{name}: {o}");
        assert!(!e.contains('\n'), "{name}: one line");
    }

    // The same file gives the same scores; --recording cough selects no heart task.
    let (code, again, _) = predict_json(&bundle, &files[..1], &[]);
    assert_eq!(code, Some(0));
    assert_eq!(again[0]["scores"], arr[0]["scores"]);
    let (_, cough, _) = predict_json(&bundle, &files[..1], &["--recording", "cough"]);
    assert!(cough[0]["scores"].as_object().unwrap().is_empty());

    // A damaged file and a newer format version are refused with one line each.
    let damaged = tmp.path().join("damaged");
    std::fs::create_dir(&damaged).unwrap();
    for e in std::fs::read_dir(&bundle).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, damaged.join(p.file_name().unwrap())).unwrap();
    }
    let model = damaged.join("model.safetensors");
    let mut b = std::fs::read(&model).unwrap();
    let last = b.len() - 1;
    b[last] ^= 1;
    std::fs::write(&model, b).unwrap();
    let (code, _, stderr) = predict_json(&damaged, &files[..1], &[]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("model.safetensors is damaged"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    let text = std::fs::read_to_string(bundle.join("manifest.json")).unwrap();
    std::fs::write(
        damaged.join("manifest.json"),
        text.replace("\"format_version\": 1", "\"format_version\": 2"),
    )
    .unwrap();
    let (code, _, stderr) = predict_json(&damaged, &files[..1], &[]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("format version 2"), "{stderr}");

    // Export refuses to overwrite without --force.
    let o = acula()
        .args(["export", "--run"])
        .arg(tmp.path().join("run"))
        .arg("--reports")
        .arg(tmp.path().join("r.csv"))
        .arg("--embeddings")
        .arg(tmp.path().join("emb.npy"))
        .arg("--out")
        .arg(&bundle)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));

    // `acula refit` fits the heads again on the bundle's own encoder: the encoder, reports and
    // index are kept byte for byte, the heads give the same scores (same data, same folds), and an
    // existing --out is refused without --force.
    let refit = tmp.path().join("refit");
    let task_arg = format!("{}:murmur", ds.display());
    ok(acula()
        .args(["refit", "--bundle"])
        .arg(&bundle)
        .args(["--task", &task_arg, "--out"])
        .arg(&refit));
    for f in [
        "model.safetensors",
        "reports.json",
        "reports.safetensors",
        "heads.safetensors",
    ] {
        assert_eq!(
            std::fs::read(bundle.join(f)).unwrap(),
            std::fs::read(refit.join(f)).unwrap(),
            "{f}"
        );
    }
    let (code, again, _) = predict_json(&refit, &files[..1], &[]);
    assert_eq!(code, Some(0));
    assert_eq!(again[0]["scores"], arr[0]["scores"]);
    let o = acula()
        .args(["refit", "--bundle"])
        .arg(&bundle)
        .args(["--task", &task_arg, "--out"])
        .arg(&refit)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--force"));

    // A bundle whose deferred text side is not at hand (the default bundle without
    // text.safetensors) refits into a bundle without a text side, and says so.
    let no_text = tmp.path().join("no-text");
    std::fs::create_dir(&no_text).unwrap();
    for e in std::fs::read_dir(super::root().join("www/models/default")).unwrap() {
        let e = e.unwrap();
        if e.file_name() != "text.safetensors" {
            std::fs::copy(e.path(), no_text.join(e.file_name())).unwrap();
        }
    }
    let refit2 = tmp.path().join("refit-no-text");
    let o = ok(acula()
        .args(["refit", "--bundle"])
        .arg(&no_text)
        .args(["--task", &task_arg, "--out"])
        .arg(&refit2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no text side"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(refit2.join("manifest.json")).unwrap()).unwrap();
    assert!(m.get("text").is_none() && m["files"].get("text.safetensors").is_none());
}

#[test]
fn the_recipe_names_what_is_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let o = acula()
        .args(["train", "--recipe", "default", "--data"])
        .arg(tmp.path().join("nothing"))
        .arg("--out")
        .arg(tmp.path().join("run"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("covid19-cough") && e.contains("is missing"),
        "{e}"
    );
    assert!(
        !tmp.path().join("run").exists(),
        "nothing written on failure"
    );
}

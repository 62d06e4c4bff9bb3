//! `acula holdout` and `acula eval` end to end on synthetic lung sounds (ICBHI layout, official split):
//! the held-out reports leave out every recording the evaluation validates or tests on, and the
//! evaluation writes its table, ROC chart and retrieval rows. The teacher is the mock of `train.rs`
//! (made-up report embeddings through the precomputed-embeddings reader); the MiniLM path is covered by
//! `tests/parity/teacher.py`.

use std::collections::BTreeMap;
use std::path::Path;

use super::acula;
use super::datasets::csv_rows;
use super::train::{mock_teacher, TINY_ALIGN};

fn run_ok(c: &mut std::process::Command) -> String {
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The official split of the synthetic ICBHI layout: recording → "train" or "test".
fn official_split(ds: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(ds.join("ICBHI_challenge_train_test.txt"))
        .unwrap()
        .lines()
        .filter_map(|l| {
            let (a, b) = l.split_once('\t')?;
            Some((a.to_string(), b.trim().to_string()))
        })
        .collect()
}

#[test]
fn holdout_then_align_then_eval() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = tmp.path().join("lung");
    run_ok(
        acula()
            .args(["synth", "lung", "--patients", "8", "--seed", "10", "--out"])
            .arg(&ds),
    );
    let csv = tmp.path().join("r.csv");
    run_ok(acula().arg("reports").arg(&ds).arg("--out").arg(&csv));
    mock_teacher(&csv, tmp.path());
    let task = format!("{}:copd", ds.display());
    let cycles = format!("{}:cycle", ds.display());

    // Held out: the official test recordings and the validation part carved from training.
    let held = tmp.path().join("held");
    let out = run_ok(
        acula()
            .arg("holdout")
            .args(["--task", &task, "--task", &cycles, "--reports"])
            .arg(&csv)
            .arg("--embeddings")
            .arg(tmp.path().join("emb.npy"))
            .arg("--out")
            .arg(&held),
    );
    assert!(out.contains("reports kept"), "{out}");
    let split = official_split(&ds);
    let all = csv_rows(&std::fs::read_to_string(&csv).unwrap());
    let kept = csv_rows(&std::fs::read_to_string(held.join("reports.csv")).unwrap());
    let id = |row: &Vec<String>| row[5].clone();
    assert!(kept.len() > 1 && kept.len() < all.len(), "{}", kept.len());
    for row in &kept[1..] {
        assert_eq!(
            split.get(&id(row)).map(String::as_str),
            Some("train"),
            "{} is kept but not a training recording",
            id(row)
        );
    }
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(held.join("holdout.json")).unwrap()).unwrap();
    assert_eq!(summary["kept"].as_u64(), Some(kept.len() as u64 - 1));
    assert_eq!(
        summary["kept"].as_u64().unwrap() + summary["dropped"].as_u64().unwrap(),
        all.len() as u64 - 1
    );
    let npy = std::fs::read(held.join("embeddings.npy")).unwrap();
    let header = String::from_utf8_lossy(&npy[..npy.len().min(128)]).into_owned();
    assert!(
        header.contains(&format!("'shape': ({}, 8)", kept.len() - 1)),
        "{header}"
    );

    // Align on the kept pairs only, then evaluate with retrieval in its joint space.
    let cfg = tmp.path().join("align.json");
    std::fs::write(&cfg, TINY_ALIGN).unwrap();
    let run = tmp.path().join("aligned");
    run_ok(
        acula()
            .arg("align")
            .arg(held.join("reports.csv"))
            .arg("--embeddings")
            .arg(held.join("embeddings.npy"))
            .arg("--out")
            .arg(&run)
            .arg("--config")
            .arg(&cfg),
    );
    // The results go into a bundle's manifest too (a copy of the default bundle's manifest).
    let bundle = tmp.path().join("bundle");
    std::fs::create_dir(&bundle).unwrap();
    let original = std::fs::read(super::root().join("www/models/default/manifest.json")).unwrap();
    std::fs::write(bundle.join("manifest.json"), &original).unwrap();
    let eval = tmp.path().join("eval");
    let md = run_ok(
        acula()
            .arg("eval")
            .args(["--task", &task, "--model", "hand=handcrafted", "--model"])
            .arg(format!("aligned={}", run.display()))
            .arg("--retrieval")
            .arg(format!("aligned={}", run.display()))
            .arg("--reports")
            .arg(&csv)
            .arg("--embeddings")
            .arg(tmp.path().join("emb.npy"))
            .args(["--seeds", "2", "--bootstrap", "20", "--epochs", "4"])
            .arg("--bundle")
            .arg(&bundle)
            .arg("--out")
            .arg(&eval),
    );
    assert!(
        md.contains("| hand |") && md.contains("| aligned |"),
        "{md}"
    );
    let res: serde_json::Value =
        serde_json::from_slice(&std::fs::read(eval.join("results.json")).unwrap()).unwrap();
    let cells = res["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 2);
    for c in cells {
        let m = c["mean"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&m), "{c}");
        assert_eq!(c["per_seed"].as_array().unwrap().len(), 2);
        assert_eq!(c["metric"], "auroc");
    }
    assert_eq!(res["tasks"][0]["protocol"], "official");
    let roc = res["tasks"][0]["roc"].as_str().unwrap();
    assert!(std::fs::read_to_string(eval.join(roc))
        .unwrap()
        .starts_with("<svg"));
    let r = &res["retrieval"][0];
    let r1 = r["audio_to_report"]["r1"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&r1), "{r}");
    assert!(r["audio_to_report"]["queries"].as_u64().unwrap() > 0);
    // Every example lists three reports; the mock teacher has 8 dimensions, so no zero-shot.
    for e in r["examples"].as_array().unwrap() {
        assert_eq!(e["top"].as_array().unwrap().len(), 3, "{e}");
    }
    assert!(r["zero_shot"].is_null());
    let figure = std::fs::read_to_string(eval.join("examples-icbhi-copd.svg")).unwrap();
    assert!(figure.starts_with("<svg") && (figure.contains('✓') || figure.contains('✗')));
    let before: serde_json::Value = serde_json::from_slice(&original).unwrap();
    let after: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(after["files"], before["files"]);
    assert_eq!(after["tasks"], before["tasks"]);
    let probe = after["evaluation"]["linear_probe"].as_array().unwrap();
    assert_eq!(probe.len(), 2);
    assert_eq!(probe[0]["mean"], cells[0]["mean"]);
    assert!(after["evaluation"]["retrieval"][0]["examples"].is_null());
    // The rewrite changes the `evaluation` field only: every other value is equal (numbers to the bit)
    // and every key outside `evaluation` comes in the same order as before.
    let strip = |mut v: serde_json::Value| {
        v.as_object_mut().unwrap().remove("evaluation");
        v
    };
    assert_eq!(strip(after.clone()), strip(before.clone()));
    let keys = |text: &str| -> Vec<String> {
        let mut inside = false;
        let mut out = Vec::new();
        for line in text.lines() {
            if line.starts_with("  \"") {
                inside = line.starts_with("  \"evaluation\"");
            }
            let t = line.trim_start();
            if !inside && t.starts_with('"') && t.contains("\": ") {
                out.push(t.split("\": ").next().unwrap().to_string());
            }
        }
        out
    };
    let after_text = std::fs::read_to_string(bundle.join("manifest.json")).unwrap();
    let before_keys = keys(std::str::from_utf8(&original).unwrap());
    assert!(before_keys.len() > 100, "{}", before_keys.len());
    assert_eq!(keys(&after_text), before_keys);

    // A regression task (age from the demographics): leave one subject out, MAE in years.
    let reg = tmp.path().join("eval-age");
    let md = run_ok(
        acula()
            .arg("eval")
            .arg("--task")
            .arg(format!("{}:age", ds.display()))
            .args([
                "--model",
                "hand=handcrafted",
                "--seeds",
                "2",
                "--epochs",
                "3",
            ])
            .args(["--bootstrap", "20", "--out"])
            .arg(&reg),
    );
    assert!(md.contains("MAE "), "{md}");
    let res: serde_json::Value =
        serde_json::from_slice(&std::fs::read(reg.join("results.json")).unwrap()).unwrap();
    let c = &res["cells"][0];
    assert_eq!(c["metric"], "mae");
    let mae = c["mean"].as_f64().unwrap();
    assert!(mae.is_finite() && mae > 0.0, "{c}");
    assert_eq!(res["tasks"][0]["protocol"], "loso");
    assert_eq!(res["tasks"][0]["regression_unit"], "years");
    assert_eq!(res["tasks"][0]["folds"].as_u64(), Some(8));

    // A --bundle that is not a bundle is refused before any work, with exit code 1.
    let o = acula()
        .arg("eval")
        .args(["--task", &task, "--model", "hand=handcrafted", "--bundle"])
        .arg(tmp.path())
        .arg("--out")
        .arg(tmp.path().join("e2"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is not a model bundle's manifest"));
    assert!(!tmp.path().join("e2").exists());

    // A task the dataset does not have: one line, exit code 2.
    let o = acula()
        .arg("holdout")
        .arg("--task")
        .arg(format!("{}:nonsense", ds.display()))
        .arg("--reports")
        .arg(&csv)
        .arg("--embeddings")
        .arg(tmp.path().join("emb.npy"))
        .arg("--out")
        .arg(tmp.path().join("h2"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("has no task nonsense"), "{err}");
    assert!(!tmp.path().join("h2").exists());
}

//! `acula pretrain` end to end: a run killed with SIGKILL right after a checkpoint and resumed ends
//! with exactly the losses of an uninterrupted run of the same seed; bad runs fail cleanly.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::acula;

/// A small encoder so that debug builds train in seconds: 16×8 patches, 32 wide, 1 block.
const CONFIG: &str = r#"{
  "encoder": {"patch": [16, 8], "dim": 32, "depth": 1, "heads": 2},
  "mae": {"decoder_dim": 16, "decoder_depth": 1, "decoder_heads": 2},
  "optim": {"steps": 8, "batch": 4, "accumulate": 2, "warmup_steps": 2, "lr": 0.001},
  "checkpoint_every": 2,
  "seed": 11
}"#;

fn losses(run: &Path) -> Vec<String> {
    // "step" and "losses" of each line (speed differs between runs).
    std::fs::read_to_string(run.join("log.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            format!("{} {}", v["step"], v["losses"])
        })
        .collect()
}

fn pretrain(dataset: &Path, out: &Path, config: &Path) -> Command {
    let mut c = acula();
    c.arg("pretrain")
        .arg(dataset)
        .arg("--out")
        .arg(out)
        .arg("--config")
        .arg(config);
    c
}

#[test]
fn a_killed_run_resumes_to_the_same_losses() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = tmp.path().join("lung");
    let o = acula()
        .args(["synth", "lung", "--patients", "3", "--seed", "2", "--out"])
        .arg(&ds)
        .output()
        .unwrap();
    assert!(o.status.success());
    let cfg = tmp.path().join("train.json");
    std::fs::write(&cfg, CONFIG).unwrap();

    let a = tmp.path().join("a");
    let o = pretrain(&ds, &a, &cfg).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in [
        "config.json",
        "log.jsonl",
        "loss.svg",
        "encoder.bpk",
        "checkpoints/step-0000008/state.json",
    ] {
        assert!(a.join(f).exists(), "{f} missing");
    }
    let full = losses(&a);
    assert_eq!(full.len(), 8);

    // Same run, killed (SIGKILL) as soon as the step-4 checkpoint exists, then resumed.
    let b = tmp.path().join("b");
    let mut child = pretrain(&ds, &b, &cfg).spawn().unwrap();
    let t0 = Instant::now();
    while !b.join("checkpoints/step-0000004").exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "no checkpoint appeared"
        );
        if child.try_wait().unwrap().is_some() {
            break; // finished before we could kill it: the resume below is then a no-op.
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
    let o = acula()
        .arg("pretrain")
        .arg(&ds)
        .arg("--out")
        .arg(&b)
        .arg("--resume")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        losses(&b),
        full,
        "resumed run differs from the uninterrupted one"
    );

    // A damaged newest checkpoint is detected and an older one used.
    std::fs::write(b.join("checkpoints/step-0000008/model.bpk"), b"garbage").unwrap();
    let o = acula()
        .arg("pretrain")
        .arg(&ds)
        .arg("--out")
        .arg(&b)
        .arg("--resume")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("resuming at step 6"));
    assert_eq!(losses(&b), full);

    // Starting over in a used folder, and resuming with other settings, are refused.
    let o = pretrain(&ds, &a, &cfg).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not empty"));
    let o = acula()
        .arg("pretrain")
        .arg(&ds)
        .arg("--out")
        .arg(&a)
        .args(["--resume", "--steps", "99"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

/// A 4-step alignment configuration of a 1-block, 32-wide encoder (seconds in a debug build).
pub(crate) const TINY_ALIGN: &str = r#"{"encoder": {"patch": [16, 8], "dim": 32, "depth": 1, "heads": 2},
            "mae": {"decoder_dim": 16, "decoder_depth": 1, "decoder_heads": 2},
            "optim": {"steps": 4, "batch": 4, "accumulate": 1, "warmup_steps": 1, "lr": 0.001},
            "proj_hidden": 16, "proj_dim": 8, "checkpoint_every": 2}"#;

/// Embeds the reports of `csv` with a mock teacher (made-up 8-d embeddings through the
/// precomputed-embeddings reader) into `dir/emb.npy`.
pub(crate) fn mock_teacher(csv: &Path, dir: &Path) {
    let rows = super::datasets::csv_rows(&std::fs::read_to_string(csv).unwrap());
    let jsonl: String = rows[1..]
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let v: Vec<f32> = (0..8)
                .map(|k| ((i * 7 + k * 3) % 11) as f32 / 11.0)
                .collect();
            format!("{}\n", serde_json::json!({"text": r[2], "embedding": v}))
        })
        .collect();
    std::fs::write(dir.join("t.jsonl"), jsonl).unwrap();
    let o = acula()
        .env("ACULA_CACHE", dir.join("cache"))
        .arg("embed-reports")
        .arg(csv)
        .arg("--out")
        .arg(dir.join("emb"))
        .arg(format!("--teacher=file:{}", dir.join("t.jsonl").display()))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// `acula align` end to end on synthetic lung sounds. The teacher here is a file of made-up report
/// embeddings (a mock of a language model, through the precomputed-embeddings reader): the real
/// MiniLM path is covered by `tests/parity/teacher.py` and would need the model files in the test.
#[test]
fn align_runs_with_every_loss() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = tmp.path().join("lung");
    assert!(acula()
        .args(["synth", "lung", "--patients", "3", "--seed", "4", "--out"])
        .arg(&ds)
        .status()
        .unwrap()
        .success());
    let csv = tmp.path().join("r.csv");
    assert!(acula()
        .arg("reports")
        .arg(&ds)
        .arg("--out")
        .arg(&csv)
        .status()
        .unwrap()
        .success());
    mock_teacher(&csv, tmp.path());
    let cfg = tmp.path().join("align.json");
    std::fs::write(&cfg, TINY_ALIGN).unwrap();
    for loss in ["released-cka", "linear-cka", "info-nce"] {
        let run = tmp.path().join(loss);
        let o = acula()
            .arg("align")
            .arg(&csv)
            .arg("--embeddings")
            .arg(tmp.path().join("emb.npy"))
            .arg("--out")
            .arg(&run)
            .arg("--config")
            .arg(&cfg)
            .args(["--loss", loss])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{loss}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let log = losses(&run);
        assert_eq!(log.len(), 4);
        assert!(
            log[0].contains("\"align\"") && log[0].contains("\"mae\""),
            "{}",
            log[0]
        );
        assert!(run.join("encoder.bpk").exists() && run.join("loss.svg").exists());
    }
    // Embeddings that do not match the CSV are refused with one line.
    let bad = tmp.path().join("bad.npy");
    std::fs::write(&bad, b"\x93NUMPY\x01\x00\x46\x00{'descr': '<f4', 'fortran_order': False, 'shape': (1, 8), }                    \n\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0").unwrap();
    let o = acula()
        .arg("align")
        .arg(&csv)
        .arg("--embeddings")
        .arg(&bad)
        .arg("--out")
        .arg(tmp.path().join("x"))
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

//! End-to-end tests of `acula data list`, `acula reports`, `acula embed-reports` and `acula synth`
//! through the binary.

use std::path::Path;
use std::process::Output;

use super::{acula, data, read_npy, skip};

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn data_list_finds_every_real_dataset() {
    let d = data();
    if !d.is_dir() {
        let why = format!(
            "{} is absent (the real datasets; see ../shared/data/README.md)",
            d.display()
        );
        skip("data_list_finds_every_real_dataset", &why);
        return;
    }
    let o = acula().args(["data", "list"]).arg(&d).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    // The four real datasets and their published counts (../shared/data/README.md).
    for needle in [
        "icbhi — ICBHI 2017",
        "records 920 · subjects 126 · with audio 0/920 · breathing cycles 6,898",
        "covid19-cough — ",
        "records 927 · subjects 927 · with audio 927/927",
        "task covid (binary): negative 450 · positive 477",
        "kauh — ",
        "records 30 · subjects 30 · with audio 30/30",
        "coswara — ",
        "subjects 2,639",
        "problem: 2,666 × audio marked unusable by the publisher (dropped)",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    let j = acula()
        .args(["data", "list", "--json"])
        .arg(&d)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&j.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 4);
}

#[test]
fn data_list_of_a_folder_without_datasets_fails_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let o = acula()
        .args(["data", "list"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).starts_with("error: ") && stderr(&o).contains("no dataset found"));
    assert_eq!(stderr(&o).lines().count(), 1);
}

fn synth_lung(dir: &Path) {
    let o = acula()
        .args(["synth", "lung", "--patients", "3", "--seed", "5", "--out"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn reports_resume_after_an_interrupted_run_and_keep_finished_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = tmp.path().join("icbhi");
    synth_lung(&ds);
    let list = acula().args(["data", "list"]).arg(&ds).output().unwrap();
    assert!(stdout(&list).contains("[SYNTHETIC]"), "{}", stdout(&list));

    let out = tmp.path().join("reports.csv");
    let first = acula()
        .arg("reports")
        .arg(&ds)
        .arg("--out")
        .arg(&out)
        .args(["--limit", "2"])
        .output()
        .unwrap();
    assert!(first.status.success(), "{}", stderr(&first));
    let two = std::fs::read_to_string(&out).unwrap();
    assert_eq!(two.lines().count(), 3, "header + 2 rows");
    // A run killed after writing one more report leaves a journal line (and a torn one).
    let full = acula()
        .arg("reports")
        .arg(&ds)
        .arg("--out")
        .arg(tmp.path().join("all.csv"))
        .output()
        .unwrap();
    assert!(full.status.success());
    let all = std::fs::read_to_string(tmp.path().join("all.csv")).unwrap();
    let mut rdr = csv_rows(&all);
    let third = rdr.remove(3);
    let journal = tmp.path().join("reports.csv.partial.jsonl");
    let mut row = serde_json::Map::new();
    for (k, v) in [
        "audio_path",
        "meta_report",
        "report",
        "writer",
        "dataset",
        "record_id",
    ]
    .iter()
    .zip(&third)
    {
        row.insert(k.to_string(), serde_json::Value::String(v.clone()));
    }
    // Mark the journal row so we can see it was kept, not regenerated.
    row.insert(
        "report".into(),
        serde_json::Value::String("KEPT FROM THE JOURNAL.".into()),
    );
    std::fs::write(
        &journal,
        format!(
            "{}\n{{\"audio_path\": \"torn",
            serde_json::Value::Object(row)
        ),
    )
    .unwrap();

    let resumed = acula()
        .arg("reports")
        .arg(&ds)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    let text = std::fs::read_to_string(&out).unwrap();
    let rows = csv_rows(&text);
    assert_eq!(rows.len(), csv_rows(&all).len());
    assert!(text.starts_with(&two[..two.len() - 1].lines().next().unwrap().to_string()));
    assert_eq!(rows[3][2], "KEPT FROM THE JOURNAL.");
    assert_eq!(
        rows[1],
        csv_rows(&two)[1],
        "rows of the first run are kept as they were"
    );
    assert!(
        !journal.exists(),
        "the journal is removed once the CSV is complete"
    );
}

pub(crate) fn csv_rows(text: &str) -> Vec<Vec<String>> {
    // The reports CSV quotes fields with commas; a small reader for the test.
    let mut rows = Vec::new();
    let mut field = String::new();
    let mut row = Vec::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (c, _) => field.push(c),
        }
    }
    rows
}

#[test]
fn embed_reports_from_a_precomputed_file_and_its_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = tmp.path().join("icbhi");
    synth_lung(&ds);
    let csv = tmp.path().join("r.csv");
    assert!(acula()
        .arg("reports")
        .arg(&ds)
        .arg("--out")
        .arg(&csv)
        .output()
        .unwrap()
        .status
        .success());
    let rows = csv_rows(&std::fs::read_to_string(&csv).unwrap());
    // An external teacher's file: 3-d vectors, keyed by the lower-cased text.
    let mut lines = String::new();
    for (i, r) in rows[1..].iter().enumerate() {
        let v = serde_json::json!({"text": r[2], "embedding": [i as f32, 1.0, -2.5]});
        lines.push_str(&format!("{v}\n"));
    }
    let file = tmp.path().join("ext.jsonl");
    std::fs::write(&file, &lines).unwrap();
    let out = tmp.path().join("emb");
    let o = acula()
        .env("ACULA_CACHE", tmp.path().join("cache"))
        .arg("embed-reports")
        .arg(&csv)
        .arg("--out")
        .arg(&out)
        .arg("--teacher")
        .arg(format!("file:{}", file.display()))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let (shape, values) = read_npy(&tmp.path().join("emb.npy"));
    assert_eq!(shape, [rows.len() - 1, 3]);
    assert_eq!(&values[3..6], &[1.0, 1.0, -2.5]);
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("emb.json")).unwrap())
            .unwrap();
    assert_eq!(meta["dim"], 3);

    // A file missing one report: a one-line error naming the problem, nothing written.
    let short: String = lines.lines().skip(1).map(|l| format!("{l}\n")).collect();
    std::fs::write(&file, short).unwrap();
    let out2 = tmp.path().join("emb2");
    let o = acula()
        .env("ACULA_CACHE", tmp.path().join("cache2"))
        .arg("embed-reports")
        .arg(&csv)
        .arg("--out")
        .arg(&out2)
        .arg("--teacher")
        .arg(format!("file:{}", file.display()))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("no entry for the report"));
    assert!(!tmp.path().join("emb2.npy").exists());

    let o = acula()
        .arg("embed-reports")
        .arg(&csv)
        .arg("--out")
        .arg(&out2)
        .args(["--teacher", "gpt"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown teacher"));
}

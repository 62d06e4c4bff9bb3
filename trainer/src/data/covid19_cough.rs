//! The CC0 `covid19-cough` set (induced coughs by telephone call centre and messenger bot, with
//! COVID-19 status): `metadata.json`, a list of `{filename, covid19, verified?, asymptomatic?, source,
//! comment, start_at?, end_at?}`, and `raw/<filename>` MP3s.
//!
//! Task: COVID-19 positive vs negative. The label is confounded with the recording source (the call
//! centre has more positives); evaluation reports AUROC within each source as well. `start_at`/`end_at`
//! (the cough's span, seconds) become the record's segment. No official split.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::metadata::Covid19CoughMeta;
use super::{
    find_ci, finish, read_text, AudioSource, DataError, Dataset, Label, Loader, Metadata, Problem,
    Problems, Record, Task,
};

pub struct Covid19Cough;

#[derive(Deserialize)]
struct Entry {
    filename: String,
    covid19: bool,
    #[serde(default)]
    verified: Option<bool>,
    #[serde(default)]
    asymptomatic: Option<bool>,
    source: String,
    #[serde(default)]
    comment: Option<String>,
    #[serde(default)]
    start_at: Option<serde_json::Value>,
    #[serde(default)]
    end_at: Option<serde_json::Value>,
}

fn seconds(v: &Option<serde_json::Value>) -> Option<f64> {
    match v.as_ref()? {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|x: &f64| x.is_finite() && *x >= 0.0)
}

impl Loader for Covid19Cough {
    fn id(&self) -> &'static str {
        "covid19-cough"
    }
    fn name(&self) -> &'static str {
        "covid19-cough (CC0)"
    }
    fn detect(&self, dir: &Path) -> bool {
        find_ci(dir, "metadata.json").is_some() && find_ci(dir, "raw").is_some_and(|p| p.is_dir())
    }

    fn load(&self, dir: &Path) -> Result<Dataset, DataError> {
        let path = find_ci(dir, "metadata.json")
            .ok_or_else(|| DataError::layout(dir, "no metadata.json"))?;
        let raw = dir.join("raw");
        let text = read_text(&path)?;
        let values: Vec<serde_json::Value> = serde_json::from_str(&text)
            .map_err(|e| DataError::layout(&path, format!("not a JSON list of recordings: {e}")))?;
        let mut problems = Problems::default();
        let mut records = Vec::new();
        for (i, v) in values.into_iter().enumerate() {
            let e: Entry = match serde_json::from_value(v) {
                Ok(e) => e,
                Err(err) => {
                    problems.add(
                        Problem::UnreadableRow,
                        format!("{} entry {i}: {err}", path.display()),
                    );
                    continue;
                }
            };
            if e.filename.contains('/') || e.filename.contains('\\') || e.filename.is_empty() {
                problems.add(
                    Problem::UnreadableRow,
                    format!("{} entry {i}: bad file name", path.display()),
                );
                continue;
            }
            let wav = raw.join(&e.filename);
            let has_audio = wav.is_file();
            if !has_audio {
                problems.add(Problem::MissingAudio, e.filename.clone());
            }
            let (start, end) = (seconds(&e.start_at), seconds(&e.end_at));
            let id = e
                .filename
                .rsplit_once('.')
                .map(|(s, _)| s)
                .unwrap_or(&e.filename)
                .to_string();
            records.push(Record {
                subject: id.clone(),
                id,
                modality: "cough".into(),
                audio: AudioSource {
                    path: wav,
                    start_s: start,
                    end_s: end.filter(|e| start.is_none_or(|s| *e > s)),
                    channel: None,
                },
                has_audio,
                metadata: Metadata::Covid19Cough(Covid19CoughMeta {
                    covid19: e.covid19,
                    verified: e.verified,
                    asymptomatic: e.asymptomatic,
                    source: e.source,
                    comment: e.comment.filter(|c| !c.trim().is_empty()),
                }),
                labels: BTreeMap::from([("covid", Label::Class(usize::from(e.covid19)))]),
                split: None,
                segments: Vec::new(),
            });
        }
        let tasks = vec![Task::classes(
            "covid",
            "COVID-19 positive vs negative (confounded with the source: report per source too)",
            &["negative", "positive"],
        )];
        finish(self, "json", dir, tasks, records, problems, false)
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{shared_data, write};
    use super::*;

    #[test]
    fn reads_the_real_set() {
        let Some(data) = shared_data() else { return };
        let ds = Covid19Cough.load(&data.join("covid19-cough")).unwrap();
        assert_eq!(ds.records.len(), 927);
        assert_eq!(ds.with_audio(), 927);
        assert!(ds.problems.is_empty(), "{:?}", ds.problems);
        // metadata.json: 347 + 130 positives (call centre + messenger bot).
        let pos = ds
            .records
            .iter()
            .filter(|r| r.labels["covid"] == Label::Class(1))
            .count();
        assert_eq!(pos, 477);
    }

    #[test]
    fn bad_entries_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("raw")).unwrap();
        write(&dir.path().join("raw/a.mp3"), "x");
        write(
            &dir.path().join("metadata.json"),
            r#"[{"filename":"a.mp3","covid19":true,"source":"telegram","comment":"","start_at":"0.5","end_at":1.5},
                {"filename":"b.mp3","covid19":false,"source":"call-center"},
                {"filename":"../c.mp3","covid19":false,"source":"call-center"},
                {"covid19":"maybe"}]"#,
        );
        let ds = Covid19Cough.load(dir.path()).unwrap();
        assert_eq!(ds.records.len(), 2);
        assert_eq!(ds.records[0].audio.start_s, Some(0.5));
        assert_eq!(ds.records[0].audio.end_s, Some(1.5));
        assert_eq!(ds.problems.count(Problem::UnreadableRow), 2);
        assert_eq!(ds.problems.count(Problem::MissingAudio), 1);
    }
}

//! CoughVID (Orlandic et al., 2021; Zenodo 4048312): one folder with `metadata_compiled.csv` and, per
//! recording, `<uuid>.webm` or `<uuid>.ogg` (plus `<uuid>.json`); OPERA's converted `<uuid>.wav` copies
//! (in the same folder or in `wav/`) are used when present. Columns are read by name: the v3 release
//! adds `SNR` and `status_SSL` to the v1/v2 header.
//!
//! Tasks (OPERA T5/T6): COVID-19 vs healthy from the self-reported `status` (`symptomatic` is not in
//! the task), and sex (female vs male). Recordings with `cough_detected` under 0.8 are left out of
//! both tasks, as OPERA does. No official split (OPERA's uuid lists are its own).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::metadata::{CoughVidExpert, CoughVidMeta};
use super::table::Table;
use super::{
    find_ci, finish, opt_flag, opt_num, opt_text, AudioSource, DataError, Dataset, Label, Loader,
    Metadata, Problem, Problems, Record, Task,
};

pub struct CoughVid;

/// Below this cough-detection probability a recording is not used for tasks (OPERA's filter).
pub const MIN_COUGH_DETECTED: f64 = 0.8;

fn audio_for(dir: &Path, uuid: &str) -> Option<PathBuf> {
    let wav_dir = dir.join("wav");
    for (d, ext) in [
        (dir, "webm"),
        (dir, "ogg"),
        (dir, "wav"),
        (wav_dir.as_path(), "wav"),
    ] {
        let p = d.join(format!("{uuid}.{ext}"));
        if p.is_file() {
            return Some(p);
        }
    }
    None
}

impl Loader for CoughVid {
    fn id(&self) -> &'static str {
        "coughvid"
    }
    fn name(&self) -> &'static str {
        "CoughVID"
    }
    fn detect(&self, dir: &Path) -> bool {
        find_ci(dir, "metadata_compiled.csv").is_some()
    }

    fn load(&self, dir: &Path) -> Result<Dataset, DataError> {
        let path = find_ci(dir, "metadata_compiled.csv")
            .ok_or_else(|| DataError::layout(dir, "no metadata_compiled.csv"))?;
        let t = Table::csv(&path)?;
        t.require(&path, &["uuid", "status", "gender"])?;
        let mut problems = Problems::default();
        for (line, _) in &t.bad_rows {
            problems.add(Problem::UnreadableRow, format!("{}:{line}", path.display()));
        }
        let mut records = Vec::new();
        for row in &t.rows {
            let uuid = t.get(row, "uuid");
            if uuid.is_empty() {
                problems.add(
                    Problem::UnreadableRow,
                    format!("{}:{}", path.display(), row.line),
                );
                continue;
            }
            let status = opt_text(t.get(row, "status"));
            let gender = opt_text(t.get(row, "gender"));
            let detected = opt_num(t.get(row, "cough_detected"));
            let mut labels = BTreeMap::new();
            let usable = detected.is_none_or(|d| d >= MIN_COUGH_DETECTED);
            if usable {
                match status.as_deref() {
                    Some("healthy") => {
                        labels.insert("covid", Label::Class(0));
                    }
                    Some("COVID-19") => {
                        labels.insert("covid", Label::Class(1));
                    }
                    Some("symptomatic") | None => {}
                    Some(other) => {
                        problems.add(Problem::UnknownLabel, format!("{uuid}: status {other:?}"))
                    }
                }
                match gender.as_deref() {
                    Some("male") => {
                        labels.insert("sex", Label::Class(0));
                    }
                    Some("female") => {
                        labels.insert("sex", Label::Class(1));
                    }
                    Some("other") | Some("pnts") | None => {}
                    Some(other) => {
                        problems.add(Problem::UnknownLabel, format!("{uuid}: gender {other:?}"))
                    }
                }
            }
            // The first of the three expert annotations that exists.
            let expert = (1..=3).find_map(|k| {
                let q = opt_text(t.get(row, &format!("quality_{k}")))?;
                let signs = ["dyspnea", "wheezing", "stridor", "choking", "congestion"]
                    .iter()
                    .filter(|s| opt_flag(t.get(row, &format!("{s}_{k}"))) == Some(true))
                    .map(|s| s.to_string())
                    .collect();
                Some(CoughVidExpert {
                    quality: Some(q),
                    cough_type: opt_text(t.get(row, &format!("cough_type_{k}"))),
                    diagnosis: opt_text(t.get(row, &format!("diagnosis_{k}"))),
                    severity: opt_text(t.get(row, &format!("severity_{k}"))),
                    signs,
                })
            });
            let audio = audio_for(dir, uuid);
            if audio.is_none() {
                problems.add(Problem::MissingAudio, uuid.to_string());
            }
            records.push(Record {
                id: uuid.to_string(),
                // One recording per uuid; CoughVID publishes no participant id.
                subject: uuid.to_string(),
                modality: "cough".into(),
                has_audio: audio.is_some(),
                audio: AudioSource::file(audio.unwrap_or_else(|| dir.join(format!("{uuid}.webm")))),
                metadata: Metadata::CoughVid(CoughVidMeta {
                    age: opt_num(t.get(row, "age")),
                    gender,
                    respiratory_condition: opt_flag(t.get(row, "respiratory_condition")),
                    fever_muscle_pain: opt_flag(t.get(row, "fever_muscle_pain")),
                    status,
                    cough_detected: detected,
                    expert,
                }),
                labels,
                split: None,
                segments: Vec::new(),
            });
        }
        let tasks = vec![
            Task::classes(
                "covid",
                "COVID-19 vs healthy, self-reported (OPERA T5)",
                &["healthy", "COVID-19"],
            ),
            Task::classes("sex", "sex (OPERA T6)", &["male", "female"]),
        ];
        finish(self, "zenodo", dir, tasks, records, problems, false)
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{write, write_wav};
    use super::*;

    #[test]
    fn fixture_in_the_v3_layout() {
        let dir = tempfile::tempdir().unwrap();
        write(
            &dir.path().join("metadata_compiled.csv"),
            "uuid,datetime,cough_detected,SNR,latitude,longitude,age,gender,respiratory_condition,fever_muscle_pain,status,status_SSL,quality_1,cough_type_1,dyspnea_1,wheezing_1,stridor_1,choking_1,congestion_1,nothing_1,diagnosis_1,severity_1\n\
             aaa,2020-04-13,0.96,10,,,15,male,False,False,healthy,,,,,,,,,,,\n\
             bbb,2020-04-14,0.98,10,,,23,female,True,True,COVID-19,,good,dry,True,False,False,False,False,False,COVID-19,mild\n\
             ccc,2020-04-14,0.10,10,,,40,female,False,False,healthy,,,,,,,,,,,\n\
             ddd,2020-04-14,0.90,10,,,40,robot,False,False,sick,,,,,,,,,,,\n\
             aaa,2020-04-15,0.90,10,,,40,male,False,False,healthy,,,,,,,,,,,\n",
        );
        write(&dir.path().join("aaa.webm"), "not decoded by the loader");
        write_wav(&dir.path().join("wav/bbb.wav"), 16000, 100);
        assert!(CoughVid.detect(dir.path()));
        let ds = CoughVid.load(dir.path()).unwrap();
        assert_eq!(ds.records.len(), 4);
        assert_eq!(ds.problems.count(Problem::DuplicateId), 1);
        assert_eq!(ds.problems.count(Problem::UnknownLabel), 2);
        assert_eq!(ds.problems.count(Problem::MissingAudio), 2); // ccc, ddd
        assert_eq!(ds.with_audio(), 2);
        assert_eq!(ds.records[1].labels["covid"], Label::Class(1));
        assert_eq!(ds.records[1].labels["sex"], Label::Class(1));
        assert!(ds.records[2].labels.is_empty(), "cough_detected 0.10 < 0.8");
        let Metadata::CoughVid(m) = &ds.records[1].metadata else {
            panic!()
        };
        assert_eq!(m.expert.as_ref().unwrap().signs, ["dyspnea"]);
    }

    #[test]
    fn a_file_without_the_needed_columns_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("metadata_compiled.csv"), "id,x\n1,2\n");
        let err = CoughVid.load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("missing column(s) uuid, status, gender"),
            "{err}"
        );
    }
}

//! RespiratoryDatabase@TR (Altan et al., 2017; Mendeley p9z4h98s6j): `Labels.csv` (`Patient ID,Diagnosis,`
//! with COPD0…COPD4) and `RespiratoryDatabase@TR/<patient>_<channel>.wav` (twelve lung channels L1–L6,
//! R1–R6 per patient; the WAVs may also sit beside the CSV).
//!
//! Task (OPERA T11): COPD severity 0–4 (5 classes). No official split.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::metadata::RespTrMeta;
use super::table::Table;
use super::{
    files_with_ext, find_ci, finish, AudioSource, DataError, Dataset, Label, Loader, Metadata,
    Problem, Problems, Record, Task,
};

pub struct RespTr;

fn channel_location(ch: &str) -> String {
    let side = match ch.chars().next() {
        Some('L') => "left",
        Some('R') => "right",
        _ => return "unknown position".into(),
    };
    // The database's channel numbering (as RespLLM's metadata text describes it).
    let pos = match ch.get(1..) {
        Some("1") => "posterior upper",
        Some("2") => "posterior middle",
        Some("3") => "posterior lower",
        Some("4") => "posterior inferior",
        Some("5") => "posterior costophrenic angle",
        Some("6") => "anterior lower",
        _ => return format!("{side} side"),
    };
    format!("{side} {pos} lung")
}

fn labels_file(dir: &Path) -> Option<std::path::PathBuf> {
    find_ci(dir, "Labels.csv")
}

impl Loader for RespTr {
    fn id(&self) -> &'static str {
        "resp-tr"
    }
    fn name(&self) -> &'static str {
        "RespiratoryDatabase@TR"
    }
    fn detect(&self, dir: &Path) -> bool {
        labels_file(dir).is_some()
            && (find_ci(dir, "RespiratoryDatabase@TR").is_some()
                || files_with_ext(dir, &["wav"])
                    .iter()
                    .any(|p| super::stem(p).starts_with('H')))
    }

    fn load(&self, dir: &Path) -> Result<Dataset, DataError> {
        let lpath = labels_file(dir).ok_or_else(|| DataError::layout(dir, "no Labels.csv"))?;
        let t = Table::csv(&lpath)?;
        t.require(&lpath, &["Patient ID", "Diagnosis"])?;
        let mut problems = Problems::default();
        for (line, _) in &t.bad_rows {
            problems.add(
                Problem::UnreadableRow,
                format!("{}:{line}", lpath.display()),
            );
        }
        let mut diag: HashMap<String, (String, Option<usize>)> = HashMap::new();
        for row in &t.rows {
            let pid = t.get(row, "Patient ID").to_string();
            let d = t.get(row, "Diagnosis").to_string();
            let class = d
                .strip_prefix("COPD")
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|&n| n <= 4);
            if class.is_none() {
                problems.add(Problem::UnknownLabel, format!("{pid}: diagnosis {d:?}"));
            }
            diag.insert(pid, (d, class));
        }
        let audio = find_ci(dir, "RespiratoryDatabase@TR")
            .filter(|p| p.is_dir())
            .unwrap_or_else(|| dir.to_path_buf());
        let mut records = Vec::new();
        let mut with_files = std::collections::HashSet::new();
        for wav in files_with_ext(&audio, &["wav"]) {
            let stem = super::stem(&wav);
            let Some((pid, ch)) = stem.split_once('_') else {
                problems.add(Problem::UnreadableRow, wav.display().to_string());
                continue;
            };
            let Some((d, class)) = diag.get(pid) else {
                problems.add(
                    Problem::MissingMetadata,
                    format!("{stem}: patient not in Labels.csv"),
                );
                continue;
            };
            with_files.insert(pid.to_string());
            let mut labels = BTreeMap::new();
            if let Some(c) = class {
                labels.insert("copd-severity", Label::Class(*c));
            }
            records.push(Record {
                id: stem.clone(),
                subject: pid.to_string(),
                modality: "lung".into(),
                audio: AudioSource::file(wav),
                has_audio: true,
                metadata: Metadata::RespTr(RespTrMeta {
                    diagnosis: d.clone(),
                    channel: ch.to_string(),
                    location: channel_location(ch),
                }),
                labels,
                split: None,
                segments: Vec::new(),
            });
        }
        let mut missing: Vec<&String> = diag.keys().filter(|p| !with_files.contains(*p)).collect();
        missing.sort();
        for p in missing {
            problems.add(Problem::MissingAudio, format!("patient {p}: no recording"));
        }
        let tasks = vec![Task::classes(
            "copd-severity",
            "COPD severity 0–4 (OPERA T11)",
            &["COPD0", "COPD1", "COPD2", "COPD3", "COPD4"],
        )];
        finish(self, "mendeley", dir, tasks, records, problems, false)
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{write, write_wav};
    use super::*;

    #[test]
    fn fixture_with_trailing_comma_labels() {
        let dir = tempfile::tempdir().unwrap();
        write(
            &dir.path().join("Labels.csv"),
            "Patient ID,Diagnosis,\nH002,COPD4,\nH003,COPD0,\nH004,asthma,\n",
        );
        let a = dir.path().join("RespiratoryDatabase@TR");
        for ch in ["L1", "R6"] {
            write_wav(&a.join(format!("H002_{ch}.wav")), 4000, 100);
        }
        write_wav(&a.join("H004_L1.wav"), 4000, 100);
        write_wav(&a.join("H099_L1.wav"), 4000, 100);
        assert!(RespTr.detect(dir.path()));
        let ds = RespTr.load(dir.path()).unwrap();
        assert_eq!(ds.records.len(), 3);
        assert_eq!(ds.records[0].labels["copd-severity"], Label::Class(4));
        assert!(ds.records[2].labels.is_empty());
        assert_eq!(ds.problems.count(Problem::UnknownLabel), 1);
        assert_eq!(ds.problems.count(Problem::MissingMetadata), 1);
        assert_eq!(ds.problems.count(Problem::MissingAudio), 1); // H003
        let Metadata::RespTr(m) = &ds.records[1].metadata else {
            panic!()
        };
        assert_eq!(m.location, "right anterior lower lung");
    }
}

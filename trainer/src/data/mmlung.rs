//! MMLung (Mosuily, Mahmoud et al., 2023; University of Southampton, on request):
//! `Trimmed Data from phone/<task folder>/<participant>_<task>.wav` (e.g. `5_2_O_single/12_vowelo.wav`,
//! `9_3_deepbreath/12_deepbreaths.wav`) and `spirometry_ground_truth/<participant>_*.xls` whose first
//! sheet holds FVC in B23, FEV1 in B24 and FEV1/FVC in B25 (a `*` may follow a value), as OPERA's
//! `extract_mmlung.py` reads them. `.xlsx` copies are read the same way.
//!
//! Tasks (OPERA T13–T18): FVC, FEV1 and FEV1/FVC regression, each from deep breathing and from the
//! vowel /o/ (the record's modality says which); evaluated leave-one-subject-out.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use calamine::{open_workbook_auto, Data, Reader};

use super::metadata::MmLungMeta;
use super::{
    files_with_ext, find_ci, finish, subdirs, AudioSource, DataError, Dataset, Label, Loader,
    Metadata, Problem, Problems, Record, Task,
};

pub struct MmLung;

fn audio_root(dir: &Path) -> Option<std::path::PathBuf> {
    find_ci(dir, "Trimmed Data from phone").filter(|p| p.is_dir())
}

fn truth_dir(dir: &Path) -> Option<std::path::PathBuf> {
    find_ci(dir, "spirometry_ground_truth").filter(|p| p.is_dir())
}

/// FVC, FEV1 and FEV1/FVC, each when present.
type Spirometry = (Option<f64>, Option<f64>, Option<f64>);

/// Why a spirometry sheet cannot be read.
#[derive(Debug, thiserror::Error)]
enum TruthError {
    #[error(transparent)]
    Workbook(#[from] calamine::Error),
    #[error("the workbook has no sheet")]
    NoSheet,
}

/// `(FVC, FEV1, FEV1/FVC)` from a spirometry sheet.
fn read_truth(path: &Path) -> Result<Spirometry, TruthError> {
    let mut wb = open_workbook_auto(path)?;
    let range = wb.worksheet_range_at(0).ok_or(TruthError::NoSheet)??;
    // B23..B25 are rows 22..24, column 1 (0-based), counted from A1 whatever the used range is.
    let cell = |row: u32| -> Option<f64> {
        match range.get_value((row, 1))? {
            Data::Float(f) => Some(*f),
            Data::Int(i) => Some(*i as f64),
            Data::String(s) => s.trim().trim_end_matches('*').trim().parse().ok(),
            _ => None,
        }
        .filter(|v: &f64| v.is_finite())
    };
    Ok((cell(22), cell(23), cell(24)))
}

fn modality(task: &str) -> String {
    match task.to_ascii_lowercase().as_str() {
        "deepbreaths" | "deepbreath" => "breathing-deep".into(),
        "vowelo" => "vowel-o".into(),
        other => other.to_string(),
    }
}

impl Loader for MmLung {
    fn id(&self) -> &'static str {
        "mmlung"
    }
    fn name(&self) -> &'static str {
        "MMLung"
    }
    fn detect(&self, dir: &Path) -> bool {
        audio_root(dir).is_some() && truth_dir(dir).is_some()
    }

    fn load(&self, dir: &Path) -> Result<Dataset, DataError> {
        let truth = truth_dir(dir)
            .ok_or_else(|| DataError::layout(dir, "no spirometry_ground_truth folder"))?;
        let audio = audio_root(dir)
            .ok_or_else(|| DataError::layout(dir, "no `Trimmed Data from phone` folder"))?;
        let mut problems = Problems::default();
        let mut gt: HashMap<String, MmLungMeta> = HashMap::new();
        for x in files_with_ext(&truth, &["xls", "xlsx"]) {
            let stem = super::stem(&x);
            let idx = stem.split('_').next().unwrap_or("").to_string();
            match read_truth(&x) {
                Ok((fvc, fev1, ratio)) if fvc.is_some() || fev1.is_some() || ratio.is_some() => {
                    gt.insert(
                        idx,
                        MmLungMeta {
                            fvc,
                            fev1,
                            fev1_fvc: ratio,
                        },
                    );
                }
                Ok(_) => problems.add(
                    Problem::UnreadableRow,
                    format!("{}: no values in B23:B25", x.display()),
                ),
                Err(e) => problems.add(Problem::UnreadableRow, format!("{}: {e}", x.display())),
            }
        }
        let mut records = Vec::new();
        for task_dir in subdirs(&audio) {
            for wav in files_with_ext(&task_dir, &["wav"]) {
                let stem = super::stem(&wav);
                let Some((idx, task)) = stem.split_once('_') else {
                    problems.add(
                        Problem::UnreadableRow,
                        format!("{}: not <participant>_<task>.wav", wav.display()),
                    );
                    continue;
                };
                let Some(m) = gt.get(idx) else {
                    problems.add(
                        Problem::MissingMetadata,
                        format!("{stem}: no spirometry file for participant {idx}"),
                    );
                    continue;
                };
                let mut labels = BTreeMap::new();
                for (t, v) in [("fvc", m.fvc), ("fev1", m.fev1), ("fev1-fvc", m.fev1_fvc)] {
                    if let Some(v) = v {
                        labels.insert(t, Label::Value(v));
                    }
                }
                records.push(Record {
                    id: format!("{idx}/{}", modality(task)),
                    subject: idx.to_string(),
                    modality: modality(task),
                    audio: AudioSource::file(wav),
                    has_audio: true,
                    metadata: Metadata::MmLung(m.clone()),
                    labels,
                    split: None,
                    segments: Vec::new(),
                });
            }
        }
        let tasks = vec![
            Task::regression("fvc", "forced vital capacity (OPERA T13/T16)", "L"),
            Task::regression(
                "fev1",
                "forced expiratory volume in 1 s (OPERA T14/T17)",
                "L",
            ),
            Task::regression("fev1-fvc", "FEV1/FVC ratio (OPERA T15/T18)", ""),
        ];
        finish(self, "on-request", dir, tasks, records, problems, false)
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::write_wav;
    use super::*;

    fn sheet(path: &Path, fvc: f64, fev1: &str, ratio: f64) {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        ws.write_string(0, 0, "Spirometry report").unwrap();
        ws.write_number(22, 1, fvc).unwrap();
        ws.write_string(23, 1, fev1).unwrap();
        ws.write_number(24, 1, ratio).unwrap();
        wb.save(path).unwrap();
    }

    #[test]
    fn fixture_reads_spirometry_cells() {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path().join("spirometry_ground_truth");
        std::fs::create_dir_all(&t).unwrap();
        sheet(&t.join("12_spiro.xlsx"), 3.9, "3.1*", 0.79);
        sheet(&t.join("13_spiro.xlsx"), 4.4, "3.6", 0.82);
        std::fs::write(t.join("14_spiro.xls"), b"not a workbook").unwrap();
        let a = dir.path().join("Trimmed Data from phone");
        write_wav(&a.join("9_3_deepbreath/12_deepbreaths.wav"), 44100, 100);
        write_wav(&a.join("5_2_O_single/12_vowelo.wav"), 44100, 100);
        write_wav(&a.join("5_2_O_single/13_vowelo.wav"), 44100, 100);
        write_wav(&a.join("5_2_O_single/15_vowelo.wav"), 44100, 100);
        assert!(MmLung.detect(dir.path()));
        let ds = MmLung.load(dir.path()).unwrap();
        assert_eq!(ds.records.len(), 3);
        assert_eq!(ds.subjects(), 2);
        let r = ds
            .records
            .iter()
            .find(|r| r.id == "12/breathing-deep")
            .unwrap();
        assert_eq!(r.labels["fev1"], Label::Value(3.1));
        assert_eq!(r.labels["fvc"], Label::Value(3.9));
        assert_eq!(ds.problems.count(Problem::UnreadableRow), 1);
        assert_eq!(ds.problems.count(Problem::MissingMetadata), 1);
    }
}

//! ICBHI 2017 Respiratory Sound Database (Rocha et al., 2019), in both published layouts:
//! - official (bhichallenge.med.auth.gr): `ICBHI_final_database/<rec>.{wav,txt}`,
//!   `ICBHI_Challenge_diagnosis.txt` (`pid<TAB>diagnosis`), `ICBHI_challenge_train_test.txt`
//!   (`rec<TAB>train|test`, the official split, by recording) and
//!   `ICBHI_Challenge_demographic_information.txt`;
//! - Kaggle: `audio_and_txt_files/<rec>.{wav,txt}`, `patient_diagnosis.csv` (`pid,diagnosis`, no
//!   header) and `demographic_info.txt` (space separated; beside it or one or two folders up).
//!
//! A recording name is `<patient>_<index>_<chest location>_<sc|mc>_<device>`; its `.txt` has one
//! breathing cycle per line: start, end (s), crackles 0/1, wheezes 0/1.
//! Tasks: COPD vs healthy (OPERA's T7: other diagnoses are not in the task), the 8-way diagnosis,
//! and per breathing cycle normal / crackles / wheezes / both (the ICBHI challenge's task).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::metadata::IcbhiMeta;
use super::table::whitespace_rows;
use super::{
    files_with_ext, find_ci, finish, opt_num, opt_text, read_text, AudioSource, DataError, Dataset,
    Label, Loader, Metadata, Problem, Problems, Record, Segment, Split, Task,
};

pub struct Icbhi;

pub const DIAGNOSES: [&str; 8] = [
    "Healthy",
    "URTI",
    "Asthma",
    "COPD",
    "LRTI",
    "Bronchiectasis",
    "Pneumonia",
    "Bronchiolitis",
];
pub const CYCLE_CLASSES: [&str; 4] = ["normal", "crackles", "wheezes", "both"];

/// The files of one layout.
struct Layout {
    name: &'static str,
    audio_dir: PathBuf,
    diagnosis: PathBuf,
    demographics: Option<PathBuf>,
    split: Option<PathBuf>,
}

fn layout(dir: &Path) -> Option<Layout> {
    if let Some(diagnosis) = find_ci(dir, "ICBHI_Challenge_diagnosis.txt") {
        let audio_dir = find_ci(dir, "ICBHI_final_database")
            .filter(|p| p.is_dir())
            .unwrap_or_else(|| dir.to_path_buf());
        return Some(Layout {
            name: "official",
            audio_dir,
            diagnosis,
            demographics: find_ci(dir, "ICBHI_Challenge_demographic_information.txt"),
            split: find_ci(dir, "ICBHI_challenge_train_test.txt"),
        });
    }
    let diagnosis = find_ci(dir, "patient_diagnosis.csv")?;
    let audio_dir = find_ci(dir, "audio_and_txt_files").filter(|p| p.is_dir())?;
    // Kaggle keeps demographic_info.txt at the top of the download, above the database folders.
    let demographics = dir
        .ancestors()
        .take(3)
        .find_map(|d| find_ci(d, "demographic_info.txt"));
    Some(Layout {
        name: "kaggle",
        audio_dir,
        diagnosis,
        demographics,
        split: None,
    })
}

struct Demo {
    age: Option<f64>,
    sex: Option<String>,
    bmi: Option<f64>,
    weight: Option<f64>,
    height: Option<f64>,
}

impl Loader for Icbhi {
    fn id(&self) -> &'static str {
        "icbhi"
    }
    fn name(&self) -> &'static str {
        "ICBHI 2017 Respiratory Sound Database"
    }
    fn detect(&self, dir: &Path) -> bool {
        layout(dir).is_some()
    }

    fn load(&self, dir: &Path) -> Result<Dataset, DataError> {
        let lay = layout(dir)
            .ok_or_else(|| DataError::layout(dir, "not an ICBHI folder (no diagnosis file)"))?;
        let mut problems = Problems::default();

        // Diagnoses: `101,URTI` (Kaggle CSV) or `101<TAB>URTI` (official).
        let mut diagnosis: BTreeMap<u32, String> = BTreeMap::new();
        let text = read_text(&lay.diagnosis)?;
        for (line, raw) in text.lines().enumerate() {
            let fields: Vec<&str> = raw
                .split([',', '\t', ' '])
                .filter(|s| !s.is_empty())
                .collect();
            if fields.is_empty() {
                continue;
            }
            match (
                fields.first().and_then(|p| p.parse::<u32>().ok()),
                fields.get(1),
            ) {
                (Some(pid), Some(d)) => {
                    diagnosis.insert(pid, d.to_string());
                }
                _ if line == 0 && raw.to_ascii_lowercase().contains("id") => {} // a header row
                _ => problems.add(
                    Problem::UnreadableRow,
                    format!("{}:{}", lay.diagnosis.display(), line + 1),
                ),
            }
        }

        let mut demo: BTreeMap<u32, Demo> = BTreeMap::new();
        if let Some(p) = &lay.demographics {
            let text = read_text(p)?;
            for (line, f) in whitespace_rows(&text) {
                match (f.len(), f[0].parse::<u32>()) {
                    (6, Ok(pid)) => {
                        demo.insert(
                            pid,
                            Demo {
                                age: opt_num(f[1]),
                                sex: opt_text(f[2]),
                                bmi: opt_num(f[3]),
                                weight: opt_num(f[4]),
                                height: opt_num(f[5]),
                            },
                        );
                    }
                    _ => problems.add(Problem::UnreadableRow, format!("{}:{line}", p.display())),
                }
            }
        }

        let mut split: BTreeMap<String, Split> = BTreeMap::new();
        if let Some(p) = &lay.split {
            let text = read_text(p)?;
            for (line, f) in whitespace_rows(&text) {
                match f.as_slice() {
                    [rec, s] if s.eq_ignore_ascii_case("train") => {
                        split.insert(rec.to_string(), Split::Train);
                    }
                    [rec, s] if s.eq_ignore_ascii_case("test") => {
                        split.insert(rec.to_string(), Split::Test);
                    }
                    _ => problems.add(Problem::UnreadableRow, format!("{}:{line}", p.display())),
                }
            }
        }

        let mut records = Vec::new();
        let annotations = files_with_ext(&lay.audio_dir, &["txt"]);
        for txt in &annotations {
            let name = super::stem(txt);
            let parts: Vec<&str> = name.split('_').collect();
            let (pid, loc, mode, device) = match parts.as_slice() {
                [p, _idx, loc, mode, dev] => match p.parse::<u32>() {
                    Ok(pid) => (pid, *loc, *mode, *dev),
                    Err(_) => {
                        problems.add(Problem::UnreadableRow, txt.display().to_string());
                        continue;
                    }
                },
                _ => {
                    problems.add(Problem::UnreadableRow, txt.display().to_string());
                    continue;
                }
            };
            let Some(diag) = diagnosis.get(&pid) else {
                problems.add(
                    Problem::MissingMetadata,
                    format!("{name}: patient {pid} has no diagnosis"),
                );
                continue;
            };
            let text = match read_text(txt) {
                Ok(t) => t,
                Err(_) => {
                    problems.add(Problem::UnreadableRow, txt.display().to_string());
                    continue;
                }
            };
            let mut segments = Vec::new();
            for (line, f) in whitespace_rows(&text) {
                let parsed = match f.as_slice() {
                    [s, e, c, w] => match (
                        s.parse::<f64>(),
                        e.parse::<f64>(),
                        c.parse::<u8>(),
                        w.parse::<u8>(),
                    ) {
                        (Ok(s), Ok(e), Ok(c @ 0..=1), Ok(w @ 0..=1))
                            if s.is_finite() && e.is_finite() && e > s && s >= 0.0 =>
                        {
                            Some((s, e, c == 1, w == 1))
                        }
                        _ => None,
                    },
                    _ => None,
                };
                match parsed {
                    Some((s, e, c, w)) => {
                        let class = match (c, w) {
                            (false, false) => 0,
                            (true, false) => 1,
                            (false, true) => 2,
                            (true, true) => 3,
                        };
                        segments.push(Segment {
                            start_s: s,
                            end_s: e,
                            labels: BTreeMap::from([("cycle", Label::Class(class))]),
                        });
                    }
                    None => {
                        problems.add(Problem::UnreadableRow, format!("{}:{line}", txt.display()))
                    }
                }
            }
            let wav = txt.with_extension("wav");
            let has_audio = wav.is_file();
            if !has_audio {
                problems.add(Problem::MissingAudio, wav.display().to_string());
            }
            let mut labels = BTreeMap::new();
            match DIAGNOSES.iter().position(|d| d.eq_ignore_ascii_case(diag)) {
                Some(i) => {
                    labels.insert("diagnosis", Label::Class(i));
                    if i == 0 || i == 3 {
                        labels.insert("copd", Label::Class(usize::from(i == 3)));
                    }
                }
                None => problems.add(Problem::UnknownLabel, format!("{name}: diagnosis {diag:?}")),
            }
            let d = demo.get(&pid);
            if let Some(age) = d.and_then(|d| d.age) {
                labels.insert("age", Label::Value(age));
            }
            let crackles = segments
                .iter()
                .filter(|s| matches!(s.labels.get("cycle"), Some(Label::Class(1 | 3))))
                .count();
            let wheezes = segments
                .iter()
                .filter(|s| matches!(s.labels.get("cycle"), Some(Label::Class(2 | 3))))
                .count();
            records.push(Record {
                id: name.clone(),
                subject: pid.to_string(),
                modality: "lung".into(),
                audio: AudioSource::file(wav),
                has_audio,
                metadata: Metadata::Icbhi(IcbhiMeta {
                    patient: pid,
                    diagnosis: Some(diag.clone()),
                    age: d.and_then(|d| d.age),
                    sex: d.and_then(|d| d.sex.clone()),
                    adult_bmi: d.and_then(|d| d.bmi),
                    child_weight_kg: d.and_then(|d| d.weight),
                    child_height_cm: d.and_then(|d| d.height),
                    chest_location: loc.to_string(),
                    acquisition_mode: mode.to_string(),
                    device: device.to_string(),
                    cycles: segments.len(),
                    cycles_with_crackles: crackles,
                    cycles_with_wheezes: wheezes,
                }),
                labels,
                split: split.get(&name).copied(),
                segments,
            });
        }
        // Audio without an annotation file cannot be placed in any task.
        for wav in files_with_ext(&lay.audio_dir, &["wav"]) {
            if !wav.with_extension("txt").is_file() {
                problems.add(
                    Problem::MissingMetadata,
                    format!("{}: no annotation file", wav.display()),
                );
            }
        }
        let tasks = vec![
            Task::classes(
                "copd",
                "COPD vs healthy (OPERA T7; other diagnoses are not in this task)",
                &["healthy", "COPD"],
            ),
            Task::classes("diagnosis", "patient diagnosis (8 classes)", &DIAGNOSES),
            Task::classes(
                "cycle",
                "breathing cycle: normal, crackles, wheezes or both (ICBHI challenge)",
                &CYCLE_CLASSES,
            )
            .on_segments(),
            Task::regression(
                "age",
                "age in years (demographics; a regression check)",
                "years",
            ),
        ];
        let official = lay.split.is_some();
        finish(self, lay.name, dir, tasks, records, problems, official)
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{shared_data, write, write_wav};
    use super::*;

    #[test]
    fn reads_the_real_kaggle_layout_annotations() {
        let Some(data) = shared_data() else { return };
        let ds = Icbhi.load(&data.join("icbhi-annotations")).unwrap();
        assert_eq!(ds.layout, "kaggle");
        // The database's published counts: 920 recordings, 126 patients, 6,898 cycles.
        assert_eq!(ds.records.len(), 920);
        assert_eq!(ds.subjects(), 126);
        assert_eq!(ds.segments(), 6898);
        assert_eq!(ds.with_audio(), 0);
        assert_eq!(ds.problems.count(Problem::MissingAudio), 920);
        assert_eq!(ds.problems.count(Problem::UnreadableRow), 0);
        assert_eq!(ds.problems.count(Problem::UnknownLabel), 0);
        let copd = ds
            .records
            .iter()
            .filter(|r| r.labels.get("copd") == Some(&Label::Class(1)))
            .count();
        let healthy = ds
            .records
            .iter()
            .filter(|r| r.labels.get("copd") == Some(&Label::Class(0)))
            .count();
        // 793 COPD recordings and 35 healthy ones (the database paper's table 2).
        assert_eq!((copd, healthy), (793, 35));
        // Patient 101: 3 years, female, child 19 kg / 99 cm (demographic_info.txt line 1).
        let r = ds
            .records
            .iter()
            .find(|r| r.id == "101_1b1_Al_sc_Meditron")
            .unwrap();
        let Metadata::Icbhi(m) = &r.metadata else {
            panic!()
        };
        assert_eq!(
            (m.age, m.sex.as_deref(), m.child_weight_kg),
            (Some(3.0), Some("F"), Some(19.0))
        );
        assert_eq!(m.diagnosis.as_deref(), Some("URTI"));
        let cycles = ds.segment_records();
        assert_eq!(cycles.len(), 6898);
        assert_eq!(cycles[0].audio.start_s, Some(0.036));
    }

    #[test]
    fn official_layout_with_split_audio_and_problems() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("ICBHI_final_database");
        write(
            &dir.path().join("ICBHI_Challenge_diagnosis.txt"),
            "101\tURTI\n104\tCOPD\n105\tHealthy\n106\tMystery\n",
        );
        write(
            &dir.path().join("ICBHI_challenge_train_test.txt"),
            "104_1b1_Al_sc_Litt3200\ttrain\n105_1b1_Tc_sc_Meditron\ttest\n",
        );
        write(
            &dir.path()
                .join("ICBHI_Challenge_demographic_information.txt"),
            "104\t64\tF\t33\tNA\tNA\n105\t7.5\tF\tNA\t32\t135\n",
        );
        write(
            &db.join("104_1b1_Al_sc_Litt3200.txt"),
            "0.1\t1.2\t1\t0\n1.2\t2.5\t1\t1\nbad row\n",
        );
        write_wav(&db.join("104_1b1_Al_sc_Litt3200.wav"), 4000, 4000);
        write(&db.join("105_1b1_Tc_sc_Meditron.txt"), "0.0\t1.0\t0\t0\n");
        write(&db.join("106_1b1_Tc_sc_Meditron.txt"), "0.0\t1.0\t0\t0\n");
        write(&db.join("107_1b1_Tc_sc_Meditron.txt"), "0.0\t1.0\t0\t0\n");
        write(&db.join("bad-name.txt"), "0.0\t1.0\t0\t0\n");
        write_wav(&db.join("108_1b1_Tc_sc_Meditron.wav"), 4000, 100);
        assert!(Icbhi.detect(dir.path()));
        let ds = Icbhi.load(dir.path()).unwrap();
        assert_eq!(ds.layout, "official");
        assert!(ds.official_split);
        assert_eq!(ds.records.len(), 3); // 104, 105, 106 (107 has no diagnosis)
        let r104 = &ds.records[0];
        assert_eq!(r104.split, Some(Split::Train));
        assert!(r104.has_audio);
        assert_eq!(r104.labels["copd"], Label::Class(1));
        assert_eq!(r104.segments.len(), 2);
        assert_eq!(r104.segments[1].labels["cycle"], Label::Class(3));
        assert_eq!(ds.records[1].labels["copd"], Label::Class(0));
        assert_eq!(ds.records[1].split, Some(Split::Test));
        assert!(!ds.records[2].labels.contains_key("diagnosis"));
        assert_eq!(ds.problems.count(Problem::UnknownLabel), 1);
        assert_eq!(ds.problems.count(Problem::UnreadableRow), 2); // "bad row" and "bad-name.txt"
        assert_eq!(ds.problems.count(Problem::MissingMetadata), 2); // 107 and the lone 108 wav
        assert_eq!(ds.problems.count(Problem::MissingAudio), 2);
    }

    #[test]
    fn nothing_usable_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("patient_diagnosis.csv"), "101,URTI\n");
        std::fs::create_dir(dir.path().join("audio_and_txt_files")).unwrap();
        let err = Icbhi.load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("no usable record"), "{err}");
    }
}

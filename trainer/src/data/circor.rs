//! CirCor DigiScope phonocardiograms (Oliveira et al., 2022; PhysioNet Challenge 2022, v1.0.3):
//! `training_data.csv` (one row per patient: `Patient ID`, `Recording locations:`, age group, sex,
//! height, weight, pregnancy, `Murmur` Present/Absent/Unknown, murmur locations and the systolic and
//! diastolic murmur's timing, shape, grading, pitch and quality, `Outcome`…; missing values are `nan`)
//! and `training_data/` with `<pid>_<site>[_<n>].wav`, `.hea`, `.tsv` (segmentation: start, end, state
//! 0 unannotated, 1 S1, 2 systole, 3 S2, 4 diastole) and `<pid>.txt` (the same metadata as `#Key: value`
//! lines, read when the CSV row is missing).
//!
//! Tasks: murmur present vs absent (`Unknown` is not in the task) and clinical outcome. No task of
//! OPERA's; the AcuLa paper's exact murmur task is not published. No official split (the challenge's
//! validation and test sets are not public).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::metadata::{CirCorMeta, MurmurDesc};
use super::table::{whitespace_rows, Table};
use super::{
    files_with_ext, find_ci, finish, opt_flag, opt_num, opt_text, read_text, AudioSource,
    DataError, Dataset, Label, Loader, Metadata, Problem, Problems, Record, Segment, Task,
};

pub struct CirCor;

/// Heart-cycle states of the `.tsv` files.
pub const STATES: [&str; 5] = ["unannotated", "S1", "systole", "S2", "diastole"];

fn meta_from(get: &dyn Fn(&str) -> String) -> CirCorMeta {
    let desc = |p: &str| MurmurDesc {
        timing: opt_text(&get(&format!("{p} murmur timing"))),
        shape: opt_text(&get(&format!("{p} murmur shape"))),
        grading: opt_text(&get(&format!("{p} murmur grading"))),
        pitch: opt_text(&get(&format!("{p} murmur pitch"))),
        quality: opt_text(&get(&format!("{p} murmur quality"))),
    };
    CirCorMeta {
        location: String::new(),
        age: opt_text(&get("Age")),
        sex: opt_text(&get("Sex")),
        height_cm: opt_num(&get("Height")),
        weight_kg: opt_num(&get("Weight")),
        pregnant: opt_flag(&get("Pregnancy status")),
        murmur: opt_text(&get("Murmur")),
        murmur_locations: opt_text(&get("Murmur locations"))
            .map(|s| s.split('+').map(|x| x.trim().to_string()).collect())
            .unwrap_or_default(),
        most_audible_location: opt_text(&get("Most audible location")),
        systolic: desc("Systolic"),
        diastolic: desc("Diastolic"),
        outcome: opt_text(&get("Outcome")),
        campaign: opt_text(&get("Campaign")),
    }
}

/// Metadata from a patient's `<pid>.txt` (`#Key: value` lines).
fn meta_from_txt(text: &str) -> CirCorMeta {
    let kv: HashMap<String, String> = text
        .lines()
        .filter_map(|l| l.strip_prefix('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    meta_from(&|k| kv.get(k).cloned().unwrap_or_default())
}

fn data_dir(dir: &Path) -> Option<std::path::PathBuf> {
    find_ci(dir, "training_data").filter(|p| p.is_dir())
}

impl Loader for CirCor {
    fn id(&self) -> &'static str {
        "circor"
    }
    fn name(&self) -> &'static str {
        "CirCor DigiScope phonocardiograms"
    }
    fn detect(&self, dir: &Path) -> bool {
        find_ci(dir, "training_data.csv").is_some() && data_dir(dir).is_some()
    }

    fn load(&self, dir: &Path) -> Result<Dataset, DataError> {
        let data =
            data_dir(dir).ok_or_else(|| DataError::layout(dir, "no training_data folder"))?;
        let mut problems = Problems::default();
        let mut patients: HashMap<String, CirCorMeta> = HashMap::new();
        if let Some(csv) = find_ci(dir, "training_data.csv") {
            let t = Table::csv(&csv)?;
            t.require(&csv, &["Patient ID", "Murmur", "Outcome"])?;
            for (line, _) in &t.bad_rows {
                problems.add(Problem::UnreadableRow, format!("{}:{line}", csv.display()));
            }
            for row in &t.rows {
                let pid = t.get(row, "Patient ID").to_string();
                patients.insert(pid, meta_from(&|k| t.get(row, k).to_string()));
            }
        }
        let mut records = Vec::new();
        for wav in files_with_ext(&data, &["wav"]) {
            let stem = super::stem(&wav);
            let mut parts = stem.splitn(2, '_');
            let (Some(pid), Some(site)) = (parts.next(), parts.next()) else {
                problems.add(
                    Problem::UnreadableRow,
                    format!("{}: not <patient>_<site>.wav", wav.display()),
                );
                continue;
            };
            let site_code = site.split('_').next().unwrap_or(site).to_string();
            let meta = match patients.get(pid) {
                Some(m) => m.clone(),
                None => match read_text(&data.join(format!("{pid}.txt"))) {
                    Ok(t) => meta_from_txt(&t),
                    Err(_) => {
                        problems.add(
                            Problem::MissingMetadata,
                            format!("{stem}: patient {pid} not in training_data.csv"),
                        );
                        continue;
                    }
                },
            };
            let mut meta = meta;
            meta.location = site_code;
            let mut labels = BTreeMap::new();
            match meta.murmur.as_deref() {
                Some("Absent") => {
                    labels.insert("murmur", Label::Class(0));
                }
                Some("Present") => {
                    labels.insert("murmur", Label::Class(1));
                }
                Some("Unknown") | None => {}
                Some(o) => problems.add(Problem::UnknownLabel, format!("{stem}: murmur {o:?}")),
            }
            match meta.outcome.as_deref() {
                Some("Normal") => {
                    labels.insert("outcome", Label::Class(0));
                }
                Some("Abnormal") => {
                    labels.insert("outcome", Label::Class(1));
                }
                None => {}
                Some(o) => problems.add(Problem::UnknownLabel, format!("{stem}: outcome {o:?}")),
            }
            let mut segments = Vec::new();
            if let Ok(tsv) = read_text(&wav.with_extension("tsv")) {
                for (line, f) in whitespace_rows(&tsv) {
                    match f.as_slice() {
                        [s, e, st] => {
                            match (s.parse::<f64>(), e.parse::<f64>(), st.parse::<usize>()) {
                                (Ok(s), Ok(e), Ok(st @ 0..=4)) if s.is_finite() && e > s => {
                                    segments.push(Segment {
                                        start_s: s,
                                        end_s: e,
                                        labels: BTreeMap::from([("state", Label::Class(st))]),
                                    })
                                }
                                _ => problems.add(
                                    Problem::UnreadableRow,
                                    format!("{}:{line}", wav.with_extension("tsv").display()),
                                ),
                            }
                        }
                        _ => problems.add(
                            Problem::UnreadableRow,
                            format!("{}:{line}", wav.with_extension("tsv").display()),
                        ),
                    }
                }
            }
            records.push(Record {
                id: stem.clone(),
                subject: pid.to_string(),
                modality: "heart".into(),
                audio: AudioSource::file(wav),
                has_audio: true,
                metadata: Metadata::CirCor(meta),
                labels,
                split: None,
                segments,
            });
        }
        // Patients with metadata but no recording at all.
        let recorded: std::collections::HashSet<&str> =
            records.iter().map(|r| r.subject.as_str()).collect();
        let mut missing: Vec<&String> = patients
            .keys()
            .filter(|p| !recorded.contains(p.as_str()))
            .collect();
        missing.sort();
        for p in missing {
            problems.add(
                Problem::MissingAudio,
                format!("patient {p}: no recording in training_data/"),
            );
        }
        let tasks = vec![
            Task::classes(
                "murmur",
                "heart murmur present vs absent (Unknown excluded)",
                &["absent", "present"],
            ),
            Task::classes(
                "outcome",
                "clinical outcome normal vs abnormal",
                &["normal", "abnormal"],
            ),
            Task::classes("state", "heart-cycle state (segmentation)", &STATES).on_segments(),
        ];
        finish(self, "physionet", dir, tasks, records, problems, false)
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{write, write_wav};
    use super::*;

    const HEADER: &str = "Patient ID,Recording locations:,Age,Sex,Height,Weight,Pregnancy status,Murmur,Murmur locations,Most audible location,Systolic murmur timing,Systolic murmur shape,Systolic murmur grading,Systolic murmur pitch,Systolic murmur quality,Diastolic murmur timing,Diastolic murmur shape,Diastolic murmur grading,Diastolic murmur pitch,Diastolic murmur quality,Outcome,Campaign,Additional ID";

    #[test]
    fn fixture_in_the_physionet_layout() {
        let dir = tempfile::tempdir().unwrap();
        write(
            &dir.path().join("training_data.csv"),
            &format!(
                "\u{feff}{HEADER}\n\
                 1234,AV+TV,Child,Female,123.0,13.5,False,Present,AV+TV,TV,Holosystolic,Diamond,III/VI,High,Harsh,nan,nan,nan,nan,nan,Abnormal,CC2014,nan\n\
                 2530,AV,Child,Female,98.0,15.9,False,Unknown,nan,nan,nan,nan,nan,nan,nan,nan,nan,nan,nan,nan,Normal,CC2015,nan\n\
                 7777,AV,Infant,Male,60.0,6.0,False,Absent,nan,nan,nan,nan,nan,nan,nan,nan,nan,nan,nan,nan,Normal,CC2015,nan\n"
            ),
        );
        let d = dir.path().join("training_data");
        write_wav(&d.join("1234_AV.wav"), 4000, 400);
        write_wav(&d.join("1234_TV_1.wav"), 4000, 400);
        write(
            &d.join("1234_AV.tsv"),
            "0\t0.1\t0\n0.1\t0.2\t1\n0.2\t0.45\t2\nx\ty\tz\n",
        );
        write_wav(&d.join("2530_AV.wav"), 4000, 400);
        write_wav(&d.join("9999_MV.wav"), 4000, 400);
        write(&d.join("9999.txt"), "9999 1 4000\nMV 9999_MV.hea 9999_MV.wav 9999_MV.tsv\n#Age: Neonate\n#Murmur: Absent\n#Outcome: Normal   \n");
        write_wav(&d.join("5555_PV.wav"), 4000, 400);
        assert!(CirCor.detect(dir.path()));
        let ds = CirCor.load(dir.path()).unwrap();
        assert_eq!(ds.records.len(), 4);
        let r = &ds.records[0];
        assert_eq!(r.labels["murmur"], Label::Class(1));
        assert_eq!(r.segments.len(), 3);
        assert_eq!(r.segments[2].labels["state"], Label::Class(2));
        let Metadata::CirCor(m) = &ds.records[1].metadata else {
            panic!()
        };
        assert_eq!(m.location, "TV");
        assert_eq!(m.systolic.grading.as_deref(), Some("III/VI"));
        assert!(
            !ds.records[2].labels.contains_key("murmur"),
            "Unknown is not in the task"
        );
        let Metadata::CirCor(m) = &ds.records[3].metadata else {
            panic!()
        };
        assert_eq!(
            (m.age.as_deref(), m.outcome.as_deref()),
            (Some("Neonate"), Some("Normal"))
        );
        assert_eq!(ds.problems.count(Problem::MissingMetadata), 1); // 5555
        assert_eq!(ds.problems.count(Problem::MissingAudio), 1); // 7777
        assert_eq!(ds.problems.count(Problem::UnreadableRow), 1); // the "x y z" line
    }
}

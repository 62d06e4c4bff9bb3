//! SSBPR, snore-based sleep body position recognition (Xiao et al., Interspeech 2023; available on
//! request): `{female,male}/<folder>/<A>-<B>-<C>.wav`, where `A-B` identifies the patient and `C` the
//! body position (0 supine, 1 supine with head turned left, 2 supine with head turned right, 3 left
//! side, 4 right side, 5 prone).
//!
//! Task (OPERA T12): body position, 5 classes; prone is left out as in OPERA (too few episodes).
//! No official split.

use std::collections::BTreeMap;
use std::path::Path;

use super::metadata::SsbprMeta;
use super::{
    files_with_ext, find_ci, finish, subdirs, AudioSource, DataError, Dataset, Label, Loader,
    Metadata, Problem, Problems, Record, Task,
};

pub struct Ssbpr;

pub const POSITIONS: [&str; 6] = [
    "supine",
    "supine, head turned left",
    "supine, head turned right",
    "lying on the left side",
    "lying on the right side",
    "prone",
];

fn parse(stem: &str) -> Option<(String, usize)> {
    let (patient, pos) = stem.rsplit_once('-')?;
    if !patient.contains('-') {
        return None;
    }
    let p = pos.parse::<usize>().ok()?;
    Some((patient.to_string(), p))
}

fn sex_dirs(dir: &Path) -> Vec<(&'static str, std::path::PathBuf)> {
    [("female", "F"), ("male", "M")]
        .iter()
        .filter_map(|(n, s)| find_ci(dir, n).filter(|p| p.is_dir()).map(|p| (*s, p)))
        .collect()
}

impl Loader for Ssbpr {
    fn id(&self) -> &'static str {
        "ssbpr"
    }
    fn name(&self) -> &'static str {
        "SSBPR snoring body position"
    }
    fn detect(&self, dir: &Path) -> bool {
        sex_dirs(dir).iter().any(|(_, d)| {
            subdirs(d).iter().any(|s| {
                files_with_ext(s, &["wav"])
                    .iter()
                    .any(|w| parse(&super::stem(w)).is_some())
            })
        })
    }

    fn load(&self, dir: &Path) -> Result<Dataset, DataError> {
        let mut problems = Problems::default();
        let mut records = Vec::new();
        for (sex, d) in sex_dirs(dir) {
            for sub in subdirs(&d) {
                for wav in files_with_ext(&sub, &["wav"]) {
                    let stem = super::stem(&wav);
                    let Some((patient, pos)) = parse(&stem) else {
                        problems.add(
                            Problem::UnreadableRow,
                            format!("{}: not A-B-C.wav", wav.display()),
                        );
                        continue;
                    };
                    let mut labels = BTreeMap::new();
                    match pos {
                        0..=4 => {
                            labels.insert("position", Label::Class(pos));
                        }
                        5 => {}
                        _ => {
                            problems.add(Problem::UnknownLabel, format!("{stem}: position {pos}"));
                            continue;
                        }
                    }
                    let folder = sub
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    records.push(Record {
                        id: format!(
                            "{}/{folder}/{stem}",
                            if sex == "F" { "female" } else { "male" }
                        ),
                        subject: patient,
                        modality: "snoring".into(),
                        audio: AudioSource::file(wav),
                        has_audio: true,
                        metadata: Metadata::Ssbpr(SsbprMeta {
                            sex: Some(sex.to_string()),
                            position: POSITIONS[pos].to_string(),
                        }),
                        labels,
                        split: None,
                        segments: Vec::new(),
                    });
                }
            }
        }
        let tasks = vec![Task::classes(
            "position",
            "sleep body position from snoring, 5 classes (OPERA T12; prone excluded)",
            &POSITIONS[..5],
        )];
        finish(self, "on-request", dir, tasks, records, problems, false)
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::write_wav;
    use super::*;

    #[test]
    fn fixture_with_prone_and_bad_names() {
        let dir = tempfile::tempdir().unwrap();
        write_wav(&dir.path().join("female/s1/12-3-0.wav"), 16000, 100);
        write_wav(&dir.path().join("female/s1/12-3-5.wav"), 16000, 100);
        write_wav(&dir.path().join("male/s2/40-1-4.wav"), 16000, 100);
        write_wav(&dir.path().join("male/s2/40-1-9.wav"), 16000, 100);
        write_wav(&dir.path().join("male/s2/snore.wav"), 16000, 100);
        assert!(Ssbpr.detect(dir.path()));
        let ds = Ssbpr.load(dir.path()).unwrap();
        assert_eq!(ds.records.len(), 3);
        assert_eq!(ds.subjects(), 2);
        assert_eq!(ds.records[0].labels["position"], Label::Class(0));
        assert!(ds.records[1].labels.is_empty(), "prone is not in the task");
        assert_eq!(ds.problems.count(Problem::UnknownLabel), 1);
        assert_eq!(ds.problems.count(Problem::UnreadableRow), 1);
    }
}

//! KAUH lung sounds (Fraiwan et al., 2021; Mendeley Data jwyy9np4gv): `Audio Files/` (or `AudioFiles/`)
//! with one WAV per recording named `<F>P<n>_<diagnosis>,<sounds>,<location>,<age>,<sex>.wav`, where
//! `F` is the stethoscope filter (B bell, D diaphragm, E extended) and `n` the patient (so one patient
//! has up to three files). The diagnosis may itself contain commas-free text such as
//! `Heart Failure + COPD`, so the name is read from the right.
//!
//! Tasks: healthy vs obstructive (OPERA's T10: `N` is healthy; asthma or COPD is obstructive; other
//! diagnoses are not in the task — OPERA matched `COPD` case-sensitively and so left out the three
//! files spelled `copd`; here the match ignores case), and the single diagnosis (mixtures such as
//! `Heart Failure + COPD` are not in that task). No official split.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::metadata::KauhMeta;
use super::{
    files_with_ext, find_ci, finish, opt_num, AudioSource, DataError, Dataset, Label, Loader,
    Metadata, Problem, Problems, Record, Task,
};

pub struct Kauh;

pub const DIAGNOSES: [&str; 8] = [
    "normal",
    "asthma",
    "COPD",
    "heart failure",
    "pneumonia",
    "lung fibrosis",
    "bronchiectasis",
    "pleural effusion",
];

fn audio_dir(dir: &Path) -> Option<PathBuf> {
    ["Audio Files", "AudioFiles"]
        .iter()
        .find_map(|n| find_ci(dir, n))
        .filter(|p| p.is_dir())
}

fn is_kauh_name(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() > 3
        && matches!(b[0], b'B' | b'D' | b'E')
        && b[1] == b'P'
        && b[2].is_ascii_digit()
        && name.contains('_')
        && name.matches(',').count() >= 4
}

/// The parts of a KAUH file name.
struct Parsed {
    filter: char,
    patient: u32,
    diagnosis: String,
    sounds: String,
    location: String,
    age: Option<f64>,
    sex: Option<String>,
}

fn parse(stem: &str) -> Option<Parsed> {
    let (prefix, rest) = stem.split_once('_')?;
    let filter = prefix.chars().next()?;
    let patient = prefix.get(2..)?.parse().ok()?;
    let parts: Vec<&str> = rest.split(',').collect();
    if parts.len() < 5 {
        return None;
    }
    let n = parts.len();
    let sex = parts[n - 1].trim();
    Some(Parsed {
        filter,
        patient,
        diagnosis: parts[..n - 4].join(",").trim().to_string(),
        sounds: parts[n - 4].trim().to_string(),
        location: parts[n - 3].trim().to_string(),
        age: opt_num(parts[n - 2]),
        sex: match sex {
            "M" | "F" => Some(sex.to_string()),
            _ => None,
        },
    })
}

/// `I E W` → `inspiratory and expiratory wheezes`; `I C E W` → `inspiratory crackles`,
/// `expiratory wheezes`: phase codes apply to the next sound code.
fn sounds(codes: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut phases: Vec<&str> = Vec::new();
    for c in codes.split_whitespace() {
        let kind = match c.to_ascii_lowercase().as_str() {
            "i" => {
                phases.push("inspiratory");
                continue;
            }
            "e" => {
                phases.push("expiratory");
                continue;
            }
            "w" => "wheezes",
            "c" => "crackles",
            "crep" => "crepitations",
            "b" => "bronchial breath sounds",
            "n" => "normal breath sounds",
            _ => "unrecognised sound code",
        };
        out.push(if phases.is_empty() {
            kind.to_string()
        } else {
            format!("{} {kind}", phases.join(" and "))
        });
        phases.clear();
    }
    out
}

/// `P L L` → `posterior left lower`. The file names also hold `P L R` (read as `P R L`, posterior right
/// lower, as OPERA's RespLLM code does) and `P L L R` (a fourth letter is added as "and right").
fn location(code: &str) -> String {
    let mut letters: Vec<char> = code.chars().filter(|c| !c.is_whitespace()).collect();
    if letters == ['P', 'L', 'R'] {
        letters = vec!['P', 'R', 'L'];
    }
    let mut words = Vec::new();
    for (i, c) in letters.iter().enumerate() {
        let w = match (i, c) {
            (0, 'P') => "posterior",
            (0, 'A') => "anterior",
            (1, 'L') => "left",
            (1, 'R') => "right",
            (2, 'U') => "upper",
            (2, 'M') => "middle",
            (2, 'L') => "lower",
            (3, 'L') => "and left",
            (3, 'R') => "and right",
            _ => continue,
        };
        words.push(w);
    }
    if words.is_empty() {
        "unspecified".into()
    } else {
        words.join(" ")
    }
}

/// Index into [`DIAGNOSES`] of a single diagnosis; `None` for mixtures and unknown spellings.
fn diagnosis_class(d: &str) -> Option<usize> {
    let l = d.trim().to_ascii_lowercase();
    let i = match l.as_str() {
        "n" => 0,
        "asthma" => 1,
        "copd" => 2,
        "heart failure" => 3,
        "pneumonia" => 4,
        "lung fibrosis" => 5,
        "bron" => 6,
        "plueral effusion" | "pleural effusion" => 7,
        _ => return None,
    };
    Some(i)
}

fn is_mixture(d: &str) -> bool {
    let l = d.to_ascii_lowercase();
    l.contains('+') || l.contains(" and ")
}

impl Loader for Kauh {
    fn id(&self) -> &'static str {
        "kauh"
    }
    fn name(&self) -> &'static str {
        "KAUH lung sounds"
    }
    fn detect(&self, dir: &Path) -> bool {
        audio_dir(dir).is_some_and(|a| {
            files_with_ext(&a, &["wav"])
                .iter()
                .any(|p| is_kauh_name(&super::stem(p)))
        })
    }

    fn load(&self, dir: &Path) -> Result<Dataset, DataError> {
        let audio =
            audio_dir(dir).ok_or_else(|| DataError::layout(dir, "no `Audio Files` folder"))?;
        let mut problems = Problems::default();
        let mut records = Vec::new();
        for wav in files_with_ext(&audio, &["wav"]) {
            let stem = super::stem(&wav);
            let Some(p) = parse(&stem).filter(|_| is_kauh_name(&stem)) else {
                problems.add(
                    Problem::UnreadableRow,
                    format!("{}: not a KAUH file name", wav.display()),
                );
                continue;
            };
            let mut labels = BTreeMap::new();
            let lower = p.diagnosis.to_ascii_lowercase();
            let class = diagnosis_class(&p.diagnosis);
            if let Some(c) = class {
                labels.insert("diagnosis", Label::Class(c));
            }
            if lower == "n" {
                labels.insert("obstructive", Label::Class(0));
            } else if lower.contains("asthma") || lower.contains("copd") {
                labels.insert("obstructive", Label::Class(1));
            }
            if class.is_none() && !is_mixture(&p.diagnosis) {
                problems.add(
                    Problem::UnknownLabel,
                    format!("{stem}: diagnosis {:?}", p.diagnosis),
                );
            }
            let filter = match p.filter {
                'B' => "bell",
                'D' => "diaphragm",
                _ => "extended",
            };
            records.push(Record {
                id: stem.clone(),
                subject: p.patient.to_string(),
                modality: "lung".into(),
                audio: AudioSource::file(wav),
                has_audio: true,
                metadata: Metadata::Kauh(KauhMeta {
                    diagnosis: p.diagnosis.clone(),
                    sounds: sounds(&p.sounds),
                    location: location(&p.location),
                    age: p.age,
                    sex: p.sex,
                    filter: filter.into(),
                }),
                labels,
                split: None,
                segments: Vec::new(),
            });
        }
        let tasks = vec![
            Task::classes(
                "obstructive",
                "healthy vs obstructive (asthma, COPD), OPERA T10",
                &["healthy", "obstructive"],
            ),
            Task::classes(
                "diagnosis",
                "single diagnosis (8 classes; mixtures excluded)",
                &DIAGNOSES,
            ),
        ];
        finish(self, "mendeley", dir, tasks, records, problems, false)
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{shared_data, write_wav};
    use super::*;

    #[test]
    fn names_are_read_from_the_right() {
        let p = parse("BP5_Heart Failure + COPD,I C E W,P L R ,71,M").unwrap();
        assert_eq!((p.filter, p.patient), ('B', 5));
        assert_eq!(p.diagnosis, "Heart Failure + COPD");
        assert_eq!(
            sounds(&p.sounds),
            ["inspiratory crackles", "expiratory wheezes"]
        );
        assert_eq!(location(&p.location), "posterior right lower");
        assert_eq!(location("P L L R"), "posterior left lower and right");
        assert_eq!((p.age, p.sex.as_deref()), (Some(71.0), Some("M")));
        assert_eq!(sounds("I E W"), ["inspiratory and expiratory wheezes"]);
        assert_eq!(location("P R U"), "posterior right upper");
    }

    #[test]
    fn reads_the_real_subset() {
        let Some(data) = shared_data() else { return };
        let ds = Kauh.load(&data.join("kauh-subset")).unwrap();
        assert_eq!(ds.records.len(), 30);
        assert_eq!(ds.subjects(), 30);
        assert_eq!(ds.with_audio(), 30);
        assert!(ds.problems.is_empty(), "{:?}", ds.problems);
        let count = |c| {
            ds.records
                .iter()
                .filter(|r| r.labels.get("obstructive") == Some(&Label::Class(c)))
                .count()
        };
        // Patients 1–30: BP30 is the only `N`; asthma ×9 (BP1–3, 9, 10, 12, 15, 20 "Asthma and lung
        // fibrosis", 27), COPD ×2 (BP17, BP25 `copd`) and heart failure + COPD ×2 (BP5, BP7).
        assert_eq!((count(0), count(1)), (1, 13));
    }

    #[test]
    fn fixture_with_all_three_filters_and_a_stray_file() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("Audio Files");
        for f in ["B", "D", "E"] {
            write_wav(
                &a.join(format!("{f}P1_Asthma,I E W,P L L,70,M.wav")),
                4000,
                400,
            );
        }
        write_wav(&a.join("DP2_N,N,A R M,30,F.wav"), 4000, 400);
        write_wav(&a.join("EP3_Sarcoidosis,C,P,40,F.wav"), 4000, 400);
        write_wav(&a.join("notes.wav"), 4000, 400);
        assert!(Kauh.detect(dir.path()));
        let ds = Kauh.load(dir.path()).unwrap();
        assert_eq!(ds.records.len(), 5);
        assert_eq!(ds.subjects(), 3);
        assert_eq!(ds.problems.count(Problem::UnreadableRow), 1);
        assert_eq!(ds.problems.count(Problem::UnknownLabel), 1);
        let Metadata::Kauh(m) = &ds.records[1].metadata else {
            panic!()
        };
        assert_eq!(m.filter, "diaphragm");
    }
}

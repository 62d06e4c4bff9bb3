//! NoseMic (University of Cambridge; respiratory rate from a nose-mounted microphone): `audio/*.wav`,
//! each named `<user>_<a>_<b>_<rate>.wav` with the reference respiratory rate (breaths/min) last, as
//! OPERA's `nosemic_processing.py` reads them (the meaning of the two middle fields is not published).
//!
//! Task (OPERA T19): respiratory rate regression, leave-one-user-out.

use std::collections::BTreeMap;
use std::path::Path;

use super::metadata::NoseMicMeta;
use super::{
    files_with_ext, find_ci, finish, AudioSource, DataError, Dataset, Label, Loader, Metadata,
    Problem, Problems, Record, Task,
};

pub struct NoseMic;

fn parse(stem: &str) -> Option<(&str, &str, &str, f64)> {
    let f: Vec<&str> = stem.split('_').collect();
    match f.as_slice() {
        [u, a, b, r] if !u.is_empty() => {
            let rate = r
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)?;
            Some((u, a, b, rate))
        }
        _ => None,
    }
}

fn audio_dir(dir: &Path) -> Option<std::path::PathBuf> {
    find_ci(dir, "audio").filter(|p| p.is_dir())
}

impl Loader for NoseMic {
    fn id(&self) -> &'static str {
        "nosemic"
    }
    fn name(&self) -> &'static str {
        "NoseMic respiratory rate"
    }
    fn detect(&self, dir: &Path) -> bool {
        // `audio/` alone is too common a name: every WAV there must follow the naming rule.
        audio_dir(dir).is_some_and(|a| {
            let wavs = files_with_ext(&a, &["wav"]);
            !wavs.is_empty() && wavs.iter().all(|w| parse(&super::stem(w)).is_some())
        })
    }

    fn load(&self, dir: &Path) -> Result<Dataset, DataError> {
        let audio = audio_dir(dir).ok_or_else(|| DataError::layout(dir, "no audio folder"))?;
        let mut problems = Problems::default();
        let mut records = Vec::new();
        for wav in files_with_ext(&audio, &["wav"]) {
            let stem = super::stem(&wav);
            let Some((user, a, b, rate)) = parse(&stem) else {
                problems.add(
                    Problem::UnreadableRow,
                    format!("{}: not <user>_<a>_<b>_<rate>.wav", wav.display()),
                );
                continue;
            };
            records.push(Record {
                id: stem.clone(),
                subject: user.to_string(),
                modality: "breathing".into(),
                audio: AudioSource::file(wav.clone()),
                has_audio: true,
                metadata: Metadata::NoseMic(NoseMicMeta {
                    respiratory_rate: rate,
                    session: a.to_string(),
                    part: b.to_string(),
                }),
                labels: BTreeMap::from([("respiratory-rate", Label::Value(rate))]),
                split: None,
                segments: Vec::new(),
            });
        }
        let tasks = vec![Task::regression(
            "respiratory-rate",
            "respiratory rate (OPERA T19)",
            "breaths/min",
        )];
        finish(self, "on-request", dir, tasks, records, problems, false)
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::write_wav;
    use super::*;

    #[test]
    fn fixture_reads_rates_from_names() {
        let dir = tempfile::tempdir().unwrap();
        write_wav(&dir.path().join("audio/4_1_2_14.5.wav"), 16000, 100);
        write_wav(&dir.path().join("audio/5_0_1_20.wav"), 16000, 100);
        assert!(NoseMic.detect(dir.path()));
        write_wav(&dir.path().join("audio/readme.wav"), 16000, 100);
        assert!(
            !NoseMic.detect(dir.path()),
            "one stray name makes it not NoseMic"
        );
        let ds = NoseMic.load(dir.path()).unwrap();
        assert_eq!(ds.records.len(), 2);
        assert_eq!(ds.records[0].labels["respiratory-rate"], Label::Value(14.5));
        assert_eq!(ds.problems.count(Problem::UnreadableRow), 1);
    }
}

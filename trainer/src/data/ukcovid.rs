//! UK COVID-19 Vocal Audio Dataset (Coppock, Budd et al., 2023; UKHSA, Zenodo 10043978):
//! `participant_metadata.csv` (one row per participant: `covid_test_result`, age band, gender,
//! smoking, conditions, `symptom_*` flags), `audio_metadata.csv` (per participant the file names of
//! `exhalation`, `cough` and `three_cough` recordings) and `train_test_splits.csv` (the official
//! participant-level split in column `splits`: train, val, test; `long` is the longitudinal test set).
//! Audio in `audio/` (the Zenodo archive), `audio_selected/` (OPERA) or beside the CSVs.
//!
//! Task (OPERA T1/T2): COVID-19 test positive vs negative, on exhalation and on cough.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::metadata::UkCovidMeta;
use super::table::Table;
use super::{
    find_ci, finish, opt_flag, opt_num, opt_text, AudioSource, DataError, Dataset, Label, Loader,
    Metadata, Problem, Problems, Record, Split, Task,
};

pub struct UkCovid;

const MODALITIES: [&str; 3] = ["exhalation", "cough", "three_cough"];

fn audio_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = ["audio", "audio_selected"]
        .iter()
        .filter_map(|n| find_ci(dir, n))
        .filter(|p| p.is_dir())
        .collect();
    v.push(dir.to_path_buf());
    v
}

impl Loader for UkCovid {
    fn id(&self) -> &'static str {
        "ukcovid"
    }
    fn name(&self) -> &'static str {
        "UK COVID-19 Vocal Audio Dataset"
    }
    fn detect(&self, dir: &Path) -> bool {
        find_ci(dir, "participant_metadata.csv").is_some()
            && find_ci(dir, "audio_metadata.csv").is_some()
    }

    fn load(&self, dir: &Path) -> Result<Dataset, DataError> {
        let ppath = find_ci(dir, "participant_metadata.csv")
            .ok_or_else(|| DataError::layout(dir, "no participant_metadata.csv"))?;
        let apath = find_ci(dir, "audio_metadata.csv")
            .ok_or_else(|| DataError::layout(dir, "no audio_metadata.csv"))?;
        let pt = Table::csv(&ppath)?;
        pt.require(&ppath, &["participant_identifier", "covid_test_result"])?;
        let at = Table::csv(&apath)?;
        at.require(&apath, &["participant_identifier"])?;
        let mut problems = Problems::default();
        for (p, t) in [(&ppath, &pt), (&apath, &at)] {
            for (line, _) in &t.bad_rows {
                problems.add(Problem::UnreadableRow, format!("{}:{line}", p.display()));
            }
        }
        let mut split: HashMap<String, Split> = HashMap::new();
        let spath = find_ci(dir, "train_test_splits.csv");
        if let Some(sp) = &spath {
            let st = Table::csv(sp)?;
            st.require(sp, &["participant_identifier", "splits"])?;
            for row in &st.rows {
                let s = match st.get(row, "splits") {
                    "train" => Split::Train,
                    "val" => Split::Val,
                    "test" => Split::Test,
                    _ => continue, // `long`: the longitudinal test set, outside the standard split
                };
                split.insert(st.get(row, "participant_identifier").to_string(), s);
            }
        }
        let participants: HashMap<&str, &super::table::Row> = pt
            .rows
            .iter()
            .map(|r| (pt.get(r, "participant_identifier"), r))
            .collect();
        let dirs = audio_dirs(dir);
        let symptom_cols: Vec<&str> = pt
            .column_names()
            .filter(|c| {
                c.starts_with("symptom_")
                    && *c != "symptom_none"
                    && *c != "symptom_prefer_not_to_say"
            })
            .collect();
        let mut records = Vec::new();
        for arow in &at.rows {
            let pid = at.get(arow, "participant_identifier");
            let Some(prow) = participants.get(pid) else {
                problems.add(
                    Problem::MissingMetadata,
                    format!("{pid}: not in participant_metadata.csv"),
                );
                continue;
            };
            let result = opt_text(pt.get(prow, "covid_test_result"));
            let mut labels = BTreeMap::new();
            match result.as_deref() {
                Some("Negative") => {
                    labels.insert("covid", Label::Class(0));
                }
                Some("Positive") => {
                    labels.insert("covid", Label::Class(1));
                }
                None => {}
                Some(o) => problems.add(
                    Problem::UnknownLabel,
                    format!("{pid}: covid_test_result {o:?}"),
                ),
            }
            let mut symptoms: Vec<String> = symptom_cols
                .iter()
                .filter(|c| opt_flag(pt.get(prow, c)) == Some(true))
                .map(|c| c.trim_start_matches("symptom_").replace('_', " "))
                .collect();
            symptoms.sort();
            let meta = UkCovidMeta {
                age: opt_text(pt.get(prow, "age")),
                gender: opt_text(pt.get(prow, "gender")),
                smoker_status: opt_text(pt.get(prow, "smoker_status")),
                covid_test_result: result,
                asthma: opt_flag(pt.get(prow, "respiratory_condition_asthma")),
                other_respiratory_condition: opt_flag(pt.get(prow, "respiratory_condition_other")),
                symptoms,
            };
            for m in MODALITIES {
                let file = at.get(arow, &format!("{m}_file_name"));
                // No recording: an empty name, or a size of a bare WAV header (≤ 44 bytes).
                let size = opt_num(at.get(arow, &format!("{m}_size")));
                if opt_text(file).is_none() || size.is_some_and(|s| s <= 44.0) {
                    continue;
                }
                let found = dirs.iter().map(|d| d.join(file)).find(|p| p.is_file());
                if found.is_none() {
                    problems.add(Problem::MissingAudio, file.to_string());
                }
                records.push(Record {
                    id: format!("{pid}/{m}"),
                    subject: pid.to_string(),
                    modality: m.to_string(),
                    has_audio: found.is_some(),
                    audio: AudioSource::file(found.unwrap_or_else(|| dirs[0].join(file))),
                    metadata: Metadata::UkCovid(meta.clone()),
                    labels: labels.clone(),
                    split: split.get(pid).copied(),
                    segments: Vec::new(),
                });
            }
        }
        let tasks = vec![
            Task::classes(
                "covid-exhalation",
                "COVID-19 test result from exhalation (OPERA T1)",
                &["negative", "positive"],
            )
            .with_modality("exhalation"),
            Task::classes(
                "covid-cough",
                "COVID-19 test result from cough (OPERA T2)",
                &["negative", "positive"],
            )
            .with_modality("cough"),
        ];
        // Both tasks read the same per-participant label; give each record the task of its modality.
        for r in &mut records {
            if let Some(l) = r.labels.remove("covid") {
                match r.modality.as_str() {
                    "exhalation" => {
                        r.labels.insert("covid-exhalation", l);
                    }
                    "cough" => {
                        r.labels.insert("covid-cough", l);
                    }
                    _ => {}
                }
            }
        }
        finish(
            self,
            "zenodo",
            dir,
            tasks,
            records,
            problems,
            spath.is_some(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{write, write_wav};
    use super::*;

    #[test]
    fn fixture_with_official_split() {
        let dir = tempfile::tempdir().unwrap();
        write(
            &dir.path().join("participant_metadata.csv"),
            "participant_identifier,age,gender,smoker_status,covid_test_result,respiratory_condition_asthma,symptom_none,symptom_new_continuous_cough,symptom_sore_throat\n\
             p1,45-54,Male,Never smoked,Positive,0,0,1,1\n\
             p2,18-24,Female,Current smoker,Negative,1,1,0,0\n\
             p3,18-24,Female,Never smoked,Inconclusive,0,1,0,0\n",
        );
        write(
            &dir.path().join("audio_metadata.csv"),
            "participant_identifier,exhalation_file_name,exhalation_size,cough_file_name,cough_size,three_cough_file_name,three_cough_size\n\
             p1,p1_exh.wav,1000,p1_cough.wav,1000,p1_3.wav,44\n\
             p2,p2_exh.wav,1000,p2_cough.wav,1000,,\n\
             p3,p3_exh.wav,1000,,,,\n\
             p9,p9_exh.wav,1000,,,,\n",
        );
        write(&dir.path().join("train_test_splits.csv"), "participant_identifier,splits,naive_splits\np1,train,train\np2,test,val\np3,long,test\n");
        write_wav(&dir.path().join("audio/p1_exh.wav"), 48000, 100);
        write_wav(&dir.path().join("audio/p1_cough.wav"), 48000, 100);
        let ds = UkCovid.load(dir.path()).unwrap();
        assert!(ds.official_split);
        assert_eq!(ds.records.len(), 5);
        assert_eq!(ds.with_audio(), 2);
        assert_eq!(ds.problems.count(Problem::MissingMetadata), 1);
        assert_eq!(ds.problems.count(Problem::UnknownLabel), 1);
        assert_eq!(ds.records[0].labels["covid-exhalation"], Label::Class(1));
        assert_eq!(ds.records[1].labels["covid-cough"], Label::Class(1));
        assert_eq!(ds.records[2].split, Some(Split::Test));
        assert_eq!(ds.records[4].split, None);
        let Metadata::UkCovid(m) = &ds.records[0].metadata else {
            panic!()
        };
        assert_eq!(m.symptoms, ["new continuous cough", "sore throat"]);
    }
}

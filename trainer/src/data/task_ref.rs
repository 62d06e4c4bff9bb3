//! A task reference as the commands take it: `DATASET_DIR:TASK`, optionally `:FIELD=VALUE` to keep
//! the records whose metadata field has that value (e.g. `Recorded by=messenger bot`). Parsed once,
//! by clap (`--task` of `acula export`, `eval` and `holdout`), into a [`TaskRef`].

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// A metadata filter: field name and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// The metadata field (matched ignoring ASCII case).
    pub field: String,
    /// The value it must have (matched ignoring ASCII case).
    pub value: String,
}

/// `DATASET_DIR:TASK[:FIELD=VALUE]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRef {
    /// The dataset folder.
    pub dir: PathBuf,
    /// The task id of that dataset's loader.
    pub task: String,
    /// The records to keep, when only some.
    pub filter: Option<Filter>,
    /// The reference as written (what results files report).
    spec: String,
}

/// A `--task` that is not `DATASET_DIR:TASK[:FIELD=VALUE]` (clap's message names the value).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("write it as DATASET_DIR:TASK or DATASET_DIR:TASK:FIELD=VALUE")]
pub struct TaskRefError;

impl FromStr for TaskRef {
    type Err = TaskRefError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let (rest, filter) = match spec.rsplit_once(':') {
            Some((r, f)) if f.contains('=') => {
                let (k, v) = f.split_once('=').unwrap_or((f, ""));
                (
                    r,
                    Some(Filter {
                        field: k.trim().to_string(),
                        value: v.trim().to_string(),
                    }),
                )
            }
            _ => (spec, None),
        };
        let (dir, task) = rest.rsplit_once(':').ok_or(TaskRefError)?;
        Ok(Self {
            dir: PathBuf::from(dir),
            task: task.to_string(),
            filter,
            spec: spec.to_string(),
        })
    }
}

impl fmt::Display for TaskRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.spec)
    }
}

impl serde::Serialize for TaskRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.spec)
    }
}

impl TaskRef {
    /// Whether a record's metadata passes the filter (every record when there is none).
    pub fn keeps(&self, r: &super::Record) -> bool {
        match &self.filter {
            None => true,
            Some(Filter { field, value }) => {
                r.metadata.fields().iter().any(|(fk, fv)| {
                    fk.eq_ignore_ascii_case(field) && fv.eq_ignore_ascii_case(value)
                })
            }
        }
    }

    /// The task's name in results: `dataset:task`, with the filter in brackets.
    pub fn name(&self, dataset: &str) -> String {
        match &self.filter {
            Some(Filter { field, value }) => format!("{dataset}:{} ({field} = {value})", self.task),
            None => format!("{dataset}:{}", self.task),
        }
    }

    /// Loads the dataset and finds the task (a usage error naming the tasks it has otherwise).
    pub fn load(&self) -> Result<(super::Dataset, super::Task), crate::Failure> {
        let ds = super::load(&self.dir).map_err(|e| crate::Failure::input(e.to_string()))?;
        let task = ds
            .tasks
            .iter()
            .find(|t| t.id == self.task)
            .cloned()
            .ok_or_else(|| {
                crate::Failure::usage(format!(
                    "--task {self}: {} has no task {} (it has {})",
                    ds.id,
                    self.task,
                    ds.tasks.iter().map(|t| t.id).collect::<Vec<_>>().join(", ")
                ))
            })?;
        Ok((ds, task))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_refs_parse_with_and_without_a_filter() {
        let t: TaskRef = "../shared/data/covid19-cough:covid:Recorded by=messenger bot"
            .parse()
            .unwrap();
        assert_eq!(t.dir, PathBuf::from("../shared/data/covid19-cough"));
        assert_eq!(t.task, "covid");
        assert_eq!(
            t.filter,
            Some(Filter {
                field: "Recorded by".into(),
                value: "messenger bot".into()
            })
        );
        assert_eq!(
            t.to_string(),
            "../shared/data/covid19-cough:covid:Recorded by=messenger bot"
        );
        let t: TaskRef = "data/kauh:obstructive".parse().unwrap();
        assert_eq!((t.task.as_str(), t.filter), ("obstructive", None));
        let e = "no-task-here".parse::<TaskRef>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "write it as DATASET_DIR:TASK or DATASET_DIR:TASK:FIELD=VALUE"
        );
    }
}

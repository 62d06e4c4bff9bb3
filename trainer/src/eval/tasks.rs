//! The tasks of an evaluation: a [`TaskRef`]'s dataset and task, its labelled units (recordings or
//! annotated segments) with audio, and their features, computed once for every representation by the
//! screening path's own preparation ([`acula_core::screen::prepare`]: quality check, resampling,
//! trimmed and repeat-padded log-mel).

use std::collections::BTreeMap;

use acula_core::bundle::ChunkConfig;
use acula_core::quality::QualityConfig;
use acula_core::screen;
use acula_core::{Features, FrontEnd, FrontEndConfig};
use serde::Serialize;

use crate::data::{self, Label, TaskRef, TaskUnit};
use crate::Failure;

/// One unit of a task: a recording or a segment.
pub(super) struct Unit {
    pub(super) dataset: String,
    pub(super) record_id: String,
    pub(super) subject: String,
    /// The class (0 for regression tasks).
    pub(super) label: usize,
    /// The regression target (NaN for classification tasks).
    pub(super) value: f64,
    pub(super) split: Option<data::Split>,
    pub(super) features: Features,
}

/// A task's units to compute: the record, the segment (if any) and the label (a class, or a value for
/// regression tasks).
pub(super) type Todo<'a> = (&'a data::Record, Option<(f64, f64)>, Label);

/// A loaded task.
pub(super) struct Loaded {
    pub(super) name: String,
    /// The unit of a regression task's values (`None` for classification).
    pub(super) regression: Option<&'static str>,
    pub(super) segments: bool,
    pub(super) classes: Vec<String>,
    pub(super) synthetic: bool,
    pub(super) units: Vec<Unit>,
    pub(super) counts: Counts,
}

/// What happened to a task's units.
#[derive(Debug, Default, Clone, Serialize)]
pub(super) struct Counts {
    pub(super) labelled: usize,
    pub(super) used: usize,
    pub(super) quality: BTreeMap<String, usize>,
    pub(super) unreadable: usize,
}

/// A task's dataset and the records its spec selects.
pub(crate) struct Selected {
    pub(super) ds: data::Dataset,
    pub(super) task: data::Task,
    pub(super) spec: TaskRef,
    /// `dataset:task`, with the filter in brackets.
    pub(super) name: String,
}

/// Loads the dataset of a task spec and finds the task.
pub(crate) fn select(spec: &TaskRef) -> Result<Selected, Failure> {
    let (ds, task) = spec.load()?;
    let name = spec.name(ds.id);
    Ok(Selected {
        ds,
        task,
        spec: spec.clone(),
        name,
    })
}

impl Selected {
    /// Whether this is a regression task.
    pub(crate) fn regression(&self) -> bool {
        self.task.kind == data::TaskKind::Regression
    }

    /// The labelled units (recordings or segments) with audio, ordered by record id.
    pub(super) fn todo(&self, limit: Option<usize>) -> Vec<Todo<'_>> {
        let keep = |r: &data::Record| self.spec.keeps(r);
        let task = &self.task;
        let mut records: Vec<&data::Record> = self
            .ds
            .records
            .iter()
            .filter(|r| r.has_audio && keep(r))
            .collect();
        records.sort_by(|a, b| a.id.cmp(&b.id));
        let mut todo: Vec<Todo> = Vec::new();
        for r in records {
            match task.unit {
                TaskUnit::Recording => {
                    if let Some(l) = r.labels.get(task.id) {
                        todo.push((r, None, *l));
                    }
                }
                TaskUnit::Segment => {
                    for s in &r.segments {
                        if let Some(l) = s.labels.get(task.id) {
                            todo.push((r, Some((s.start_s, s.end_s)), *l));
                        }
                    }
                }
            }
        }
        if let Some(n) = limit {
            todo.truncate(n);
        }
        todo
    }
}

/// Loads one task's units (features computed once for every representation).
pub(super) fn units(spec: &TaskRef, limit: Option<usize>) -> Result<Loaded, Failure> {
    let selected = select(spec)?;
    let Selected { ds, task, name, .. } = &selected;
    let todo = selected.todo(limit);
    let mut counts = Counts {
        labelled: todo.len(),
        ..Counts::default()
    };
    let front =
        FrontEnd::new(FrontEndConfig::default()).map_err(|e| Failure::input(e.to_string()))?;
    let (qcfg, chunk) = (QualityConfig::default(), ChunkConfig::default());
    let bar = crate::progress::bar(todo.len() as u64, &format!("features {name}"));
    let mut out = Vec::new();
    for (r, span, label) in todo {
        bar.inc(1);
        // What the screening path does before the encoder: quality check, resampling, trimmed and
        // repeat-padded log-mel features.
        let prepared = data::read_pcm(r, span).ok().and_then(|(samples, rate)| {
            screen::prepare(&front, &qcfg, &chunk, None, &samples, rate).ok()
        });
        let Some(prepared) = prepared else {
            counts.unreadable += 1;
            continue;
        };
        let Some(features) = prepared.features else {
            let v = serde_json::to_value(prepared.quality.verdict)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            *counts.quality.entry(v).or_default() += 1;
            continue;
        };
        out.push(Unit {
            dataset: ds.id.to_string(),
            record_id: r.id.clone(),
            subject: r.subject.clone(),
            label: match label {
                Label::Class(c) => c,
                Label::Value(_) => 0,
            },
            value: match label {
                Label::Class(_) => f64::NAN,
                Label::Value(v) => v,
            },
            split: r.split,
            features,
        });
    }
    bar.finish_and_clear();
    counts.used = out.len();
    Ok(Loaded {
        name: name.clone(),
        regression: (task.kind == data::TaskKind::Regression).then_some(task.unit_name),
        segments: task.unit == TaskUnit::Segment,
        classes: task.classes.iter().map(|c| c.to_string()).collect(),
        synthetic: ds.synthetic,
        units: out,
        counts,
    })
}

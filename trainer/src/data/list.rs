//! `acula data list <ROOT>`: every dataset found under a folder, with its counts.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use super::{discover, Dataset, Label, Split, TaskKind, TaskUnit};
use crate::Failure;

/// Arguments of `acula data list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Folder to search (the datasets may sit in sub-folders, down to 4 levels).
    pub root: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Counts of one task's labels.
#[derive(Debug, Serialize)]
pub struct TaskSummary {
    pub id: &'static str,
    pub kind: TaskKind,
    pub unit: TaskUnit,
    pub modality: Option<&'static str>,
    /// Class name → count (classification).
    pub classes: Vec<(&'static str, usize)>,
    /// n, mean, min, max (regression).
    pub values: Option<(usize, f64, f64, f64)>,
}

/// What `data list` prints for one dataset.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub id: &'static str,
    pub name: &'static str,
    pub layout: &'static str,
    pub path: PathBuf,
    pub synthetic: bool,
    pub records: usize,
    pub subjects: usize,
    pub segments: usize,
    pub with_audio: usize,
    pub tasks: Vec<TaskSummary>,
    /// Split name → records; empty without an official split.
    pub splits: BTreeMap<&'static str, usize>,
    pub problems: BTreeMap<&'static str, usize>,
}

/// Summarises a loaded dataset.
pub fn summarize(ds: &Dataset) -> Summary {
    let segs = ds.segment_records();
    let tasks = ds
        .tasks
        .iter()
        .map(|t| {
            let recs: Box<dyn Iterator<Item = &super::Record>> = match t.unit {
                TaskUnit::Recording => Box::new(
                    ds.records
                        .iter()
                        .filter(|r| t.modality.is_none_or(|m| r.modality == m)),
                ),
                TaskUnit::Segment => Box::new(segs.iter()),
            };
            let labels: Vec<Label> = recs.filter_map(|r| r.labels.get(t.id).copied()).collect();
            let mut classes: Vec<(&'static str, usize)> =
                t.classes.iter().map(|c| (*c, 0)).collect();
            let mut vals = Vec::new();
            for l in labels {
                match l {
                    Label::Class(c) => {
                        if let Some(e) = classes.get_mut(c) {
                            e.1 += 1;
                        }
                    }
                    Label::Value(v) => vals.push(v),
                }
            }
            let values = (!vals.is_empty()).then(|| {
                let n = vals.len();
                let mean = vals.iter().sum::<f64>() / n as f64;
                let min = vals.iter().copied().fold(f64::INFINITY, f64::min);
                let max = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                (n, mean, min, max)
            });
            TaskSummary {
                id: t.id,
                kind: t.kind,
                unit: t.unit,
                modality: t.modality,
                classes,
                values,
            }
        })
        .collect();
    let mut splits = BTreeMap::new();
    if ds.official_split {
        for r in &ds.records {
            let name = r.split.map(Split::name).unwrap_or("none");
            *splits.entry(name).or_default() += 1;
        }
    }
    Summary {
        id: ds.id,
        name: ds.name,
        layout: ds.layout,
        path: ds.root.clone(),
        synthetic: ds.synthetic,
        records: ds.records.len(),
        subjects: ds.subjects(),
        segments: ds.segments(),
        with_audio: ds.with_audio(),
        tasks,
        splits,
        problems: ds
            .problems
            .counts
            .iter()
            .map(|(p, n)| (p.describe(), *n))
            .collect(),
    }
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The text form of a summary.
pub fn render(s: &Summary) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{} — {}{} ({} layout)\n  at {}",
        s.id,
        s.name,
        if s.synthetic { " [SYNTHETIC]" } else { "" },
        s.layout,
        s.path.display()
    );
    let seg_name = match s.id {
        "icbhi" => "breathing cycles",
        "circor" => "heart-cycle segments",
        _ => "segments",
    };
    let _ = write!(
        o,
        "  records {} · subjects {} · with audio {}/{}",
        thousands(s.records),
        thousands(s.subjects),
        thousands(s.with_audio),
        thousands(s.records)
    );
    if s.segments > 0 {
        let _ = write!(o, " · {seg_name} {}", thousands(s.segments));
    }
    o.push('\n');
    for t in &s.tasks {
        let scope = match (t.unit, t.modality) {
            (TaskUnit::Segment, _) => format!(" per {}", seg_name.trim_end_matches('s')),
            (_, Some(m)) => format!(" on {m}"),
            _ => String::new(),
        };
        let kind = match t.kind {
            TaskKind::Binary => "binary",
            TaskKind::MultiClass => "multi-class",
            TaskKind::Regression => "regression",
        };
        let body = match t.values {
            Some((n, mean, min, max)) => format!(
                "n {} · mean {mean:.2} · range {min:.2}–{max:.2}",
                thousands(n)
            ),
            None if t.kind == TaskKind::Regression => "no labels".into(),
            None => t
                .classes
                .iter()
                .map(|(c, n)| format!("{c} {}", thousands(*n)))
                .collect::<Vec<_>>()
                .join(" · "),
        };
        let _ = writeln!(o, "  task {} ({kind}{scope}): {body}", t.id);
    }
    if s.splits.is_empty() {
        let _ = writeln!(o, "  split: no official split");
    } else {
        let parts: Vec<String> = s
            .splits
            .iter()
            .map(|(k, n)| format!("{k} {}", thousands(*n)))
            .collect();
        let _ = writeln!(o, "  official split: {}", parts.join(" · "));
    }
    for (p, n) in &s.problems {
        let _ = writeln!(o, "  problem: {} × {p}", thousands(*n));
    }
    o
}

/// Runs `acula data list`.
pub fn run(args: &ListArgs) -> Result<(), Failure> {
    if !args.root.is_dir() {
        return Err(Failure::input(format!(
            "{}: not a folder; give the folder that holds the datasets",
            args.root.display()
        )));
    }
    let found = discover(&args.root);
    if found.is_empty() {
        return Err(Failure::input(format!(
            "{}: no dataset found (looked 4 levels deep for the official layouts of {})",
            args.root.display(),
            super::loaders()
                .iter()
                .map(|l| l.id())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let mut summaries = Vec::new();
    let mut text = String::new();
    let mut failed = 0;
    for f in &found {
        match f.loader.load(&f.dir) {
            Ok(ds) => {
                let s = summarize(&ds);
                text.push_str(&render(&s));
                text.push('\n');
                summaries.push(s);
            }
            Err(e) => {
                failed += 1;
                let _ = writeln!(
                    text,
                    "{} at {}: cannot load: {e}\n",
                    f.loader.id(),
                    f.dir.display()
                );
                tracing::warn!("{e}");
            }
        }
    }
    if args.json {
        let json =
            serde_json::to_string_pretty(&summaries).map_err(|e| Failure::output(e.to_string()))?;
        println!("{json}");
    } else {
        print!("{text}");
    }
    if summaries.is_empty() && failed > 0 {
        return Err(Failure::input(format!(
            "none of the {failed} dataset(s) found could be loaded"
        )));
    }
    Ok(())
}

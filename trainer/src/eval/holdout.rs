//! `acula holdout`: the alignment pairs that `acula eval` never tests on.
//!
//! The recipe aligns the encoder on every recording's report, and the reports state the very labels the
//! probes are later tested on. To compare fairly, an alignment run must not see the evaluation's
//! validation or test recordings. Given the same `--task` list and `--loso-below` as `acula eval`, this
//! writes the reports CSV and teacher embeddings without every recording that sits in a validation or
//! test part of any task's folds (for leave-one-subject-out tasks that is every recording: each one is
//! tested once), plus `holdout.json` with what was kept and dropped per dataset. Recordings of datasets
//! no task evaluates are kept.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use super::folds::{task_folds, Key};
use super::tasks::select;
use crate::data::TaskRef;
use crate::Failure;

/// `acula holdout` flags.
#[derive(Args, Debug)]
pub struct HoldoutArgs {
    /// A task as `acula eval` takes it (`DATASET_DIR:TASK[:FIELD=VALUE]`); repeat for several. Give the
    /// same list the evaluation will use.
    #[arg(long = "task", required = true)]
    pub tasks: Vec<TaskRef>,
    /// The reports CSV to filter (`acula reports`).
    #[arg(long)]
    pub reports: PathBuf,
    /// The teacher embeddings of `--reports` (`.npy`, one row per report).
    #[arg(long)]
    pub embeddings: PathBuf,
    /// Leave-one-subject-out below this many subjects (as `acula eval --loso-below`).
    #[arg(long, default_value_t = 60)]
    pub loso_below: usize,
    /// Folder for `reports.csv`, `embeddings.npy` and `holdout.json` (created).
    #[arg(long, short)]
    pub out: PathBuf,
}

/// Kept and dropped reports of one dataset.
#[derive(Debug, Default, Clone, Serialize)]
struct Tally {
    kept: usize,
    dropped: usize,
}

/// (dataset, record id) pairs.
type Records = BTreeSet<(String, String)>;

/// The (dataset, record id) pairs in a validation or test part of any task, and each task's protocol.
fn held_out(
    tasks: &[TaskRef],
    loso_below: usize,
) -> Result<(Records, Vec<serde_json::Value>), Failure> {
    let mut held = BTreeSet::new();
    let mut about = Vec::new();
    for spec in tasks {
        let selected = select(spec)?;
        let todo = selected.todo(None);
        let keys: Vec<Key> = todo
            .iter()
            .map(|(r, _, _)| (r.subject.as_str(), r.split))
            .collect();
        let (protocol, folds) = task_folds(keys, selected.regression(), loso_below);
        let before = held.len();
        for f in &folds {
            for &i in f[1].iter().chain(&f[2]) {
                held.insert((selected.ds.id.to_string(), todo[i].0.id.clone()));
            }
        }
        eprintln!(
            "{}: {} units, {protocol:?}; {} more recordings held out",
            selected.name,
            todo.len(),
            held.len() - before
        );
        about.push(serde_json::json!({
            "task": selected.name,
            "spec": spec,
            "protocol": protocol,
            "units": todo.len(),
        }));
    }
    Ok((held, about))
}

/// Runs `acula holdout`.
pub fn run(args: &HoldoutArgs) -> Result<(), Failure> {
    let (rows, dim, emb) = crate::reports::read_with_embeddings(&args.reports, &args.embeddings)?;
    let (held, about) = held_out(&args.tasks, args.loso_below)?;
    let mut kept_rows = Vec::new();
    let mut kept_emb = Vec::new();
    let mut tally: BTreeMap<String, Tally> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        let t = tally.entry(r.dataset.clone()).or_default();
        if held.contains(&(r.dataset.clone(), r.record_id.clone())) {
            t.dropped += 1;
        } else {
            t.kept += 1;
            kept_rows.push(r.clone());
            kept_emb.extend_from_slice(&emb[i * dim..(i + 1) * dim]);
        }
    }
    if kept_rows.is_empty() {
        return Err(Failure::input(format!(
            "every report of {} belongs to a held-out recording; nothing is left to align on",
            args.reports.display()
        )));
    }
    std::fs::create_dir_all(&args.out)
        .map_err(|e| Failure::output(format!("cannot create {}: {e}", args.out.display())))?;
    let write = |name: &str, bytes: &[u8]| {
        crate::output::write_atomic(&args.out.join(name), bytes)
            .map_err(|e| Failure::output(e.to_string()))
    };
    write(
        "embeddings.npy",
        &crate::npy::encode_f32(&[kept_rows.len(), dim], &kept_emb),
    )?;
    // The teacher's description (`X.json` beside `X.npy`), which `acula export` reads.
    if let Ok(meta) = std::fs::read(args.embeddings.with_extension("json")) {
        write("embeddings.json", &meta)?;
    }
    crate::reports::write_csv(&args.out.join("reports.csv"), &kept_rows)
        .map_err(|e| Failure::output(e.to_string()))?;
    let summary = serde_json::json!({
        "reports": args.reports,
        "tasks": about,
        "loso_below": args.loso_below,
        "per_dataset": tally,
        "kept": kept_rows.len(),
        "dropped": rows.len() - kept_rows.len(),
    });
    write(
        "holdout.json",
        &serde_json::to_vec_pretty(&summary).map_err(|e| Failure::output(e.to_string()))?,
    )?;
    for (d, t) in &tally {
        println!("{d}: {} kept, {} held out", t.kept, t.dropped);
    }
    println!(
        "{} of {} reports kept in {}",
        kept_rows.len(),
        rows.len(),
        args.out.join("reports.csv").display()
    );
    Ok(())
}

//! `acula reports`: a dataset's metadata → one 2–3 sentence clinical report per recording, written to a
//! CSV with the columns `audio_path, meta_report, report, writer, dataset, record_id`.
//!
//! Writers: `template` (deterministic per seed, varied phrasing), `llm` (any OpenAI-compatible chat
//! endpoint) and `smollm2` (SmolLM2-135M-Instruct run locally in burn). Work is resumable: every
//! finished report is appended (and flushed) to `<out>.partial.jsonl` at once; a rerun keeps the rows
//! already in the CSV or the journal for the same writer and generates only the missing ones. The CSV
//! itself is written atomically at the end, and the journal removed.

pub mod llm;
pub mod local;
pub mod template;

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};

use crate::data::{self, Record};
use crate::{output, Failure};

/// One row of the reports CSV.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportRow {
    pub audio_path: String,
    /// The metadata as `Key: value, …` (the writer's input).
    pub meta_report: String,
    pub report: String,
    /// Which writer produced it (`template-v1:seed=0`, `llm:gpt-4o`, `smollm2-135m-instruct`).
    pub writer: String,
    pub dataset: String,
    pub record_id: String,
}

/// Which writer to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WriterKind {
    /// Per-dataset templates (fast, deterministic for a seed).
    Template,
    /// An OpenAI-compatible chat endpoint (`--llm-url`).
    Llm,
    /// SmolLM2-135M-Instruct, locally (`scripts/fetch-models.sh smollm2`).
    Smollm2,
}

/// Arguments of `acula reports`.
#[derive(Debug, Args)]
pub struct ReportsArgs {
    /// Dataset folder (any layout `acula data list` recognises).
    pub dataset: PathBuf,
    /// Output CSV.
    #[arg(long, short)]
    pub out: PathBuf,
    #[arg(long, value_enum, default_value_t = WriterKind::Template)]
    pub writer: WriterKind,
    /// Seed for phrasing (template) or sampling (LLMs).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Only the first N records.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Only records of this modality (e.g. `cough-shallow`).
    #[arg(long)]
    pub modality: Option<String>,
    /// Only records whose audio file is present.
    #[arg(long)]
    pub with_audio: bool,
    /// Base URL of the chat endpoint, e.g. `https://api.openai.com/v1`.
    #[arg(long)]
    pub llm_url: Option<String>,
    #[arg(long, default_value = "gpt-4o")]
    pub llm_model: String,
    /// Environment variable holding the API key (none is sent if it is unset).
    #[arg(long, default_value = "OPENAI_API_KEY")]
    pub llm_key_env: String,
    /// Seconds per request.
    #[arg(long, default_value_t = 60)]
    pub llm_timeout: u64,
    /// Retries per report after the first attempt.
    #[arg(long, default_value_t = 4)]
    pub llm_retries: u32,
    /// Sampling temperature of the LLM writers (default: 1 for `llm`, as the paper used with GPT-4o;
    /// 0.2 for `smollm2`, whose 135M parameters make things up at higher temperatures).
    #[arg(long)]
    pub temperature: Option<f32>,
    /// Folder with SmolLM2-135M-Instruct.Q4_1.gguf (default: the model cache).
    #[arg(long)]
    pub model_dir: Option<PathBuf>,
    /// Leave out how each recording was made (the covid19-cough channel, the ICBHI stethoscope model,
    /// the KAUH filter) from the writer's input and the report, so that an alignment cannot learn an
    /// acquisition confound from the text. The writer id gets `:no-acquisition`.
    #[arg(long)]
    pub no_acquisition: bool,
}

/// The writer in use.
enum Writer {
    Template { seed: u64, acquisition: bool },
    Llm(llm::LlmWriter),
    Local(Box<local::LocalWriter>),
}

impl Writer {
    fn id(&self) -> String {
        match self {
            Writer::Template { seed, .. } => format!("template-v1:seed={seed}"),
            Writer::Llm(w) => w.id(),
            Writer::Local(w) => w.id(),
        }
    }
}

/// Path of the journal beside `out`.
pub fn journal_path(out: &Path) -> PathBuf {
    let mut name = out
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".partial.jsonl");
    out.with_file_name(name)
}

/// A reports CSV that cannot be read; the message names the file.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct CsvError {
    path: std::path::PathBuf,
    source: csv::Error,
}

/// Reads a reports CSV.
pub fn read_csv(path: &Path) -> Result<Vec<ReportRow>, CsvError> {
    let err = |source| CsvError {
        path: path.to_path_buf(),
        source,
    };
    let mut rdr = csv::Reader::from_path(path).map_err(err)?;
    rdr.deserialize().map(|r| r.map_err(err)).collect()
}

/// A reports CSV and its teacher embeddings (`.npy`, one row per report): the rows, the embedding
/// width and the values, row after row. A file that does not match the CSV is refused with one line.
pub fn read_with_embeddings(
    csv: &Path,
    npy: &Path,
) -> Result<(Vec<ReportRow>, usize, Vec<f32>), Failure> {
    let rows = read_csv(csv).map_err(|e| Failure::input(e.to_string()))?;
    let bytes = std::fs::read(npy)
        .map_err(|e| Failure::input(format!("cannot read {}: {e}", npy.display())))?;
    let (shape, values) = crate::npy::decode_f32(&bytes)
        .map_err(|e| Failure::input(format!("{}: {e}", npy.display())))?;
    if shape.len() != 2 || shape[0] != rows.len() || shape[1] == 0 {
        return Err(Failure::input(format!(
            "{} has shape {shape:?} but {} has {} reports; embed this CSV with acula embed-reports",
            npy.display(),
            csv.display(),
            rows.len()
        )));
    }
    Ok((rows, shape[1], values))
}

/// Rows of a journal; a torn last line (from a kill) is ignored.
fn read_journal(path: &Path) -> Vec<ReportRow> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Writes report rows as the reports CSV (atomically).
pub fn write_csv(path: &Path, rows: &[ReportRow]) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r)?;
    }
    let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    output::write_atomic(path, &bytes)
}

fn select<'a>(records: &'a [Record], args: &ReportsArgs) -> Vec<&'a Record> {
    let it = records
        .iter()
        .filter(|r| args.modality.as_deref().is_none_or(|m| r.modality == m))
        .filter(|r| !args.with_audio || r.has_audio);
    match args.limit {
        Some(n) => it.take(n).collect(),
        None => it.collect(),
    }
}

/// Runs `acula reports`.
pub fn run(args: &ReportsArgs) -> Result<(), Failure> {
    let ds = data::load(&args.dataset).map_err(|e| Failure::input(e.to_string()))?;
    let records = select(&ds.records, args);
    if records.is_empty() {
        return Err(Failure::usage(
            "no record matches --modality/--with-audio/--limit".into(),
        ));
    }
    let writer = match args.writer {
        WriterKind::Template => Writer::Template {
            seed: args.seed,
            acquisition: !args.no_acquisition,
        },
        WriterKind::Llm => {
            let url = args.llm_url.clone().ok_or_else(|| {
                Failure::usage(
                    "--writer llm needs --llm-url (an OpenAI-compatible base URL)".into(),
                )
            })?;
            Writer::Llm(llm::LlmWriter::new(llm::LlmConfig {
                url,
                model: args.llm_model.clone(),
                api_key: std::env::var(&args.llm_key_env)
                    .ok()
                    .filter(|k| !k.is_empty()),
                temperature: args.temperature.unwrap_or(1.0),
                timeout: Duration::from_secs(args.llm_timeout.max(1)),
                retries: args.llm_retries,
                backoff: Duration::from_millis(500),
            }))
        }
        WriterKind::Smollm2 => Writer::Local(Box::new(local::LocalWriter::load(
            args.model_dir.as_deref(),
            args.temperature.unwrap_or(0.2),
            args.seed,
            !args.no_acquisition,
        )?)),
    };
    let writer_id = if args.no_acquisition {
        format!("{}:no-acquisition", writer.id())
    } else {
        writer.id()
    };

    // What earlier runs finished: the CSV, then the journal (newer).
    let journal = journal_path(&args.out);
    let mut done: HashMap<String, ReportRow> = HashMap::new();
    if args.out.is_file() {
        let rows = read_csv(&args.out).map_err(|e| {
            Failure::output(format!(
                "{e}; the existing output is not a reports CSV: move it away or choose another --out"
            ))
        })?;
        for r in rows {
            done.insert(r.record_id.clone(), r);
        }
    }
    for r in read_journal(&journal) {
        done.insert(r.record_id.clone(), r);
    }
    done.retain(|_, r| r.writer == writer_id && r.dataset == ds.id);
    let todo = records.iter().filter(|r| !done.contains_key(&r.id)).count();
    if !done.is_empty() {
        tracing::info!("resuming: {} reports kept, {todo} to write", done.len());
    }

    let parent_ok = args
        .out
        .parent()
        .map(|p| p.as_os_str().is_empty() || p.is_dir())
        .unwrap_or(true);
    if !parent_ok {
        return Err(Failure::output(format!(
            "cannot write {}: its folder does not exist",
            args.out.display()
        )));
    }
    let mut jfile = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&journal)
        .map_err(|e| Failure::output(format!("cannot write {}: {e}", journal.display())))?;

    let bar = crate::progress::bar(todo as u64, "reports");
    let mut failed = 0usize;
    let mut rows = Vec::with_capacity(records.len());
    for rec in &records {
        if let Some(r) = done.remove(&rec.id) {
            rows.push(r);
            continue;
        }
        let meta = rec.metadata.meta_line(!args.no_acquisition);
        let report = match &writer {
            Writer::Template { seed, acquisition } => Ok(template::write(rec, *seed, *acquisition)),
            Writer::Llm(w) => w.write(&llm::user_prompt(ds.name, rec, &meta), args.seed),
            Writer::Local(w) => w.write(rec),
        };
        let report = match report {
            Ok(r) => r,
            Err(llm::LlmError::Fatal(m)) => {
                bar.finish_and_clear();
                return Err(Failure::input(format!(
                    "{}; {} finished reports are kept in {}",
                    llm::LlmError::Fatal(m),
                    rows.len(),
                    journal.display()
                )));
            }
            Err(e) => {
                failed += 1;
                tracing::warn!("{}: {e}", rec.id);
                bar.inc(1);
                continue;
            }
        };
        let row = ReportRow {
            audio_path: rec.audio.path.display().to_string(),
            meta_report: meta,
            report,
            writer: writer_id.clone(),
            dataset: ds.id.to_string(),
            record_id: rec.id.clone(),
        };
        let line = serde_json::to_string(&row).map_err(|e| Failure::output(e.to_string()))?;
        writeln!(jfile, "{line}")
            .and_then(|_| jfile.flush())
            .map_err(|e| Failure::output(format!("cannot write {}: {e}", journal.display())))?;
        rows.push(row);
        bar.inc(1);
    }
    bar.finish_and_clear();
    write_csv(&args.out, &rows).map_err(|e| Failure::output(e.to_string()))?;
    if failed > 0 {
        return Err(Failure::input(format!(
            "{failed} of {} reports could not be written (see the warnings); the other {} are in {} and in the journal {}; rerun the same command to retry only the missing ones",
            records.len(),
            rows.len(),
            args.out.display(),
            journal.display()
        )));
    }
    drop(jfile);
    let _ = std::fs::remove_file(&journal);
    eprintln!(
        "{} reports ({}) → {}",
        rows.len(),
        writer_id,
        args.out.display()
    );
    Ok(())
}

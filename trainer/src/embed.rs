//! `acula embed-reports`: the frozen teacher turns each report of a reports CSV into a vector.
//!
//! Teachers: `minilm` (all-MiniLM-L6-v2, 384-d, attention-masked mean pooling), `smollm2`
//! (SmolLM2-135M-Instruct, 576-d, mean of the last hidden states; `--pooling padded` averages over
//! all 128 padded positions, as the paper pools its causal teacher) and `file:<path>` (embeddings
//! computed elsewhere, e.g. by MedGemma: JSON lines `{"text": …, "embedding": [...]}` or
//! `{"sha256": <hex of the lower-cased text>, "embedding": [...]}`).
//!
//! Reports are lower-cased first (the paper's preprocessing). Output: `<out>.npy` (rows × dim,
//! float32, in CSV order) and `<out>.json` (teacher, dim, rows, the CSV's sha256). Embeddings are cached
//! in `$ACULA_CACHE/embeddings/<teacher id>.bin`, keyed by the sha256 of the text, so a rerun or
//! another CSV with the same reports costs nothing. The cache is append-only: a torn record from a
//! kill is detected by its length and ignored.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use acula_core::lm::{Pooling, SmolLm};
use acula_core::text::{TextEncoder, DEFAULT_MAX_TOKENS};
use burn::tensor::Device;
use clap::{Args, ValueEnum};
use sha2::{Digest, Sha256};

use crate::{cache, npy, output, reports, Failure};

/// Pooling of a causal teacher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PoolingArg {
    /// Mean over the text's own tokens.
    Mean,
    /// Pad to 128 tokens and average over all positions (the paper's pooling of MedGemma).
    Padded,
}

/// Arguments of `acula embed-reports`.
#[derive(Debug, Args)]
pub struct EmbedArgs {
    /// Reports CSV written by `acula reports`.
    pub reports: PathBuf,
    /// Output prefix: writes `<out>.npy` and `<out>.json`.
    #[arg(long, short)]
    pub out: PathBuf,
    /// `minilm`, `smollm2`, or `file:<embeddings.jsonl>`.
    #[arg(long, default_value = "minilm")]
    pub teacher: String,
    /// Folder with the teacher's files (default: the model cache of scripts/fetch-models.sh).
    #[arg(long)]
    pub model_dir: Option<PathBuf>,
    /// Texts per forward pass.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Pooling of the causal teacher (smollm2).
    #[arg(long, value_enum, default_value_t = PoolingArg::Mean)]
    pub pooling: PoolingArg,
}

type Key = [u8; 32];

fn key(text: &str) -> Key {
    Sha256::digest(text.as_bytes()).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An embedding model behind one interface.
enum Teacher {
    MiniLm(Box<TextEncoder>),
    SmolLm(Box<SmolLm>, Pooling),
    File {
        table: HashMap<Key, Vec<f32>>,
        dim: usize,
    },
}

impl Teacher {
    fn dim(&self) -> usize {
        match self {
            Teacher::MiniLm(t) => t.dim(),
            Teacher::SmolLm(t, _) => t.dim(),
            Teacher::File { dim, .. } => *dim,
        }
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, Failure> {
        match self {
            Teacher::MiniLm(t) => t.embed(texts).map_err(|e| Failure::input(e.to_string())),
            Teacher::SmolLm(t, p) => t
                .embed(texts, *p)
                .map_err(|e| Failure::input(e.to_string())),
            Teacher::File { table, .. } => texts
                .iter()
                .map(|t| {
                    table.get(&key(t)).cloned().ok_or_else(|| {
                        Failure::input(format!(
                            "the embeddings file has no entry for the report {t:.60}…"
                        ))
                    })
                })
                .collect(),
        }
    }
}

/// Loads the teacher named by `--teacher`; returns it with its cache id.
fn load_teacher(args: &EmbedArgs) -> Result<(Teacher, String), Failure> {
    if let Some(path) = args.teacher.strip_prefix("file:") {
        let path = Path::new(path);
        let text = std::fs::read_to_string(path).map_err(|e| {
            Failure::input(format!(
                "cannot read the embeddings file {}: {e}",
                path.display()
            ))
        })?;
        let mut table = HashMap::new();
        let mut dim = 0;
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let bad = |m: &str| Failure::input(format!("{}:{}: {m}", path.display(), i + 1));
            let v: serde_json::Value =
                serde_json::from_str(line).map_err(|e| bad(&format!("not JSON: {e}")))?;
            let emb: Vec<f32> = v
                .get("embedding")
                .and_then(|e| e.as_array())
                .ok_or_else(|| bad("no \"embedding\" list"))?
                .iter()
                .map(|x| x.as_f64().map(|f| f as f32).filter(|f| f.is_finite()))
                .collect::<Option<_>>()
                .ok_or_else(|| bad("the embedding has a value that is not a finite number"))?;
            if emb.is_empty() || (dim != 0 && emb.len() != dim) {
                return Err(bad(&format!(
                    "embedding of {} values where others have {dim}",
                    emb.len()
                )));
            }
            dim = emb.len();
            let k: Key = if let Some(t) = v.get("text").and_then(|t| t.as_str()) {
                key(&t.to_lowercase())
            } else if let Some(h) = v.get("sha256").and_then(|t| t.as_str()) {
                let bytes: Vec<u8> = (0..h.len() / 2)
                    .filter_map(|j| u8::from_str_radix(h.get(2 * j..2 * j + 2)?, 16).ok())
                    .collect();
                bytes
                    .try_into()
                    .map_err(|_| bad("\"sha256\" is not 64 hex digits"))?
            } else {
                return Err(bad("needs \"text\" or \"sha256\""));
            };
            table.insert(k, emb);
        }
        if table.is_empty() {
            return Err(Failure::input(format!(
                "{}: no embeddings in the file",
                path.display()
            )));
        }
        let id = format!("file-{}", &hex(&Sha256::digest(text.as_bytes()))[..16]);
        return Ok((Teacher::File { table, dim }, id));
    }
    match args.teacher.as_str() {
        "minilm" => {
            let (enc, id) = load_minilm(args.model_dir.as_deref())?;
            Ok((Teacher::MiniLm(Box::new(enc)), id))
        }
        "smollm2" => {
            let (model, bytes) = crate::reports::local::load_model(args.model_dir.as_deref())?;
            let (pooling, tag) = match args.pooling {
                PoolingArg::Mean => (Pooling::Mean, "mean".to_string()),
                PoolingArg::Padded => (
                    Pooling::MeanPadded(DEFAULT_MAX_TOKENS),
                    format!("padded{DEFAULT_MAX_TOKENS}"),
                ),
            };
            let id = format!(
                "smollm2-135m-q4_1-{}-{tag}",
                &hex(&Sha256::digest(&bytes))[..12]
            );
            Ok((Teacher::SmolLm(Box::new(model), pooling), id))
        }
        other => Err(Failure::usage(format!(
            "unknown teacher {other:?}; use minilm, smollm2 or file:<embeddings.jsonl>"
        ))),
    }
}

/// The three published files of all-MiniLM-L6-v2, read from a folder.
pub(crate) struct MiniLmFiles {
    /// Where they were read from.
    pub dir: PathBuf,
    /// `config.json`.
    pub config: Vec<u8>,
    /// `model.safetensors`.
    pub weights: Vec<u8>,
    /// `tokenizer.json`.
    pub tokenizer: Vec<u8>,
}

impl MiniLmFiles {
    /// The file names, in the order of [`Self::entries`].
    pub const NAMES: [&'static str; 3] = ["config.json", "model.safetensors", "tokenizer.json"];

    /// Reads the files from `dir` (default: the model cache, where `scripts/fetch-models.sh minilm`
    /// puts them).
    pub fn read(dir: Option<&Path>) -> Result<Self, Failure> {
        let dir = dir
            .map(Path::to_path_buf)
            .unwrap_or_else(|| cache::root().join("models/all-minilm-l6-v2"));
        let read = |name: &str| {
            std::fs::read(dir.join(name)).map_err(|e| {
                Failure::input(format!(
                    "cannot read {}: {e}; run scripts/fetch-models.sh minilm (or give the folder)",
                    dir.join(name).display()
                ))
            })
        };
        Ok(Self {
            config: read("config.json")?,
            weights: read("model.safetensors")?,
            tokenizer: read("tokenizer.json")?,
            dir,
        })
    }

    /// The teacher id (model checksum and token limit) that embedding caches and bundles record.
    pub fn id(&self) -> String {
        format!(
            "all-minilm-l6-v2-{}-max{}",
            &hex(&Sha256::digest(&self.weights))[..12],
            DEFAULT_MAX_TOKENS
        )
    }

    /// Name, size and sha256 of each file (what a bundle's `text.encoder.files` holds).
    pub fn entries(&self) -> std::collections::BTreeMap<String, acula_core::bundle::FileEntry> {
        Self::NAMES
            .iter()
            .zip([&self.config, &self.weights, &self.tokenizer])
            .map(|(name, bytes)| {
                (
                    name.to_string(),
                    acula_core::bundle::FileEntry {
                        sha256: acula_core::bundle::sha256_hex(bytes),
                        bytes: bytes.len() as u64,
                    },
                )
            })
            .collect()
    }

    /// The encoder, on the CPU.
    pub fn encoder(&self) -> Result<TextEncoder, Failure> {
        TextEncoder::from_bytes(
            &String::from_utf8_lossy(&self.config),
            &self.weights,
            &self.tokenizer,
            &Device::flex(),
            DEFAULT_MAX_TOKENS,
        )
        .map_err(|e| Failure::input(format!("{}: {e}", self.dir.display())))
    }
}

/// all-MiniLM-L6-v2 from `dir` (default: the model cache) and its id.
pub(crate) fn load_minilm(dir: Option<&Path>) -> Result<(TextEncoder, String), Failure> {
    let files = MiniLmFiles::read(dir)?;
    Ok((files.encoder()?, files.id()))
}

/// The on-disk cache of one teacher.
struct Cache {
    path: PathBuf,
    dim: usize,
    table: HashMap<Key, Vec<f32>>,
    file: Option<std::fs::File>,
}

impl Cache {
    fn open(id: &str, dim: usize) -> Self {
        let dir = cache::root().join("embeddings");
        let path = dir.join(format!("{id}.bin"));
        let mut table = HashMap::new();
        let rec = 32 + 4 * dim;
        if let Ok(bytes) = std::fs::read(&path) {
            // Whole records only: a torn tail from an interrupted write is ignored.
            for r in bytes.chunks_exact(rec) {
                let k: Key = r[..32].try_into().unwrap_or([0; 32]);
                let v: Vec<f32> = r[32..]
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect();
                table.insert(k, v);
            }
            if bytes.len() % rec != 0 {
                tracing::warn!(
                    "{}: ignoring a torn record at the end (an earlier run was interrupted)",
                    path.display()
                );
            }
        }
        let file = std::fs::create_dir_all(&dir)
            .and_then(|_| {
                // Rewrite without the torn tail before appending, so records stay aligned.
                if let Ok(len) = std::fs::metadata(&path).map(|m| m.len() as usize) {
                    if len % rec != 0 {
                        let f = std::fs::OpenOptions::new().write(true).open(&path)?;
                        f.set_len((len / rec * rec) as u64)?;
                    }
                }
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
            })
            .map_err(|e| tracing::warn!("embedding cache {} unavailable: {e}", path.display()))
            .ok();
        Self {
            path,
            dim,
            table,
            file,
        }
    }

    fn put(&mut self, k: Key, v: &[f32]) {
        debug_assert_eq!(v.len(), self.dim);
        if let Some(f) = &mut self.file {
            let mut buf = Vec::with_capacity(32 + 4 * v.len());
            buf.extend_from_slice(&k);
            for x in v {
                buf.extend_from_slice(&x.to_le_bytes());
            }
            if let Err(e) = f.write_all(&buf) {
                tracing::warn!("embedding cache {}: {e}", self.path.display());
                self.file = None;
            }
        }
        self.table.insert(k, v.to_vec());
    }
}

/// Runs `acula embed-reports`.
pub fn run(args: &EmbedArgs) -> Result<(), Failure> {
    let rows = reports::read_csv(&args.reports).map_err(|e| Failure::input(e.to_string()))?;
    if rows.is_empty() {
        return Err(Failure::input(format!(
            "{}: no reports",
            args.reports.display()
        )));
    }
    let (teacher, id) = load_teacher(args)?;
    let dim = teacher.dim();
    let mut cache = Cache::open(&id, dim);
    let texts: Vec<String> = rows.iter().map(|r| r.report.to_lowercase()).collect();
    let keys: Vec<Key> = texts.iter().map(|t| key(t)).collect();

    // Unique texts not in the cache, longest first so each batch pads little.
    let mut todo: Vec<usize> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, k) in keys.iter().enumerate() {
        if !cache.table.contains_key(k) && seen.insert(*k) {
            todo.push(i);
        }
    }
    todo.sort_by_key(|&i| std::cmp::Reverse(texts[i].len()));
    let bar = crate::progress::bar(todo.len() as u64, "embedding");
    let started = std::time::Instant::now();
    for chunk in todo.chunks(args.batch.max(1)) {
        let batch: Vec<&str> = chunk.iter().map(|&i| texts[i].as_str()).collect();
        let out = teacher.embed(&batch)?;
        for (&i, v) in chunk.iter().zip(&out) {
            cache.put(keys[i], v);
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();

    let mut flat = Vec::with_capacity(rows.len() * dim);
    for k in &keys {
        let v = cache
            .table
            .get(k)
            .ok_or_else(|| Failure::input("an embedding went missing".into()))?;
        flat.extend_from_slice(v);
    }
    let npy_path = args.out.with_extension("npy");
    let json_path = args.out.with_extension("json");
    let csv_bytes = std::fs::read(&args.reports)
        .map_err(|e| Failure::input(format!("{}: {e}", args.reports.display())))?;
    output::write_atomic(&npy_path, &npy::encode_f32(&[rows.len(), dim], &flat))
        .map_err(|e| Failure::output(e.to_string()))?;
    let meta = serde_json::json!({
        "teacher": id,
        "dim": dim,
        "rows": rows.len(),
        "lowercased": true,
        "reports_csv": args.reports.display().to_string(),
        "reports_sha256": hex(&Sha256::digest(&csv_bytes)),
    });
    output::write_atomic(
        &json_path,
        serde_json::to_string_pretty(&meta)
            .unwrap_or_default()
            .as_bytes(),
    )
    .map_err(|e| Failure::output(e.to_string()))?;
    if todo.is_empty() {
        eprintln!(
            "{} reports, all from the cache ({id}) → {}",
            rows.len(),
            npy_path.display()
        );
    } else {
        eprintln!(
            "{} reports ({} embedded in {secs:.1} s, {:.1} reports/s; the rest from the cache) → {}",
            rows.len(),
            todo.len(),
            todo.len() as f64 / secs.max(1e-9),
            npy_path.display()
        );
    }
    Ok(())
}

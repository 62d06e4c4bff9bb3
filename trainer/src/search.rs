//! `acula search`: a typed description → the bundle's most similar clinical reports and example
//! recordings, through the sentence encoder the bundle was aligned with and its text head (the same
//! `core` code the page runs). Also the text tower `acula predict --labels` uses.

use std::path::PathBuf;

use acula_core::bundle::Bundle;
use acula_core::language::{self, Language};
use acula_core::screen::Screener;
use acula_core::text::TextEncoder;
use acula_core::BundleError;
use clap::Args;

use crate::embed::MiniLmFiles;
use crate::Failure;

/// Arguments of `acula search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// What to look for, in words ("expiratory wheezes in an asthmatic child"); several texts are
    /// searched one after the other with the model loaded once (`--json` then prints an array).
    #[arg(required = true)]
    pub text: Vec<String>,
    /// Model bundle folder (`acula export`).
    #[arg(long, default_value = "www/models/default")]
    pub bundle: PathBuf,
    /// How many reports and recordings.
    #[arg(long, default_value_t = 5)]
    pub top_k: usize,
    /// Print JSON instead of text: one object, or an array of them for several texts.
    #[arg(long)]
    pub json: bool,
    /// Folder with the bundle's sentence encoder (all-MiniLM-L6-v2: `config.json`,
    /// `model.safetensors`, `tokenizer.json`; default: the model cache that
    /// `scripts/fetch-models.sh minilm` fills).
    #[arg(long)]
    pub teacher_dir: Option<PathBuf>,
}

/// What `acula search --json` prints.
pub type SearchOut = acula_core::language::SearchResult;

/// A bundle's text side with its sentence encoder, checked to belong together.
pub(crate) struct TextTower {
    pub language: Language,
    pub encoder: TextEncoder,
}

impl TextTower {
    /// Loads the text side of `bundle` and the sentence encoder from `teacher_dir`, refusing an
    /// encoder whose files are not the ones the manifest names.
    pub fn load(
        bundle: &Bundle,
        bundle_dir: &std::path::Path,
        teacher_dir: Option<&std::path::Path>,
        device: &burn::tensor::Device,
    ) -> Result<Self, Failure> {
        let in_bundle =
            |e: acula_core::Error| Failure::input(format!("{}: {e}", bundle_dir.display()));
        let language = Language::new(bundle, device).map_err(in_bundle)?;
        let files = MiniLmFiles::read(teacher_dir)?;
        let want = &language.spec().encoder;
        for (name, got) in files.entries() {
            let Some(expected) = want.files.get(&name) else {
                continue;
            };
            if *expected != got {
                return Err(Failure::input(format!(
                    "{}: {}",
                    files.dir.display(),
                    BundleError::WrongTextEncoder {
                        file: name,
                        id: want.id.clone(),
                        expected: expected.sha256.clone(),
                        got: got.sha256,
                    }
                )));
            }
        }
        Ok(Self {
            language,
            encoder: files.encoder()?,
        })
    }

    /// Joint-space vectors of `texts`.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, Failure> {
        let teacher = self
            .encoder
            .embed(texts)
            .map_err(|e| Failure::input(e.to_string()))?;
        self.language
            .project(&teacher)
            .map_err(|e| Failure::input(e.to_string()))
    }
}

/// Runs `acula search`.
pub fn run(args: &SearchArgs) -> Result<(), Failure> {
    let queries = args
        .text
        .iter()
        .map(|t| language::check_query(t))
        .collect::<Result<Vec<&str>, _>>()
        .map_err(|e| Failure::usage(e.to_string()))?;
    if args.top_k == 0 {
        return Err(Failure::usage("--top-k must be at least 1".into()));
    }
    let bundle = crate::bundle_dir::BundleDir::new(&args.bundle).read()?;
    let device = burn::tensor::Device::flex();
    let tower = TextTower::load(&bundle, &args.bundle, args.teacher_dir.as_deref(), &device)?;
    let screener = Screener::new(&bundle, &device)
        .map_err(|e| Failure::input(format!("{}: {e}", args.bundle.display())))?;
    let mut outs = Vec::with_capacity(queries.len());
    for query in queries {
        let out = search_one(&tower, &screener, query, args.top_k)?;
        if out.truncated {
            eprintln!(
                "note: the text is longer than the model's {} tokens; only its beginning was used",
                tower.encoder.max_tokens()
            );
        }
        if !args.json {
            print_text(&out);
        }
        outs.push(out);
    }
    if args.json {
        let json = if outs.len() == 1 {
            serde_json::to_string_pretty(&outs[0])
        } else {
            serde_json::to_string_pretty(&outs)
        }
        .map_err(|e| Failure::output(e.to_string()))?;
        println!("{json}");
    }
    Ok(())
}

/// One query's answer.
fn search_one(
    tower: &TextTower,
    screener: &Screener,
    query: &str,
    top_k: usize,
) -> Result<SearchOut, Failure> {
    let truncated = tower
        .encoder
        .truncated(query)
        .map_err(|e| Failure::input(e.to_string()))?;
    let v = tower.embed(&[query])?.remove(0);
    Ok(SearchOut {
        query: query.to_string(),
        truncated,
        reports: screener
            .similar(&v, top_k)
            .map_err(|e| Failure::input(e.to_string()))?,
        recordings: tower
            .language
            .recordings(&v, top_k)
            .map_err(|e| Failure::input(e.to_string()))?,
    })
}

fn print_text(out: &SearchOut) {
    println!("reports most similar to {:?}:", out.query);
    for (i, r) in out.reports.iter().enumerate() {
        let synthetic = if r.synthetic {
            ", synthetic recording"
        } else {
            ""
        };
        println!(
            "  {}. ({:.3}; {} {}{synthetic}) {}",
            i + 1,
            r.similarity,
            r.dataset,
            r.record_id,
            r.text
        );
    }
    if !out.recordings.is_empty() {
        println!("example recordings:");
        for (i, r) in out.recordings.iter().enumerate() {
            println!(
                "  {}. ({:.3}) {} — {} [{}]",
                i + 1,
                r.similarity,
                r.title,
                r.file,
                r.source
            );
        }
    }
    println!();
}

//! `acula`: the AcuLa research command line.
//!
//! Exit codes: 0 success; 1 the input could not be processed (bad, damaged or unsupported audio);
//! 2 usage error (bad flags, unreadable or invalid config); 3 the output could not be written;
//! 70 internal error (a bug: please report it).

use std::process::ExitCode;

use acula_trainer::{
    bench_model, data, decode, embed, embed_audio, eval, export, features, metrics, predict,
    recipe, reports, search, synth, train, Failure,
};
use clap::{Parser, Subcommand};

/// AcuLa: audio encoders for body sounds, aligned with clinical language.
#[derive(Debug, Parser)]
#[command(name = "acula", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Compute the reference log-mel features of an audio file and write them as .npy.
    Features(features::FeaturesArgs),
    /// Decode an audio file to what the model hears: mono, 16 kHz, 32-bit float WAV.
    Decode(decode::DecodeArgs),
    /// Synthetic lung (ICBHI layout) and heart (CirCor layout) recordings with known ground truth.
    Synth(synth::SynthArgs),
    /// Datasets: find and summarise them in their official layouts.
    Data {
        #[command(subcommand)]
        command: DataCommand,
    },
    /// Write a 2–3 sentence clinical report per recording from a dataset's metadata (CSV, resumable).
    Reports(reports::ReportsArgs),
    /// Embed the reports of a reports CSV with the frozen teacher (cached by text hash).
    EmbedReports(embed::EmbedArgs),
    /// Clip embeddings of recordings from encoder weights in the PyTorch layout (e.g. OPERA-GT).
    EmbedAudio(embed_audio::EmbedAudioArgs),
    /// Pre-train an encoder as a masked autoencoder on the recordings of datasets (resumable).
    Pretrain(train::pretrain::PretrainArgs),
    /// Align an encoder with a language-model teacher on recording–report pairs (the AcuLa objective).
    Align(train::align::AlignArgs),
    /// Write a model bundle from an alignment run: weights, task heads, report index, manifest.
    Export(export::ExportArgs),
    /// Fit a bundle's task heads and familiarity check again on its own encoder (no alignment run).
    Refit(export::refit::RefitArgs),
    /// Give a bundle a text side: train a text head against its frozen audio tower (LiT-style).
    TextHead(export::text_head::TextHeadArgs),
    /// Screen recordings with a model bundle: quality, task scores, similar clinical reports.
    Predict(predict::PredictArgs),
    /// Search a bundle's clinical reports and example recordings by a typed description.
    Search(search::SearchArgs),
    /// Linear-probe evaluation (OPERA protocol) of representations on tasks, with baselines.
    Eval(eval::EvalArgs),
    /// How well the cough detector finds real coughs placed at known offsets into real and
    /// synthetic backgrounds (tunes its thresholds on one half of the recordings, reports the other).
    EvalEvents(eval::events::EvalEventsArgs),
    /// The reports and teacher embeddings without the recordings `acula eval` validates or tests on
    /// (for an alignment run that never sees the evaluation's held-out recordings).
    Holdout(eval::holdout::HoldoutArgs),
    /// The whole training recipe, from datasets to the model bundle, in one resumable command.
    Train(recipe::TrainArgs),
    /// The masked-autoencoder loss of given weights, input and noise (a parity tool).
    #[command(hide = true)]
    MaeLoss(train::mae_loss::MaeLossArgs),
    /// Time the encoder's forward pass or one alignment training step (`scripts/bench.sh`).
    #[command(hide = true)]
    BenchModel(bench_model::BenchModelArgs),
    /// AUROC of JSON cases on stdin (a parity tool: `tests/parity/auroc.py` compares with scikit-learn).
    #[command(hide = true)]
    Auroc,
    /// Print the front-end configuration (the reference one, or a config file completed with defaults) as JSON.
    Config {
        /// A partial configuration file to complete.
        #[arg(long)]
        config: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum DataCommand {
    /// Find every dataset under a folder and print records, subjects, segments, audio present, and
    /// counts per label, split and problem.
    List(data::list::ListArgs),
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Features(args) => features::run(&args),
        Command::Decode(args) => decode::run(&args),
        Command::Synth(args) => synth::run(&args),
        Command::Reports(args) => reports::run(&args),
        Command::EmbedReports(args) => embed::run(&args),
        Command::EmbedAudio(args) => embed_audio::run(&args),
        Command::Pretrain(args) => train::pretrain::run(&args),
        Command::Align(args) => train::align::run(&args),
        Command::Train(args) => recipe::run(&args),
        Command::Export(args) => export::run(&args),
        Command::Refit(args) => export::refit::run(&args),
        Command::Predict(args) => predict::run(&args),
        Command::Search(args) => search::run(&args),
        Command::TextHead(args) => export::text_head::run(&args),
        Command::Eval(args) => eval::run(&args),
        Command::EvalEvents(args) => eval::events::run(&args),
        Command::Holdout(args) => eval::holdout::run(&args),
        Command::MaeLoss(args) => train::mae_loss::run(&args),
        Command::BenchModel(args) => bench_model::run(&args),
        Command::Auroc => metrics::run_cases(),
        Command::Data { command } => match command {
            DataCommand::List(args) => data::list::run(&args),
        },
        Command::Config { config } => {
            let cfg = features::load_config(config.as_deref())?;
            acula_core::FrontEnd::new(cfg.clone()).map_err(|e| Failure::usage(e.to_string()))?;
            let json =
                serde_json::to_string_pretty(&cfg).map_err(|e| Failure::usage(e.to_string()))?;
            println!("{json}");
            Ok(())
        }
    }
}

/// Keeps freed memory in the process instead of handing it back to the kernel after every tensor.
/// burn's CPU backend allocates a fresh buffer per operation; with glibc's defaults the large ones
/// are returned to the kernel when freed and faulted in again, page by page, by the next operation.
/// Here the heap is not trimmed, grows in 256 MiB steps, and serves buffers up to 32 MiB (larger
/// ones are still mapped and unmapped). Measured (`acula bench-model`, one core): gt-tiny batch 32
/// forward 386 → 236 ms, gt-small one chunk 864 → 681 ms. Freed memory is kept until the process
/// exits.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called first thing in main, before threads.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        libc::mallopt(libc::M_TOP_PAD, 256 << 20);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
    }
}

fn main() -> ExitCode {
    keep_freed_memory();
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,symphonia=off".into()),
        )
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .init();
    // A bug must still end in one line and a documented exit code, not a backtrace.
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = std::panic::catch_unwind(|| run(cli));
    match outcome {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(f)) => {
            eprintln!("error: {}", one_line(f.message()));
            ExitCode::from(f.code())
        }
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            eprintln!(
                "error: internal error ({}); please report it",
                one_line(&msg)
            );
            ExitCode::from(70)
        }
    }
}

/// Joins a possibly multi-line message into one line.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

//! `acula synth`: synthetic auscultation recordings in the ICBHI and CirCor layouts.
//!
//! The lung and heart recordings of the benchmark cannot be had here, so this generator writes
//! datasets with known ground truth in exactly the layouts the loaders read (`acula data list` finds
//! them). Every dataset root holds [`MARKER`] and `manifest.json` saying it is synthetic, with the seed,
//! the generator version and the command; loaders flag such datasets (`Dataset::synthetic`). Same seed
//! and arguments → byte-identical files (a self-written xoshiro256** generator, one independent stream
//! per recording derived from the seed and the recording's name).
//!
//! # Lung sounds (ICBHI 2017 layout)
//! - **Breath sounds**: white noise band-limited to 100–1000 Hz with a falling spectral tilt (a share
//!   low-passed at 250 Hz dominates), as normal vesicular sounds fall off above ~200 Hz
//!   (Pasterkamp, Kraman & Wodicka, *Am J Respir Crit Care Med* 1997). Each cycle is an inspiration
//!   (33–42 % of the cycle, louder, flow rising) then a short pause and a quieter, decaying
//!   expiration (40–60 % of inspiratory amplitude; I:E ≈ 1:1.5–2). Gaps outside the annotated
//!   cycles are filled with unannotated breaths.
//! - **Crackles** (discontinuous; the ERS task force's CORSA definitions, Sovijärvi et al., *Eur
//!   Respir Rev* 2000, after Hoevers & Loudon, *Chest* 1990): a sharp initial deflection followed by
//!   slower decaying oscillations, described by the initial deflection width (IDW) and the duration of
//!   the first two cycles (2CD). Fine crackles: IDW 0.5–0.9 ms, 2CD 4–6.5 ms, total duration under
//!   10 ms, 5–12 per cycle, mostly late inspiratory; coarse crackles: IDW 1.2–2 ms, 2CD 8.5–12 ms,
//!   total over 10 ms, 3–7 per cycle, early inspiratory and expiratory (CORSA: fine ≈ 0.7/5 ms,
//!   coarse ≈ 1.5/10 ms). Peaks of 4–10× the breath noise's RMS. Which kind depends on the diagnosis
//!   (coarse in COPD and bronchiectasis, fine in pneumonia).
//! - **Wheezes** (continuous, "musical"): a tone with a dominant frequency of 150–700 Hz (CORSA: over
//!   100 Hz, typically 100–1000 Hz), two harmonics, a slow glide (−6 to +4 %) and a vibrato, lasting
//!   at least 120 ms (CORSA: 80–100 ms or more), 80 % expiratory, sometimes two at once (polyphonic).
//! - **Body and device**: heartbeat thumps (S1/S2 as 45–65 Hz damped transients), occasional rubbing
//!   friction bursts, mains hum at 50/60 Hz with its third harmonic, a sensor noise floor, the chest
//!   wall and stethoscope as a low-pass (1.2–2 kHz by device, below Nyquist), and a random gain.
//!
//! With `--follow`, the cycle timings, crackle/wheeze flags, diagnoses and demographics of the real
//! annotations are kept exactly; without it, patients, diagnoses and flags are drawn at random with
//! diagnosis-dependent probabilities. The split (`ICBHI_challenge_train_test.txt`) is a seeded
//! patient-level 60/40 split, not the challenge's official one. `synthetic_events.tsv` lists every
//! crackle and wheeze placed (time, kind, frequency).
//!
//! # Heart sounds (CirCor DigiScope layout, 4 kHz)
//! - **Cycles**: heart rate by age group (neonate ≈ 140, infant 125, child 95, adolescent 78, young
//!   adult 70 bpm, ±12 %), sinus arrhythmia with breathing. S1 (90–120 ms; mitral then tricuspid
//!   component, 40–70 Hz damped transients) and S2 (70–100 ms; aortic then pulmonic component 15–45
//!   ms later, 60–100 Hz). S1 is louder at the apex (MV, TV), S2 at the base (AV, PV). Systole
//!   (S1 onset to S2 onset) lasts 0.33·√RR s (a Bazett-like scaling).
//! - **Murmurs**, described like CirCor's annotators: timing (early/mid/late/holosystolic,
//!   early/mid/holodiastolic) places them within systole or diastole; shape (crescendo, decrescendo,
//!   diamond, plateau) is their envelope; the grade (Levine's I–VI scale for systolic murmurs,
//!   Freeman & Levine, *Ann Intern Med* 1933; the I–IV scale for diastolic ones) sets the loudness
//!   relative to S1 (grade I 0.15, II 0.3, III 0.55); pitch (low/medium/high) the band (50–150,
//!   100–300, 200–600 Hz); quality the texture: blowing = smooth band noise, harsh = broader, rough
//!   (amplitude-modulated) noise, musical = a tone with a harmonic.
//!   Heard at the patient's murmur locations, loudest at the most audible one, absent elsewhere.
//! - `Unknown` patients have very noisy recordings (loud bursts of crying/talking-like noise).
//! - Files: `training_data.csv`, `training_data/<pid>_<site>.{wav,hea,tsv}` (segmentation 0–4 exactly
//!   as synthesised) and `<pid>.txt`.
//!
//! The data is for testing pipelines and for pre-training; never report clinical performance on it.

mod dsp;
mod heart;
mod lung;

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use serde::Serialize;

use crate::Failure;

pub use crate::data::synthetic::MARKER;

/// Version of the signal models: bumped whenever the same seed would give different files.
pub const GENERATOR_VERSION: u32 = 1;

/// Arguments of `acula synth`.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// What to synthesise.
    #[command(subcommand)]
    pub command: SynthCommand,
}

/// The kinds of synthetic dataset.
#[derive(Debug, Subcommand)]
pub enum SynthCommand {
    /// Lung sounds with breathing cycles, crackles and wheezes, in the official ICBHI 2017 layout.
    Lung(LungArgs),
    /// Heart sounds with S1/S2 and murmurs, in the CirCor DigiScope (PhysioNet 2022) layout.
    Heart(HeartArgs),
}

/// Arguments of `acula synth lung`.
#[derive(Debug, Clone, Args)]
pub struct LungArgs {
    /// Output folder (created; must be empty or absent unless --force).
    #[arg(long)]
    pub out: PathBuf,
    /// Real ICBHI annotations to follow (Kaggle or official layout): one synthetic recording per
    /// annotation file, with its real cycle timings, crackle/wheeze flags, diagnosis and demographics.
    #[arg(long)]
    pub follow: Option<PathBuf>,
    /// Only the first N recordings (by name) of the followed annotations.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Number of random patients (default 20); with --follow, only the first N patients (by id).
    #[arg(long)]
    pub patients: Option<usize>,
    /// Recordings per random patient (ignored with --follow).
    #[arg(long, default_value_t = 3)]
    pub recordings_per_patient: usize,
    /// Seed of the random generator; the same seed gives byte-identical files.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Sample rate in Hz (the real database mixes 4 kHz, 10 kHz and 44.1 kHz).
    #[arg(long, default_value_t = 4000)]
    pub rate: u32,
    /// Replace the output folder if it is not empty.
    #[arg(long)]
    pub force: bool,
}

/// Arguments of `acula synth heart`.
#[derive(Debug, Clone, Args)]
pub struct HeartArgs {
    /// Output folder (created; must be empty or absent unless --force).
    #[arg(long)]
    pub out: PathBuf,
    /// Number of patients (each recorded at 2–4 sites).
    #[arg(long, default_value_t = 40)]
    pub patients: usize,
    /// Mean recording length in seconds (each recording varies ±30 % around it).
    #[arg(long, default_value_t = 15.0)]
    pub seconds: f64,
    /// Seed of the random generator; the same seed gives byte-identical files.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Replace the output folder if it is not empty.
    #[arg(long)]
    pub force: bool,
}

/// Runs `acula synth`.
pub fn run(args: &SynthArgs) -> Result<(), Failure> {
    match &args.command {
        SynthCommand::Lung(a) => run_lung(a),
        SynthCommand::Heart(a) => run_heart(a),
    }
}

/// What `manifest.json` holds.
#[derive(Debug, Serialize)]
struct Manifest<'a, C: Serialize> {
    synthetic: bool,
    generator: &'static str,
    generator_version: u32,
    acula_version: &'static str,
    kind: &'static str,
    layout: &'static str,
    seed: u64,
    sample_rate: u32,
    /// The command that reproduces the dataset (without --out and --force).
    command: &'a str,
    counts: C,
    note: &'static str,
}

const NOTE: &str = "Synthetic data: simulated signals with known ground truth, not recorded from people. \
Use it to test pipelines and to pre-train; never report clinical performance on it, and never mix it with \
real data without saying so.";

fn run_lung(a: &LungArgs) -> Result<(), Failure> {
    if !(2000..=96_000).contains(&a.rate) {
        return Err(Failure::usage(format!(
            "--rate {}: give a sample rate from 2000 to 96000 Hz",
            a.rate
        )));
    }
    let mut command = format!("acula synth lung --seed {} --rate {}", a.seed, a.rate);
    let plan = match &a.follow {
        Some(dir) => {
            command += &format!(" --follow {}", dir.display());
            if let Some(n) = a.limit {
                command += &format!(" --limit {n}");
            }
            if let Some(n) = a.patients {
                command += &format!(" --patients {n}");
            }
            if a.limit == Some(0) || a.patients == Some(0) {
                return Err(Failure::usage(
                    "--limit and --patients must be at least 1".into(),
                ));
            }
            lung::plan_follow(dir, a.limit, a.patients)?
        }
        None => {
            if a.limit.is_some() {
                return Err(Failure::usage(
                    "--limit selects followed recordings; it needs --follow (use --patients and --recordings-per-patient)".into(),
                ));
            }
            let patients = a.patients.unwrap_or(20);
            if patients == 0 || a.recordings_per_patient == 0 {
                return Err(Failure::usage(
                    "--patients and --recordings-per-patient must be at least 1".into(),
                ));
            }
            if patients > 900 {
                return Err(Failure::usage(format!(
                    "--patients {patients}: at most 900 (ICBHI patient numbers are three digits)"
                )));
            }
            command += &format!(
                " --patients {patients} --recordings-per-patient {}",
                a.recordings_per_patient
            );
            lung::plan_random(a.seed, patients, a.recordings_per_patient)
        }
    };
    let counts = generate_into(&a.out, a.force, |dir| {
        let counts = lung::write(&plan, dir, a.seed, a.rate)?;
        finish(
            dir,
            &Manifest {
                synthetic: true,
                generator: "acula synth lung",
                generator_version: GENERATOR_VERSION,
                acula_version: env!("CARGO_PKG_VERSION"),
                kind: "lung",
                layout: "icbhi-official",
                seed: a.seed,
                sample_rate: a.rate,
                command: &command,
                counts: counts.clone(),
                note: NOTE,
            },
            "Lung sounds in the official ICBHI 2017 layout: breathing cycles of band-limited noise with\n\
             crackles (damped transients) and wheezes (tones with harmonics) placed in the cycles whose\n\
             annotations flag them. The train/test split is a seeded patient-level 60/40 split, not the\n\
             challenge's official one. synthetic_events.tsv lists every crackle and wheeze placed.",
        )?;
        Ok(counts)
    })?;
    println!(
        "wrote {} synthetic ICBHI recordings ({} patients, {} cycles: {} with crackles, {} with wheezes) to {}",
        counts.recordings,
        counts.patients,
        counts.cycles,
        counts.cycles_with_crackles,
        counts.cycles_with_wheezes,
        a.out.display()
    );
    Ok(())
}

fn run_heart(a: &HeartArgs) -> Result<(), Failure> {
    if a.patients == 0 || a.patients > 10_000 {
        return Err(Failure::usage(format!(
            "--patients {}: give 1 to 10000",
            a.patients
        )));
    }
    if !(a.seconds.is_finite() && (2.0..=120.0).contains(&a.seconds)) {
        return Err(Failure::usage(format!(
            "--seconds {}: give a mean length from 2 to 120 s",
            a.seconds
        )));
    }
    let command = format!(
        "acula synth heart --seed {} --patients {} --seconds {}",
        a.seed, a.patients, a.seconds
    );
    let patients = heart::plan_random(a.seed, a.patients, a.seconds);
    let counts = generate_into(&a.out, a.force, |dir| {
        let counts = heart::write(&patients, dir, a.seed)?;
        finish(
            dir,
            &Manifest {
                synthetic: true,
                generator: "acula synth heart",
                generator_version: GENERATOR_VERSION,
                acula_version: env!("CARGO_PKG_VERSION"),
                kind: "heart",
                layout: "circor-physionet",
                seed: a.seed,
                sample_rate: heart::RATE,
                command: &command,
                counts: counts.clone(),
                note: NOTE,
            },
            "Heart sounds in the CirCor DigiScope (PhysioNet Challenge 2022) layout: heart cycles with S1\n\
             and S2 and systolic/diastolic murmurs with the timing, shape, grade, pitch and quality written\n\
             in training_data.csv; the .tsv segmentations are exactly the synthesised cycle states.",
        )?;
        Ok(counts)
    })?;
    println!(
        "wrote {} synthetic CirCor recordings ({} patients: {} with a murmur, {} unknown, {} without) to {}",
        counts.recordings,
        counts.patients,
        counts.murmur_present,
        counts.murmur_unknown,
        counts.murmur_absent,
        a.out.display()
    );
    Ok(())
}

/// Writes [`MARKER`] and `manifest.json` at a dataset root.
fn finish<C: Serialize>(dir: &Path, m: &Manifest<C>, what: &str) -> Result<(), Failure> {
    let marker = format!(
        "SYNTHETIC DATA: not recorded from people.\n\n\
         Written by `{}` (generator version {}, acula {}), seed {}:\n    {}\n\n{what}\n\n{}\n",
        m.generator, m.generator_version, m.acula_version, m.seed, m.command, NOTE
    );
    write_file(&dir.join(MARKER), marker.as_bytes())?;
    let json = serde_json::to_string_pretty(m)
        .map_err(|e| Failure::output(format!("cannot encode the manifest: {e}")))?;
    write_file(&dir.join("manifest.json"), format!("{json}\n").as_bytes())
}

/// Writes a file inside the staging folder.
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    std::fs::write(path, bytes)
        .map_err(|e| Failure::output(format!("cannot write {}: {e}", path.display())))
}

/// Builds a dataset in a temporary sibling of `out` and renames it into place at the end, so that a
/// failure or a kill never leaves a half-written dataset at `out`. `out` must be absent or empty
/// unless `force` (then it is replaced).
fn generate_into<T>(
    out: &Path,
    force: bool,
    build: impl FnOnce(&Path) -> Result<T, Failure>,
) -> Result<T, Failure> {
    let out_err = |m: String| Failure::output(format!("{}: {m}", out.display()));
    let exists = out.exists();
    if exists {
        if !out.is_dir() {
            return Err(Failure::usage(format!(
                "{}: exists and is not a folder; give a folder for --out",
                out.display()
            )));
        }
        let empty = std::fs::read_dir(out)
            .map_err(|e| out_err(format!("cannot read: {e}")))?
            .next()
            .is_none();
        if !empty && !force {
            return Err(Failure::usage(format!(
                "{}: the folder is not empty; choose another --out or add --force to replace it",
                out.display()
            )));
        }
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent)
        .map_err(|e| out_err(format!("cannot create the parent folder: {e}")))?;
    let staging = tempfile::Builder::new()
        .prefix(".acula-synth-")
        .tempdir_in(&parent)
        .map_err(|e| out_err(format!("cannot create a temporary folder beside it: {e}")))?;
    let value = build(staging.path())?; // on error the staging folder is removed when dropped
    let staged = staging.keep();
    let result = (|| {
        if exists {
            // Move the old folder aside first, so `out` is never missing both versions for long.
            let old = parent.join(format!(
                ".acula-synth-old-{}",
                staged.file_name().and_then(|n| n.to_str()).unwrap_or("x")
            ));
            std::fs::rename(out, &old).map_err(|e| out_err(format!("cannot replace: {e}")))?;
            std::fs::rename(&staged, out).map_err(|e| {
                let _ = std::fs::rename(&old, out);
                out_err(format!("cannot move the new dataset into place: {e}"))
            })?;
            std::fs::remove_dir_all(&old)
                .map_err(|e| out_err(format!("cannot remove the replaced folder: {e}")))
        } else {
            std::fs::rename(&staged, out)
                .map_err(|e| out_err(format!("cannot move the new dataset into place: {e}")))
        }
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staged);
    }
    result.map(|()| value)
}

/// A progress line on the log every 10 % of the work (`RUST_LOG=info` shows them).
struct Progress {
    what: &'static str,
    total: usize,
    done: usize,
    next_decile: usize,
}

impl Progress {
    fn new(what: &'static str, total: usize) -> Self {
        Self {
            what,
            total,
            done: 0,
            next_decile: 1,
        }
    }

    fn step(&mut self) {
        self.done += 1;
        while self.total > 0 && self.done * 10 >= self.next_decile * self.total {
            tracing::info!(
                "synth: {}/{} {} ({}%)",
                self.done,
                self.total,
                self.what,
                self.next_decile * 10
            );
            self.next_decile += 1;
            if self.next_decile > 10 {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests;

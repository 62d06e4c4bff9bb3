//! `acula text-head`: gives an existing bundle a text side by training a text head against its
//! **frozen** audio tower — locked-tower contrastive tuning (LiT; Zhai et al., CVPR 2022, with the
//! roles of the towers swapped): the recordings' joint embeddings are computed once with the bundle's
//! own half-precision encoder and audio head, exactly as `acula predict` computes them, and only the
//! text head (`Linear → ReLU → Dropout → Linear`, the reference's shape) and InfoNCE's temperature
//! are trained, on the same recording–report pairs. Nothing the bundle screens with changes: the
//! encoder, audio head, task heads and familiarity check are copied byte for byte; the report index
//! is rebuilt with the new head (so that typed texts and reports go through the same head), and
//! `text.safetensors` and the manifest's `text` are added.
//!
//! Used when the alignment run's own text head was not kept (the default bundle of 2026-11-27); a
//! bundle exported from an alignment run carries that run's text head instead (`acula export`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use acula_core::audio::DecodeLimits;
use acula_core::bundle;
use acula_core::encoder::ProjectionHead;
use acula_core::retrieval::{normalise, EmbeddingIndex};
use acula_core::screen::Screener;
use acula_core::weights;
use burn::module::{Module, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use clap::Args;

use super::model::{as_half, host};
use crate::bundle_dir::BundleDir;
use crate::embed::MiniLmFiles;
use crate::train::losses::{align_loss, AlignLoss};
use crate::Failure;

/// Arguments of `acula text-head`.
#[derive(Debug, Args)]
pub struct TextHeadArgs {
    /// The bundle whose audio tower is kept frozen.
    #[arg(long)]
    pub bundle: PathBuf,
    /// The recording–report pairs (a reports CSV of `acula reports`; rows without audio are skipped).
    #[arg(long)]
    pub reports: PathBuf,
    /// Their MiniLM embeddings (`acula embed-reports … --out X` wrote `X.npy`), same row order.
    #[arg(long)]
    pub embeddings: PathBuf,
    /// The bundle folder to write (the input bundle plus its text side).
    #[arg(long, short)]
    pub out: PathBuf,
    /// MiniLM's folder (default: the model cache).
    #[arg(long)]
    pub teacher_dir: Option<PathBuf>,
    /// Optimiser steps.
    #[arg(long, default_value_t = 3000)]
    pub steps: usize,
    /// Pairs per step.
    #[arg(long, default_value_t = 128)]
    pub batch: usize,
    /// Peak learning rate (AdamW, linear warm-up over the first 5 %, cosine decay).
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Seed of the initialisation, the pair order and the validation split.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Replace `--out` if it exists.
    #[arg(long)]
    pub force: bool,
}

/// The trained parts.
#[derive(Module, Debug)]
struct TextHeadModel {
    head: ProjectionHead,
    log_scale: Param<Tensor<1>>,
}

/// Share of the recordings held out to measure retrieval (by a hash of the recording's path).
const VALIDATION_PERCENT: u64 = 10;

/// Recording → report retrieval among `a.len()` pairs: (R@1, R@5), rows L2-normalised.
fn recall(a: &[Vec<f32>], t: &[Vec<f32>]) -> (f64, f64) {
    let n = a.len();
    let (mut r1, mut r5) = (0usize, 0usize);
    for (i, ai) in a.iter().enumerate() {
        let own: f32 = ai.iter().zip(&t[i]).map(|(x, y)| x * y).sum();
        // Ties with another pair's identical report count as hits.
        let better = t
            .iter()
            .filter(|tj| ai.iter().zip(*tj).map(|(x, y)| x * y).sum::<f32>() > own + 1e-6)
            .count();
        r1 += usize::from(better < 1);
        r5 += usize::from(better < 5);
    }
    (r1 as f64 / n.max(1) as f64, r5 as f64 / n.max(1) as f64)
}

/// Runs `acula text-head`.
pub fn run(args: &TextHeadArgs) -> Result<(), Failure> {
    if args.out.exists() && !args.force {
        return Err(Failure::usage(format!(
            "{} exists; give another --out or --force to replace it",
            args.out.display()
        )));
    }
    if args.batch < 2 || args.steps == 0 {
        return Err(Failure::usage("--batch must be ≥ 2 and --steps ≥ 1".into()));
    }
    let source = BundleDir::new(&args.bundle).read()?;
    let m = source.manifest.clone();
    let teacher = MiniLmFiles::read(args.teacher_dir.as_deref())?;
    if teacher.id() != m.teacher.id {
        return Err(Failure::input(format!(
            "the bundle was aligned with {}, the MiniLM at hand is {}",
            m.teacher.id,
            teacher.id()
        )));
    }
    let (rows, text_dim, emb) =
        crate::reports::read_with_embeddings(&args.reports, &args.embeddings)?;
    if text_dim != m.teacher.dim {
        return Err(Failure::input(format!(
            "{} has {text_dim}-d embeddings, the bundle's teacher {}-d",
            args.embeddings.display(),
            m.teacher.dim
        )));
    }
    let cpu = Device::flex();
    let screener = Screener::new(&source, &cpu)
        .map_err(|e| Failure::input(format!("{}: {e}", args.bundle.display())))?;

    // 1. The frozen side: each recording's joint embedding, as `acula predict` computes it.
    let bar = crate::progress::bar(rows.len() as u64, "embed recordings");
    let (mut audio, mut text, mut val, mut row_of) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut skipped = 0usize;
    for (i, r) in rows.iter().enumerate() {
        bar.inc(1);
        let path = std::path::Path::new(&r.audio_path);
        let z = std::fs::read(path).ok().and_then(|bytes| {
            let hint = path.extension().and_then(|e| e.to_str());
            let d = acula_core::audio::decode(&bytes, hint, &DecodeLimits::default()).ok()?;
            screener.analyse(&d.samples, d.sample_rate).ok()?.embedding
        });
        let Some(z) = z else {
            skipped += 1;
            continue;
        };
        audio.push(z);
        row_of.push(i);
        text.push(emb[i * text_dim..(i + 1) * text_dim].to_vec());
        val.push(
            crate::rng::hash_name(&format!("{}:{}", args.seed, r.audio_path)) % 100
                < VALIDATION_PERCENT,
        );
    }
    bar.finish_and_clear();
    if audio.len() < 2 * args.batch {
        return Err(Failure::input(format!(
            "only {} of {} recordings could be embedded; too few pairs for batches of {}",
            audio.len(),
            rows.len(),
            args.batch
        )));
    }
    eprintln!(
        "{} pairs ({} held out for validation; {skipped} rows without usable audio)",
        audio.len(),
        val.iter().filter(|v| **v).count()
    );
    let train: Vec<usize> = (0..audio.len()).filter(|&i| !val[i]).collect();
    let held: Vec<usize> = (0..audio.len()).filter(|&i| val[i]).collect();
    if train.len() < args.batch || held.len() < 5 {
        return Err(Failure::input(format!(
            "{} usable pairs give {} to train on and {} held out; need at least --batch {} to train and 5 held out (use more reports or a smaller --batch)",
            audio.len(),
            train.len(),
            held.len(),
            args.batch
        )));
    }

    // 2. Train the text head and the temperature.
    let device = cpu.clone().autodiff();
    device.seed(args.seed);
    let h = &m.audio_head;
    let mut model = TextHeadModel {
        head: ProjectionHead::new(text_dim, h.hidden, h.dim, 0.2, &device),
        log_scale: Param::from_tensor(Tensor::from_data(
            TensorData::new(vec![(1.0f32 / 0.07).ln()], [1]),
            &device,
        )),
    };
    let mut optim = burn::optim::AdamWConfig::new()
        .with_weight_decay(0.01)
        .init();
    let mut rng = crate::rng::Rng::new(args.seed);
    let mut order = train.clone();
    let mut cursor = order.len();
    let warm = (args.steps / 20).max(1);
    let bar = crate::progress::bar(args.steps as u64, "text head");
    let mut last = f64::NAN;
    for s in 0..args.steps {
        let mut batch = Vec::with_capacity(args.batch);
        while batch.len() < args.batch {
            if cursor == order.len() {
                for i in (1..order.len()).rev() {
                    order.swap(i, rng.below(i + 1));
                }
                cursor = 0;
            }
            batch.push(order[cursor]);
            cursor += 1;
        }
        let a: Vec<f32> = batch
            .iter()
            .flat_map(|&i| audio[i].iter().copied())
            .collect();
        let t: Vec<f32> = batch
            .iter()
            .flat_map(|&i| text[i].iter().copied())
            .collect();
        let a = Tensor::<2>::from_data(TensorData::new(a, [args.batch, h.dim]), &device);
        let t = Tensor::<2>::from_data(TensorData::new(t, [args.batch, text_dim]), &device);
        let loss = align_loss(
            AlignLoss::InfoNce,
            a,
            model.head.forward(t),
            model.log_scale.val(),
        );
        last = f64::from(loss.clone().into_scalar::<f32>());
        if !last.is_finite() {
            return Err(Failure::input(format!(
                "the loss became non-finite at step {s}; lower --lr"
            )));
        }
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let lr = if s < warm {
            args.lr * (s + 1) as f64 / warm as f64
        } else {
            let p = (s - warm) as f64 / (args.steps - warm).max(1) as f64;
            args.lr * 0.5 * (1.0 + (std::f64::consts::PI * p).cos())
        };
        model = optim.step(lr, model, grads);
        bar.inc(1);
        if s % 100 == 0 {
            bar.set_message(format!("text head (InfoNCE {last:.3})"));
        }
    }
    bar.finish_and_clear();
    // The head as the bundle stores it (half precision), loaded for inference.
    let mut named = model
        .head
        .export_pytorch("text_head")
        .map_err(|e| Failure::input(e.to_string()))?;
    let head_file =
        weights::safetensors_bytes(&named, true).map_err(|e| Failure::input(e.to_string()))?;
    let head = weights::Weights::parse(&head_file)
        .and_then(|w| {
            ProjectionHead::load_weights(&w, "text_head", text_dim, h.hidden, h.dim, &cpu)
        })
        .map_err(|e| Failure::input(e.to_string()))?;
    let project = |rows: &[Vec<f32>]| -> Result<Vec<Vec<f32>>, Failure> {
        let mut out = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(256) {
            let x: Vec<f32> = chunk.iter().flatten().copied().collect();
            let x = Tensor::<2>::from_data(TensorData::new(x, [chunk.len(), text_dim]), &cpu);
            let y = host(head.forward(x))?;
            for mut r in y.chunks(h.dim).map(<[f32]>::to_vec) {
                normalise(&mut r).map_err(|e| Failure::input(e.to_string()))?;
                out.push(r);
            }
        }
        Ok(out)
    };
    let held_a: Vec<Vec<f32>> = held.iter().map(|&i| audio[i].clone()).collect();
    let held_t = project(&held.iter().map(|&i| text[i].clone()).collect::<Vec<_>>())?;
    let (r1, r5) = recall(&held_a, &held_t);
    let scale = host(model.log_scale.val().exp().reshape([1, 1]))?[0];
    eprintln!(
        "final InfoNCE {last:.3} (batch {}), temperature 1/{scale:.1}; held-out recording → report among {} pairs: R@1 {r1:.3}, R@5 {r5:.3}",
        args.batch,
        held.len()
    );

    // 4. The new bundle: the text side, the rebuilt index, everything else as it was.
    let entries = source
        .reports()
        .map_err(|e| Failure::input(e.to_string()))?;
    let mut first: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        first.entry(r.report.as_str()).or_insert(i);
    }
    let mut index_in = Vec::with_capacity(entries.len());
    for e in &entries {
        let i = *first.get(e.text.as_str()).ok_or_else(|| {
            Failure::input(format!(
                "the bundle's report {:?} is not in {}; give the reports the bundle was exported from",
                e.text.chars().take(60).collect::<String>(),
                args.reports.display()
            ))
        })?;
        index_in.push(emb[i * text_dim..(i + 1) * text_dim].to_vec());
    }
    let index_rows: Vec<f32> = project(&index_in)?.into_iter().flatten().collect();
    let old_index = weights::Weights::parse(
        source
            .file(bundle::INDEX_FILE)
            .map_err(|e| Failure::input(e.to_string()))?,
    )
    .and_then(|w| w.values("embeddings"))
    .map_err(|e| Failure::input(e.to_string()))?
    .0;
    // Which dataset the top report of each held-out recording comes from, old index vs new.
    let same_dataset = |index: &[f32]| -> Result<f64, Failure> {
        let idx = EmbeddingIndex::from_rows(h.dim, index.to_vec())
            .map_err(|e| Failure::input(e.to_string()))?;
        let mut hits = 0usize;
        for &i in &held {
            let top = idx
                .search(&audio[i], 1)
                .map_err(|e| Failure::input(e.to_string()))?;
            let want = &rows[row_of[i]].dataset;
            hits += usize::from(
                top.first()
                    .is_some_and(|t| &entries[t.index].dataset == want),
            );
        }
        Ok(hits as f64 / held.len().max(1) as f64)
    };
    let (old_ds, new_ds) = (same_dataset(&old_index)?, same_dataset(&index_rows)?);
    eprintln!(
        "held-out recordings whose most similar report is of their own dataset: {old_ds:.3} with the old index, {new_ds:.3} with the new"
    );
    // The same held-out retrieval through the old index's rows for those reports (the head the
    // bundle was aligned with; it saw these pairs in training, the new head did not).
    let row_of_text: BTreeMap<&str, usize> = entries
        .iter()
        .enumerate()
        .map(|(k, e)| (e.text.as_str(), k))
        .collect();
    let (old_a, old_held): (Vec<Vec<f32>>, Vec<Vec<f32>>) = held
        .iter()
        .filter_map(|&i| {
            let k = *row_of_text.get(rows[row_of[i]].report.as_str())?;
            Some((
                audio[i].clone(),
                old_index[k * h.dim..(k + 1) * h.dim].to_vec(),
            ))
        })
        .unzip();
    let (o1, o5) = recall(&old_a, &old_held);
    eprintln!(
        "the same retrieval through the old index ({} pairs; its head saw them in training): R@1 {o1:.3}, R@5 {o5:.3}",
        old_a.len()
    );

    let mut gallery = Vec::new();
    for ex in &m.examples {
        let bytes = source
            .file(&ex.file)
            .map_err(|e| Failure::input(e.to_string()))?;
        let hint = std::path::Path::new(&ex.file)
            .extension()
            .and_then(|e| e.to_str());
        let d = acula_core::audio::decode(bytes, hint, &DecodeLimits::default())
            .map_err(|e| Failure::input(format!("example {}: {e}", ex.file)))?;
        let z = screener
            .analyse(&d.samples, d.sample_rate)
            .map_err(|e| Failure::input(format!("example {}: {e}", ex.file)))?
            .embedding
            .ok_or_else(|| {
                Failure::input(format!("example {} fails the quality check", ex.file))
            })?;
        gallery.extend(z);
    }
    if !m.examples.is_empty() {
        named.push((
            "examples".into(),
            vec![m.examples.len(), h.dim],
            as_half(&gallery),
        ));
    }
    let mut out_m = m.clone();
    // A changed bundle is a new version (its report index changed).
    let (date, created) = super::manifest::now_utc()?;
    out_m.version = date;
    out_m.created = created;
    out_m.text = Some(bundle::TextSpec {
        encoder: bundle::TextEncoderSpec {
            id: m.teacher.id.clone(),
            files: teacher.entries(),
            max_tokens: acula_core::text::DEFAULT_MAX_TOKENS,
            pooling: "mean".into(),
        },
        head: h.clone(),
        logit_scale: scale,
        prompts: bundle::TextSpec::default_prompts(),
        examples: m.examples.len(),
        head_training: Some(format!(
            "trained after the bundle against its frozen audio tower (LiT-style InfoNCE, `acula text-head`): \
             {} recording–report pairs, {} steps of {}, AdamW lr {:e}, seed {}; held-out {} pairs: recording → report R@1 {r1:.3}, R@5 {r5:.3}; \
             the report index was rebuilt with this head",
            train.len(),
            args.steps,
            args.batch,
            args.lr,
            args.seed,
            held.len()
        )),
    });
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for name in m.files.keys().filter(|n| source.has_file(n)) {
        let bytes = source
            .file(name)
            .map_err(|e| Failure::input(e.to_string()))?;
        files.insert(name.clone(), bytes.to_vec());
    }
    files.insert(
        bundle::INDEX_FILE.into(),
        weights::safetensors_bytes(
            &[(
                "embeddings".into(),
                vec![entries.len(), h.dim],
                as_half(&index_rows),
            )],
            true,
        )
        .map_err(|e| Failure::input(e.to_string()))?,
    );
    files.insert(
        bundle::TEXT_FILE.into(),
        weights::safetensors_bytes(&named, true).map_err(|e| Failure::input(e.to_string()))?,
    );
    let total = super::manifest::seal_and_write(&mut out_m, &files, &BundleDir::new(&args.out))?;
    eprintln!(
        "bundle {} with its text side ({:.1} MB) → {}",
        out_m.name,
        total as f64 / 1e6,
        args.out.display()
    );
    Ok(())
}

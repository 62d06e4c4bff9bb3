//! The report index: every unique report text of the training CSV, projected into the joint space
//! by the run's text head, L2-normalised and stored in half precision (`reports.json` +
//! `reports.safetensors`).

use std::collections::BTreeSet;
use std::path::Path;

use acula_core::bundle::ReportEntry;
use acula_core::retrieval::normalise;
use acula_core::weights;
use burn::tensor::{Tensor, TensorData};

use super::model::{as_half, host};
use crate::data::synthetic;
use crate::reports::ReportRow;
use crate::train::align::AlignModel;
use crate::Failure;

/// The index's two files and what the manifest says about the reports.
pub struct ReportIndex {
    /// One entry per unique report, in the order of first appearance.
    pub entries: Vec<ReportEntry>,
    /// `reports.safetensors`: `embeddings`, `[entries, dim]`, f16.
    pub embeddings_file: Vec<u8>,
    /// Datasets with at least one synthetic recording.
    pub synthetic_datasets: BTreeSet<String>,
}

/// Builds the index of `rows` (teacher embeddings `emb`, `text_dim` wide) in the `proj_dim`-wide
/// joint space.
pub fn build(
    model: &AlignModel,
    rows: &[ReportRow],
    emb: &[f32],
    text_dim: usize,
    proj_dim: usize,
    device: &burn::tensor::Device,
) -> Result<ReportIndex, Failure> {
    // A row is synthetic when its recording lies under a folder marked by `acula synth`.
    let mut marked = synthetic::Recordings::default();
    let row_synthetic: Vec<bool> = rows
        .iter()
        .map(|r| marked.is_synthetic(Path::new(&r.audio_path)))
        .collect();
    let synthetic_datasets: BTreeSet<String> = rows
        .iter()
        .zip(&row_synthetic)
        .filter(|(_, s)| **s)
        .map(|(r, _)| r.dataset.clone())
        .collect();
    let (entries, index_rows) = project(model, rows, emb, text_dim, &row_synthetic, device)?;
    let embeddings_file = weights::safetensors_bytes(
        &[(
            "embeddings".to_string(),
            vec![entries.len(), proj_dim],
            index_rows,
        )],
        true,
    )
    .map_err(|e| Failure::input(e.to_string()))?;
    Ok(ReportIndex {
        entries,
        embeddings_file,
        synthetic_datasets,
    })
}

/// Unique report texts and their L2-normalised text-head projections (rounded to half precision).
fn project(
    model: &AlignModel,
    rows: &[ReportRow],
    emb: &[f32],
    dim: usize,
    synthetic: &[bool],
    device: &burn::tensor::Device,
) -> Result<(Vec<ReportEntry>, Vec<f32>), Failure> {
    let mut seen = BTreeSet::new();
    let mut entries = Vec::new();
    let mut picked = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        if seen.insert(r.report.clone()) {
            entries.push(ReportEntry {
                text: r.report.clone(),
                dataset: r.dataset.clone(),
                record_id: r.record_id.clone(),
                synthetic: synthetic[i],
            });
            picked.push(i);
        }
    }
    let mut out = Vec::with_capacity(picked.len() * 512);
    for batch in picked.chunks(256) {
        let x: Vec<f32> = batch
            .iter()
            .flat_map(|&i| emb[i * dim..(i + 1) * dim].iter().copied())
            .collect();
        let t = Tensor::<2>::from_data(TensorData::new(x, [batch.len(), dim]), device);
        out.extend(host(model.text_head.forward(t))?);
    }
    let width = out.len() / picked.len().max(1);
    for row in out.chunks_mut(width) {
        normalise(row).map_err(|e| Failure::input(format!("a report embedding: {e}")))?;
    }
    Ok((entries, as_half(&out)))
}

//! The manifest: what export knows before the heads (configs, teacher, report count, dates), the
//! training description, and sealing — every file's sha256 in the manifest, the bundle verified as
//! `acula predict` will load it, then written atomically.

use std::collections::{BTreeMap, BTreeSet};

use acula_core::bundle::{
    self, ChunkConfig, HeadShape, Manifest, RecordingCounts, ReportsInfo, StageInfo, TeacherInfo,
    TrainingInfo,
};
use acula_core::quality::QualityConfig;
use time::macros::format_description;

use super::INTENDED_USE;
use crate::bundle_dir::BundleDir;
use crate::reports::ReportRow;
use crate::train::align::AlignConfig;
use crate::train::run_dir::{AlignedRun, RunDir};
use crate::Failure;

/// Today's date (`YYYY-MM-DD`) and the time (RFC 3339, UTC, whole seconds) from the system clock.
pub fn now_utc() -> Result<(String, String), Failure> {
    let now = time::OffsetDateTime::now_utc();
    let internal = |e: time::error::Format| Failure::output(format!("internal: a date: {e}"));
    let date = now
        .format(format_description!("[year]-[month]-[day]"))
        .map_err(internal)?;
    let created = now
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
        ))
        .map_err(internal)?;
    Ok((date, created))
}

/// The bundle's identity and versions.
pub struct Identity<'a> {
    /// Bundle name.
    pub name: &'a str,
    /// Bundle version (default: today's date).
    pub version: Option<&'a str>,
    /// The teacher's id (from the embeddings' description).
    pub teacher_id: String,
    /// The teacher's width.
    pub teacher_dim: usize,
}

/// The manifest before the heads, the training description and the files are known.
pub fn skeleton(
    id: Identity,
    cfg: &AlignConfig,
    rows: &[ReportRow],
    reports: usize,
) -> Result<Manifest, Failure> {
    let (date, created) = now_utc()?;
    Ok(Manifest {
        format: bundle::FORMAT.into(),
        format_version: bundle::FORMAT_VERSION,
        name: id.name.to_string(),
        version: id.version.map_or(date, str::to_string),
        created,
        intended_use: INTENDED_USE.into(),
        front_end: acula_core::FrontEndConfig::default(),
        encoder: cfg.encoder.clone(),
        audio_head: HeadShape {
            hidden: cfg.proj_hidden,
            dim: cfg.proj_dim,
        },
        chunk: ChunkConfig::default(),
        quality: QualityConfig::default(),
        tasks: Vec::new(),
        teacher: TeacherInfo {
            id: id.teacher_id,
            dim: id.teacher_dim,
            reports_writer: rows
                .iter()
                .map(|r| r.writer.as_str())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
                .join(", "),
        },
        training: None,
        evaluation: None,
        reports: ReportsInfo {
            count: reports,
            dim: cfg.proj_dim,
        },
        familiarity: None,
        events: Some(acula_core::events::EventConfig::default()),
        text: None,
        files: BTreeMap::new(),
        examples: Vec::new(),
    })
}

/// `base` (the caller's description of the training) completed with what export knows: the
/// alignment stage, the report pairs per dataset, the synthetic datasets and each task's recordings.
pub fn training(
    mut base: TrainingInfo,
    run: &RunDir,
    aligned: &AlignedRun,
    rows: &[ReportRow],
    synthetic_datasets: BTreeSet<String>,
    task_recordings: BTreeMap<String, RecordingCounts>,
) -> Result<TrainingInfo, Failure> {
    let mut per_dataset: BTreeMap<String, usize> = BTreeMap::new();
    for r in rows {
        *per_dataset.entry(r.dataset.clone()).or_default() += 1;
    }
    base.alignment = Some(StageInfo {
        steps: Some(aligned.step as u64),
        loss: Some(format!("{:?}", aligned.config.loss)),
        config: serde_json::to_value(&aligned.config)
            .map_err(|e| Failure::output(e.to_string()))?,
        final_losses: run.log().last().map(|l| l.losses.clone()),
    });
    base.report_pairs_per_dataset = Some(per_dataset);
    base.synthetic_datasets = Some(synthetic_datasets.into_iter().collect());
    base.task_recordings = Some(task_recordings);
    Ok(base)
}

/// Seals `manifest` over `files`, checks that the bundle loads as written, and writes it to `out`;
/// returns the bundle's size in bytes.
pub fn seal_and_write(
    manifest: &mut Manifest,
    files: &BTreeMap<String, Vec<u8>>,
    out: &BundleDir,
) -> Result<usize, Failure> {
    let manifest_bytes =
        bundle::seal(manifest, files).map_err(|e| Failure::input(e.to_string()))?;
    bundle::Bundle::new(&manifest_bytes, files.clone())
        .map_err(|e| Failure::input(format!("internal: the bundle does not verify: {e}")))?;
    out.write(&manifest_bytes, files)?;
    Ok(files.values().map(Vec::len).sum::<usize>() + manifest_bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc_3339_utc_in_whole_seconds() {
        let (d, t) = now_utc().unwrap();
        assert_eq!(d.len(), 10);
        assert_eq!(t.len(), 20, "{t}");
        assert!(t.starts_with(&d) && t.ends_with('Z'));
        assert_eq!(&t[10..11], "T");
        assert!(d.as_str() >= "2025-01-01");
        // The same format as the hand-written calendar it replaces: 2000-03-01T12:34:56Z.
        let when = time::macros::datetime!(2000-03-01 12:34:56.789 UTC);
        assert_eq!(
            when.format(format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
            ))
            .unwrap(),
            "2000-03-01T12:34:56Z"
        );
    }
}

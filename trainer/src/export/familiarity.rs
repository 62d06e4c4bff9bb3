//! The familiarity check of a bundle ([`acula_core::bundle::FamiliaritySpec`]): for each recording
//! kind with a task, the training subjects' recordings of that kind become the references
//! (standardised by their own mean and scale), and the threshold is the distance that keeps 95 % of
//! the validation subjects' recordings; the share of the test subjects' recordings kept is reported.
//! Everything goes through half precision before thresholds are fitted, so the browser and `acula
//! predict` compute the very distances the threshold was fitted on.

use acula_core::bundle::{FamiliaritySpec, HeadInput, KindFamiliarity};
use acula_core::screen::{familiarity_distance, standardise};
use acula_core::weights::{self, NamedTensor};
use acula_core::RecordingKind;

use crate::Failure;

/// What the check compares: the encoder's clip embedding and the log-mel statistics (the inputs that
/// were not trained towards the reports, so a sound unlike every body sound stays far away).
pub const INPUTS: [HeadInput; 2] = [HeadInput::Encoder, HeadInput::Statistics];
/// Nearest references averaged.
pub const K: usize = 5;
/// Share of validation recordings the threshold keeps.
pub const KEEP: f64 = 0.95;
/// At most this many references per kind (an evenly spaced subset beyond it).
pub const MAX_REFERENCES: usize = 800;

/// The recordings of one kind, by part of the subject split: each row the concatenation of
/// [`INPUTS`].
#[derive(Debug, Default)]
pub struct KindRows {
    pub train: Vec<Vec<f32>>,
    pub val: Vec<Vec<f32>>,
    pub test: Vec<Vec<f32>>,
}

/// Rounds through half precision, as the bundle stores it.
fn f16r(v: f32) -> f32 {
    half::f16::from_f32(v).to_f32()
}

/// The familiarity spec and `familiarity.safetensors` for `kinds` (kinds without training or
/// validation rows are left out); `None` when no kind has both.
pub fn fit(
    kinds: &[(RecordingKind, KindRows)],
) -> Result<Option<(FamiliaritySpec, Vec<u8>)>, Failure> {
    let mut tensors: Vec<NamedTensor> = Vec::new();
    let mut specs = Vec::new();
    for (kind, rows) in kinds {
        if rows.train.len() < K || rows.val.is_empty() {
            continue;
        }
        let width = rows.train[0].len();
        let n = rows.train.len() as f64;
        let mut mean = vec![0f64; width];
        for r in &rows.train {
            for (m, v) in mean.iter_mut().zip(r) {
                *m += f64::from(*v) / n;
            }
        }
        let mut var = vec![0f64; width];
        for r in &rows.train {
            for ((s, v), m) in var.iter_mut().zip(r).zip(&mean) {
                *s += (f64::from(*v) - m).powi(2) / n;
            }
        }
        let mean: Vec<f32> = mean.iter().map(|m| f16r(*m as f32)).collect();
        let scale: Vec<f32> = var
            .iter()
            .map(|v| f16r((v.sqrt() as f32).max(1e-3)))
            .collect();
        let step = (rows.train.len() as f64 / MAX_REFERENCES as f64).max(1.0);
        let picked: Vec<&Vec<f32>> = (0..rows.train.len().min(MAX_REFERENCES))
            .map(|i| &rows.train[(i as f64 * step) as usize])
            .collect();
        let refs: Vec<f32> = picked
            .iter()
            .flat_map(|r| standardise(r, &mean, &scale))
            .map(f16r)
            .collect();
        let distances = |set: &[Vec<f32>]| -> Vec<f32> {
            set.iter()
                .map(|r| familiarity_distance(&standardise(r, &mean, &scale), &refs, K))
                .collect()
        };
        let mut val = distances(&rows.val);
        val.sort_by(f32::total_cmp);
        let at = ((val.len() as f64 * KEEP).ceil() as usize).clamp(1, val.len()) - 1;
        let threshold = val[at];
        let kept =
            |d: &[f32]| d.iter().filter(|v| **v <= threshold).count() as f64 / d.len() as f64;
        let test = distances(&rows.test);
        let id = kind.id();
        tensors.push((format!("{id}.references"), vec![picked.len(), width], refs));
        tensors.push((format!("{id}.mean"), vec![width], mean));
        tensors.push((format!("{id}.scale"), vec![width], scale));
        specs.push(KindFamiliarity {
            test_kept: (!test.is_empty()).then(|| kept(&test)),
            recording: *kind,
            references: picked.len(),
            threshold,
            val_kept: kept(&val),
        });
        eprintln!(
            "familiarity {id}: {} references, threshold {threshold:.3} keeps {:.1} % of {} validation and {} of {} test recordings",
            picked.len(),
            100.0 * kept(&val),
            val.len(),
            if test.is_empty() { "n/a".to_string() } else { format!("{:.1} %", 100.0 * kept(&test)) },
            test.len()
        );
    }
    if specs.is_empty() {
        return Ok(None);
    }
    let file =
        weights::safetensors_bytes(&tensors, true).map_err(|e| Failure::input(e.to_string()))?;
    Ok(Some((
        FamiliaritySpec {
            inputs: INPUTS.to_vec(),
            k: K,
            kinds: specs,
            method: format!(
                "mean Euclidean distance to the {K} nearest training recordings of the kind (encoder clip embedding and log-mel statistics, standardised by the training recordings; divided by the square root of the width); the threshold keeps {:.0} % of the validation subjects' recordings",
                KEEP * 100.0
            ),
        },
        file,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn cloud(rng: &mut Rng, n: usize, centre: f32) -> Vec<Vec<f32>> {
        (0..n)
            .map(|_| (0..4).map(|_| centre + rng.normal() as f32).collect())
            .collect()
    }

    #[test]
    fn the_threshold_keeps_95_percent_of_validation_and_refuses_a_far_cloud() {
        let mut rng = Rng::new(1);
        let rows = KindRows {
            train: cloud(&mut rng, 200, 0.0),
            val: cloud(&mut rng, 100, 0.0),
            test: cloud(&mut rng, 100, 0.0),
        };
        let (spec, file) = fit(&[(RecordingKind::Cough, rows)]).unwrap().unwrap();
        let k = &spec.kinds[0];
        assert!((0.94..=0.96).contains(&k.val_kept), "{}", k.val_kept);
        assert!(k.test_kept.unwrap() > 0.85, "{:?}", k.test_kept);
        // A point 6 standard deviations away is beyond the threshold.
        let w = acula_core::weights::Weights::parse(&file).unwrap();
        let (refs, _) = w.values("cough.references").unwrap();
        let (mean, _) = w.values("cough.mean").unwrap();
        let (scale, _) = w.values("cough.scale").unwrap();
        let far = standardise(&[6.0; 4], &mean, &scale);
        assert!(familiarity_distance(&far, &refs, K) > k.threshold);
        let near = standardise(&[0.1; 4], &mean, &scale);
        assert!(familiarity_distance(&near, &refs, K) <= k.threshold);
    }
}

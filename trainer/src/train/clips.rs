//! Training clips: the features of every record with audio in the given datasets, computed once, and
//! the deterministic batches cut from them.

use std::path::PathBuf;

use acula_core::audio::DecodeLimits;
use acula_core::{FrontEnd, FrontEndConfig, ProcessOptions};

use crate::data;
use crate::rng::Rng;
use crate::Failure;

/// One clip's log-mel features, `(frames, mels)` row-major.
pub struct Clip {
    pub frames: usize,
    pub data: Vec<f32>,
}

/// All clips, and where they came from.
pub struct Clips {
    pub clips: Vec<Clip>,
    pub mels: usize,
    /// `(dataset id, clips used, synthetic)` per dataset.
    pub sources: Vec<(String, usize, bool)>,
    /// Records whose audio could not be read, with the first reasons.
    pub skipped: Vec<String>,
}

/// Where one clip's audio is.
pub struct Source {
    pub path: PathBuf,
    pub start_s: Option<f64>,
    pub end_s: Option<f64>,
}

/// Loads every record with audio from `dirs` (each a dataset folder) and computes its features
/// (trimmed of leading and trailing silence, or the record's segment cut out when it has one).
pub fn load(dirs: &[PathBuf], limit: Option<usize>) -> Result<Clips, Failure> {
    let front = front_end()?;
    let mut clips = Vec::new();
    let mut sources = Vec::new();
    let mut skipped = Vec::new();
    for dir in dirs {
        let ds = data::load(dir).map_err(|e| Failure::input(e.to_string()))?;
        let records: Vec<_> = ds.records.iter().filter(|r| r.has_audio).collect();
        let records = match limit {
            Some(n) => &records[..n.min(records.len())],
            None => &records[..],
        };
        let bar = crate::progress::bar(records.len() as u64, &format!("features {}", ds.id));
        let before = clips.len();
        for r in records {
            bar.inc(1);
            let src = Source {
                path: r.audio.path.clone(),
                start_s: r.audio.start_s,
                end_s: r.audio.end_s,
            };
            match clip(&front, &src) {
                Ok(c) => clips.push(c),
                Err(e) => skipped.push(e.to_string()),
            }
        }
        bar.finish_and_clear();
        sources.push((ds.id.to_string(), clips.len() - before, ds.synthetic));
    }
    if clips.is_empty() {
        return Err(Failure::input(
            "no usable recording in the given datasets (none has its audio, or none could be decoded)".into(),
        ));
    }
    Ok(Clips {
        clips,
        mels: front.config().n_mels,
        sources,
        skipped,
    })
}

/// The reference front end.
pub fn front_end() -> Result<FrontEnd, Failure> {
    FrontEnd::new(FrontEndConfig::default()).map_err(|e| Failure::usage(e.to_string()))
}

/// Why a recording gives no clip; each message names the file.
#[derive(Debug, thiserror::Error)]
pub enum ClipError {
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Features {
        path: PathBuf,
        source: acula_core::Error,
    },
    #[error("{}: under 16 frames of sound", path.display())]
    TooShort { path: PathBuf },
}

/// One clip's features: a whole recording trimmed of leading and trailing silence, or a segment cut
/// from the untrimmed recording (where its times refer). Errors name the file.
pub fn clip(front: &FrontEnd, src: &Source) -> Result<Clip, ClipError> {
    let rate = front.config().sample_rate as f64;
    let hop = front.config().hop_length as f64;
    let path = || src.path.clone();
    let bytes = std::fs::read(&src.path).map_err(|source| ClipError::Read {
        path: path(),
        source,
    })?;
    let hint = src.path.extension().and_then(|e| e.to_str());
    let segment = src.start_s.is_some() || src.end_s.is_some();
    let opts = ProcessOptions {
        trim: !segment,
        pad: false,
    };
    let (_, p) =
        acula_core::features_from_bytes(front, &bytes, hint, &DecodeLimits::default(), &opts)
            .map_err(|source| ClipError::Features {
                path: path(),
                source,
            })?;
    let f = p.features;
    let (mut a, mut b) = (0usize, f.frames);
    if let Some(s) = src.start_s {
        a = ((s * rate / hop) as usize).min(f.frames);
    }
    if let Some(e) = src.end_s {
        b = ((e * rate / hop).ceil() as usize).clamp(a, f.frames);
    }
    if b - a < 16 {
        return Err(ClipError::TooShort { path: path() });
    }
    Ok(Clip {
        frames: b - a,
        data: f.data[a * f.n_mels..b * f.n_mels].to_vec(),
    })
}

impl Clips {
    #[cfg(test)]
    /// The clip index of global example `g`: epochs are shuffled permutations of all clips, the
    /// permutation of epoch `e` drawn from `(seed, e)` alone.
    pub fn clip_of(&self, seed: u64, g: usize) -> usize {
        let n = self.clips.len();
        let (epoch, pos) = (g / n, g % n);
        let mut order: Vec<usize> = (0..n).collect();
        Rng::for_item(seed, &format!("epoch-{epoch}")).shuffle(&mut order);
        order[pos]
    }

    /// A batch of `count` crops of `crop` frames starting at global example `first`: crop positions
    /// drawn from `(seed, example)`; a clip shorter than `crop` is repeated until it fills it.
    ///
    /// # Shapes
    /// - output: `[count, crop, mels]` row-major
    pub fn batch(&self, seed: u64, first: usize, count: usize, crop: usize) -> Vec<f32> {
        self.batch_with_ids(seed, first, count, crop).0
    }

    /// [`Self::batch`] and the index of the clip behind each example.
    pub fn batch_with_ids(
        &self,
        seed: u64,
        first: usize,
        count: usize,
        crop: usize,
    ) -> (Vec<f32>, Vec<usize>) {
        let mut out = Vec::with_capacity(count * crop * self.mels);
        let mut ids = Vec::with_capacity(count);
        // One permutation per epoch touched (usually one), not one per example.
        let n = self.clips.len();
        let mut cached: Option<(usize, Vec<usize>)> = None;
        for g in first..first + count {
            let epoch = g / n;
            if cached.as_ref().is_none_or(|(e, _)| *e != epoch) {
                let mut order: Vec<usize> = (0..n).collect();
                Rng::for_item(seed, &format!("epoch-{epoch}")).shuffle(&mut order);
                cached = Some((epoch, order));
            }
            let index = cached.as_ref().map(|(_, o)| o[g % n]).unwrap_or(0);
            ids.push(index);
            let clip = &self.clips[index];
            let mut rng = Rng::for_item(seed, &format!("crop-{g}"));
            if clip.frames >= crop {
                let start = rng.below(clip.frames - crop + 1);
                out.extend_from_slice(&clip.data[start * self.mels..(start + crop) * self.mels]);
            } else {
                let mut filled = 0;
                while filled < crop {
                    let take = (crop - filled).min(clip.frames);
                    out.extend_from_slice(&clip.data[..take * self.mels]);
                    filled += take;
                }
            }
        }
        (out, ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clips() -> Clips {
        let clip = |_id: &str, frames: usize| Clip {
            frames,
            data: (0..frames * 2).map(|i| i as f32).collect(),
        };
        Clips {
            clips: vec![clip("a", 5), clip("b", 2), clip("c", 9)],
            mels: 2,
            sources: Vec::new(),
            skipped: Vec::new(),
        }
    }

    #[test]
    fn every_epoch_visits_every_clip_once_and_batches_are_reproducible() {
        let c = clips();
        let mut seen: Vec<usize> = (0..3).map(|g| c.clip_of(1, g)).collect();
        seen.sort();
        assert_eq!(seen, [0, 1, 2]);
        assert_eq!(c.batch(1, 4, 3, 4), c.batch(1, 4, 3, 4));
        assert_ne!(c.batch(1, 0, 3, 4), c.batch(2, 0, 3, 4));
    }

    #[test]
    fn short_clips_are_repeated_to_fill_the_crop() {
        let c = clips();
        let g = (0..3).find(|&g| c.clip_of(5, g) == 1).unwrap();
        // clip b has frames [0,1] and [2,3]; a 5-frame crop repeats them: b b b b b(first frame).
        assert_eq!(
            c.batch(5, g, 1, 5),
            [0., 1., 2., 3., 0., 1., 2., 3., 0., 1.]
        );
    }
}

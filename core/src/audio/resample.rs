//! Band-limited sample-rate conversion: `ceil(len · to / from)` output samples aligned with the input.
//!
//! The rates that occur (a reduced ratio whose input side has only the prime factors 2, 3, 5, 7: 8,
//! 11.025, 22.05, 32, 44.1, 48, 96 kHz …) go through [`super::overlap_save`], planned once per pair of
//! rates and kept for the process's lifetime. Any other rate (44,101 Hz, say) goes through rubato's
//! synchronous FFT resampler, exact for a fixed rational ratio with a steep BlackmanHarris²
//! anti-aliasing filter, its start-up delay trimmed by `process_all`.

use std::sync::{Arc, Mutex};

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler, WindowFunction};

use super::check_sample_rate;
use super::overlap_save::Plan;
use crate::error::AudioError;

/// The overlap-save plans made so far, one per (from, to): planning the transforms and the filter
/// costs about as much as resampling a few seconds, so a batch of files plans once.
static PLANS: Mutex<Vec<PlanEntry>> = Mutex::new(Vec::new());

/// Most plans kept at once.
const MAX_PLANS: usize = 16;

/// `(from, to, plan)`; `None` remembers that the ratio goes to rubato.
type PlanEntry = (u32, u32, Option<Arc<Plan>>);

/// The overlap-save plan for `from` → `to`, made on first use; `None` for ratios it does not take.
fn plan(from: u32, to: u32) -> Option<Arc<Plan>> {
    let mut plans = PLANS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, _, p)) = plans.iter().find(|(f, t, _)| (*f, *t) == (from, to)) {
        return p.clone();
    }
    let made = Plan::new(from, to).map(Arc::new);
    // A page or a batch sees a handful of rates; keep the latest few (a plan holds its FFT tables).
    if plans.len() >= MAX_PLANS {
        plans.remove(0);
    }
    plans.push((from, to, made.clone()));
    made
}

/// Input frames per FFT block, rounded up by rubato to a multiple of `from / gcd(from, to)`
/// (1,764 = 4 × 441: the fastest of the sizes tried for 44.1 kHz, measured with criterion).
/// Longer blocks give a sharper anti-aliasing filter; ~2,000 frames keeps the transition band narrow
/// (a few tens of Hz) at 44.1 kHz without costing speed.
const BLOCK_FRAMES: usize = 1764;

/// Resamples mono `samples` from `from` Hz to `to` Hz. Equal rates return a copy.
///
/// Works in f32. The FFT kernels differ between platforms (AVX natively, SIMD128 in wasm), so native
/// and browser results differ by f32 rounding (~1e-7 of full scale). Natively, long signals are cut
/// into one piece per core (see [`resample_with_threads`]).
pub fn resample(samples: &[f32], from: u32, to: u32) -> Result<Vec<f32>, AudioError> {
    resample_with_threads(samples, from, to, crate::available_threads())
}

/// [`resample`] on up to `threads` threads, with the same result whatever the number of threads.
///
/// For the rates rubato handles, rubato's FFT resampler works on fixed blocks of `block` input frames, and each output block depends
/// only on its own input block and the one before it. A segment `[s, e)` with `s` a multiple of `block`
/// is therefore resampled exactly as in one pass when its run starts two blocks early and ends two
/// blocks late, and the extra output is dropped. Since `block` is a multiple of `from / gcd(from, to)`,
/// `s · to / from` is a whole number of output samples.
pub fn resample_with_threads(
    samples: &[f32],
    from: u32,
    to: u32,
    threads: usize,
) -> Result<Vec<f32>, AudioError> {
    if from == to {
        return Ok(samples.to_vec());
    }
    check_sample_rate(from)?;
    check_sample_rate(to)?;
    if samples.is_empty() {
        return Ok(Vec::new());
    }
    // Refuse what would overflow an FFT (NaN, infinities, huge values): rubato panics on it. The
    // overlap-save path checks while it reads; only a bad signal is searched again for the message.
    if let Some(plan) = plan(from, to) {
        return match plan.process_checked(samples, threads, super::MAX_SAMPLE_MAGNITUDE) {
            Some(out) => Ok(out),
            None => Err(super::check_samples(samples)
                .err()
                .unwrap_or_else(|| resample_failure(from, to, "a sample is out of range".into()))),
        };
    }
    super::check_samples(samples)?;
    let block = fft_block_in(from, to);
    let margin = 2 * block;
    let total_out = (samples.len() as u64 * u64::from(to)).div_ceil(u64::from(from)) as usize;
    let out_at = |i: usize| (i as u64 * u64::from(to) / u64::from(from)) as usize;
    let segment = samples.len().div_ceil(threads.max(1)).div_ceil(block) * block;
    if threads <= 1 || segment < 4 * margin {
        return resample_one_pass(samples, from, to);
    }
    // Each segment writes straight into its own slice of the output.
    let mut out = vec![0.0f32; total_out];
    let mut slices: Vec<(usize, &mut [f32])> = Vec::new();
    let mut rest = out.as_mut_slice();
    for s in (0..samples.len()).step_by(segment) {
        let e = (s + segment).min(samples.len());
        let len = if e == samples.len() {
            total_out - out_at(s)
        } else {
            out_at(e) - out_at(s)
        };
        let (head, tail) = std::mem::take(&mut rest).split_at_mut(len);
        slices.push((s, head));
        rest = tail;
    }
    let results: Vec<Result<(), AudioError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = slices
            .into_iter()
            .map(|(s, dst)| {
                scope.spawn(move || {
                    let e = (s + segment).min(samples.len());
                    let (a, b) = (s.saturating_sub(margin), (e + margin).min(samples.len()));
                    let piece = resample_one_pass(&samples[a..b], from, to)?;
                    let skip = out_at(s - a);
                    let src = piece.get(skip..skip + dst.len()).ok_or_else(|| {
                        resample_failure(
                            from,
                            to,
                            "a segment came out shorter than expected".into(),
                        )
                    })?;
                    dst.copy_from_slice(src);
                    Ok(())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(resample_failure(
                        from,
                        to,
                        "a resampling thread failed".into(),
                    ))
                })
            })
            .collect()
    });
    results.into_iter().collect::<Result<(), _>>()?;
    Ok(out)
}

/// Input frames per FFT block of the resampler that [`new_resampler`] builds: rubato rounds
/// [`BLOCK_FRAMES`] up to a multiple of `from / gcd(from, to)` (rubato 5.1 `Fft::new_custom` with one
/// sub-chunk and fixed input).
fn fft_block_in(from: u32, to: u32) -> usize {
    let (mut a, mut b) = (from as usize, to as usize);
    while b != 0 {
        (a, b) = (b, a % b);
    }
    let min_in = from as usize / a;
    BLOCK_FRAMES.div_ceil(min_in).max(1) * min_in
}

fn resample_failure(from: u32, to: u32, reason: String) -> AudioError {
    AudioError::Resample { from, to, reason }
}

fn new_resampler(from: u32, to: u32) -> Result<Fft<f32>, AudioError> {
    Fft::<f32>::new_custom(
        from as usize,
        to as usize,
        BLOCK_FRAMES,
        1,
        1,
        WindowFunction::BlackmanHarris2,
        FixedSync::Input,
    )
    .map_err(|e| resample_failure(from, to, e.to_string()))
}

fn resample_one_pass(samples: &[f32], from: u32, to: u32) -> Result<Vec<f32>, AudioError> {
    let mut resampler = new_resampler(from, to)?;
    let input = InterleavedSlice::new(samples, 1, samples.len())
        .map_err(|e| resample_failure(from, to, e.to_string()))?;
    let output = resampler
        .process_all(&input, samples.len(), None)
        .map_err(|e| resample_failure(from, to, e.to_string()))?;
    Ok(output.take_data())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f64, rate: u32, seconds: f64) -> Vec<f32> {
        let n = (seconds * f64::from(rate)) as usize;
        (0..n)
            .map(|i| (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin() as f32)
            .collect()
    }

    /// Amplitude of `freq` in `x` (sampled at `rate`) by correlation with a complex exponential.
    fn amplitude_at(x: &[f32], freq: f64, rate: u32) -> f64 {
        let (mut re, mut im) = (0.0f64, 0.0f64);
        for (i, v) in x.iter().enumerate() {
            let ph = 2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate);
            re += f64::from(*v) * ph.cos();
            im += f64::from(*v) * ph.sin();
        }
        2.0 * (re * re + im * im).sqrt() / x.len() as f64
    }

    #[test]
    fn length_is_ceil_of_ratio() {
        // 44,100 samples at 44.1 kHz = 1 s → 16,000 samples; 1,001 samples → ceil(1001·160/441) = 364
        let x = tone(440.0, 44_100, 1.0);
        assert_eq!(resample(&x, 44_100, 16_000).unwrap().len(), 16_000);
        assert_eq!(resample(&x[..1001], 44_100, 16_000).unwrap().len(), 364);
        // upsampling 4 kHz → 16 kHz quadruples
        assert_eq!(
            resample(&tone(100.0, 4_000, 0.5), 4_000, 16_000)
                .unwrap()
                .len(),
            8_000
        );
    }

    /// Phase in radians of `freq` in `x` (sin reference: a pure `sin` has phase 0).
    fn phase_at(x: &[f32], freq: f64, rate: u32, offset: usize) -> f64 {
        let (mut re, mut im) = (0.0f64, 0.0f64);
        for (i, v) in x.iter().enumerate() {
            let ph = 2.0 * std::f64::consts::PI * freq * (i + offset) as f64 / f64::from(rate);
            re += f64::from(*v) * ph.sin();
            im += f64::from(*v) * ph.cos();
        }
        im.atan2(re)
    }

    #[test]
    fn passband_tone_keeps_amplitude_and_position() {
        // A unit 1 kHz tone resampled 48 kHz → 16 kHz stays a unit 1 kHz tone, aligned in time to
        // within one input sample (rubato trims its start-up delay in whole blocks; what remains is a
        // fraction of an output sample: 1/3 here, i.e. 21 µs).
        let x = tone(1_000.0, 48_000, 1.0);
        let y = resample(&x, 48_000, 16_000).unwrap();
        let mid = &y[2_000..14_000];
        assert!((amplitude_at(mid, 1_000.0, 16_000) - 1.0).abs() < 1e-3);
        let delay_s =
            -phase_at(mid, 1_000.0, 16_000, 2_000) / (2.0 * std::f64::consts::PI * 1_000.0);
        assert!(delay_s.abs() <= 1.0 / 48_000.0 + 1e-9, "delay {delay_s} s");
    }

    #[test]
    fn stopband_tone_is_removed() {
        // 12 kHz is above the new Nyquist (8 kHz): it must not alias to 4 kHz.
        let x = tone(12_000.0, 48_000, 1.0);
        let y = resample(&x, 48_000, 16_000).unwrap();
        let alias = amplitude_at(&y[1_000..15_000], 4_000.0, 16_000);
        assert!(alias < 1e-3, "aliased amplitude {alias}");
    }

    #[test]
    fn odd_rates_work() {
        // 22,050 → 16,000 (gcd 50) and a prime rate 44,101 → 16,000 (gcd 1)
        let x = tone(500.0, 22_050, 0.3);
        let y = resample(&x, 22_050, 16_000).unwrap();
        assert_eq!(
            y.len(),
            (0.3f64 * 22_050.0 * 16_000.0 / 22_050.0).ceil() as usize
        );
        let z = resample(&tone(500.0, 44_101, 0.2), 44_101, 16_000).unwrap();
        assert!((amplitude_at(&z[500..2_700], 500.0, 16_000) - 1.0).abs() < 1e-2);
    }

    #[test]
    fn threads_do_not_change_the_result() {
        // Odd lengths and several ratios: the segmented result equals the one-pass result exactly.
        let x: Vec<f32> = (0..300_001)
            .map(|i| ((i as f32 * 0.013).sin() + (i as f32 * 0.31).cos()) * 0.3)
            .collect();
        for (from, to) in [
            (44_100, 16_000),
            (48_000, 16_000),
            (8_000, 16_000),
            (22_050, 16_000),
        ] {
            let one = resample_with_threads(&x, from, to, 1).unwrap();
            for threads in [2, 3, 7] {
                let many = resample_with_threads(&x, from, to, threads).unwrap();
                assert_eq!(one.len(), many.len(), "{from}→{to}, {threads} threads");
                let max = one
                    .iter()
                    .zip(&many)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0f32, f32::max);
                assert!(max == 0.0, "{from}→{to}, {threads} threads: max |Δ| {max}");
            }
        }
    }

    #[test]
    fn threads_with_a_huge_block() {
        // 44,101 Hz → 16 kHz: gcd 1, so one FFT block is 44,101 input frames.
        assert_eq!(fft_block_in(44_101, 16_000), 44_101);
        let x: Vec<f32> = (0..720_000)
            .map(|i| (i as f32 * 0.05).sin() * 0.5)
            .collect();
        let one = resample_with_threads(&x, 44_101, 16_000, 1).unwrap();
        let two = resample_with_threads(&x, 44_101, 16_000, 2).unwrap();
        assert_eq!(one, two);
    }

    #[test]
    fn bad_rates_are_errors() {
        assert!(resample(&[0.0; 10], 0, 16_000).is_err());
        assert!(resample(&[], 44_100, 16_000).unwrap().is_empty());
        assert_eq!(
            resample(&[0.5, 0.25], 16_000, 16_000).unwrap(),
            vec![0.5, 0.25]
        );
    }

    #[test]
    fn bad_samples_are_found_wherever_they_are() {
        for (from, len) in [
            (44_100u32, 300_001usize),
            (48_000, 5_000),
            (44_101, 100_000),
        ] {
            for at in [0, len / 2, len - 1] {
                for (bad, nan) in [(f32::NAN, true), (f32::INFINITY, true), (-2e6, false)] {
                    let mut x = vec![0.1f32; len];
                    x[at] = bad;
                    match resample_with_threads(&x, from, 16_000, 2) {
                        Err(AudioError::NonFinite { index }) if nan => assert_eq!(index, at),
                        Err(AudioError::OutOfRange { index, .. }) if !nan => assert_eq!(index, at),
                        other => panic!("{from} Hz, {bad} at {at}: {other:?}"),
                    }
                }
            }
        }
    }
}

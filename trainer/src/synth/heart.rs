//! Synthetic phonocardiograms in the CirCor DigiScope (PhysioNet Challenge 2022) layout: heart cycles
//! with S1 and S2 and systolic/diastolic murmurs described the way CirCor's annotators describe them
//! (timing, shape, Levine grade, pitch, quality); see the parent module for the models.

use std::fmt::Write as _;
use std::path::Path;

use super::dsp::{self, Biquad};
use super::{write_file, Progress};
use crate::rng::Rng;
use crate::Failure;

/// The sample rate of every CirCor recording.
pub const RATE: u32 = 4000;
/// Auscultation sites in CirCor's order: aortic, pulmonic, tricuspid, mitral.
pub const SITES: [&str; 4] = ["AV", "PV", "TV", "MV"];
/// The exact header of CirCor's `training_data.csv`.
pub const CSV_HEADER: &str = "Patient ID,Recording locations:,Age,Sex,Height,Weight,Pregnancy status,Murmur,Murmur locations,Most audible location,Systolic murmur timing,Systolic murmur shape,Systolic murmur grading,Systolic murmur pitch,Systolic murmur quality,Diastolic murmur timing,Diastolic murmur shape,Diastolic murmur grading,Diastolic murmur pitch,Diastolic murmur quality,Outcome,Campaign,Additional ID";

/// Age groups of CirCor with a typical heart rate (beats per minute) and height (cm) / weight (kg).
const AGES: [(&str, f64, f64, f64, f64); 5] = [
    // name, weight of the group among patients, heart rate, height, weight
    ("Neonate", 0.03, 140.0, 50.0, 3.5),
    ("Infant", 0.15, 125.0, 68.0, 7.5),
    ("Child", 0.60, 95.0, 115.0, 21.0),
    ("Adolescent", 0.17, 78.0, 158.0, 48.0),
    ("Young adult", 0.05, 70.0, 168.0, 62.0),
];

/// A murmur as CirCor's annotators describe it; every field takes the dataset's own spellings.
#[derive(Debug, Clone, PartialEq)]
pub struct Murmur {
    /// `Early-systolic`, `Mid-systolic`, `Late-systolic`, `Holosystolic`, `Early-diastolic`,
    /// `Mid-diastolic` or `Holodiastolic`.
    pub timing: &'static str,
    /// `Crescendo`, `Decrescendo`, `Diamond` or `Plateau`.
    pub shape: &'static str,
    /// Levine grade: `I/VI`, `II/VI`, `III/VI` (systolic) or `I/IV`, `II/IV`, `III/IV` (diastolic).
    pub grading: &'static str,
    /// `Low`, `Medium` or `High`.
    pub pitch: &'static str,
    /// `Blowing`, `Harsh` or `Musical`.
    pub quality: &'static str,
}

/// One patient of the dataset, with one recording per site.
#[derive(Debug, Clone, PartialEq)]
pub struct Patient {
    /// CirCor patient id.
    pub id: u32,
    /// Recorded sites, in [`SITES`] order.
    pub sites: Vec<&'static str>,
    /// Age group.
    pub age: &'static str,
    /// `Female` or `Male`.
    pub sex: &'static str,
    /// cm.
    pub height: Option<f64>,
    /// kg.
    pub weight: Option<f64>,
    /// Pregnancy status.
    pub pregnant: bool,
    /// `Present`, `Absent` or `Unknown` (recordings too noisy to tell).
    pub murmur: &'static str,
    /// Sites where the murmur is heard.
    pub murmur_locations: Vec<&'static str>,
    /// The site where it is loudest.
    pub most_audible: Option<&'static str>,
    /// The systolic murmur, if any.
    pub systolic: Option<Murmur>,
    /// The diastolic murmur, if any.
    pub diastolic: Option<Murmur>,
    /// `Normal` or `Abnormal`.
    pub outcome: &'static str,
    /// `CC2014` or `CC2015`.
    pub campaign: &'static str,
    /// Mean recording length in seconds (each site's length varies ±30 % around it).
    pub seconds: f64,
}

fn random_murmur(rng: &mut Rng, systolic: bool) -> Murmur {
    let w = |rng: &mut Rng, items: &[(&'static str, f64)]| {
        let weights: Vec<f64> = items.iter().map(|i| i.1).collect();
        items[rng.weighted(&weights)].0
    };
    let (timing, shape, grading) = if systolic {
        let timing = w(
            rng,
            &[
                ("Holosystolic", 0.55),
                ("Early-systolic", 0.28),
                ("Mid-systolic", 0.12),
                ("Late-systolic", 0.05),
            ],
        );
        let shape = w(
            rng,
            &[
                ("Plateau", 0.5),
                ("Diamond", 0.25),
                ("Decrescendo", 0.2),
                ("Crescendo", 0.05),
            ],
        );
        let grading = w(rng, &[("I/VI", 0.55), ("II/VI", 0.28), ("III/VI", 0.17)]);
        (timing, shape, grading)
    } else {
        let timing = w(
            rng,
            &[
                ("Early-diastolic", 0.5),
                ("Mid-diastolic", 0.2),
                ("Holodiastolic", 0.3),
            ],
        );
        let shape = w(rng, &[("Decrescendo", 0.6), ("Plateau", 0.4)]);
        let grading = w(rng, &[("I/IV", 0.6), ("II/IV", 0.3), ("III/IV", 0.1)]);
        (timing, shape, grading)
    };
    Murmur {
        timing,
        shape,
        grading,
        pitch: w(rng, &[("Low", 0.45), ("Medium", 0.35), ("High", 0.2)]),
        quality: w(rng, &[("Harsh", 0.5), ("Blowing", 0.45), ("Musical", 0.05)]),
    }
}

/// `n` random patients. Murmur Present for ~30 % (with a systolic murmur, and a diastolic one for some),
/// Unknown for ~7 %, Absent otherwise; outcome Abnormal for ~70 % of murmurs and ~35 % of the rest.
pub fn plan_random(seed: u64, n: usize, seconds: f64) -> Vec<Patient> {
    let mut ids = Rng::for_item(seed, "circor-ids");
    let mut id = 2530u32;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let mut rng = Rng::for_item(seed, &format!("heart-patient-{id}"));
        let weights: Vec<f64> = AGES.iter().map(|a| a.1).collect();
        let (age, _, _, h, wt) = AGES[rng.weighted(&weights)];
        let sex = if rng.chance(0.5) { "Female" } else { "Male" };
        let height = rng.chance(0.93).then(|| (h * rng.range(0.9, 1.1)).round());
        let weight = rng
            .chance(0.93)
            .then(|| (wt * rng.range(0.8, 1.2) * 10.0).round() / 10.0);
        let pregnant =
            sex == "Female" && matches!(age, "Adolescent" | "Young adult") && rng.chance(0.3);
        let sites: Vec<&'static str> = if rng.chance(0.75) {
            SITES.to_vec()
        } else {
            let keep = 2 + rng.below(2);
            let mut s = SITES.to_vec();
            rng.shuffle(&mut s);
            s.truncate(keep);
            SITES.iter().copied().filter(|x| s.contains(x)).collect()
        };
        let murmur = match rng.weighted(&[0.3, 0.07, 0.63]) {
            0 => "Present",
            1 => "Unknown",
            _ => "Absent",
        };
        let (mut locations, mut most, mut systolic, mut diastolic) = (Vec::new(), None, None, None);
        if murmur == "Present" {
            let mut s = sites.clone();
            rng.shuffle(&mut s);
            s.truncate(1 + rng.below(sites.len()));
            locations = SITES.iter().copied().filter(|x| s.contains(x)).collect();
            most = Some(s[0]);
            let dia = rng.chance(0.08);
            if !dia || rng.chance(0.5) {
                systolic = Some(random_murmur(&mut rng, true));
            }
            if dia {
                diastolic = Some(random_murmur(&mut rng, false));
            }
        }
        let p_abnormal = match murmur {
            "Present" => 0.7,
            "Unknown" => 0.5,
            _ => 0.35,
        };
        out.push(Patient {
            id,
            sites,
            age,
            sex,
            height,
            weight,
            pregnant,
            murmur,
            murmur_locations: locations,
            most_audible: most,
            systolic,
            diastolic,
            outcome: if rng.chance(p_abnormal) {
                "Abnormal"
            } else {
                "Normal"
            },
            campaign: if rng.chance(0.7) { "CC2014" } else { "CC2015" },
            seconds,
        });
        id += 1 + ids.below(1500) as u32;
    }
    out
}

/// A heart-cycle state of the `.tsv` files: 0 unannotated, 1 S1, 2 systole, 3 S2, 4 diastole.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct State {
    /// First sample.
    pub start: usize,
    /// One past the last sample.
    pub end: usize,
    /// 0–4.
    pub state: u8,
}

/// Where a murmur's timing puts it within systole or diastole (fractions of the interval).
fn timing_span(timing: &str) -> (f64, f64) {
    match timing {
        "Early-systolic" | "Early-diastolic" => (0.0, 0.45),
        "Mid-systolic" => (0.25, 0.75),
        "Mid-diastolic" => (0.25, 0.7),
        "Late-systolic" => (0.55, 1.0),
        _ => (0.0, 1.0), // holosystolic, holodiastolic
    }
}

/// The murmur's envelope at u ∈ [0, 1] of its span.
fn shape_env(shape: &str, u: f64) -> f64 {
    let ramp = dsp::tapered(u, 0.12);
    ramp * match shape {
        "Crescendo" => 0.2 + 0.8 * u,
        "Decrescendo" => 1.0 - 0.8 * u,
        "Diamond" => 0.2 + 0.8 * (1.0 - (2.0 * u - 1.0).abs()),
        _ => 1.0,
    }
}

/// Loudness of a Levine grade relative to S1's peak (I barely audible … III moderately loud).
fn grade_gain(grading: &str) -> f64 {
    match grading.split('/').next().unwrap_or("") {
        "I" => 0.15,
        "II" => 0.3,
        "III" => 0.55,
        "IV" => 0.8,
        "V" | "VI" => 1.0,
        _ => 0.2,
    }
}

/// Band (low, high) in Hz of a murmur's pitch.
fn pitch_band(pitch: &str) -> (f64, f64) {
    match pitch {
        "Low" => (50.0, 150.0),
        "High" => (200.0, 600.0),
        _ => (100.0, 300.0),
    }
}

/// A murmur's source signal for the whole recording (unit RMS), coloured by pitch and quality:
/// Blowing is smooth band noise, Harsh broader and rough (irregular amplitude), Musical a tone.
fn murmur_source(m: &Murmur, n: usize, rng: &mut Rng, fs: f64) -> Vec<f64> {
    let (lo, hi) = pitch_band(m.pitch);
    let mut s = match m.quality {
        "Musical" => {
            let f0 = (lo * hi).sqrt() * rng.range(0.9, 1.1);
            let mut phase = 0.0f64;
            let noise = dsp::band_noise(rng, n, lo, hi, fs);
            (0..n)
                .map(|i| {
                    let t = i as f64 / fs;
                    phase += std::f64::consts::TAU * f0 * (1.0 + 0.01 * (31.4 * t).sin()) / fs;
                    phase.sin() + 0.4 * (2.0 * phase).sin() + 0.15 * noise[i]
                })
                .collect()
        }
        "Harsh" => {
            let base = dsp::band_noise(rng, n, 0.6 * lo, 1.6 * hi, fs);
            let rough = dsp::band_noise(rng, n, 10.0, 40.0, fs);
            base.iter()
                .zip(&rough)
                .map(|(b, r)| b * (1.0 + 0.7 * r).max(0.0))
                .collect()
        }
        _ => dsp::band_noise(rng, n, lo, hi, fs),
    };
    dsp::normalize_rms(&mut s);
    s
}

/// Synthesises one recording of `p` at `site`: the signal at [`RATE`] and its segmentation.
pub fn synthesize(p: &Patient, site: &str, seed: u64) -> (Vec<f64>, Vec<State>) {
    let fs = f64::from(RATE);
    let mut rng = Rng::for_item(seed, &format!("{}_{site}", p.id));
    let duration = p.seconds * rng.range(0.7, 1.3);
    let n = (duration * fs).round() as usize;
    let hr = AGES
        .iter()
        .find(|a| a.0 == p.age)
        .map(|a| a.2)
        .unwrap_or(90.0)
        * rng.range(0.88, 1.12);
    let neonatal = matches!(p.age, "Neonate" | "Infant");
    // S1 is loudest at the apex (mitral, tricuspid), S2 at the base (aortic, pulmonic).
    let (g1, g2) = if matches!(site, "MV" | "TV") {
        (1.0, 0.6)
    } else {
        (0.6, 1.0)
    };
    let mut x = vec![0.0; n];
    let mut states = Vec::new();
    let idx = |t: f64| ((t * fs).round() as usize).min(n);
    let mut t = rng.range(0.2, 0.8);
    states.push(State {
        start: 0,
        end: idx(t),
        state: 0,
    });
    // Murmur envelopes, filled beat by beat.
    let mut env_sys = vec![0.0; n];
    let mut env_dia = vec![0.0; n];
    let resp_rate = rng.range(0.2, 0.5); // Hz, for sinus arrhythmia
    loop {
        let rr = 60.0 / hr
            * (1.0 + 0.04 * (std::f64::consts::TAU * resp_rate * t).sin() + 0.015 * rng.normal());
        if t + rr > duration - 0.2 {
            break;
        }
        let s1_len = rng.range(0.09, 0.12) * if neonatal { 0.8 } else { 1.0 };
        let s1s2 = 0.33 * rr.sqrt();
        let s2_len = rng.range(0.07, 0.1) * if neonatal { 0.85 } else { 1.0 };
        let b = [t, t + s1_len, t + s1s2, t + s1s2 + s2_len, t + rr].map(idx);
        for (k, st) in [1u8, 2, 3, 4].iter().enumerate() {
            states.push(State {
                start: b[k],
                end: b[k + 1],
                state: *st,
            });
        }
        // S1: mitral then tricuspid closure; S2: aortic then pulmonic (split wider in children).
        let f1 = rng.range(40.0, 70.0);
        let a1 = g1 * rng.range(0.9, 1.1);
        dsp::add_damped(&mut x, b[0] + idx(0.01), idx(0.08), a1, f1, 0.014, 0.0, fs);
        dsp::add_damped(
            &mut x,
            b[0] + idx(rng.range(0.02, 0.03)),
            idx(0.06),
            0.6 * a1,
            f1 * 1.1,
            0.012,
            0.0,
            fs,
        );
        let f2 = rng.range(60.0, 100.0);
        let a2 = g2 * rng.range(0.7, 0.9);
        let split = rng.range(0.015, if neonatal { 0.03 } else { 0.045 });
        dsp::add_damped(&mut x, b[2] + idx(0.005), idx(0.05), a2, f2, 0.01, 0.0, fs);
        dsp::add_damped(
            &mut x,
            b[2] + idx(split),
            idx(0.04),
            0.6 * a2,
            f2 * 1.1,
            0.009,
            0.0,
            fs,
        );
        let fill = |env: &mut [f64], from: usize, to: usize, m: &Option<Murmur>| {
            if let Some(m) = m {
                let (u0, u1) = timing_span(m.timing);
                let len = (to - from) as f64;
                let (a, z) = (from + (u0 * len) as usize, from + (u1 * len) as usize);
                for (i, e) in env.iter_mut().enumerate().take(z).skip(a) {
                    *e = shape_env(m.shape, (i - a) as f64 / (z - a).max(1) as f64);
                }
            }
        };
        fill(&mut env_sys, b[1], b[2], &p.systolic);
        fill(&mut env_dia, b[3], b[4], &p.diastolic);
        t += rr;
    }
    let last = states.last().map(|s| s.end).unwrap_or(0);
    if last < n {
        states.push(State {
            start: last,
            end: n,
            state: 0,
        });
    }
    states.retain(|s| s.end > s.start);

    // Murmurs where they are heard: full strength at the most audible site, softer elsewhere.
    let site_gain = if p.most_audible == Some(site) {
        1.0
    } else if p.murmur_locations.contains(&site) {
        rng.range(0.4, 0.7)
    } else {
        0.0
    };
    for (m, env) in [(&p.systolic, &env_sys), (&p.diastolic, &env_dia)] {
        if let (Some(m), true) = (m, site_gain > 0.0) {
            let src = murmur_source(m, n, &mut rng, fs);
            let g = site_gain * grade_gain(m.grading);
            for i in 0..n {
                x[i] += g * env[i] * src[i];
            }
        }
    }

    // Body and device noise; recordings whose murmur status is Unknown are much noisier.
    let noisy = p.murmur == "Unknown";
    let body = dsp::band_noise(&mut rng, n, 20.0, 400.0, fs);
    let breath = dsp::band_noise(&mut rng, n, 100.0, 800.0, fs);
    let (kb, kr) = if noisy {
        (rng.range(0.15, 0.3), rng.range(0.15, 0.35))
    } else {
        (rng.range(0.01, 0.03), rng.range(0.005, 0.02))
    };
    for i in 0..n {
        let ti = i as f64 / fs;
        let resp = 0.5 + 0.5 * (std::f64::consts::TAU * resp_rate * ti).sin();
        x[i] += kb * body[i] + kr * resp * breath[i];
    }
    if noisy || rng.chance(0.15) {
        // crying, talking or stethoscope movement: loud bursts
        for _ in 0..2 + rng.below(4) {
            let dur = rng.range(0.2, 1.0).min(duration * 0.5);
            let len = (dur * fs) as usize;
            let at = (rng.range(0.0, (duration - dur).max(0.0)) * fs) as usize;
            let burst = dsp::band_noise(&mut rng, len, 150.0, 1200.0, fs);
            let a = if noisy {
                rng.range(0.4, 1.0)
            } else {
                rng.range(0.05, 0.2)
            };
            for (k, v) in burst.iter().enumerate() {
                if let Some(o) = x.get_mut(at + k) {
                    *o += a * dsp::hann(k as f64 / len as f64) * v;
                }
            }
        }
    }
    if rng.chance(0.4) {
        let a = rng.range(0.005, 0.02);
        for (i, o) in x.iter_mut().enumerate() {
            *o += a * (std::f64::consts::TAU * 50.0 * i as f64 / fs).sin();
        }
    }
    let mut lp = [
        Biquad::lowpass(1500.0, 0.707, fs),
        Biquad::lowpass(1500.0, 0.707, fs),
    ];
    lp.iter_mut().for_each(|f| f.run(&mut x));
    dsp::set_peak(&mut x, rng.range(0.3, 0.9));
    (x, states)
}

/// Counts written to the manifest.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Counts {
    /// Patients (rows of training_data.csv).
    pub patients: usize,
    /// Recordings (one per patient and site).
    pub recordings: usize,
    /// Patients with a murmur.
    pub murmur_present: usize,
    /// Patients whose recordings are too noisy to tell.
    pub murmur_unknown: usize,
    /// Patients without a murmur.
    pub murmur_absent: usize,
    /// Patients with an abnormal outcome.
    pub outcome_abnormal: usize,
    /// Heart cycles (S1 segments) in all recordings.
    pub heart_cycles: usize,
    /// Seconds of audio in all.
    pub seconds: f64,
}

fn or_nan<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "nan".into())
}

fn fields(p: &Patient) -> Vec<(&'static str, String)> {
    let m = |d: &Option<Murmur>, f: fn(&Murmur) -> &'static str| or_nan(d.as_ref().map(f));
    let locations = if p.murmur_locations.is_empty() {
        "nan".to_string()
    } else {
        p.murmur_locations.join("+")
    };
    vec![
        ("Age", p.age.to_string()),
        ("Sex", p.sex.to_string()),
        ("Height", or_nan(p.height.map(|v| format!("{v:.1}")))),
        ("Weight", or_nan(p.weight.map(|v| format!("{v:.1}")))),
        (
            "Pregnancy status",
            if p.pregnant { "True" } else { "False" }.into(),
        ),
        ("Murmur", p.murmur.to_string()),
        ("Murmur locations", locations),
        ("Most audible location", or_nan(p.most_audible)),
        ("Systolic murmur timing", m(&p.systolic, |x| x.timing)),
        ("Systolic murmur shape", m(&p.systolic, |x| x.shape)),
        ("Systolic murmur grading", m(&p.systolic, |x| x.grading)),
        ("Systolic murmur pitch", m(&p.systolic, |x| x.pitch)),
        ("Systolic murmur quality", m(&p.systolic, |x| x.quality)),
        ("Diastolic murmur timing", m(&p.diastolic, |x| x.timing)),
        ("Diastolic murmur shape", m(&p.diastolic, |x| x.shape)),
        ("Diastolic murmur grading", m(&p.diastolic, |x| x.grading)),
        ("Diastolic murmur pitch", m(&p.diastolic, |x| x.pitch)),
        ("Diastolic murmur quality", m(&p.diastolic, |x| x.quality)),
        ("Outcome", p.outcome.to_string()),
        ("Campaign", p.campaign.to_string()),
        ("Additional ID", "nan".into()),
    ]
}

/// Writes the patients in the CirCor layout under `root` (which exists and is empty).
pub fn write(patients: &[Patient], root: &Path, seed: u64) -> Result<Counts, Failure> {
    let data = root.join("training_data");
    std::fs::create_dir_all(&data)
        .map_err(|e| Failure::output(format!("cannot create {}: {e}", data.display())))?;
    let mut csv = format!("{CSV_HEADER}\n");
    let mut counts = Counts {
        patients: patients.len(),
        ..Counts::default()
    };
    let total = patients.iter().map(|p| p.sites.len()).sum();
    let mut progress = Progress::new("heart recordings", total);
    let fs = f64::from(RATE);
    for p in patients {
        let f = fields(p);
        let _ = write!(csv, "{},{}", p.id, p.sites.join("+"));
        for (_, v) in &f {
            let _ = write!(csv, ",{v}");
        }
        csv.push('\n');
        let mut txt = format!("{} {} {RATE}\n", p.id, p.sites.len());
        for site in &p.sites {
            let name = format!("{}_{site}", p.id);
            let _ = writeln!(txt, "{site} {name}.hea {name}.wav {name}.tsv");
            let (signal, states) = synthesize(p, site, seed);
            let pcm: Vec<i16> = dsp::to_pcm16(&signal).collect();
            let checksum = pcm.iter().fold(0i16, |c, v| c.wrapping_add(*v));
            let hea = format!(
                "{name} 1 {RATE} {}\n{name}.wav 16+44 1 16 0 {} {checksum} 0 {site}\n",
                pcm.len(),
                pcm.first().copied().unwrap_or(0),
            );
            let mut tsv = String::new();
            for s in &states {
                let _ = writeln!(
                    tsv,
                    "{}\t{}\t{}",
                    s.start as f64 / fs,
                    s.end as f64 / fs,
                    s.state
                );
            }
            write_file(
                &data.join(format!("{name}.wav")),
                &dsp::pcm16_wav(&signal, RATE),
            )?;
            write_file(&data.join(format!("{name}.hea")), hea.as_bytes())?;
            write_file(&data.join(format!("{name}.tsv")), tsv.as_bytes())?;
            counts.recordings += 1;
            counts.heart_cycles += states.iter().filter(|s| s.state == 1).count();
            counts.seconds += signal.len() as f64 / fs;
            progress.step();
        }
        for (k, v) in &f {
            let _ = writeln!(txt, "#{k}: {v}");
        }
        write_file(&data.join(format!("{}.txt", p.id)), txt.as_bytes())?;
        match p.murmur {
            "Present" => counts.murmur_present += 1,
            "Unknown" => counts.murmur_unknown += 1,
            _ => counts.murmur_absent += 1,
        }
        counts.outcome_abnormal += usize::from(p.outcome == "Abnormal");
    }
    counts.seconds = (counts.seconds * 1000.0).round() / 1000.0;
    write_file(&root.join("training_data.csv"), csv.as_bytes())?;
    Ok(counts)
}

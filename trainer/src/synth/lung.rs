//! Synthetic lung sounds in the official ICBHI 2017 layout: breathing cycles of band-limited noise
//! with crackles and wheezes placed where the annotations say (see the parent module for the models).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use super::dsp::{self, Biquad};
use super::{write_file, Progress};
use crate::data::{Label, Metadata};
use crate::rng::Rng;
use crate::Failure;

/// Diagnoses of the ICBHI database, with how often a random patient gets each one and, per
/// breathing cycle, the chance of crackles and of wheezes and the share of crackles that are coarse.
/// (Shares follow the database's recordings loosely; COPD is over-represented there too.)
const DIAGNOSES: [(&str, f64, f64, f64, f64); 8] = [
    // name, weight, P(crackles), P(wheezes), P(coarse | crackles)
    ("Healthy", 0.20, 0.03, 0.02, 0.5),
    ("URTI", 0.10, 0.08, 0.05, 0.5),
    ("Asthma", 0.07, 0.05, 0.45, 0.5),
    ("COPD", 0.30, 0.40, 0.30, 0.75),
    ("LRTI", 0.07, 0.30, 0.10, 0.5),
    ("Bronchiectasis", 0.08, 0.60, 0.15, 0.85),
    ("Pneumonia", 0.10, 0.55, 0.10, 0.25),
    ("Bronchiolitis", 0.08, 0.35, 0.35, 0.3),
];

/// Chest locations of the ICBHI file names (trachea, anterior/posterior/lateral left/right).
const LOCATIONS: [&str; 7] = ["Tc", "Al", "Ar", "Pl", "Pr", "Ll", "Lr"];
/// Stethoscopes and microphone of the database, with the low-pass corner (Hz) used for each.
const DEVICES: [(&str, f64); 4] = [
    ("Meditron", 1800.0),
    ("LittC2SE", 1200.0),
    ("Litt3200", 1500.0),
    ("AKGC417L", 2000.0),
];

fn diagnosis_row(name: &str) -> (f64, f64, f64) {
    DIAGNOSES
        .iter()
        .find(|d| d.0.eq_ignore_ascii_case(name))
        .map(|d| (d.2, d.3, d.4))
        .unwrap_or((0.1, 0.1, 0.5))
}

/// One annotated breathing cycle.
#[derive(Debug, Clone, PartialEq)]
pub struct Cycle {
    /// Start in seconds.
    pub start: f64,
    /// End in seconds.
    pub end: f64,
    /// Crackles are present in the cycle.
    pub crackles: bool,
    /// Wheezes are present in the cycle.
    pub wheezes: bool,
}

/// A patient: the diagnosis file's row and the demographics file's row.
#[derive(Debug, Clone, PartialEq)]
pub struct Patient {
    /// ICBHI patient number (101…).
    pub id: u32,
    /// One of the database's diagnoses (`COPD`…).
    pub diagnosis: String,
    /// Years.
    pub age: Option<f64>,
    /// `M` or `F`.
    pub sex: Option<String>,
    /// Adults only.
    pub bmi: Option<f64>,
    /// Children only (kg).
    pub child_weight: Option<f64>,
    /// Children only (cm).
    pub child_height: Option<f64>,
}

/// One recording to synthesise.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    /// `<pid>_<index>_<location>_<mode>_<device>`.
    pub name: String,
    /// Patient number.
    pub patient: u32,
    /// Stethoscope name (sets the low-pass corner).
    pub device: String,
    /// Length in seconds.
    pub duration: f64,
    /// Annotated cycles in time order.
    pub cycles: Vec<Cycle>,
}

/// Everything a lung dataset holds before synthesis.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Patients, by id.
    pub patients: Vec<Patient>,
    /// Recordings, sorted by name.
    pub recordings: Vec<Recording>,
}

/// Reads real ICBHI annotations (either published layout) and keeps their cycle timings, crackle and
/// wheeze flags, diagnoses and demographics: the first `patients` patients, then the first `limit`
/// recordings (by name).
pub fn plan_follow(
    dir: &Path,
    limit: Option<usize>,
    patients: Option<usize>,
) -> Result<Plan, Failure> {
    let loader = crate::data::loader("icbhi").expect("the ICBHI loader is registered");
    if !loader.detect(dir) {
        return Err(Failure::input(format!(
            "{}: not an ICBHI annotation folder (expected patient_diagnosis.csv and audio_and_txt_files/, or the official layout)",
            dir.display()
        )));
    }
    let ds = loader
        .load(dir)
        .map_err(|e| Failure::input(format!("--follow: {e}")))?;
    let mut keep_patients: BTreeSet<u32> = BTreeSet::new();
    let mut all_patients: BTreeSet<u32> = BTreeSet::new();
    for r in &ds.records {
        if let Metadata::Icbhi(m) = &r.metadata {
            all_patients.insert(m.patient);
        }
    }
    keep_patients.extend(all_patients.iter().take(patients.unwrap_or(usize::MAX)));
    let mut plan = Plan::default();
    let mut seen = BTreeSet::new();
    let mut records: Vec<_> = ds.records.iter().collect();
    records.sort_by(|a, b| a.id.cmp(&b.id));
    for r in records {
        let Metadata::Icbhi(m) = &r.metadata else {
            continue;
        };
        if !keep_patients.contains(&m.patient) || r.segments.is_empty() {
            continue;
        }
        if plan.recordings.len() >= limit.unwrap_or(usize::MAX) {
            break;
        }
        let cycles: Vec<Cycle> = r
            .segments
            .iter()
            .map(|s| {
                let c = match s.labels.get("cycle") {
                    Some(Label::Class(c)) => *c,
                    _ => 0,
                };
                Cycle {
                    start: s.start_s,
                    end: s.end_s,
                    crackles: c == 1 || c == 3,
                    wheezes: c == 2 || c == 3,
                }
            })
            .collect();
        let last = cycles.iter().map(|c| c.end).fold(0.0, f64::max);
        // The margin after the last cycle depends on the recording only, not on the seed.
        let mut rng = Rng::for_item(0, &r.id);
        plan.recordings.push(Recording {
            name: r.id.clone(),
            patient: m.patient,
            device: m.device.clone(),
            duration: last + rng.range(0.2, 0.8),
            cycles,
        });
        if seen.insert(m.patient) {
            plan.patients.push(Patient {
                id: m.patient,
                diagnosis: m.diagnosis.clone().unwrap_or_else(|| "Healthy".into()),
                age: m.age,
                sex: m.sex.clone(),
                bmi: m.adult_bmi,
                child_weight: m.child_weight_kg,
                child_height: m.child_height_cm,
            });
        }
    }
    if plan.recordings.is_empty() {
        return Err(Failure::input(format!(
            "{}: no annotated recording left to follow",
            dir.display()
        )));
    }
    plan.patients.sort_by_key(|p| p.id);
    Ok(plan)
}

/// Random patients with `per_patient` recordings each: diagnoses, demographics, ~20 s recordings of
/// breathing cycles at an age-dependent rate, and crackle/wheeze flags drawn per cycle with the
/// diagnosis's probabilities.
pub fn plan_random(seed: u64, patients: usize, per_patient: usize) -> Plan {
    let mut plan = Plan::default();
    for i in 0..patients {
        let id = 101 + i as u32;
        let mut rng = Rng::for_item(seed, &format!("lung-patient-{id}"));
        let weights: Vec<f64> = DIAGNOSES.iter().map(|d| d.1).collect();
        let diagnosis = DIAGNOSES[rng.weighted(&weights)].0;
        let p_child = match diagnosis {
            "Bronchiolitis" => 1.0,
            "URTI" => 0.6,
            "Healthy" => 0.5,
            "Asthma" => 0.4,
            "Pneumonia" | "LRTI" => 0.3,
            _ => 0.0,
        };
        let child = rng.chance(p_child);
        let age = if diagnosis == "Bronchiolitis" {
            (rng.range(0.2, 3.0) * 100.0).round() / 100.0
        } else if child {
            (rng.range(0.5, 16.0) * 100.0).round() / 100.0
        } else if diagnosis == "COPD" {
            rng.range(50.0, 88.0).round()
        } else {
            rng.range(19.0, 85.0).round()
        };
        let (bmi, child_weight, child_height) = if age < 18.0 {
            let h = if age < 1.0 {
                50.0 + 25.0 * age
            } else {
                75.0 + 6.2 * age
            } * rng.range(0.93, 1.07);
            let w = if age < 1.0 {
                3.5 + 6.0 * age
            } else {
                8.0 + 2.3 * age + 0.12 * age * age
            } * rng.range(0.85, 1.15);
            (None, Some((w * 10.0).round() / 10.0), Some(h.round()))
        } else {
            (
                Some((rng.range(18.0, 35.0) * 10.0).round() / 10.0),
                None,
                None,
            )
        };
        let sex = if rng.chance(0.5) { "M" } else { "F" };
        plan.patients.push(Patient {
            id,
            diagnosis: diagnosis.to_string(),
            age: Some(age),
            sex: Some(sex.to_string()),
            bmi,
            child_weight,
            child_height,
        });
        let (pc, pw, _) = diagnosis_row(diagnosis);
        // Simultaneous (multichannel) sessions share the index across locations.
        let multichannel = per_patient > 1 && per_patient <= LOCATIONS.len() && rng.chance(0.3);
        let mut locs = LOCATIONS.to_vec();
        rng.shuffle(&mut locs);
        let device = DEVICES[rng.below(DEVICES.len())].0;
        let breath_s = if age < 3.0 {
            rng.range(1.2, 2.0)
        } else if age < 12.0 {
            rng.range(1.8, 3.0)
        } else {
            rng.range(2.6, 4.5)
        };
        for k in 0..per_patient {
            let (index, mode) = if multichannel {
                ("1b1".to_string(), "mc")
            } else {
                (format!("{}b1", k + 1), "sc")
            };
            let loc = locs[k % locs.len()];
            let name = format!("{id}_{index}_{loc}_{mode}_{device}");
            // A recording's own severity: some are cleaner than others.
            let (rc, rw) = (
                (pc * rng.range(0.3, 1.7)).min(0.95),
                (pw * rng.range(0.3, 1.7)).min(0.95),
            );
            let duration = if rng.chance(0.8) {
                20.0
            } else {
                rng.range(12.0, 35.0).round()
            };
            let mut t = (rng.range(0.05, 1.2) * 1000.0).round() / 1000.0;
            let mut cycles = Vec::new();
            loop {
                let len = breath_s * rng.range(0.85, 1.15);
                let end = ((t + len) * 1000.0).round() / 1000.0;
                if end > duration - 0.1 {
                    break;
                }
                cycles.push(Cycle {
                    start: t,
                    end,
                    crackles: rng.chance(rc),
                    wheezes: rng.chance(rw),
                });
                // Cycles mostly follow each other directly, as in the database's annotations.
                t = if rng.chance(0.9) {
                    end
                } else {
                    ((end + rng.range(0.1, 0.6)) * 1000.0).round() / 1000.0
                };
            }
            plan.recordings.push(Recording {
                name,
                patient: id,
                device: device.to_string(),
                duration,
                cycles,
            });
        }
    }
    plan.recordings.sort_by(|a, b| a.name.cmp(&b.name));
    plan
}

/// What the synthesiser placed in a recording: the ground truth beyond the annotations.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// `fine-crackle`, `coarse-crackle` or `wheeze`.
    pub kind: &'static str,
    /// Start in seconds.
    pub start: f64,
    /// End in seconds.
    pub end: f64,
    /// Main frequency in Hz (a crackle's after its initial deflection, 2/2CD; a wheeze's starting pitch).
    pub freq: f64,
}

/// The phases of one breath: inspiration `[t0, t1)`, expiration `[t2, t3)`.
struct Breath {
    t: [f64; 4],
    gain_in: f64,
    gain_ex: f64,
}

fn breath(c: &Cycle, rng: &mut Rng) -> Breath {
    let len = c.end - c.start;
    // Inspiration is shorter (I:E ≈ 1:1.5–2) and louder than expiration.
    let fi = rng.range(0.33, 0.42);
    let pause = rng.range(0.03, 0.08);
    let t1 = c.start + fi * len;
    let t2 = t1 + pause * len;
    let gain_in = rng.range(0.85, 1.15);
    Breath {
        t: [c.start, t1, t2, c.end - 0.03 * len],
        gain_in,
        gain_ex: gain_in * rng.range(0.4, 0.6),
    }
}

/// Synthesises one recording at `rate` Hz; returns the signal (peak ≤ 0.9) and what was placed.
pub fn synthesize(
    rec: &Recording,
    diagnosis: &str,
    seed: u64,
    rate: u32,
) -> (Vec<f64>, Vec<Event>) {
    let fs = f64::from(rate);
    let n = (rec.duration * fs).ceil() as usize;
    let mut rng = Rng::for_item(seed, &rec.name);
    let (_, _, p_coarse) = diagnosis_row(diagnosis);
    let mut events = Vec::new();

    // Breathing goes on outside the annotated cycles too: fill gaps with unannotated breaths.
    let mean_len =
        rec.cycles.iter().map(|c| c.end - c.start).sum::<f64>() / rec.cycles.len().max(1) as f64;
    let mean_len = if mean_len > 0.3 { mean_len } else { 3.0 };
    let mut cycles: Vec<(Cycle, bool)> = Vec::new();
    let mut t = 0.0;
    let mut annotated = rec.cycles.clone();
    annotated.sort_by(|a, b| a.start.total_cmp(&b.start));
    for c in annotated
        .iter()
        .map(|c| (c.clone(), true))
        .chain(std::iter::once((
            Cycle {
                start: rec.duration + mean_len,
                end: rec.duration + 2.0 * mean_len,
                crackles: false,
                wheezes: false,
            },
            false,
        )))
    {
        let stop = c.0.start.min(rec.duration);
        while stop - t > 0.5 {
            let end = (t + mean_len).min(stop);
            let filler = Cycle {
                start: t,
                end,
                crackles: false,
                wheezes: false,
            };
            cycles.push((filler, false));
            t = end;
        }
        if c.1 {
            t = t.max(c.0.end);
            cycles.push(c);
        }
    }

    // Breath sound: 100–1000 Hz noise with a falling spectral tilt (a low-passed share dominates).
    let raw = dsp::band_noise(&mut rng, n, 100.0, 1000.0, fs);
    let mut tilted = raw.clone();
    Biquad::lowpass(250.0, 0.6, fs).run(&mut tilted);
    dsp::normalize_rms(&mut tilted);
    let mut env = vec![0.04f64; n];
    let mut breaths = Vec::with_capacity(cycles.len());
    for (c, _) in &cycles {
        let b = breath(c, &mut rng);
        let i0 = ((b.t[0] * fs) as usize).min(n);
        let i3 = ((c.end * fs).ceil() as usize).min(n);
        for (i, e) in env.iter_mut().enumerate().take(i3).skip(i0) {
            let t = i as f64 / fs;
            let v = if t < b.t[1] {
                // inspiratory flow rises through the phase
                let u = (t - b.t[0]) / (b.t[1] - b.t[0]);
                b.gain_in * dsp::tapered(u, 0.25) * (0.7 + 0.3 * u)
            } else if t >= b.t[2] && t < b.t[3] {
                let u = (t - b.t[2]) / (b.t[3] - b.t[2]);
                b.gain_ex * dsp::tapered(u, 0.2) * (1.0 - 0.5 * u)
            } else {
                0.0
            };
            *e = e.max(v);
        }
        breaths.push(b);
    }
    let mut x: Vec<f64> = (0..n)
        .map(|i| env[i] * (0.75 * tilted[i] + 0.25 * raw[i]))
        .collect();

    // Adventitious sounds, only in annotated cycles that carry the flag.
    for ((c, is_annotated), b) in cycles.iter().zip(&breaths) {
        if !is_annotated {
            continue;
        }
        if c.crackles {
            add_crackles(&mut x, c, b, p_coarse, &mut rng, fs, &mut events);
        }
        if c.wheezes {
            add_wheezes(&mut x, c, b, &mut rng, fs, &mut events);
        }
    }

    add_body_and_device_noise(&mut x, rec, &mut rng, fs);
    dsp::set_peak(&mut x, rng.range(0.3, 0.9));
    (x, events)
}

/// Crackles: explosive openings of small airways heard as short transients: a sharp initial
/// deflection then decaying oscillations (see [`dsp::add_crackle`]). Fine: initial deflection width
/// (IDW) 0.5–0.9 ms, two-cycle duration (2CD) 4–6.5 ms, < 10 ms in all, mostly late inspiratory;
/// coarse: IDW 1.2–2 ms, 2CD 8.5–12 ms, > 10 ms in all, early inspiratory and expiratory (CORSA:
/// fine ≈ 0.7 / 5 ms, coarse ≈ 1.5 / 10 ms).
fn add_crackles(
    x: &mut [f64],
    c: &Cycle,
    b: &Breath,
    p_coarse: f64,
    rng: &mut Rng,
    fs: f64,
    events: &mut Vec<Event>,
) {
    let coarse = rng.chance(p_coarse);
    let count = if coarse {
        3 + rng.below(5)
    } else {
        5 + rng.below(8)
    };
    for _ in 0..count {
        let (lo, hi) = if rng.chance(0.85) {
            // inspiration: fine ones late, coarse ones early
            if coarse {
                (b.t[0], b.t[0] + 0.7 * (b.t[1] - b.t[0]))
            } else {
                (b.t[0] + 0.3 * (b.t[1] - b.t[0]), b.t[1])
            }
        } else {
            (b.t[2], b.t[3])
        };
        let at = rng.range(lo, hi.max(lo + 1e-3)).min(c.end);
        // Peak amplitude in units of the breath noise's RMS at full inspiration: clear pops.
        let (idw, two_cd, amp) = if coarse {
            (
                rng.range(0.0012, 0.002),
                rng.range(0.0085, 0.012),
                rng.range(5.0, 10.0),
            )
        } else {
            (
                rng.range(0.0005, 0.0009),
                rng.range(0.004, 0.0065),
                rng.range(4.0, 8.0),
            )
        };
        let sign = if rng.chance(0.5) { 1.0 } else { -1.0 };
        let a = sign * amp * b.gain_in;
        let len = dsp::add_crackle(x, (at * fs) as usize, idw, two_cd, a, fs);
        events.push(Event {
            kind: if coarse {
                "coarse-crackle"
            } else {
                "fine-crackle"
            },
            start: at,
            end: at + len as f64 / fs,
            freq: 2.0 / two_cd,
        });
    }
}

/// Wheezes: sustained musical sounds from airway walls fluttering in a narrowed airway: a tone of
/// 150–700 Hz with two harmonics, a slow glide (−6 to +4 %) and a vibrato, lasting ≥ 100 ms, mostly expiratory;
/// sometimes two at once (polyphonic).
fn add_wheezes(
    x: &mut [f64],
    c: &Cycle,
    b: &Breath,
    rng: &mut Rng,
    fs: f64,
    events: &mut Vec<Event>,
) {
    let voices = if rng.chance(0.2) { 2 } else { 1 };
    let expiratory = rng.chance(0.8);
    let (lo, hi) = if expiratory {
        (b.t[2], b.t[3])
    } else {
        (b.t[0], b.t[1])
    };
    let span = (hi - lo).max(0.0);
    let dur = (span * rng.range(0.5, 0.9)).max(0.12).min(c.end - c.start);
    let start = (lo + rng.range(0.0, (span - dur).max(0.0))).min(c.end - dur);
    for _ in 0..voices {
        let f0 = rng.range(150.0, 700.0);
        let glide = rng.range(-0.06, 0.04);
        let (fm, depth) = (rng.range(3.0, 8.0), rng.range(0.005, 0.02));
        let amp = rng.range(1.5, 3.0) / voices as f64;
        let i0 = (start * fs) as usize;
        let len = (dur * fs) as usize;
        let mut phase = 0.0f64;
        for k in 0..len {
            let Some(o) = x.get_mut(i0 + k) else { break };
            let u = k as f64 / len as f64;
            let t = k as f64 / fs;
            let f = f0 * (1.0 + glide * u + depth * (std::f64::consts::TAU * fm * t).sin());
            phase += std::f64::consts::TAU * f / fs;
            let mut v = phase.sin();
            for (h, a) in [(2.0, 0.35), (3.0, 0.15)] {
                if h * f < 0.45 * fs {
                    v += a * (h * phase).sin();
                }
            }
            *o += amp * dsp::tapered(u, 0.15) * v;
        }
        events.push(Event {
            kind: "wheeze",
            start,
            end: start + dur,
            freq: f0,
        });
    }
}

/// Heartbeat thumps, rubbing friction, mains hum, a sensor noise floor, then the chest wall and
/// stethoscope low-pass.
fn add_body_and_device_noise(x: &mut [f64], rec: &Recording, rng: &mut Rng, fs: f64) {
    let base = dsp::rms(x).max(1e-6);
    // Heart sounds: S1 then S2, low-frequency damped transients.
    let rr = 60.0 / rng.range(60.0, 110.0);
    let thump = base * rng.range(0.3, 1.0);
    let mut t = rng.range(0.0, rr);
    while t < rec.duration {
        let beat = rr * rng.range(0.96, 1.04);
        for (dt, f, a) in [(0.0, 45.0, 1.0), (0.32 * beat.sqrt(), 65.0, 0.7)] {
            let at = ((t + dt) * fs) as usize;
            dsp::add_damped(x, at, (0.08 * fs) as usize, thump * a, f, 0.02, 0.0, fs);
        }
        t += beat;
    }
    // Friction: a few smooth bursts of rubbing noise (stethoscope or skin movement).
    if rng.chance(0.3) {
        for _ in 0..1 + rng.below(3) {
            let dur = rng.range(0.1, 0.4);
            let len = (dur * fs) as usize;
            let at = (rng.range(0.0, (rec.duration - dur).max(0.0)) * fs) as usize;
            let burst = dsp::band_noise(rng, len, 200.0, 1500.0, fs);
            let a = base * rng.range(0.3, 0.8);
            for (k, v) in burst.iter().enumerate() {
                if let Some(o) = x.get_mut(at + k) {
                    *o += a * dsp::hann(k as f64 / len as f64) * v;
                }
            }
        }
    }
    // Mains hum (50 Hz where the database was recorded, sometimes 60 Hz) with its third harmonic.
    if rng.chance(0.6) {
        let f = if rng.chance(0.85) { 50.0 } else { 60.0 };
        let a = base * rng.range(0.03, 0.15);
        let ph = rng.range(0.0, std::f64::consts::TAU);
        for (i, o) in x.iter_mut().enumerate() {
            let w = std::f64::consts::TAU * f * i as f64 / fs + ph;
            *o += a * (w.sin() + 0.3 * (3.0 * w).sin());
        }
    }
    let floor = base * rng.range(0.01, 0.04);
    for o in x.iter_mut() {
        *o += floor * rng.normal();
    }
    let corner = DEVICES
        .iter()
        .find(|d| d.0 == rec.device)
        .map(|d| d.1)
        .unwrap_or(2000.0)
        .min(0.45 * fs);
    let mut lp = [
        Biquad::lowpass(corner, 0.707, fs),
        Biquad::lowpass(corner, 0.707, fs),
    ];
    lp.iter_mut().for_each(|f| f.run(x));
}

/// A number as the database writes it: the shortest decimal that reads back as the same value.
fn num(v: f64) -> String {
    format!("{v}")
}

fn opt(v: Option<f64>) -> String {
    v.map(num).unwrap_or_else(|| "NA".into())
}

/// Counts written to the manifest.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Counts {
    /// Patients in the diagnosis file.
    pub patients: usize,
    /// Recordings (.wav + .txt pairs).
    pub recordings: usize,
    /// Annotated breathing cycles.
    pub cycles: usize,
    /// Cycles flagged with crackles.
    pub cycles_with_crackles: usize,
    /// Cycles flagged with wheezes.
    pub cycles_with_wheezes: usize,
    /// Recordings in the train part of the split.
    pub train: usize,
    /// Recordings in the test part of the split.
    pub test: usize,
    /// Seconds of audio in all.
    pub seconds: f64,
}

/// A deterministic patient-level split: the patients are shuffled with the seed and the first 60 %
/// (rounded up) go to train. Patient id → is train.
pub fn patient_split(seed: u64, patients: &[u32]) -> BTreeMap<u32, bool> {
    let mut ids = patients.to_vec();
    ids.sort_unstable();
    ids.dedup();
    Rng::for_item(seed, "icbhi-split").shuffle(&mut ids);
    let n_train = (ids.len() * 3).div_ceil(5);
    ids.iter()
        .enumerate()
        .map(|(i, id)| (*id, i < n_train))
        .collect()
}

/// Writes the plan in the official ICBHI layout under `root` (which exists and is empty).
pub fn write(plan: &Plan, root: &Path, seed: u64, rate: u32) -> Result<Counts, Failure> {
    let db = root.join("ICBHI_final_database");
    std::fs::create_dir_all(&db)
        .map_err(|e| Failure::output(format!("cannot create {}: {e}", db.display())))?;
    let diag: BTreeMap<u32, &Patient> = plan.patients.iter().map(|p| (p.id, p)).collect();
    let split = patient_split(seed, &diag.keys().copied().collect::<Vec<_>>());
    let mut counts = Counts {
        patients: plan.patients.len(),
        ..Counts::default()
    };
    let mut split_txt = String::new();
    let mut events_txt = String::from("recording\tkind\tstart\tend\tfreq_hz\n");
    let mut progress = Progress::new("lung recordings", plan.recordings.len());
    for rec in &plan.recordings {
        let diagnosis = diag
            .get(&rec.patient)
            .map(|p| p.diagnosis.as_str())
            .unwrap_or("Healthy");
        let (signal, events) = synthesize(rec, diagnosis, seed, rate);
        write_file(
            &db.join(format!("{}.wav", rec.name)),
            &dsp::pcm16_wav(&signal, rate),
        )?;
        let mut txt = String::new();
        for c in &rec.cycles {
            let _ = writeln!(
                txt,
                "{}\t{}\t{}\t{}",
                num(c.start),
                num(c.end),
                u8::from(c.crackles),
                u8::from(c.wheezes)
            );
        }
        write_file(&db.join(format!("{}.txt", rec.name)), txt.as_bytes())?;
        for e in &events {
            let _ = writeln!(
                events_txt,
                "{}\t{}\t{:.4}\t{:.4}\t{:.1}",
                rec.name, e.kind, e.start, e.end, e.freq
            );
        }
        let train = split.get(&rec.patient).copied().unwrap_or(true);
        let _ = writeln!(
            split_txt,
            "{}\t{}",
            rec.name,
            if train { "train" } else { "test" }
        );
        counts.recordings += 1;
        counts.cycles += rec.cycles.len();
        counts.cycles_with_crackles += rec.cycles.iter().filter(|c| c.crackles).count();
        counts.cycles_with_wheezes += rec.cycles.iter().filter(|c| c.wheezes).count();
        if train {
            counts.train += 1;
        } else {
            counts.test += 1;
        }
        counts.seconds += signal.len() as f64 / f64::from(rate);
        progress.step();
    }
    counts.seconds = (counts.seconds * 1000.0).round() / 1000.0;
    let mut diag_txt = String::new();
    let mut demo_txt = String::new();
    for p in &plan.patients {
        let _ = writeln!(diag_txt, "{}\t{}", p.id, p.diagnosis);
        let _ = writeln!(
            demo_txt,
            "{}\t{}\t{}\t{}\t{}\t{}",
            p.id,
            opt(p.age),
            p.sex.as_deref().unwrap_or("NA"),
            opt(p.bmi),
            opt(p.child_weight),
            opt(p.child_height)
        );
    }
    write_file(
        &root.join("ICBHI_Challenge_diagnosis.txt"),
        diag_txt.as_bytes(),
    )?;
    write_file(
        &root.join("ICBHI_challenge_train_test.txt"),
        split_txt.as_bytes(),
    )?;
    write_file(
        &root.join("ICBHI_Challenge_demographic_information.txt"),
        demo_txt.as_bytes(),
    )?;
    write_file(&root.join("synthetic_events.tsv"), events_txt.as_bytes())?;
    Ok(counts)
}

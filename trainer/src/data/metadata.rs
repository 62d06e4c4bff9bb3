//! Per-dataset metadata, typed, and its `Key: value` rendering (the report writers' input, in the form
//! of the paper's example: `Murmur: Present, Murmur locations: TV, Grading: III/VI, …`).

use serde::Serialize;

/// The metadata of one record, typed per dataset.
// Variants differ in size (CirCor's is the largest); records are few enough that boxing buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "dataset", rename_all = "kebab-case")]
pub enum Metadata {
    Icbhi(IcbhiMeta),
    Kauh(KauhMeta),
    CoughVid(CoughVidMeta),
    Coswara(CoswaraMeta),
    UkCovid(UkCovidMeta),
    RespTr(RespTrMeta),
    Ssbpr(SsbprMeta),
    MmLung(MmLungMeta),
    NoseMic(NoseMicMeta),
    CirCor(CirCorMeta),
    Covid19Cough(Covid19CoughMeta),
}

/// ICBHI 2017: one recording of one chest location.
#[derive(Debug, Clone, Serialize)]
pub struct IcbhiMeta {
    pub patient: u32,
    pub diagnosis: Option<String>,
    /// Years (fractional for children).
    pub age: Option<f64>,
    /// `M` or `F`.
    pub sex: Option<String>,
    pub adult_bmi: Option<f64>,
    pub child_weight_kg: Option<f64>,
    pub child_height_cm: Option<f64>,
    /// `Tc`, `Al`, `Ar`, `Pl`, `Pr`, `Ll`, `Lr`.
    pub chest_location: String,
    /// `sc` (sequential/single channel) or `mc` (simultaneous/multichannel).
    pub acquisition_mode: String,
    /// `AKGC417L`, `LittC2SE`, `Litt3200`, `Meditron`.
    pub device: String,
    pub cycles: usize,
    pub cycles_with_crackles: usize,
    pub cycles_with_wheezes: usize,
}

/// KAUH: one stethoscope recording.
#[derive(Debug, Clone, Serialize)]
pub struct KauhMeta {
    /// The diagnosis as written in the file name (`Heart Failure + COPD`, `N`…).
    pub diagnosis: String,
    /// Sound types decoded from the file name's codes (`expiratory wheeze`, `crackles`…).
    pub sounds: Vec<String>,
    /// Recording position decoded (`posterior left lower`).
    pub location: String,
    pub age: Option<f64>,
    /// `M` or `F`.
    pub sex: Option<String>,
    /// Stethoscope filter: bell, diaphragm or extended.
    pub filter: String,
}

/// CoughVID: one crowd-sourced cough recording.
#[derive(Debug, Clone, Serialize)]
pub struct CoughVidMeta {
    pub age: Option<f64>,
    pub gender: Option<String>,
    pub respiratory_condition: Option<bool>,
    pub fever_muscle_pain: Option<bool>,
    /// `healthy`, `symptomatic` or `COVID-19` (self-reported).
    pub status: Option<String>,
    /// The publisher's cough-detection probability.
    pub cough_detected: Option<f64>,
    /// The first expert annotation, where one exists.
    pub expert: Option<CoughVidExpert>,
}

/// One CoughVID expert's annotation.
#[derive(Debug, Clone, Serialize)]
pub struct CoughVidExpert {
    pub quality: Option<String>,
    pub cough_type: Option<String>,
    pub diagnosis: Option<String>,
    pub severity: Option<String>,
    /// Audible signs marked present (`dyspnea`, `wheezing`, `stridor`, `choking`, `congestion`).
    pub signs: Vec<String>,
}

/// Coswara: one participant's recording of one sound type.
#[derive(Debug, Clone, Serialize)]
pub struct CoswaraMeta {
    pub age: Option<f64>,
    pub sex: Option<String>,
    pub covid_status: Option<String>,
    /// COVID test: `p`, `n` or `na`.
    pub test_status: Option<String>,
    pub smoker: Option<bool>,
    /// Symptoms ticked (`cough`, `fever`…).
    pub symptoms: Vec<String>,
    /// Conditions ticked (`asthma`, `diabetes`…).
    pub conditions: Vec<String>,
    pub country: Option<String>,
    /// The publisher's quality annotation of this audio file (0 unusable, 1 fine, 2 excellent).
    pub quality: Option<u8>,
}

/// UK COVID-19 Vocal Audio: one participant's recording of one sound type.
#[derive(Debug, Clone, Serialize)]
pub struct UkCovidMeta {
    /// An age band (`45-54`).
    pub age: Option<String>,
    pub gender: Option<String>,
    pub smoker_status: Option<String>,
    /// `Positive` or `Negative`.
    pub covid_test_result: Option<String>,
    pub asthma: Option<bool>,
    pub other_respiratory_condition: Option<bool>,
    /// Symptoms flagged (`new continuous cough`…).
    pub symptoms: Vec<String>,
}

/// Respiratory@TR: one of a patient's twelve auscultation channels.
#[derive(Debug, Clone, Serialize)]
pub struct RespTrMeta {
    /// `COPD0` … `COPD4`.
    pub diagnosis: String,
    /// `L1` … `R6`.
    pub channel: String,
    /// The channel's position in words.
    pub location: String,
}

/// SSBPR: one snoring episode.
#[derive(Debug, Clone, Serialize)]
pub struct SsbprMeta {
    pub sex: Option<String>,
    /// Body position in words.
    pub position: String,
}

/// MMLung: one participant's phone recording with their spirometry.
#[derive(Debug, Clone, Serialize)]
pub struct MmLungMeta {
    /// Litres.
    pub fvc: Option<f64>,
    /// Litres.
    pub fev1: Option<f64>,
    /// Ratio (as the spirometer reports it).
    pub fev1_fvc: Option<f64>,
}

/// NoseMic: one nose-mounted microphone segment.
#[derive(Debug, Clone, Serialize)]
pub struct NoseMicMeta {
    /// Breaths per minute.
    pub respiratory_rate: f64,
    /// The two middle fields of the file name (their meaning is not published).
    pub session: String,
    pub part: String,
}

/// One CirCor murmur description (systolic or diastolic).
#[derive(Debug, Clone, Default, Serialize)]
pub struct MurmurDesc {
    pub timing: Option<String>,
    pub shape: Option<String>,
    pub grading: Option<String>,
    pub pitch: Option<String>,
    pub quality: Option<String>,
}

/// CirCor DigiScope: one heart-sound recording at one auscultation site.
#[derive(Debug, Clone, Serialize)]
pub struct CirCorMeta {
    /// `AV`, `PV`, `TV`, `MV` or `Phc`.
    pub location: String,
    /// Age group (`Child`…).
    pub age: Option<String>,
    pub sex: Option<String>,
    pub height_cm: Option<f64>,
    pub weight_kg: Option<f64>,
    pub pregnant: Option<bool>,
    /// `Present`, `Absent` or `Unknown` (patient level).
    pub murmur: Option<String>,
    pub murmur_locations: Vec<String>,
    pub most_audible_location: Option<String>,
    pub systolic: MurmurDesc,
    pub diastolic: MurmurDesc,
    /// `Normal` or `Abnormal`.
    pub outcome: Option<String>,
    pub campaign: Option<String>,
}

/// The CC0 `covid19-cough` set: one induced cough.
#[derive(Debug, Clone, Serialize)]
pub struct Covid19CoughMeta {
    pub covid19: bool,
    /// PCR-verified by the laboratory (true) or self-reported (false).
    pub verified: Option<bool>,
    pub asymptomatic: Option<bool>,
    /// `call-center` or `telegram`.
    pub source: String,
    /// Free text from the collectors (mostly empty, some Russian).
    pub comment: Option<String>,
}

fn push<T: std::fmt::Display>(out: &mut Vec<(String, String)>, key: &str, v: &Option<T>) {
    if let Some(v) = v {
        out.push((key.to_string(), v.to_string()));
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "Yes"
    } else {
        "No"
    }
}

fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e9 {
        format!("{v:.0}")
    } else {
        format!("{}", (v * 100.0).round() / 100.0)
    }
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "None".into()
    } else {
        v.join(", ")
    }
}

impl Metadata {
    /// The metadata as ordered `(key, value)` pairs; absent values are left out.
    pub fn fields(&self) -> Vec<(String, String)> {
        let mut o = Vec::new();
        match self {
            Metadata::Icbhi(m) => {
                push(&mut o, "Diagnosis", &m.diagnosis);
                push(&mut o, "Age", &m.age.map(num));
                push(&mut o, "Sex", &m.sex);
                push(&mut o, "Adult BMI", &m.adult_bmi.map(num));
                push(&mut o, "Child weight (kg)", &m.child_weight_kg.map(num));
                push(&mut o, "Child height (cm)", &m.child_height_cm.map(num));
                o.push((
                    "Chest location".into(),
                    icbhi_location(&m.chest_location).to_string(),
                ));
                o.push(("Device".into(), icbhi_device(&m.device).to_string()));
                o.push(("Breathing cycles".into(), m.cycles.to_string()));
                o.push((
                    "Cycles with crackles".into(),
                    m.cycles_with_crackles.to_string(),
                ));
                o.push((
                    "Cycles with wheezes".into(),
                    m.cycles_with_wheezes.to_string(),
                ));
            }
            Metadata::Kauh(m) => {
                o.push(("Diagnosis".into(), kauh_diagnosis(&m.diagnosis)));
                o.push(("Lung sounds".into(), list(&m.sounds)));
                o.push(("Location".into(), m.location.clone()));
                push(&mut o, "Age", &m.age.map(num));
                push(&mut o, "Sex", &m.sex);
                o.push(("Stethoscope filter".into(), m.filter.clone()));
            }
            Metadata::CoughVid(m) => {
                push(&mut o, "Age", &m.age.map(num));
                push(&mut o, "Gender", &m.gender);
                push(
                    &mut o,
                    "Respiratory condition",
                    &m.respiratory_condition.map(yes_no),
                );
                push(
                    &mut o,
                    "Fever or muscle pain",
                    &m.fever_muscle_pain.map(yes_no),
                );
                push(&mut o, "Status", &m.status);
                if let Some(e) = &m.expert {
                    push(&mut o, "Cough type", &e.cough_type);
                    push(&mut o, "Expert diagnosis", &e.diagnosis);
                    push(&mut o, "Severity", &e.severity);
                    if !e.signs.is_empty() {
                        o.push(("Audible signs".into(), e.signs.join(", ")));
                    }
                }
            }
            Metadata::Coswara(m) => {
                push(&mut o, "Age", &m.age.map(num));
                push(&mut o, "Sex", &m.sex);
                push(
                    &mut o,
                    "COVID-19 status",
                    &m.covid_status.as_deref().map(coswara_status),
                );
                push(&mut o, "COVID-19 test", &m.test_status.as_deref().map(test));
                push(&mut o, "Smoker", &m.smoker.map(yes_no));
                o.push(("Symptoms".into(), list(&m.symptoms)));
                o.push(("Conditions".into(), list(&m.conditions)));
            }
            Metadata::UkCovid(m) => {
                push(&mut o, "Age", &m.age);
                push(&mut o, "Gender", &m.gender);
                push(&mut o, "Smoking", &m.smoker_status);
                push(&mut o, "COVID-19 test", &m.covid_test_result);
                push(&mut o, "Asthma", &m.asthma.map(yes_no));
                push(
                    &mut o,
                    "Other respiratory condition",
                    &m.other_respiratory_condition.map(yes_no),
                );
                o.push(("Symptoms".into(), list(&m.symptoms)));
            }
            Metadata::RespTr(m) => {
                o.push(("Diagnosis".into(), m.diagnosis.clone()));
                o.push(("Location".into(), m.location.clone()));
            }
            Metadata::Ssbpr(m) => {
                push(&mut o, "Sex", &m.sex);
                o.push(("Body position".into(), m.position.clone()));
            }
            Metadata::MmLung(m) => {
                push(&mut o, "FVC (L)", &m.fvc.map(num));
                push(&mut o, "FEV1 (L)", &m.fev1.map(num));
                push(&mut o, "FEV1/FVC", &m.fev1_fvc.map(num));
            }
            Metadata::NoseMic(m) => {
                o.push((
                    "Respiratory rate (breaths/min)".into(),
                    num(m.respiratory_rate),
                ));
            }
            Metadata::CirCor(m) => {
                o.push(("Recording location".into(), m.location.clone()));
                push(&mut o, "Age", &m.age);
                push(&mut o, "Sex", &m.sex);
                push(&mut o, "Height (cm)", &m.height_cm.map(num));
                push(&mut o, "Weight (kg)", &m.weight_kg.map(num));
                if m.pregnant == Some(true) {
                    o.push(("Pregnant".into(), "Yes".into()));
                }
                push(&mut o, "Murmur", &m.murmur);
                if !m.murmur_locations.is_empty() {
                    o.push(("Murmur locations".into(), m.murmur_locations.join(", ")));
                }
                push(&mut o, "Most audible location", &m.most_audible_location);
                for (name, d) in [("Systolic", &m.systolic), ("Diastolic", &m.diastolic)] {
                    push(&mut o, &format!("{name} murmur timing"), &d.timing);
                    push(&mut o, &format!("{name} murmur shape"), &d.shape);
                    push(&mut o, &format!("{name} murmur grading"), &d.grading);
                    push(&mut o, &format!("{name} murmur pitch"), &d.pitch);
                    push(&mut o, &format!("{name} murmur quality"), &d.quality);
                }
                push(&mut o, "Outcome", &m.outcome);
            }
            Metadata::Covid19Cough(m) => {
                o.push((
                    "COVID-19".into(),
                    if m.covid19 { "Positive" } else { "Negative" }.into(),
                ));
                push(
                    &mut o,
                    "Verified",
                    &m.verified.map(|v| {
                        if v {
                            "PCR (laboratory)"
                        } else {
                            "self-reported"
                        }
                    }),
                );
                if m.covid19 {
                    push(&mut o, "Asymptomatic", &m.asymptomatic.map(yes_no));
                }
                o.push((
                    "Recorded by".into(),
                    match m.source.as_str() {
                        "call-center" => "telephone call centre".into(),
                        "telegram" => "messenger bot".into(),
                        s => s.to_string(),
                    },
                ));
                push(&mut o, "Comment", &m.comment);
            }
        }
        o
    }

    /// Fields that say how a recording was made and vary within a dataset, so they can stand in for
    /// the label where acquisition and label are confounded (the covid19-cough channel, the ICBHI
    /// stethoscope model, the KAUH filter).
    pub const ACQUISITION_FIELDS: [&'static str; 3] =
        ["Recorded by", "Device", "Stethoscope filter"];

    /// The fields as one line: `Key: value, Key: value`; without [`Self::ACQUISITION_FIELDS`] unless
    /// `acquisition`.
    pub fn meta_line(&self, acquisition: bool) -> String {
        self.fields()
            .iter()
            .filter(|(k, _)| acquisition || !Self::ACQUISITION_FIELDS.contains(&k.as_str()))
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Coswara's `covid_status` codes in words.
fn coswara_status(s: &str) -> String {
    match s {
        "positive_mild" => "positive (mild)".into(),
        "positive_moderate" => "positive (moderate)".into(),
        "positive_asymp" => "positive (asymptomatic)".into(),
        "recovered_full" => "fully recovered".into(),
        "no_resp_illness_exposed" => "exposed, no respiratory illness".into(),
        "resp_illness_not_identified" => "respiratory illness, not identified as COVID-19".into(),
        other => other.replace('_', " "),
    }
}

fn test(s: &str) -> &'static str {
    match s {
        "p" => "positive",
        "n" => "negative",
        _ => "not taken",
    }
}

/// ICBHI chest-location codes in words (the database's filename_format.txt).
pub fn icbhi_location(code: &str) -> &'static str {
    match code {
        "Tc" => "trachea",
        "Al" => "anterior left chest",
        "Ar" => "anterior right chest",
        "Pl" => "posterior left chest",
        "Pr" => "posterior right chest",
        "Ll" => "lateral left chest",
        "Lr" => "lateral right chest",
        _ => "unknown location",
    }
}

/// ICBHI device codes in words.
pub fn icbhi_device(code: &str) -> &'static str {
    match code {
        "AKGC417L" => "AKG C417L microphone",
        "LittC2SE" => "3M Littmann Classic II SE stethoscope",
        "Litt3200" => "3M Littmann 3200 electronic stethoscope",
        "Meditron" => "WelchAllyn Meditron electronic stethoscope",
        _ => "unknown device",
    }
}

/// KAUH diagnosis spellings normalised (`BRON` → bronchiectasis, `N` → normal, case and spaces tidied).
pub fn kauh_diagnosis(raw: &str) -> String {
    let t = raw.trim();
    match t.to_ascii_lowercase().as_str() {
        "n" => "Normal".into(),
        "bron" => "Bronchiectasis".into(),
        "copd" => "COPD".into(),
        "plueral effusion" => "Pleural effusion".into(),
        _ => {
            let s = t.replace("Plueral", "Pleural").replace("copd", "COPD");
            let mut c = s.chars();
            match c.next() {
                Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                None => s,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn circor_line_reads_like_the_paper_example() {
        let m = Metadata::CirCor(CirCorMeta {
            location: "TV".into(),
            age: Some("Child".into()),
            sex: None,
            height_cm: None,
            weight_kg: None,
            pregnant: Some(false),
            murmur: Some("Present".into()),
            murmur_locations: vec!["TV".into()],
            most_audible_location: None,
            systolic: MurmurDesc {
                grading: Some("III/VI".into()),
                pitch: Some("High".into()),
                quality: Some("Harsh".into()),
                ..Default::default()
            },
            diastolic: MurmurDesc::default(),
            outcome: Some("Abnormal".into()),
            campaign: None,
        });
        assert_eq!(
            m.meta_line(true),
            "Recording location: TV, Age: Child, Murmur: Present, Murmur locations: TV, \
             Systolic murmur grading: III/VI, Systolic murmur pitch: High, Systolic murmur quality: Harsh, \
             Outcome: Abnormal"
        );
    }

    #[test]
    fn kauh_spellings_are_normalised() {
        assert_eq!(kauh_diagnosis("N"), "Normal");
        assert_eq!(kauh_diagnosis("copd"), "COPD");
        assert_eq!(kauh_diagnosis("heart failure"), "Heart failure");
        assert_eq!(kauh_diagnosis("Plueral Effusion"), "Pleural effusion");
        assert_eq!(
            kauh_diagnosis("Heart Failure + Lung Fibrosis "),
            "Heart Failure + Lung Fibrosis"
        );
    }
}

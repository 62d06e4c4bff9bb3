//! What the committed default bundle says about trust, through `acula predict --json` as a user runs
//! it on the bundle's own example recordings (real coughs and real KAUH lung sounds, in the
//! repository): a cough claimed as a heart sound is "unfamiliar" and gets no murmur score; the same
//! cough claimed as a cough gets a calibrated COVID-19 score with the within-channel AUROCs; tasks
//! trained on synthetic sounds only are marked as research tasks; the text output says "estimated
//! probability" only for calibrated scores.

use std::path::PathBuf;

use super::{acula, root};

fn bundle() -> PathBuf {
    root().join("www/models/default")
}

fn predict(file: &str, kind: &str, json: bool) -> (serde_json::Value, String) {
    let mut c = acula();
    c.arg("predict")
        .arg(bundle().join(file))
        .arg("--bundle")
        .arg(bundle())
        .args(["--recording", kind]);
    if json {
        c.arg("--json");
    }
    let o = c.output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    let v = if json {
        serde_json::from_str(&stdout).unwrap()
    } else {
        serde_json::Value::Null
    };
    (v, stdout)
}

#[test]
fn a_cough_claimed_as_a_heart_sound_is_unfamiliar_and_gets_no_score() {
    for example in ["example-1.mp3", "example-4.mp3"] {
        let (v, _) = predict(example, "heart", true);
        let o = &v[0];
        assert_eq!(o["verdict"], "unfamiliar", "{o}");
        assert!(o["scores"].as_object().unwrap().is_empty(), "{o}");
        let msg = o["message"].as_str().unwrap();
        assert!(msg.contains("unlike the heart recordings"), "{msg}");
        // The murmur task was trained on synthetic heart sounds only, and the message says so.
        assert!(msg.contains("synthetic"), "{msg}");
        assert_eq!(o["familiarity"][0]["research_only"], true);
        let f = &o["familiarity"][0];
        assert_eq!(f["recording"], "heart");
        assert_eq!(f["familiar"], false);
        assert!(f["distance"].as_f64().unwrap() > f["threshold"].as_f64().unwrap());
        // The similar reports are still there.
        assert_eq!(o["reports"].as_array().unwrap().len(), 3);
    }
}

#[test]
fn a_cough_claimed_as_a_cough_gets_a_calibrated_score_with_channel_aurocs() {
    let (v, _) = predict("example-1.mp3", "cough", true);
    let o = &v[0];
    assert_eq!(o["verdict"], "ok", "{o}");
    let s = &o["scores"]["covid19_cough"];
    assert_eq!(s["calibrated"], true, "{s}");
    assert_eq!(s["research"], false);
    let score = s["score"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&score));
    let [lo, hi] = [0, 1].map(|i| s["test_interval"][i].as_f64().unwrap());
    let auroc = s["test_auroc"].as_f64().unwrap();
    assert!(lo < auroc && auroc < hi, "{s}");
    let groups = s["test_auroc_by_group"].as_object().unwrap();
    assert!(groups.contains_key("telephone call centre") && groups.contains_key("messenger bot"));
    let (_, text) = predict("example-1.mp3", "cough", false);
    assert!(text.contains("estimated probability"), "{text}");
    assert!(
        text.contains("within recording channel: messenger bot"),
        "{text}"
    );
}

#[test]
fn synthetic_only_tasks_are_marked_as_research_tasks() {
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle().join("manifest.json")).unwrap()).unwrap();
    // Every lung example either is refused as unfamiliar or scored and marked as research.
    for example in ["example-5.wav", "example-6.wav"] {
        let (v, text) = predict(example, "lung", true);
        let o = &v[0];
        match o["verdict"].as_str().unwrap() {
            "unfamiliar" => assert!(o["scores"].as_object().unwrap().is_empty()),
            "ok" => {
                let s = &o["scores"]["copd_lung_sounds"];
                assert_eq!(s["research"], true, "{o}");
                assert_eq!(s["synthetic"], true, "{o}");
                let (_, text) = predict(example, "lung", false);
                assert!(text.contains("research task"), "{text}");
            }
            other => panic!("{example}: verdict {other}: {text}"),
        }
    }
    let tasks = m["tasks"].as_array().unwrap();
    assert!(tasks
        .iter()
        .filter(|t| t["synthetic"] == true)
        .all(|t| t["recording"] != "cough"));
}

use acula_core::audio::{self, DecodeLimits};
use acula_core::{FrontEnd, FrontEndConfig};
use std::time::Instant;
fn main() {
    let bytes = std::fs::read("target/bench-clips/clip_44100.wav").unwrap();
    let fe = FrontEnd::new(FrontEndConfig::default()).unwrap();
    let (mut a, mut b, mut c) = (0.0, 0.0, 0.0);
    let n = 20;
    for _ in 0..n {
        let t = Instant::now();
        let d = audio::decode(&bytes, Some("wav"), &DecodeLimits::default()).unwrap();
        let t1 = t.elapsed();
        let r = audio::resample(&d.samples, 44100, 16000).unwrap();
        let t2 = t.elapsed();
        let _f = fe.log_mel(&r).unwrap();
        let t3 = t.elapsed();
        a += t1.as_secs_f64();
        b += (t2 - t1).as_secs_f64();
        c += (t3 - t2).as_secs_f64();
    }
    println!(
        "decode {:.2} ms resample {:.2} ms logmel {:.2} ms",
        a * 1e3 / n as f64,
        b * 1e3 / n as f64,
        c * 1e3 / n as f64
    );
}

//! End-to-end tests of the `acula` binary: unusual but valid files work, bad input fails with one line
//! and exit code 1 without writing anything, and the flags do what they say. Real recordings from
//! `../shared/data` are used where present (without them the test prints `SKIPPED <test>: …` and passes).

mod bundle;
mod datasets;
mod eval_cli;
mod events;
mod train;
mod trust;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn acula() -> Command {
    Command::new(env!("CARGO_BIN_EXE_acula"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn data() -> PathBuf {
    root().join("../shared/data")
}

/// Prints `SKIPPED <test>: <why>` to the process's stderr, past the test harness's capture, so that a
/// plain `cargo test` shows which tests did not run.
fn skip(test: &str, why: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

/// A little-endian `.npy` float32 reader (shape and values).
fn read_npy(path: &Path) -> (Vec<usize>, Vec<f32>) {
    let b = std::fs::read(path).expect("npy written");
    assert_eq!(&b[..8], b"\x93NUMPY\x01\x00");
    let hlen = u16::from_le_bytes([b[8], b[9]]) as usize;
    let header = std::str::from_utf8(&b[10..10 + hlen]).unwrap();
    let shape_txt = header
        .split("'shape': (")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap();
    let shape: Vec<usize> = shape_txt
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let data = b[10 + hlen..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    (shape, data)
}

/// WAV bytes: `tag` 1 = integer PCM, 3 = float, 0xFFFE = extensible (with `sub` as the real tag).
struct Wav {
    tag: u16,
    sub: u16,
    channels: u16,
    rate: u32,
    bits: u16,
    list_chunk: bool,
}

impl Wav {
    fn pcm(channels: u16, rate: u32, bits: u16) -> Self {
        Self {
            tag: 1,
            sub: 1,
            channels,
            rate,
            bits,
            list_chunk: false,
        }
    }
    fn float(channels: u16, rate: u32, bits: u16) -> Self {
        Self {
            tag: 3,
            sub: 3,
            channels,
            rate,
            bits,
            list_chunk: false,
        }
    }
    /// Encodes `frames[t][c]` (values in [-1, 1]).
    fn bytes(&self, frames: &[Vec<f64>]) -> Vec<u8> {
        let mut data = Vec::new();
        let real_tag = if self.tag == 0xFFFE {
            self.sub
        } else {
            self.tag
        };
        for frame in frames {
            for &v in frame {
                match (real_tag, self.bits) {
                    (1, 8) => data.push(((v * 127.0).round() as i16 + 128) as u8),
                    (1, 16) => data.extend_from_slice(&((v * 32_767.0) as i16).to_le_bytes()),
                    (1, 24) => {
                        data.extend_from_slice(&((v * 8_388_607.0) as i32).to_le_bytes()[..3])
                    }
                    (1, 32) => {
                        data.extend_from_slice(&((v * 2_147_483_647.0) as i32).to_le_bytes())
                    }
                    (3, 32) => data.extend_from_slice(&(v as f32).to_le_bytes()),
                    (3, 64) => data.extend_from_slice(&v.to_le_bytes()),
                    _ => data.extend_from_slice(&0u16.to_le_bytes()),
                }
            }
        }
        let block = self.channels.max(1) * self.bits.div_ceil(8);
        let mut fmt = Vec::new();
        fmt.extend_from_slice(&self.tag.to_le_bytes());
        fmt.extend_from_slice(&self.channels.to_le_bytes());
        fmt.extend_from_slice(&self.rate.to_le_bytes());
        fmt.extend_from_slice(&self.rate.wrapping_mul(u32::from(block)).to_le_bytes());
        fmt.extend_from_slice(&block.to_le_bytes());
        fmt.extend_from_slice(&self.bits.to_le_bytes());
        if self.tag == 0xFFFE {
            fmt.extend_from_slice(&22u16.to_le_bytes());
            fmt.extend_from_slice(&self.bits.to_le_bytes());
            fmt.extend_from_slice(&0u32.to_le_bytes());
            fmt.extend_from_slice(&self.sub.to_le_bytes());
            fmt.extend_from_slice(&[
                0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
            ]);
        }
        let mut b = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
        b.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
        b.extend_from_slice(&fmt);
        if self.list_chunk {
            b.extend_from_slice(b"LIST");
            b.extend_from_slice(&13u32.to_le_bytes());
            b.extend_from_slice(b"INFOISFT\x01\0\0\0x"); // 13 bytes (odd) + 1 pad byte
            b.push(0);
        }
        b.extend_from_slice(b"data");
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        b.extend_from_slice(&data);
        let riff = (b.len() - 8) as u32;
        b[4..8].copy_from_slice(&riff.to_le_bytes());
        b
    }
}

/// `seconds` of a chirp with a noise burst on each of `channels` channels (channel c scaled by 1/(c+1)).
fn signal(channels: usize, rate: u32, seconds: f64) -> Vec<Vec<f64>> {
    let n = (seconds * f64::from(rate)) as usize;
    let mut state = 12_345u64;
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let noise = ((state >> 33) as f64 / (1u64 << 31) as f64 - 0.5)
                * if t > 0.3 && t < 0.5 { 0.6 } else { 0.0 };
            let v = 0.4 * (2.0 * std::f64::consts::PI * (200.0 * t + 900.0 * t * t)).sin() + noise;
            (0..channels).map(|c| v / (c + 1) as f64).collect()
        })
        .collect()
}

struct Run {
    out: Output,
    npy: PathBuf,
    _dir: tempfile::TempDir,
}

impl Run {
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
}

fn run_on(bytes: &[u8], name: &str, flags: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join(name);
    std::fs::write(&input, bytes).unwrap();
    run_path(&input, flags, dir)
}

fn run_path(input: &Path, flags: &[&str], dir: tempfile::TempDir) -> Run {
    let npy = dir.path().join("out.npy");
    let out = acula()
        .arg("features")
        .arg(input)
        .arg("--out")
        .arg(&npy)
        .args(flags)
        .output()
        .unwrap();
    Run {
        out,
        npy,
        _dir: dir,
    }
}

/// Asserts success and a well-formed (frames, 64) matrix scaled to [0, 1]; returns it.
fn ok(run: &Run) -> (Vec<usize>, Vec<f32>) {
    assert!(run.out.status.success(), "acula failed: {}", run.stderr());
    let (shape, data) = read_npy(&run.npy);
    assert_eq!(*shape.last().unwrap(), 64);
    assert_eq!(data.len(), shape.iter().product::<usize>());
    let lo = data.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = data.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    assert!(lo >= 0.0 && hi <= 1.0 && hi > lo, "values in [{lo}, {hi}]");
    (shape, data)
}

/// Asserts a one-line error mentioning `needle`, exit code `code`, and no output file.
fn fails(run: &Run, code: i32, needle: &str) {
    let err = run.stderr();
    assert_eq!(run.out.status.code(), Some(code), "stderr: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line expected, got: {err}"
    );
    assert!(err.starts_with("error: "), "{err}");
    assert!(
        err.to_lowercase().contains(&needle.to_lowercase()),
        "expected '{needle}' in: {err}"
    );
    assert!(!run.npy.exists(), "nothing may be written on failure");
    let leftovers: Vec<_> = std::fs::read_dir(run.npy.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".acula-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
}

/// 1 + floor(len16k / 512) frames, where len16k = ceil(n · 16000 / rate).
fn expected_frames(n: usize, rate: u32) -> usize {
    let len = (n as u64 * 16_000).div_ceil(u64::from(rate)) as usize;
    1 + len / 512
}

#[test]
fn unusual_but_valid_wavs_work() {
    let cases: Vec<(&str, Wav, f64)> = vec![
        ("6ch_96k_24bit", Wav::pcm(6, 96_000, 24), 1.0),
        ("8bit_8k", Wav::pcm(1, 8_000, 8), 1.5),
        ("f64_22050", Wav::float(1, 22_050, 64), 1.2),
        ("f32_16k", Wav::float(1, 16_000, 32), 1.0),
        ("stereo_16bit_44100", Wav::pcm(2, 44_100, 16), 1.0),
        ("s32_48k", Wav::pcm(1, 48_000, 32), 0.7),
        (
            "extensible_s24_list",
            Wav {
                tag: 0xFFFE,
                sub: 1,
                channels: 2,
                rate: 48_000,
                bits: 24,
                list_chunk: true,
            },
            1.0,
        ),
        (
            "extensible_f32",
            Wav {
                tag: 0xFFFE,
                sub: 3,
                channels: 4,
                rate: 32_000,
                bits: 32,
                list_chunk: false,
            },
            0.8,
        ),
    ];
    for (name, wav, seconds) in cases {
        let frames = signal(usize::from(wav.channels), wav.rate, seconds);
        let run = run_on(&wav.bytes(&frames), &format!("{name}.wav"), &[]);
        let (shape, _) = ok(&run);
        assert_eq!(
            shape,
            vec![expected_frames(frames.len(), wav.rate), 64],
            "{name}"
        );
    }
}

#[test]
fn stereo_with_equal_channels_equals_mono() {
    let mono = signal(1, 16_000, 1.0);
    let stereo: Vec<Vec<f64>> = mono.iter().map(|f| vec![f[0], f[0]]).collect();
    let a = ok(&run_on(
        &Wav::float(1, 16_000, 32).bytes(&mono),
        "m.wav",
        &[],
    ));
    let b = ok(&run_on(
        &Wav::float(2, 16_000, 32).bytes(&stereo),
        "s.wav",
        &[],
    ));
    assert_eq!(a, b);
}

#[test]
fn flac_ogg_and_m4a_fixtures_work() {
    // tests/fixtures/make.py: 2.5 s of a real CC0 cough: FLAC 44.1 kHz stereo, Ogg Vorbis 22.05 kHz, AAC/M4A.
    let fixtures = root().join("tests/fixtures");
    let flac = ok(&run_path(
        &fixtures.join("cough-44k-stereo.flac"),
        &[],
        tempfile::tempdir().unwrap(),
    ));
    assert_eq!(flac.0, vec![expected_frames(110_250, 44_100), 64]);
    let ogg = ok(&run_path(
        &fixtures.join("cough-22k.ogg"),
        &[],
        tempfile::tempdir().unwrap(),
    ));
    // Vorbis may pad the last packet: allow one frame.
    assert!(
        ogg.0[0].abs_diff(expected_frames(55_125, 22_050)) <= 1,
        "{:?}",
        ogg.0
    );
}

#[test]
fn real_recordings_work() {
    let coughs = data().join("covid19-cough/raw");
    let kauh = data().join("kauh-subset/Audio Files");
    if !coughs.is_dir() || !kauh.is_dir() {
        let why = format!(
            "{} or {} is absent (the real datasets; see ../shared/data/README.md)",
            coughs.display(),
            kauh.display()
        );
        skip("real_recordings_work", &why);
        return;
    }
    let mut mp3s: Vec<_> = std::fs::read_dir(&coughs)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    mp3s.sort();
    for mp3 in mp3s.iter().take(5) {
        ok(&run_path(mp3, &[], tempfile::tempdir().unwrap()));
    }
    let mut wavs: Vec<_> = std::fs::read_dir(&kauh)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    wavs.sort();
    let (shape, _) = ok(&run_path(&wavs[0], &[], tempfile::tempdir().unwrap()));
    assert!(shape[0] > 100, "KAUH recordings last several seconds");
}

#[test]
fn flags_trim_pad_chunk() {
    // 0.5 s silence + 1 s sound + 0.5 s silence at 16 kHz
    let mut frames = vec![vec![0.0]; 8_000];
    frames.extend(signal(1, 16_000, 1.0));
    frames.extend(vec![vec![0.0]; 8_000]);
    let bytes = Wav::float(1, 16_000, 32).bytes(&frames);
    let plain = ok(&run_on(&bytes, "a.wav", &[]));
    assert_eq!(plain.0, vec![1 + 32_000 / 512, 64]);
    let trimmed = ok(&run_on(&bytes, "a.wav", &["--trim"]));
    assert!(
        trimmed.0[0] < plain.0[0] && trimmed.0[0] > 16_000 / 512,
        "{:?}",
        trimmed.0
    );
    let padded = ok(&run_on(&bytes, "a.wav", &["--pad"]));
    assert_eq!(padded.0, vec![256, 64]);
    let chunked = ok(&run_on(&bytes, "a.wav", &["--chunk"]));
    assert_eq!(chunked.0, vec![1, 256, 64]);
    // 20 s → 626 frames → chunks 256 + 256 + 114
    let long = signal(1, 16_000, 20.0);
    let chunked = ok(&run_on(
        &Wav::float(1, 16_000, 32).bytes(&long),
        "l.wav",
        &["--chunk"],
    ));
    assert_eq!(chunked.0, vec![3, 256, 64]);
}

#[test]
fn bad_input_fails_cleanly() {
    let good = Wav::pcm(1, 16_000, 16).bytes(&signal(1, 16_000, 0.5));
    let random: Vec<u8> = (0..5_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let silent = Wav::pcm(1, 16_000, 16).bytes(&vec![vec![0.0]; 16_000]);
    let dc = Wav::float(1, 16_000, 32).bytes(&vec![vec![0.25]; 16_000]);
    let mut nan = signal(1, 16_000, 0.5);
    nan[100][0] = f64::NAN;
    let mut inf = signal(1, 16_000, 0.5);
    inf[7][0] = f64::INFINITY;
    let unknown_codec = Wav {
        tag: 0x1234,
        sub: 0,
        channels: 1,
        rate: 16_000,
        bits: 16,
        list_chunk: false,
    }
    .bytes(&signal(1, 16_000, 0.1));
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.wav", vec![], "empty"),
        ("header_only.wav", good[..12].to_vec(), "no format chunk"),
        ("cut_in_fmt.wav", good[..30].to_vec(), "cut short"),
        (
            "cut_before_first_frame.wav",
            good[..44].to_vec(),
            "no audio samples",
        ),
        ("random.wav", random.clone(), "not a recognised audio file"),
        ("random.mp3", random.clone(), "not a recognised audio file"),
        ("random.flac", random, "not a recognised audio file"),
        ("unknown_codec.wav", unknown_codec, "not supported"),
        (
            "zero_rate.wav",
            Wav::pcm(1, 0, 16).bytes(&signal(1, 16_000, 0.1)),
            "sample rate of 0 Hz",
        ),
        (
            "absurd_rate.wav",
            Wav::pcm(1, 4_000_000_000, 16).bytes(&signal(1, 16_000, 0.1)),
            "sample rate of 4000000000 Hz",
        ),
        (
            "zero_channels.wav",
            Wav::pcm(0, 16_000, 16).bytes(&[vec![0.1]]),
            "0 audio channels",
        ),
        (
            "absurd_channels.wav",
            Wav::pcm(1000, 16_000, 16).bytes(&[vec![0.1; 1000]]),
            "1000 audio channels",
        ),
        (
            "nan.wav",
            Wav::float(1, 16_000, 32).bytes(&nan),
            "NaN or infinite",
        ),
        (
            "inf.wav",
            Wav::float(1, 16_000, 64).bytes(&inf),
            "NaN or infinite",
        ),
        ("silent.wav", silent, "constant"),
        ("dc.wav", dc, "constant"),
    ];
    for (name, bytes, needle) in cases {
        let run = run_on(&bytes, name, &[]);
        fails(&run, 1, needle);
    }
}

#[test]
fn existing_output_is_kept_on_failure() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bad.wav");
    std::fs::write(&input, b"RIFF").unwrap();
    let npy = dir.path().join("out.npy");
    std::fs::write(&npy, b"precious").unwrap();
    let out = acula()
        .arg("features")
        .arg(&input)
        .arg("--out")
        .arg(&npy)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(std::fs::read(&npy).unwrap(), b"precious");
}

#[test]
fn paths_that_are_not_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = acula()
        .arg("features")
        .arg(dir.path())
        .arg("--out")
        .arg(dir.path().join("o.npy"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let out = acula()
        .arg("features")
        .arg(dir.path().join("missing.wav"))
        .arg("--out")
        .arg(dir.path().join("o.npy"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open"));
    // output folder that does not exist → exit 3
    let wav = dir.path().join("a.wav");
    std::fs::write(&wav, Wav::pcm(1, 16_000, 16).bytes(&signal(1, 16_000, 0.5))).unwrap();
    let out = acula()
        .arg("features")
        .arg(&wav)
        .arg("--out")
        .arg(dir.path().join("no/such/dir/o.npy"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
}

#[test]
fn config_subcommand_prints_and_validates() {
    let out = acula().arg("config").output().unwrap();
    assert!(out.status.success());
    let cfg: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(cfg["n_mels"], 64);
    assert_eq!(cfg["f_max"], 8000.0);
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"f_max": 12000}"#).unwrap();
    let out = acula()
        .arg("config")
        .arg("--config")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("f_max"));
}

#[test]
fn truncated_files_never_crash() {
    // Cut the FLAC and Ogg fixtures (and a WAV) at many points, header and first frames included: each
    // cut either decodes what is there or fails with exit code 1 and one line; never a crash or a hang.
    let fixtures = root().join("tests/fixtures");
    let wav = Wav::pcm(2, 44_100, 24).bytes(&signal(2, 44_100, 0.3));
    let files = [
        (
            "flac",
            std::fs::read(fixtures.join("cough-44k-stereo.flac")).unwrap(),
        ),
        (
            "ogg",
            std::fs::read(fixtures.join("cough-22k.ogg")).unwrap(),
        ),
        ("wav", wav),
    ];
    for (ext, bytes) in &files {
        let cuts = (1..120)
            .map(|i| i * 7)
            .chain((1..20).map(|i| i * bytes.len() / 20));
        for cut in cuts.filter(|&c| c < bytes.len()) {
            let run = run_on(&bytes[..cut], &format!("cut.{ext}"), &[]);
            match run.out.status.code() {
                Some(0) => {
                    ok(&run);
                }
                Some(1) => fails(&run, 1, ""),
                other => panic!(
                    "{ext} cut at {cut}: exit {other:?}, stderr {}",
                    run.stderr()
                ),
            }
        }
    }
}

#[test]
fn huge_and_lying_files_are_refused_or_read_in_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let good = Wav::pcm(1, 16_000, 16).bytes(&signal(1, 16_000, 0.5));

    // A 600 MiB file (sparse: no disk used) is refused before it is read.
    let big = dir.path().join("big.wav");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(600 << 20).unwrap();
    drop(f);
    let run = run_path(&big, &[], tempfile::tempdir().unwrap());
    fails(&run, 1, "files over 512 MiB are refused");
    // The limit is a flag.
    let run = run_on(&good, "small.wav", &["--max-mb", "0"]);
    fails(&run, 1, "files over 0 MiB are refused (raise --max-mb");

    // A device that never ends is cut at the limit, not read for ever.
    if Path::new("/dev/zero").exists() {
        let run = run_path(
            Path::new("/dev/zero"),
            &["--max-mb", "1"],
            tempfile::tempdir().unwrap(),
        );
        fails(&run, 1, "over 1 MiB");
    }

    // A two-hour recording (8 kHz, 16-bit, 115 MB; sparse) is refused by its duration from the header.
    let two_hours = 2 * 3600 * 8_000u32;
    let mut header = Wav::pcm(1, 8_000, 16).bytes(&[]);
    let data_len = two_hours * 2;
    let n = header.len();
    header[n - 4..].copy_from_slice(&data_len.to_le_bytes());
    header[4..8].copy_from_slice(&(data_len + n as u32 - 8).to_le_bytes());
    let long = dir.path().join("two-hours.wav");
    std::fs::write(&long, &header).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&long)
        .unwrap()
        .set_len(n as u64 + u64::from(data_len))
        .unwrap();
    let run = run_path(&long, &[], tempfile::tempdir().unwrap());
    fails(&run, 1, "600 s");

    // A header that claims 4 GB of samples over half a second of real ones: what is there is read.
    let mut lying = good.clone();
    let n = lying.len();
    let data_at = n - 16_000; // 8,000 16-bit samples
    assert_eq!(&lying[data_at - 8..data_at - 4], b"data");
    lying[data_at - 4..data_at].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    lying[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    let honest = ok(&run_on(&good, "honest.wav", &[]));
    let claimed = ok(&run_on(&lying, "lying.wav", &[]));
    assert_eq!(honest, claimed, "the lying header changes nothing");

    // The content decides, not the extension: a WAV named .mp3 gives the same features.
    assert_eq!(ok(&run_on(&good, "named.mp3", &[])), honest);
    // Clipping is not an error for the front end (screening's quality check reports it).
    let clipped: Vec<Vec<f64>> = signal(1, 16_000, 0.5)
        .into_iter()
        .map(|f| vec![(f[0] * 20.0).clamp(-1.0, 1.0)])
        .collect();
    ok(&run_on(
        &Wav::pcm(1, 16_000, 16).bytes(&clipped),
        "clipped.wav",
        &[],
    ));

    // Six channels at 192 kHz (2 s) work and give the frames of 2 s at 16 kHz.
    let six = Wav::pcm(6, 192_000, 16).bytes(&signal(6, 192_000, 2.0));
    let (shape, _) = ok(&run_on(&six, "six.wav", &[]));
    assert_eq!(shape[0], expected_frames(2 * 192_000, 192_000));
}

#[test]
fn features_in_a_batch_equal_one_file_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("nested")).unwrap();
    let files = [
        ("a.wav", 44_100, 1.3),
        ("b.WAV", 16_000, 0.7),
        ("nested/c.wav", 48_000, 2.1),
    ];
    for (name, rate, seconds) in files {
        std::fs::write(
            data.join(name),
            Wav::pcm(1, rate, 16).bytes(&signal(1, rate, seconds)),
        )
        .unwrap();
    }
    std::fs::write(data.join("damaged.wav"), b"RIFF....WAVEjunk").unwrap();
    std::fs::write(data.join("notes.txt"), b"not audio").unwrap();
    // A link back to the folder itself is skipped, not searched without end.
    std::os::unix::fs::symlink(&data, data.join("nested/loop")).unwrap();
    let out_dir = dir.path().join("features");
    let out = acula()
        .arg("features")
        .arg(&data)
        .arg("--out-dir")
        .arg(&out_dir)
        .args(["--jobs", "2"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The damaged file fails on its own line; the others are written; exit 1 says one failed.
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("damaged.wav"), "{stderr}");
    assert!(stderr.contains("1 of 4 files failed"), "{stderr}");
    assert!(!out_dir.join("damaged.npy").exists());
    assert!(!out_dir.join("notes.npy").exists());
    assert!(!out_dir.join("nested/loop").exists());
    for (name, _, _) in files {
        let single = dir.path().join("single.npy");
        let one = acula()
            .arg("features")
            .arg(data.join(name))
            .arg("--out")
            .arg(&single)
            .output()
            .unwrap();
        assert!(
            one.status.success(),
            "{}",
            String::from_utf8_lossy(&one.stderr)
        );
        let batch = out_dir.join(Path::new(name).with_extension("npy"));
        // One thread per file in the batch, all cores for one file: the same bytes.
        assert_eq!(
            std::fs::read(&batch).unwrap(),
            std::fs::read(&single).unwrap(),
            "{name}"
        );
    }
}

#[test]
fn features_batch_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["x", "y"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        std::fs::write(
            dir.path().join(sub).join("same.wav"),
            Wav::pcm(1, 16_000, 16).bytes(&signal(1, 16_000, 0.5)),
        )
        .unwrap();
    }
    let (x, y) = (dir.path().join("x/same.wav"), dir.path().join("y/same.wav"));
    let run = |args: &[&std::ffi::OsStr]| acula().arg("features").args(args).output().unwrap();
    // Two inputs that would write the same file: refused before anything is written.
    let out_dir = dir.path().join("out");
    let out = run(&[
        x.as_os_str(),
        y.as_os_str(),
        "--out-dir".as_ref(),
        out_dir.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("would both be written to"));
    assert!(!out_dir.exists());
    // The same name but for case: one file on macOS and Windows, so refused everywhere.
    let upper = dir.path().join("y/SAME.wav");
    std::fs::rename(&y, &upper).unwrap();
    let out = run(&[
        x.as_os_str(),
        upper.as_os_str(),
        "--out-dir".as_ref(),
        out_dir.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::rename(&upper, &y).unwrap();
    // --out with two files.
    let out = run(&[
        x.as_os_str(),
        y.as_os_str(),
        "--out".as_ref(),
        "o.npy".as_ref(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--out-dir"));
    // A folder without audio files.
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = run(&[empty.as_os_str(), "--out-dir".as_ref(), out_dir.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no audio files"));
    // Neither --out nor --out-dir.
    let out = run(&[x.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
}

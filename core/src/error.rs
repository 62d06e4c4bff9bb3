//! Typed errors for everything a user's input can cause.
//!
//! Every message is one sentence that says what is wrong and, where there is something to do about it,
//! what to do. The CLI prints them as they are; the web page shows them to patients.

use thiserror::Error;

/// Errors from decoding, channel mixing and resampling.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum AudioError {
    /// Zero bytes were given.
    #[error("the file is empty (0 bytes); choose a recording that contains audio")]
    Empty,
    /// No container format recognised the bytes.
    #[error("not a recognised audio file (supported: WAV, FLAC, MP3, Ogg Vorbis, AAC/M4A)")]
    UnknownFormat,
    /// The container holds no audio track.
    #[error("the file contains no audio track")]
    NoAudioTrack,
    /// The container is known but the codec inside is not.
    #[error("the audio codec in this file is not supported ({0}); convert it to WAV or FLAC")]
    UnsupportedCodec(String),
    /// The stream is damaged or truncated before any audio could be read.
    #[error("the file is damaged or truncated: {0}")]
    Malformed(String),
    /// The declared sample rate is zero or outside what a recording can have.
    #[error("the file declares a sample rate of {rate} Hz; supported rates are {min}–{max} Hz")]
    BadSampleRate {
        /// What the file declares.
        rate: u32,
        /// Lowest accepted rate.
        min: u32,
        /// Highest accepted rate.
        max: u32,
    },
    /// The declared channel count is zero or absurd.
    #[error("the file declares {channels} audio channels; supported are 1–{max}")]
    BadChannels {
        /// What the file declares.
        channels: usize,
        /// Most channels accepted.
        max: usize,
    },
    /// The sample rate or channel layout changed in the middle of the stream.
    #[error(
        "the audio format changes in the middle of the file ({0}); export it again as one stream"
    )]
    FormatChanged(String),
    /// Decoding finished without a single sample.
    #[error("the file contains no audio samples (it is empty or cut off before the first sound)")]
    NoSamples,
    /// The decoded samples contain NaN or infinities (a corrupt float file).
    #[error("the audio contains NaN or infinite sample values (first at sample {index}); the file is corrupt")]
    NonFinite {
        /// Index of the first bad value in the mono signal.
        index: usize,
    },
    /// Sample values so far outside [-1, 1] that the signal cannot be real audio (a corrupt float
    /// file); left in, they overflow the resampler's and the spectrogram's arithmetic.
    #[error("the audio has sample values far outside [-1, 1] (first at sample {index}: {value:e}); the file is corrupt")]
    OutOfRange {
        /// Index of the first bad value in the mono signal.
        index: usize,
        /// That value.
        value: f32,
    },
    /// The recording is longer than the configured limit.
    #[error("the recording is longer than the limit of {limit_s} s; cut it into shorter pieces or raise the limit")]
    TooLong {
        /// The limit in seconds.
        limit_s: u32,
    },
    /// The decoder itself failed in an unexpected way (a bug in the decoder, reported instead of crashing).
    #[error("the decoder failed on this file ({0}); the file is probably damaged")]
    DecoderFault(String),
    /// The resampler refused the rates or failed.
    #[error("resampling from {from} Hz to {to} Hz failed: {reason}")]
    Resample {
        /// Source rate.
        from: u32,
        /// Target rate.
        to: u32,
        /// What rubato said.
        reason: String,
    },
}

/// Errors from the log-mel front end.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum FrontEndError {
    /// The configuration is inconsistent.
    #[error("invalid front-end configuration: {0}")]
    Config(String),
    /// Zero samples were given.
    #[error("the signal is empty; there is nothing to analyse")]
    Empty,
    /// The samples contain NaN or infinities.
    #[error("the signal contains NaN or infinite values (first at sample {index})")]
    NonFinite {
        /// Index of the first bad value.
        index: usize,
    },
    /// Every sample has the same value: silence or a pure DC offset.
    #[error("the signal is constant (silence or a DC offset), so it has no spectrum to scale; use a recording with sound in it")]
    ConstantSignal,
    /// The log-mel spectrogram has a single value, so min–max scaling is undefined.
    #[error("the log-mel spectrogram is constant, so per-clip min-max scaling is undefined; use a recording with sound in it")]
    ConstantSpectrogram,
    /// Trimming removed everything.
    #[error("nothing is left after trimming silence; the recording is silent")]
    AllSilent,
    /// The spectrogram would be too large to hold.
    #[error("the spectrogram would have {values} values (limit {limit}); use a shorter recording or a larger hop_length")]
    TooLarge {
        /// Frames × bands asked for.
        values: usize,
        /// The limit.
        limit: usize,
    },
    /// The caller passed audio at another rate than the front end expects.
    #[error("the front end expects {expected} Hz audio but got {got} Hz; resample first")]
    WrongSampleRate {
        /// The configured rate.
        expected: u32,
        /// The rate given.
        got: u32,
    },
}

/// Why a model bundle was refused.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum BundleError {
    /// `manifest.json` is not JSON or misses required fields.
    #[error("the bundle's manifest.json is not valid: {0}")]
    Manifest(String),
    /// Not an acula bundle at all.
    #[error("this is not an acula model bundle (manifest format {0:?}); point to a folder written by `acula export`")]
    NotABundle(String),
    /// A format version this build cannot read.
    #[error("the bundle has format version {found}, but this version of acula reads only version {supported}; export it again with a matching acula, or update acula")]
    Version {
        /// Version in the manifest.
        found: u64,
        /// The version this build reads.
        supported: u32,
    },
    /// A file listed in the manifest was not given.
    #[error("the bundle file {0} is missing; copy the whole bundle folder")]
    MissingFile(String),
    /// A file's bytes do not match the manifest.
    #[error("the bundle file {file} is damaged or was changed (expected {expected_bytes} bytes with sha256 {expected}, got {got_bytes} bytes with sha256 {got}); download or export the bundle again")]
    Checksum {
        /// File name.
        file: String,
        /// sha256 in the manifest.
        expected: String,
        /// sha256 of the given bytes.
        got: String,
        /// Size in the manifest.
        expected_bytes: u64,
        /// Size given.
        got_bytes: u64,
    },
    /// The files agree with their checksums but not with each other or the manifest.
    #[error("the bundle is inconsistent: {0}")]
    Inconsistent(String),
    /// The bundle has no text head (exported before search by description existed).
    #[error("this bundle has no text head, so it cannot search by description or score your own labels; give it one with `acula text-head` or export it again with a current acula")]
    NoText,
    /// The sentence encoder given is not the one the bundle was aligned with.
    #[error("the text encoder file {file} is not the one this bundle was aligned with (expected sha256 {expected}, got {got}); use the bundle's own text encoder ({id})")]
    WrongTextEncoder {
        /// File name (`model.safetensors`).
        file: String,
        /// The teacher id of the bundle.
        id: String,
        /// sha256 in the manifest.
        expected: String,
        /// sha256 of the given file.
        got: String,
    },
}

/// Why a typed text or label list was refused (nothing is run).
#[derive(Debug, Error, Clone, PartialEq)]
pub enum TextInputError {
    /// Nothing but spaces.
    #[error(
        "the text is empty; type a description, e.g. \"expiratory wheezes in an asthmatic child\""
    )]
    EmptyQuery,
    /// Fewer than two labels.
    #[error("give at least two labels separated by commas, e.g. \"wheezes, crackles, normal breath sounds\" (got {got})")]
    TooFewLabels {
        /// How many were given.
        got: usize,
    },
    /// More labels than allowed.
    #[error("{got} labels are too many; give at most {max}")]
    TooManyLabels {
        /// How many were given.
        got: usize,
        /// The limit.
        max: usize,
    },
    /// An empty label (two commas in a row, or one at the end).
    #[error("label {position} is empty; remove the extra comma")]
    EmptyLabel {
        /// 1-based position.
        position: usize,
    },
    /// A label longer than allowed.
    #[error("label {position} is longer than {max} characters; use a few words")]
    LongLabel {
        /// 1-based position.
        position: usize,
        /// The limit.
        max: usize,
    },
    /// The same label twice (ignoring case).
    #[error("the label {0:?} is given twice; give each label once")]
    DuplicateLabel(String),
}

/// Errors from the embedding index.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum RetrievalError {
    /// An index of zero-dimensional embeddings was asked for.
    #[error("an embedding index needs a dimension of at least 1")]
    ZeroDimension,
    /// The flat data is not a whole number of rows.
    #[error("{len} values are not a whole number of {dim}-dimensional embeddings")]
    Shape {
        /// Values given.
        len: usize,
        /// Embedding dimension.
        dim: usize,
    },
    /// A vector of the wrong length.
    #[error("expected a {expected}-dimensional embedding, got {got} values")]
    Dimension {
        /// The index's dimension.
        expected: usize,
        /// What was given.
        got: usize,
    },
    /// A vector with a NaN or infinite component.
    #[error("the embedding has a NaN or infinite value at component {component}")]
    NonFinite {
        /// First bad component.
        component: usize,
    },
    /// A vector of all zeros has no direction.
    #[error("the embedding is all zeros, so it has no direction to compare")]
    ZeroVector,
    /// One row of a batch was bad.
    #[error("embedding {row}: {reason}")]
    Row {
        /// Row index.
        row: usize,
        /// What was wrong with it.
        reason: Box<RetrievalError>,
    },
}

/// Why a model (its configuration, weights or tokenizer) could not be loaded or run.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ModelError {
    /// The configuration file is not valid.
    #[error("the model configuration is not valid: {0}")]
    Config(String),
    /// The weights file is not usable.
    #[error("the model weights are not usable: {0}")]
    BadWeights(String),
    /// A tensor the model needs is not in the weights file.
    #[error("the weights file has no tensor named {0}; is it the right model?")]
    MissingTensor(String),
    /// A tensor has another shape than the configuration says.
    #[error("tensor {name} has shape {found:?} but the configuration needs {expected:?}; is it the right model?")]
    ShapeMismatch {
        /// Tensor name.
        name: String,
        /// Shape the configuration implies.
        expected: Vec<usize>,
        /// Shape in the file.
        found: Vec<usize>,
    },
    /// The tokenizer could not be read or failed on a text.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The backend failed while running the model.
    #[error("the model failed to run on this device: {0}")]
    Backend(String),
    /// A GGUF model file is damaged, truncated or of a kind this reader does not support.
    #[error("the GGUF model file is not usable: {0}")]
    Gguf(#[from] GgufError),
    /// A request to a loaded model is not valid (an empty text, a prompt longer than the context, …).
    #[error("invalid request: {0}")]
    Request(String),
}

/// Why a GGUF file could not be read. Every offset is a byte offset from the start of the file.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum GgufError {
    /// The file does not start with the `GGUF` magic.
    #[error("the file does not start with \"GGUF\"; it is not a GGUF model file")]
    BadMagic,
    /// A version other than 2 or 3.
    #[error("GGUF version {0} is not supported (only versions 2 and 3)")]
    UnsupportedVersion(u32),
    /// The file ends in the middle of something.
    #[error("the file ends early (it is truncated): {what} needs {needed} bytes at offset {offset}, but the file has {len}")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Where it starts.
        offset: usize,
        /// Bytes it needs.
        needed: usize,
        /// File length.
        len: usize,
    },
    /// A count in the header is larger than the file could hold.
    #[error("the file declares {count} {what}, more than the file can hold (at most {limit})")]
    TooMany {
        /// What was counted.
        what: &'static str,
        /// The declared count.
        count: u64,
        /// The largest plausible count.
        limit: u64,
    },
    /// A string is not UTF-8.
    #[error("the string at offset {offset} is not valid UTF-8")]
    BadString {
        /// Where the string starts.
        offset: usize,
    },
    /// A metadata value type this reader does not know.
    #[error("metadata value type {ty} at offset {offset} is not a GGUF type")]
    BadValueType {
        /// The type code.
        ty: u32,
        /// Where it was read.
        offset: usize,
    },
    /// Arrays nested deeper than the reader allows.
    #[error("metadata arrays are nested more than {0} deep")]
    TooDeep(usize),
    /// A metadata key appears twice.
    #[error("the metadata key {0:?} appears twice")]
    DuplicateKey(String),
    /// `general.alignment` is not a power of two (or not a u32).
    #[error("general.alignment is {0}, not a power of two")]
    BadAlignment(u64),
    /// A tensor's description is inconsistent with its data.
    #[error("tensor {name:?}: {reason}")]
    BadTensor {
        /// Tensor name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A tensor of a ggml type the reader cannot size or dequantize.
    #[error("tensor {name:?} has ggml type {ty}, which is not supported here (supported: F32, F16, Q4_1, Q8_0)")]
    UnsupportedType {
        /// Tensor name.
        name: String,
        /// The ggml type code.
        ty: u32,
    },
    /// A metadata key the model needs is absent.
    #[error("the metadata key {0:?} is missing")]
    MissingKey(String),
    /// A metadata value has another type than expected.
    #[error("the metadata key {key:?} should be {expected}")]
    WrongType {
        /// The key.
        key: String,
        /// What it should be.
        expected: &'static str,
    },
}

/// Any error of the audio → features pipeline.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum Error {
    /// Decoding, mixing or resampling failed.
    #[error(transparent)]
    Audio(#[from] AudioError),
    /// The front end failed.
    #[error(transparent)]
    FrontEnd(#[from] FrontEndError),
    /// A model bundle was refused.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// A model failed to load or run.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// Retrieval failed.
    #[error(transparent)]
    Retrieval(#[from] RetrievalError),
    /// A typed text or label list was refused.
    #[error(transparent)]
    Text(#[from] TextInputError),
}

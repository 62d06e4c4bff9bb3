//! A bounds-checked reader for GGUF files (the llama.cpp model format), versions 2 and 3.
//!
//! Layout (all little-endian; spec: `ggml/docs/gguf.md` in ggerganov/ggml): the magic `GGUF`, a u32
//! version, u64 tensor and metadata counts, the metadata key–value pairs, one description per tensor
//! (name, dimensions with the innermost `ne0` first, ggml type, offset), padding to `general.alignment`
//! (default 32), then the tensor data. The reader borrows the file's bytes, checks every length and
//! offset before using it and caps every count by what the remaining bytes could hold, so bad bytes give
//! a [`GgufError`] and never a panic or a huge allocation.
//!
//! Dequantization to f32 covers F32, F16, Q4_1 and Q8_0 (the types in SmolLM2-135M-Instruct.Q4_1.gguf);
//! the block layouts are `block_q4_1` and `block_q8_0` in ggml's `ggml-common.h`.

use crate::error::GgufError;

/// The default (and most common) alignment of the tensor data.
const DEFAULT_ALIGNMENT: u64 = 32;
/// Arrays inside arrays are legal but never deeper than this in practice.
const MAX_DEPTH: usize = 4;
/// ggml tensors have at most four dimensions.
const MAX_DIMS: u32 = 4;
/// Weights per Q4_1 / Q8_0 block.
const QK: usize = 32;

/// A metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `UINT8` (type 0).
    U8(u8),
    /// `INT8` (1).
    I8(i8),
    /// `UINT16` (2).
    U16(u16),
    /// `INT16` (3).
    I16(i16),
    /// `UINT32` (4).
    U32(u32),
    /// `INT32` (5).
    I32(i32),
    /// `FLOAT32` (6).
    F32(f32),
    /// `BOOL` (7).
    Bool(bool),
    /// `STRING` (8).
    String(String),
    /// `ARRAY` (9) of values of one type.
    Array(Vec<Value>),
    /// `UINT64` (10).
    U64(u64),
    /// `INT64` (11).
    I64(i64),
    /// `FLOAT64` (12).
    F64(f64),
}

impl Value {
    /// The value as an unsigned integer, if it is a non-negative integer of any width.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U8(v) => Some(v.into()),
            Value::U16(v) => Some(v.into()),
            Value::U32(v) => Some(v.into()),
            Value::U64(v) => Some(v),
            Value::I8(v) => u64::try_from(v).ok(),
            Value::I16(v) => u64::try_from(v).ok(),
            Value::I32(v) => u64::try_from(v).ok(),
            Value::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value as a float, if it is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F32(v) => Some(v.into()),
            Value::F64(v) => Some(v),
            Value::I8(v) => Some(v.into()),
            Value::I16(v) => Some(v.into()),
            Value::I32(v) => Some(v.into()),
            _ => self.as_u64().map(|v| v as f64),
        }
    }

    /// The value as a string slice.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value as an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
}

/// The ggml element types whose storage size the reader knows (code, weights per block, bytes per block).
/// Unknown codes are rejected, because the size of their data could not be checked.
const TYPE_SIZES: [(u32, usize, usize); 19] = [
    (0, 1, 4),      // F32
    (1, 1, 2),      // F16
    (2, 32, 18),    // Q4_0
    (3, 32, 20),    // Q4_1
    (6, 32, 22),    // Q5_0
    (7, 32, 24),    // Q5_1
    (8, 32, 34),    // Q8_0
    (9, 32, 36),    // Q8_1
    (10, 256, 84),  // Q2_K
    (11, 256, 110), // Q3_K
    (12, 256, 144), // Q4_K
    (13, 256, 176), // Q5_K
    (14, 256, 210), // Q6_K
    (15, 256, 292), // Q8_K
    (24, 1, 1),     // I8
    (25, 1, 2),     // I16
    (26, 1, 4),     // I32
    (27, 1, 8),     // I64
    (30, 1, 2),     // BF16
];

/// ggml type codes used by name in this crate.
pub mod ggml_type {
    /// 32-bit float.
    pub const F32: u32 = 0;
    /// IEEE half.
    pub const F16: u32 = 1;
    /// 4-bit with scale and minimum per 32 weights.
    pub const Q4_1: u32 = 3;
    /// 8-bit with a scale per 32 weights.
    pub const Q8_0: u32 = 8;
}

/// One tensor's description.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    /// Name, e.g. `blk.0.attn_q.weight`.
    pub name: String,
    /// Dimensions, innermost (`ne0`, contiguous) first: a 2-D weight `[in, out]` is `out` rows of `in` values.
    pub dims: Vec<usize>,
    /// ggml type code (see [`ggml_type`]).
    pub ty: u32,
    /// Offset of the data from the start of the data section.
    pub offset: usize,
    /// Size of the data in bytes.
    pub size: usize,
}

impl TensorInfo {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.dims.iter().product()
    }

    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A parsed GGUF file borrowing its bytes.
#[derive(Debug, Clone)]
pub struct Gguf<'a> {
    /// Format version (2 or 3).
    pub version: u32,
    /// Metadata in file order.
    pub metadata: Vec<(String, Value)>,
    /// Tensor descriptions in file order.
    pub tensors: Vec<TensorInfo>,
    /// Alignment of the tensor data.
    pub alignment: usize,
    /// Offset of the data section in the file.
    pub data_offset: usize,
    bytes: &'a [u8],
}

/// A cursor over the file that checks every read.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], GgufError> {
        let truncated = GgufError::Truncated {
            what,
            offset: self.pos,
            needed: n,
            len: self.bytes.len(),
        };
        let end = self.pos.checked_add(n).ok_or(truncated.clone())?;
        let s = self.bytes.get(self.pos..end).ok_or(truncated)?;
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], GgufError> {
        let s = self.take(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, GgufError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, GgufError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    /// A count of items that take at least `min_size` bytes each, capped by what is left of the file.
    fn count(&mut self, what: &'static str, min_size: usize) -> Result<usize, GgufError> {
        let count = self.u64(what)?;
        let limit = (self.remaining() / min_size.max(1)) as u64;
        if count > limit {
            return Err(GgufError::TooMany { what, count, limit });
        }
        usize::try_from(count).map_err(|_| GgufError::TooMany { what, count, limit })
    }

    fn string(&mut self, what: &'static str) -> Result<String, GgufError> {
        let len = self.count(what, 1)?;
        let offset = self.pos;
        let s = self.take(len, what)?;
        String::from_utf8(s.to_vec()).map_err(|_| GgufError::BadString { offset })
    }

    fn value(&mut self, ty: u32, depth: usize) -> Result<Value, GgufError> {
        const W: &str = "a metadata value";
        Ok(match ty {
            0 => Value::U8(u8::from_le_bytes(self.array(W)?)),
            1 => Value::I8(i8::from_le_bytes(self.array(W)?)),
            2 => Value::U16(u16::from_le_bytes(self.array(W)?)),
            3 => Value::I16(i16::from_le_bytes(self.array(W)?)),
            4 => Value::U32(u32::from_le_bytes(self.array(W)?)),
            5 => Value::I32(i32::from_le_bytes(self.array(W)?)),
            6 => Value::F32(f32::from_le_bytes(self.array(W)?)),
            7 => Value::Bool(self.array::<1>(W)?[0] != 0),
            8 => Value::String(self.string("a metadata string")?),
            9 => {
                if depth >= MAX_DEPTH {
                    return Err(GgufError::TooDeep(MAX_DEPTH));
                }
                let offset = self.pos;
                let item_ty = self.u32("an array's element type")?;
                let min = min_value_size(item_ty).ok_or(GgufError::BadValueType {
                    ty: item_ty,
                    offset,
                })?;
                let n = self.count("array elements", min)?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.value(item_ty, depth + 1)?);
                }
                Value::Array(items)
            }
            10 => Value::U64(u64::from_le_bytes(self.array(W)?)),
            11 => Value::I64(i64::from_le_bytes(self.array(W)?)),
            12 => Value::F64(f64::from_le_bytes(self.array(W)?)),
            _ => {
                return Err(GgufError::BadValueType {
                    ty,
                    offset: self.pos.saturating_sub(4),
                })
            }
        })
    }
}

/// The fewest bytes a value of this type takes (the bound for array counts); `None` for unknown types.
fn min_value_size(ty: u32) -> Option<usize> {
    match ty {
        0 | 1 | 7 => Some(1),
        2 | 3 => Some(2),
        4..=6 => Some(4),
        8 | 10..=12 => Some(8),
        9 => Some(12), // element type + count
        _ => None,
    }
}

impl<'a> Gguf<'a> {
    /// Parses the header, metadata and tensor descriptions and checks that every tensor's data lies
    /// inside `bytes`.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, GgufError> {
        let mut r = Reader { bytes, pos: 0 };
        if r.take(4, "the magic")? != b"GGUF" {
            return Err(GgufError::BadMagic);
        }
        let version = r.u32("the version")?;
        if !(2..=3).contains(&version) {
            return Err(GgufError::UnsupportedVersion(version));
        }
        // Smallest tensor description: empty name (8) + n_dims (4) + one dim (8) + type (4) + offset (8).
        let n_tensors = r.u64("the tensor count")?;
        // Smallest key-value pair: empty key (8) + type (4) + one byte.
        let n_kv = r.count("metadata entries", 13)?;
        let mut metadata: Vec<(String, Value)> = Vec::with_capacity(n_kv);
        for _ in 0..n_kv {
            let key = r.string("a metadata key")?;
            let ty = r.u32("a metadata value type")?;
            let value = r.value(ty, 0)?;
            if metadata.iter().any(|(k, _)| *k == key) {
                return Err(GgufError::DuplicateKey(key));
            }
            metadata.push((key, value));
        }
        let limit = (r.remaining() / 32) as u64;
        if n_tensors > limit {
            return Err(GgufError::TooMany {
                what: "tensors",
                count: n_tensors,
                limit,
            });
        }
        let alignment = match metadata.iter().find(|(k, _)| k == "general.alignment") {
            None => DEFAULT_ALIGNMENT,
            Some((_, Value::U32(a))) if a.is_power_of_two() => u64::from(*a),
            Some((_, v)) => return Err(GgufError::BadAlignment(v.as_u64().unwrap_or(0))),
        };
        let alignment = alignment as usize;
        let mut tensors: Vec<TensorInfo> = Vec::with_capacity(n_tensors as usize);
        for _ in 0..n_tensors {
            tensors.push(read_tensor_info(&mut r, alignment)?);
        }
        let data_offset = r.pos.div_ceil(alignment).saturating_mul(alignment);
        let data_len = bytes.len().saturating_sub(data_offset);
        let mut names = std::collections::HashSet::with_capacity(tensors.len());
        for t in &tensors {
            if !names.insert(t.name.as_str()) {
                return Err(bad(&t.name, "the name appears twice".into()));
            }
            let end = t.offset.checked_add(t.size);
            if end.is_none_or(|e| e > data_len) {
                return Err(GgufError::Truncated {
                    what: "tensor data",
                    offset: data_offset.saturating_add(t.offset),
                    needed: t.size,
                    len: bytes.len(),
                });
            }
        }
        Ok(Self {
            version,
            metadata,
            tensors,
            alignment,
            data_offset,
            bytes,
        })
    }

    /// The metadata value of `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// A required unsigned integer.
    pub fn get_u64(&self, key: &str) -> Result<u64, GgufError> {
        self.require(key)?
            .as_u64()
            .ok_or_else(|| wrong(key, "an unsigned integer"))
    }

    /// A required unsigned integer that fits `usize`.
    pub fn get_usize(&self, key: &str) -> Result<usize, GgufError> {
        usize::try_from(self.get_u64(key)?).map_err(|_| wrong(key, "a size that fits in memory"))
    }

    /// A required number.
    pub fn get_f64(&self, key: &str) -> Result<f64, GgufError> {
        self.require(key)?
            .as_f64()
            .ok_or_else(|| wrong(key, "a number"))
    }

    /// A required string.
    pub fn get_str(&self, key: &str) -> Result<&str, GgufError> {
        self.require(key)?
            .as_str()
            .ok_or_else(|| wrong(key, "a string"))
    }

    /// A required array.
    pub fn get_array(&self, key: &str) -> Result<&[Value], GgufError> {
        self.require(key)?
            .as_array()
            .ok_or_else(|| wrong(key, "an array"))
    }

    fn require(&self, key: &str) -> Result<&Value, GgufError> {
        self.get(key)
            .ok_or_else(|| GgufError::MissingKey(key.to_string()))
    }

    /// The description of tensor `name`.
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// The raw bytes of a tensor (checked at parse time to lie inside the file).
    pub fn tensor_bytes(&self, info: &TensorInfo) -> Result<&'a [u8], GgufError> {
        let start = self.data_offset.saturating_add(info.offset);
        start
            .checked_add(info.size)
            .and_then(|end| self.bytes.get(start..end))
            .ok_or(GgufError::Truncated {
                what: "tensor data",
                offset: start,
                needed: info.size,
                len: self.bytes.len(),
            })
    }

    /// The tensor's values as f32, in storage order (`ne0` fastest). Supports F32, F16, Q4_1 and Q8_0;
    /// NaN or infinite values are an error.
    pub fn dequantize(&self, info: &TensorInfo) -> Result<Vec<f32>, GgufError> {
        let raw = self.tensor_bytes(info)?;
        let values = match info.ty {
            ggml_type::F32 => raw
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            ggml_type::F16 => raw
                .chunks_exact(2)
                .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            ggml_type::Q4_1 => dequantize_q4_1(raw),
            ggml_type::Q8_0 => dequantize_q8_0(raw),
            ty => {
                return Err(GgufError::UnsupportedType {
                    name: info.name.clone(),
                    ty,
                })
            }
        };
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(bad(
                &info.name,
                format!("value {i} is NaN or infinite after dequantization"),
            ));
        }
        Ok(values)
    }
}

fn bad(name: &str, reason: String) -> GgufError {
    GgufError::BadTensor {
        name: name.to_string(),
        reason,
    }
}

fn wrong(key: &str, expected: &'static str) -> GgufError {
    GgufError::WrongType {
        key: key.to_string(),
        expected,
    }
}

fn read_tensor_info(r: &mut Reader<'_>, alignment: usize) -> Result<TensorInfo, GgufError> {
    let name = r.string("a tensor name")?;
    let n_dims = r.u32("a tensor's dimension count")?;
    if !(1..=MAX_DIMS).contains(&n_dims) {
        return Err(bad(
            &name,
            format!("{n_dims} dimensions (ggml allows 1–{MAX_DIMS})"),
        ));
    }
    let mut dims = Vec::with_capacity(n_dims as usize);
    for _ in 0..n_dims {
        let d = r.u64("a tensor dimension")?;
        dims.push(
            usize::try_from(d).map_err(|_| bad(&name, format!("dimension {d} is too large")))?,
        );
    }
    let ty = r.u32("a tensor type")?;
    let offset = r.u64("a tensor offset")?;
    let offset =
        usize::try_from(offset).map_err(|_| bad(&name, format!("offset {offset} is too large")))?;
    if !offset.is_multiple_of(alignment) {
        return Err(bad(
            &name,
            format!("offset {offset} is not a multiple of the alignment {alignment}"),
        ));
    }
    let Some(&(_, block, block_bytes)) = TYPE_SIZES.iter().find(|(t, _, _)| *t == ty) else {
        return Err(GgufError::UnsupportedType { name, ty });
    };
    let n = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| bad(&name, format!("{dims:?} has too many elements")))?;
    if !dims[0].is_multiple_of(block) {
        return Err(bad(
            &name,
            format!(
                "the first dimension {} is not a multiple of the block size {block}",
                dims[0]
            ),
        ));
    }
    let size = (n / block)
        .checked_mul(block_bytes)
        .ok_or_else(|| bad(&name, format!("{dims:?} is too large")))?;
    Ok(TensorInfo {
        name,
        dims,
        ty,
        offset,
        size,
    })
}

/// Q4_1 (`block_q4_1`): 20 bytes per 32 weights = f16 scale `d`, f16 minimum `m`, 16 bytes of nibbles;
/// weight `j` = d·(qs[j] & 15) + m and weight `j + 16` = d·(qs[j] >> 4) + m (low nibbles first).
fn dequantize_q4_1(raw: &[u8]) -> Vec<f32> {
    let mut out = Vec::with_capacity(raw.len() / 20 * QK);
    for b in raw.chunks_exact(20) {
        let d = half::f16::from_le_bytes([b[0], b[1]]).to_f32();
        let m = half::f16::from_le_bytes([b[2], b[3]]).to_f32();
        let qs = &b[4..20];
        out.extend(qs.iter().map(|q| d * f32::from(q & 0x0f) + m));
        out.extend(qs.iter().map(|q| d * f32::from(q >> 4) + m));
    }
    out
}

/// Q8_0 (`block_q8_0`): 34 bytes per 32 weights = f16 scale `d`, 32 signed bytes; weight `j` = d·qs[j].
fn dequantize_q8_0(raw: &[u8]) -> Vec<f32> {
    let mut out = Vec::with_capacity(raw.len() / 34 * QK);
    for b in raw.chunks_exact(34) {
        let d = half::f16::from_le_bytes([b[0], b[1]]).to_f32();
        out.extend(b[2..34].iter().map(|&q| d * f32::from(q as i8)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal GGUF v3 writer for the tests.
    struct Writer(Vec<u8>);

    impl Writer {
        fn new(n_tensors: u64, n_kv: u64) -> Self {
            let mut b = b"GGUF".to_vec();
            b.extend(3u32.to_le_bytes());
            b.extend(n_tensors.to_le_bytes());
            b.extend(n_kv.to_le_bytes());
            Self(b)
        }
        fn str(&mut self, s: &str) {
            self.0.extend((s.len() as u64).to_le_bytes());
            self.0.extend(s.as_bytes());
        }
        fn kv_u32(&mut self, k: &str, v: u32) {
            self.str(k);
            self.0.extend(4u32.to_le_bytes());
            self.0.extend(v.to_le_bytes());
        }
        fn tensor(&mut self, name: &str, dims: &[u64], ty: u32, offset: u64) {
            self.str(name);
            self.0.extend((dims.len() as u32).to_le_bytes());
            for d in dims {
                self.0.extend(d.to_le_bytes());
            }
            self.0.extend(ty.to_le_bytes());
            self.0.extend(offset.to_le_bytes());
        }
        fn pad(&mut self, alignment: usize) {
            while !self.0.len().is_multiple_of(alignment) {
                self.0.push(0);
            }
        }
    }

    fn q4_1_block() -> Vec<u8> {
        // d = 0.5 (f16 0x3800), m = -1.0 (f16 0xBC00); qs[j] = j | (15 - j) << 4.
        let mut b = vec![0x00, 0x38, 0x00, 0xbc];
        b.extend((0u8..16).map(|j| j | ((15 - j) << 4)));
        b
    }

    #[test]
    fn q4_1_block_by_hand() {
        // Low nibbles 0..15 → weights 0..15 = 0.5·j − 1 = −1, −0.5, 0, …, 6.5;
        // high nibbles 15..0 → weights 16..31 = 0.5·(15 − j) − 1 = 6.5, 6, …, −1.
        let w = dequantize_q4_1(&q4_1_block());
        assert_eq!(w.len(), 32);
        assert_eq!(&w[..4], &[-1.0, -0.5, 0.0, 0.5]);
        assert_eq!(w[15], 6.5);
        assert_eq!(&w[16..19], &[6.5, 6.0, 5.5]);
        assert_eq!(w[31], -1.0);
    }

    #[test]
    fn q8_0_block_by_hand() {
        // d = 0.25 (f16 0x3400); qs = 0, 1, −1, 127, −128, then 4s.
        // weights = 0, 0.25, −0.25, 31.75, −32, then 1.0.
        let mut b = vec![0x00, 0x34];
        b.extend([0u8, 1, 0xff, 0x7f, 0x80]);
        b.extend([4u8; 27]);
        let w = dequantize_q8_0(&b);
        assert_eq!(w.len(), 32);
        assert_eq!(&w[..5], &[0.0, 0.25, -0.25, 31.75, -32.0]);
        assert!(w[5..].iter().all(|&x| x == 1.0));
    }

    fn small_file() -> Vec<u8> {
        // One Q4_1 tensor [32, 2] (two blocks) and one F32 tensor [3], plus a string array.
        let mut w = Writer::new(2, 2);
        w.kv_u32("general.alignment", 32);
        w.str("names");
        w.0.extend(9u32.to_le_bytes());
        w.0.extend(8u32.to_le_bytes());
        w.0.extend(2u64.to_le_bytes());
        w.str("a");
        w.str("bc");
        w.tensor("w", &[32, 2], ggml_type::Q4_1, 0);
        w.tensor("n", &[3], ggml_type::F32, 64);
        w.pad(32);
        w.0.extend(q4_1_block());
        w.0.extend(q4_1_block());
        w.pad(32);
        for v in [1.0f32, 2.0, 3.0] {
            w.0.extend(v.to_le_bytes());
        }
        w.0
    }

    #[test]
    fn parses_a_hand_made_file() {
        let bytes = small_file();
        let g = Gguf::parse(&bytes).unwrap();
        assert_eq!(g.version, 3);
        assert_eq!(g.alignment, 32);
        assert_eq!(g.get_u64("general.alignment").unwrap(), 32);
        let names = g.get_array("names").unwrap();
        assert_eq!(names[1].as_str(), Some("bc"));
        let w = g.tensor("w").unwrap();
        assert_eq!((w.dims.clone(), w.size), (vec![32, 2], 40));
        let values = g.dequantize(w).unwrap();
        assert_eq!(values.len(), 64);
        assert_eq!((values[1], values[32 + 16]), (-0.5, 6.5));
        assert_eq!(
            g.dequantize(g.tensor("n").unwrap()).unwrap(),
            [1.0, 2.0, 3.0]
        );
        assert!(matches!(
            g.get_str("names"),
            Err(GgufError::WrongType { .. })
        ));
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = small_file();
        for n in 0..bytes.len() {
            assert!(
                Gguf::parse(&bytes[..n]).is_err(),
                "prefix of {n} bytes parsed"
            );
        }
    }

    #[test]
    fn huge_counts_are_errors_not_allocations() {
        let bytes = Writer::new(u64::MAX, 0).0;
        assert!(matches!(
            Gguf::parse(&bytes),
            Err(GgufError::TooMany {
                what: "tensors",
                ..
            })
        ));
        let mut w = Writer::new(0, 1);
        w.str("k");
        w.0.extend(9u32.to_le_bytes());
        w.0.extend(4u32.to_le_bytes());
        w.0.extend((u64::MAX / 2).to_le_bytes());
        assert!(matches!(
            Gguf::parse(&w.0),
            Err(GgufError::TooMany {
                what: "array elements",
                ..
            })
        ));
    }

    #[test]
    fn bad_descriptions_are_errors() {
        // Data offset beyond the file.
        let mut w = Writer::new(1, 0);
        w.tensor("t", &[4], ggml_type::F32, 1 << 40);
        w.pad(32);
        assert!(matches!(
            Gguf::parse(&w.0),
            Err(GgufError::Truncated { .. })
        ));
        // Unknown type.
        let mut w = Writer::new(1, 0);
        w.tensor("t", &[4], 99, 0);
        assert!(matches!(
            Gguf::parse(&w.0),
            Err(GgufError::UnsupportedType { ty: 99, .. })
        ));
        // Dimensions whose product overflows.
        let mut w = Writer::new(1, 0);
        w.tensor("t", &[u64::MAX, u64::MAX], ggml_type::F32, 0);
        assert!(Gguf::parse(&w.0).is_err());
        // Wrong magic and version.
        assert_eq!(
            Gguf::parse(b"GGUG\x03\0\0\0").err(),
            Some(GgufError::BadMagic)
        );
        assert_eq!(
            Gguf::parse(b"GGUF\x01\0\0\0").err(),
            Some(GgufError::UnsupportedVersion(1))
        );
    }
}

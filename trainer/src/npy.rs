//! Writing NumPy `.npy` files (format version 1.0, little-endian float32, C order).
//! Format: <https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html>.

/// Encodes a C-order float32 array of the given shape as `.npy` bytes.
///
/// The header is padded with spaces and ends in `\n` so that magic + version + length + header is a
/// multiple of 64 bytes, as NumPy writes it.
pub fn encode_f32(shape: &[usize], data: &[f32]) -> Vec<u8> {
    debug_assert_eq!(
        shape.iter().product::<usize>(),
        data.len(),
        "shape does not match data"
    );
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_txt = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape_txt}, }}");
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len() * 4);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_aligned_and_exact() {
        let bytes = encode_f32(&[2, 3], &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
        let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + hlen) % 64, 0);
        let header = std::str::from_utf8(&bytes[10..10 + hlen]).unwrap();
        assert!(header.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"));
        assert!(header.ends_with('\n'));
        assert_eq!(bytes.len(), 10 + hlen + 24);
        // last value 5.0f32 = 0x40a00000, little-endian
        assert_eq!(&bytes[bytes.len() - 4..], &[0x00, 0x00, 0xa0, 0x40]);
    }

    #[test]
    fn one_dimensional_shape_has_trailing_comma() {
        let bytes = encode_f32(&[3], &[1.0, 2.0, 3.0]);
        let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert!(std::str::from_utf8(&bytes[10..10 + hlen])
            .unwrap()
            .contains("'shape': (3,)"));
    }
}

/// Why bytes are not a `.npy` file this crate reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NpyError {
    #[error("not a .npy file")]
    NotNpy,
    #[error(".npy format version {0} is not supported")]
    Version(u8),
    #[error("the .npy header is truncated")]
    Truncated,
    #[error("only little-endian float32 in C order is supported (header {0})")]
    NotF32(String),
    #[error("the .npy header has no shape")]
    NoShape,
    #[error("bad dimension {0:?} in the .npy shape")]
    BadDimension(String),
    #[error("the .npy shape is too large")]
    TooLarge,
    #[error("the .npy file holds {found} bytes of data where its shape needs {needed}")]
    Size { found: usize, needed: usize },
}

/// Reads a little-endian float32 C-order `.npy` (format 1.0–3.0): its shape and values. Anything else
/// is an error that says what was found.
pub fn decode_f32(bytes: &[u8]) -> Result<(Vec<usize>, Vec<f32>), NpyError> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(NpyError::NotNpy);
    }
    let (hlen, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(NpyError::Version(v)),
    };
    let header = bytes
        .get(start..start + hlen)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or(NpyError::Truncated)?;
    if !header.contains("'descr': '<f4'") || header.contains("'fortran_order': True") {
        return Err(NpyError::NotF32(header.to_string()));
    }
    let shape_txt = header
        .split("'shape': (")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .ok_or(NpyError::NoShape)?;
    let shape: Vec<usize> = shape_txt
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| NpyError::BadDimension(s.to_string())))
        .collect::<Result<_, _>>()?;
    let n = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or(NpyError::TooLarge)?;
    let data = &bytes[start + hlen..];
    if data.len() != n * 4 {
        return Err(NpyError::Size {
            found: data.len(),
            needed: n * 4,
        });
    }
    Ok((
        shape,
        data.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    ))
}

#[cfg(test)]
mod decode_tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let b = encode_f32(&[2, 3], &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(
            decode_f32(&b).unwrap(),
            (vec![2, 3], vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
        );
        assert!(decode_f32(&b[..b.len() - 1])
            .unwrap_err()
            .to_string()
            .contains("bytes of data"));
        assert!(decode_f32(b"hello world").is_err());
    }
}

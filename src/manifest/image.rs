//! Image headers: format, dimensions, EXIF orientation, transparency and CMYK, read from an
//! image's first bytes without decoding it.
//!
//! One reader serves local files (their first bytes, more only when a header lies further in)
//! and image URLs (the first bytes a ranged `GET` returns). It works on a byte slice and never
//! trusts a length it reads: every offset is checked, a header that ends early says how many
//! bytes it needs, and a damaged one says why, so hostile files end in a message, never a panic
//! or a large allocation.

use std::fmt;

/// Pixels per image above which pinbatch refuses it: no photo Pinterest shows comes near, and a
/// header claiming more is damaged or hostile (a 100 000 x 100 000 PNG of a few bytes).
pub const MAX_IMAGE_PIXELS: u64 = 100_000_000;

/// Pixels per image above which pinbatch will not decode it (to convert or scale it down): a
/// decoded image takes 4 bytes a pixel, so this bounds one conversion to 160 MB.
pub const MAX_DECODE_PIXELS: u64 = 40_000_000;

/// The feed shows a pin whole up to this height for its width; taller pins are cut off.
pub const FEED_CUT_RATIO: f64 = 2.1;

/// Narrower than this, an image shows blurry in the feed (third parties give 600 x 900 as the
/// smallest; Pinterest does not say).
pub const MIN_FEED_WIDTH: u32 = 600;

/// An image file format, by its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    /// JPEG.
    Jpeg,
    /// PNG.
    Png,
    /// GIF (its first frame is what is sent).
    Gif,
    /// WebP.
    WebP,
    /// BMP.
    Bmp,
    /// TIFF.
    Tiff,
    /// HEIC, HEIF or AVIF (iPhone photos): neither Pinterest nor pinbatch reads them.
    Heif(&'static str),
}

impl ImageFormat {
    /// The format's usual name.
    pub fn name(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "JPEG",
            ImageFormat::Png => "PNG",
            ImageFormat::Gif => "GIF",
            ImageFormat::WebP => "WebP",
            ImageFormat::Bmp => "BMP",
            ImageFormat::Tiff => "TIFF",
            ImageFormat::Heif(name) => name,
        }
    }

    /// Whether Pinterest takes the format as it is (base64 uploads: JPEG and PNG only).
    pub fn accepted(self) -> bool {
        matches!(self, ImageFormat::Jpeg | ImageFormat::Png)
    }

    /// Whether pinbatch can convert it to JPEG or PNG.
    pub fn convertible(self) -> bool {
        matches!(
            self,
            ImageFormat::Gif | ImageFormat::WebP | ImageFormat::Bmp | ImageFormat::Tiff
        )
    }

    /// Whether a file name's extension (lowercase, without the dot) is one of this format's.
    pub fn has_extension(self, extension: &str) -> bool {
        let known: &[&str] = match self {
            ImageFormat::Jpeg => &["jpg", "jpeg", "jpe", "jfif"],
            ImageFormat::Png => &["png"],
            ImageFormat::Gif => &["gif"],
            ImageFormat::WebP => &["webp"],
            ImageFormat::Bmp => &["bmp", "dib"],
            ImageFormat::Tiff => &["tif", "tiff"],
            ImageFormat::Heif(_) => &["heic", "heif", "hif", "avif"],
        };
        known.contains(&extension)
    }

    /// Whether any image format claims this extension.
    pub fn is_image_extension(extension: &str) -> bool {
        [
            ImageFormat::Jpeg,
            ImageFormat::Png,
            ImageFormat::Gif,
            ImageFormat::WebP,
            ImageFormat::Bmp,
            ImageFormat::Tiff,
            ImageFormat::Heif(""),
        ]
        .into_iter()
        .any(|f| f.has_extension(extension))
    }
}

impl fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What an image's header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ImageHeader {
    /// The format.
    pub format: ImageFormat,
    /// Width as stored, in pixels (0 for HEIF, which is not read further).
    pub width: u32,
    /// Height as stored, in pixels.
    pub height: u32,
    /// EXIF orientation, 1 to 8 (1: as stored).
    pub orientation: u8,
    /// The image may have transparent pixels (an alpha channel or a transparent colour).
    pub alpha: bool,
    /// A JPEG with four colour components (CMYK or YCCK).
    pub cmyk: bool,
}

impl ImageHeader {
    /// Width and height as shown: EXIF orientations 5 to 8 turn the image a quarter.
    pub fn shown_size(&self) -> (u32, u32) {
        if (5..=8).contains(&self.orientation) {
            (self.height, self.width)
        } else {
            (self.width, self.height)
        }
    }

    /// Width times height.
    pub fn pixels(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }
}

/// Why a header could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderError {
    /// The bytes end before the header does; at least this many bytes from the start are needed.
    Truncated {
        /// Bytes needed from the start of the file.
        need: u64,
    },
    /// The bytes are no image format pinbatch knows.
    Unknown,
    /// The format is known but its header is damaged.
    Damaged(String),
}

/// Reads the header of the image whose first bytes are `bytes`.
pub fn read_header(bytes: &[u8]) -> Result<ImageHeader, HeaderError> {
    if bytes.starts_with(b"\xFF\xD8\xFF") {
        jpeg(bytes)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        png(bytes)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        gif(bytes)
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        webp(bytes)
    } else if bytes.starts_with(b"BM") {
        bmp(bytes)
    } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        tiff(bytes)
    } else if let Some(name) = heif_brand(bytes) {
        Ok(plain(ImageFormat::Heif(name), 0, 0))
    } else if bytes.len() < 12 && could_be_image(bytes) {
        // The start of a signature: more bytes would tell.
        Err(HeaderError::Truncated { need: 12 })
    } else {
        Err(HeaderError::Unknown)
    }
}

/// Whether a few bytes are the start of a known signature.
fn could_be_image(bytes: &[u8]) -> bool {
    const SIGNATURES: &[&[u8]] = &[
        b"\xFF\xD8\xFF",
        b"\x89PNG\r\n\x1a\n",
        b"GIF8",
        b"RIFF",
        b"BM",
        b"II*\0",
        b"MM\0*",
    ];
    bytes.len() < 4
        || SIGNATURES
            .iter()
            .any(|signature| signature.starts_with(bytes) || bytes.starts_with(signature))
        || bytes.get(4..).is_some_and(|rest| b"ftyp".starts_with(rest))
}

fn plain(format: ImageFormat, width: u32, height: u32) -> ImageHeader {
    ImageHeader {
        format,
        width,
        height,
        orientation: 1,
        alpha: false,
        cmyk: false,
    }
}

fn truncated(need: usize) -> HeaderError {
    HeaderError::Truncated {
        need: u64::try_from(need).unwrap_or(u64::MAX),
    }
}

fn damaged(why: &str) -> HeaderError {
    HeaderError::Damaged(why.to_owned())
}

fn be16(bytes: &[u8], at: usize) -> Result<u16, HeaderError> {
    let b = bytes.get(at..at + 2).ok_or_else(|| truncated(at + 2))?;
    Ok(u16::from_be_bytes([b[0], b[1]]))
}

fn be32(bytes: &[u8], at: usize) -> Result<u32, HeaderError> {
    let b = bytes.get(at..at + 4).ok_or_else(|| truncated(at + 4))?;
    Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn le16(bytes: &[u8], at: usize) -> Result<u16, HeaderError> {
    let b = bytes.get(at..at + 2).ok_or_else(|| truncated(at + 2))?;
    Ok(u16::from_le_bytes([b[0], b[1]]))
}

fn le24(bytes: &[u8], at: usize) -> Result<u32, HeaderError> {
    let b = bytes.get(at..at + 3).ok_or_else(|| truncated(at + 3))?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], 0]))
}

fn le32(bytes: &[u8], at: usize) -> Result<u32, HeaderError> {
    let b = bytes.get(at..at + 4).ok_or_else(|| truncated(at + 4))?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn byte(bytes: &[u8], at: usize) -> Result<u8, HeaderError> {
    bytes.get(at).copied().ok_or_else(|| truncated(at + 1))
}

fn nonzero(width: u32, height: u32) -> Result<(u32, u32), HeaderError> {
    if width == 0 || height == 0 {
        Err(damaged("its header gives a width or height of 0"))
    } else {
        Ok((width, height))
    }
}

/// JPEG: the segments up to the first frame header (SOF), with the EXIF orientation and an
/// Adobe segment on the way.
fn jpeg(bytes: &[u8]) -> Result<ImageHeader, HeaderError> {
    let mut at = 2;
    let mut orientation = 1;
    loop {
        if byte(bytes, at)? != 0xFF {
            return Err(damaged("a JPEG segment does not start with a marker"));
        }
        // Fill bytes: any number of 0xFF before the marker code.
        let mut code_at = at + 1;
        while byte(bytes, code_at)? == 0xFF {
            code_at += 1;
        }
        let code = byte(bytes, code_at)?;
        at = code_at + 1;
        if matches!(code, 0x01 | 0xD0..=0xD7) {
            continue;
        }
        if matches!(code, 0xD9 | 0xDA) {
            return Err(damaged(
                "the JPEG has no frame header before its image data",
            ));
        }
        let length = usize::from(be16(bytes, at)?);
        if length < 2 {
            return Err(damaged("a JPEG segment has a length below 2"));
        }
        let segment_end = at + length;
        let is_frame = matches!(code, 0xC0..=0xCF) && !matches!(code, 0xC4 | 0xC8 | 0xCC);
        if is_frame {
            let height = u32::from(be16(bytes, at + 3)?);
            let width = u32::from(be16(bytes, at + 5)?);
            let components = byte(bytes, at + 7)?;
            let (width, height) = nonzero(width, height)?;
            return Ok(ImageHeader {
                orientation,
                cmyk: components == 4,
                ..plain(ImageFormat::Jpeg, width, height)
            });
        }
        if code == 0xE1 {
            let segment = bytes
                .get(at + 2..segment_end)
                .ok_or_else(|| truncated(segment_end))?;
            if let Some(tiff) = segment.strip_prefix(b"Exif\0\0") {
                orientation = exif_orientation(tiff).unwrap_or(1);
            }
        }
        at = segment_end;
    }
}

/// The orientation tag (0x0112) of a TIFF structure's first directory, when it has a valid one.
fn exif_orientation(tiff: &[u8]) -> Option<u8> {
    let little = match tiff.get(..4)? {
        b"II*\0" => true,
        b"MM\0*" => false,
        _ => return None,
    };
    let read16 = |at: usize| {
        if little {
            le16(tiff, at).ok()
        } else {
            be16(tiff, at).ok()
        }
    };
    let read32 = |at: usize| {
        if little {
            le32(tiff, at).ok()
        } else {
            be32(tiff, at).ok()
        }
    };
    let directory = usize::try_from(read32(4)?).ok()?;
    let entries = usize::from(read16(directory)?);
    (0..entries.min(512)).find_map(|index| {
        let entry = directory + 2 + index * 12;
        (read16(entry)? == 0x0112)
            .then(|| read16(entry + 8))
            .flatten()
            .and_then(|value| u8::try_from(value).ok())
            .filter(|value| (1..=8).contains(value))
    })
}

/// PNG: the IHDR chunk, then the chunks before the image data for a transparent colour (tRNS).
fn png(bytes: &[u8]) -> Result<ImageHeader, HeaderError> {
    if bytes.get(12..16).is_some_and(|name| name != b"IHDR") {
        return Err(damaged("the PNG does not start with its IHDR chunk"));
    }
    let (width, height) = nonzero(be32(bytes, 16)?, be32(bytes, 20)?)?;
    if width > i32::MAX as u32 || height > i32::MAX as u32 {
        return Err(damaged("its header gives a width or height over 2^31"));
    }
    let colour_type = byte(bytes, 25)?;
    let mut alpha = matches!(colour_type, 4 | 6);
    // Look for tRNS among the chunks the bytes hold; a palette image names it before IDAT.
    let mut at = 8;
    while let (Ok(length), Some(name)) = (be32(bytes, at), bytes.get(at + 4..at + 8)) {
        match name {
            b"tRNS" => {
                alpha = true;
                break;
            }
            b"IDAT" | b"IEND" => break,
            _ => {}
        }
        at = at
            .saturating_add(12)
            .saturating_add(usize::try_from(length).unwrap_or(usize::MAX));
    }
    Ok(ImageHeader {
        alpha,
        ..plain(ImageFormat::Png, width, height)
    })
}

/// GIF: the logical screen, then the blocks before the first image for a transparent colour.
fn gif(bytes: &[u8]) -> Result<ImageHeader, HeaderError> {
    let (width, height) = nonzero(u32::from(le16(bytes, 6)?), u32::from(le16(bytes, 8)?))?;
    let flags = byte(bytes, 10)?;
    let mut at = 13;
    if flags & 0x80 != 0 {
        at += 3 * (1 << ((flags & 0x07) + 1));
    }
    let mut alpha = false;
    // Extensions until the first image descriptor; a header cut short reads as opaque.
    while let Some(&introducer) = bytes.get(at) {
        if introducer != 0x21 {
            break;
        }
        let label = bytes.get(at + 1).copied();
        if label == Some(0xF9) && bytes.get(at + 3).is_some_and(|packed| packed & 1 == 1) {
            alpha = true;
        }
        // Skip the sub-blocks of the extension.
        at += 2;
        while let Some(&size) = bytes.get(at) {
            at += 1 + usize::from(size);
            if size == 0 {
                break;
            }
        }
    }
    Ok(ImageHeader {
        alpha,
        ..plain(ImageFormat::Gif, width, height)
    })
}

/// WebP: the first chunk: lossy (`VP8 `), lossless (`VP8L`) or extended (`VP8X`).
fn webp(bytes: &[u8]) -> Result<ImageHeader, HeaderError> {
    let chunk = bytes.get(12..16).ok_or_else(|| truncated(16))?;
    let (width, height, alpha) = match chunk {
        b"VP8 " => {
            if bytes
                .get(23..26)
                .is_some_and(|code| code != [0x9D, 0x01, 0x2A])
            {
                return Err(damaged("the WebP frame has no start code"));
            }
            (
                u32::from(le16(bytes, 26)? & 0x3FFF),
                u32::from(le16(bytes, 28)? & 0x3FFF),
                false,
            )
        }
        b"VP8L" => {
            if byte(bytes, 20)? != 0x2F {
                return Err(damaged("the lossless WebP has no signature"));
            }
            let bits = le32(bytes, 21)?;
            (
                (bits & 0x3FFF) + 1,
                ((bits >> 14) & 0x3FFF) + 1,
                bits & (1 << 28) != 0,
            )
        }
        b"VP8X" => {
            let flags = byte(bytes, 20)?;
            (
                le24(bytes, 24)? + 1,
                le24(bytes, 27)? + 1,
                flags & 0x10 != 0,
            )
        }
        _ => return Err(damaged("the WebP's first chunk is not an image")),
    };
    let (width, height) = nonzero(width, height)?;
    Ok(ImageHeader {
        alpha,
        ..plain(ImageFormat::WebP, width, height)
    })
}

/// BMP: the information header after the 14-byte file header.
fn bmp(bytes: &[u8]) -> Result<ImageHeader, HeaderError> {
    let info_size = le32(bytes, 14)?;
    let (width, height, bits) = if info_size == 12 {
        (
            u32::from(le16(bytes, 18)?),
            u32::from(le16(bytes, 20)?),
            le16(bytes, 24)?,
        )
    } else if info_size >= 40 {
        let width = i32::from_le_bytes(le32(bytes, 18)?.to_le_bytes());
        let height = i32::from_le_bytes(le32(bytes, 22)?.to_le_bytes());
        (
            width.unsigned_abs(),
            height.unsigned_abs(),
            le16(bytes, 28)?,
        )
    } else {
        return Err(damaged("the BMP information header has an unknown size"));
    };
    let (width, height) = nonzero(width, height)?;
    Ok(ImageHeader {
        alpha: bits == 32,
        ..plain(ImageFormat::Bmp, width, height)
    })
}

/// TIFF: the first directory's width, height, orientation and extra (alpha) samples. The
/// directory may lie anywhere in the file; `Truncated` says how far to read.
fn tiff(bytes: &[u8]) -> Result<ImageHeader, HeaderError> {
    let little = bytes.starts_with(b"II");
    let read16 = |at: usize| {
        if little {
            le16(bytes, at)
        } else {
            be16(bytes, at)
        }
    };
    let read32 = |at: usize| {
        if little {
            le32(bytes, at)
        } else {
            be32(bytes, at)
        }
    };
    let directory =
        usize::try_from(read32(4)?).map_err(|_| damaged("its directory is out of reach"))?;
    let entries = usize::from(read16(directory)?);
    if entries > 4096 {
        return Err(damaged("its first directory claims more than 4096 entries"));
    }
    let end = directory + 2 + entries * 12;
    if bytes.len() < end {
        return Err(truncated(end));
    }
    let (mut width, mut height, mut orientation, mut alpha) = (0, 0, 1, false);
    for index in 0..entries {
        let entry = directory + 2 + index * 12;
        let tag = read16(entry)?;
        let kind = read16(entry + 2)?;
        // SHORT values sit in the first two bytes of the value field, LONG in all four.
        let value = if kind == 3 {
            u32::from(read16(entry + 8)?)
        } else {
            read32(entry + 8)?
        };
        match tag {
            256 => width = value,
            257 => height = value,
            274 => {
                orientation = u8::try_from(value)
                    .ok()
                    .filter(|o| (1..=8).contains(o))
                    .unwrap_or(1)
            }
            338 => alpha = true,
            _ => {}
        }
    }
    let (width, height) = nonzero(width, height)?;
    Ok(ImageHeader {
        orientation,
        alpha,
        ..plain(ImageFormat::Tiff, width, height)
    })
}

/// The name of a HEIF-family image (`ftyp` box with an image brand), if it is one.
fn heif_brand(bytes: &[u8]) -> Option<&'static str> {
    if bytes.get(4..8)? != b"ftyp" {
        return None;
    }
    match bytes.get(8..12)? {
        b"heic" | b"heix" | b"heim" | b"heis" | b"hevc" | b"hevx" => Some("HEIC"),
        b"mif1" | b"msf1" => Some("HEIF"),
        b"avif" | b"avis" => Some("AVIF"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_and_damaged_headers_never_panic() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\x03\xe8\0\0\x09\xc4\x08\x06\0\0\0";
        let header = read_header(png).unwrap();
        assert_eq!(
            (header.width, header.height, header.alpha),
            (1000, 2500, true)
        );
        for cut in 0..png.len() {
            let _ = read_header(&png[..cut]);
        }
        assert!(matches!(
            read_header(&png[..18]),
            Err(HeaderError::Truncated { need: 20 })
        ));
        // Every prefix and every single-byte change of a small JPEG: a result, never a panic.
        let jpeg = b"\xFF\xD8\xFF\xE1\0\x22Exif\0\0MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0\xFF\xC0\0\x11\x08\0\x32\0\x64\x03\x01\x22\0\x02\x11\x01\x03\x11\x01\xFF\xDA";
        let header = read_header(jpeg).unwrap();
        assert_eq!(
            (header.width, header.height, header.orientation),
            (100, 50, 6)
        );
        assert_eq!(header.shown_size(), (50, 100));
        for at in 0..jpeg.len() {
            let _ = read_header(&jpeg[..at]);
            for value in [0u8, 1, 0x7F, 0xFF] {
                let mut changed = jpeg.to_vec();
                changed[at] = value;
                let _ = read_header(&changed);
            }
        }
        assert_eq!(
            read_header(b"hello world, plain text"),
            Err(HeaderError::Unknown)
        );
        assert!(matches!(
            read_header(b"\0\0\0\x18ftypheic\0\0\0\0mif1"),
            Ok(ImageHeader {
                format: ImageFormat::Heif("HEIC"),
                ..
            })
        ));
    }
}

//! Reading and checking the fields of request bodies as Pinterest does: required and optional
//! strings, text limits, links, image URLs and base64 images (JPEG or PNG by their bytes).

use base64::Engine as _;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{ApiFailure, ImageRecord};

/// Maximum lengths of Pin text fields, in characters (OpenAPI `PinCreate`).
pub(super) const PIN_TEXT_LIMITS: [(&str, usize); 4] = [
    ("title", 100),
    ("description", 800),
    ("link", 2048),
    ("alt_text", 500),
];

pub(super) fn required_str<'a>(
    object: &'a Map<String, Value>,
    field: &str,
) -> Result<&'a str, ApiFailure> {
    match object.get(field) {
        Some(Value::String(value)) if !value.is_empty() => Ok(value),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            Err(ApiFailure::invalid(format!("{field} is required")))
        }
        Some(_) => Err(ApiFailure::invalid(format!("{field} must be a string"))),
    }
}

pub(super) fn optional_str<'a>(
    object: &'a Map<String, Value>,
    field: &str,
) -> Result<Option<&'a str>, ApiFailure> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(value)) => Ok(Some(value)),
        Some(_) => Err(ApiFailure::invalid(format!("{field} must be a string"))),
    }
}

pub(super) fn optional_string(
    object: &Map<String, Value>,
    field: &str,
) -> Result<Option<String>, ApiFailure> {
    optional_str(object, field).map(|v| v.map(str::to_string))
}

pub(super) fn check_text_limits(object: &Map<String, Value>) -> Result<(), ApiFailure> {
    for (field, max) in PIN_TEXT_LIMITS {
        if let Some(value) = optional_str(object, field)? {
            let length = value.chars().count();
            if length > max {
                return Err(ApiFailure::invalid(format!(
                    "{field} is {length} characters, more than {max}"
                )));
            }
        }
    }
    Ok(())
}

pub(super) fn check_link(link: &str) -> Result<(), ApiFailure> {
    match url::Url::parse(link) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(()),
        _ => Err(ApiFailure::new(
            400,
            1,
            "Whoops! It looks like you entered an invalid URL. Try creating a Pin again with a valid URL.",
        )),
    }
}

pub(super) fn image_url(object: &Map<String, Value>, label: &str) -> Result<String, ApiFailure> {
    let url = required_str(object, "url")
        .map_err(|_| ApiFailure::invalid(format!("{label} is required")))?;
    match url::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => Ok(url.to_string()),
        _ => Err(ApiFailure::new(
            400,
            1,
            format!("Invalid image URL `{url}`: it must be an http or https URL."),
        )),
    }
}

pub(super) fn decode_image(
    object: &Map<String, Value>,
    type_field: &str,
    data_field: &str,
) -> Result<ImageRecord, ApiFailure> {
    let content_type = required_str(object, type_field)?;
    if !matches!(content_type, "image/jpeg" | "image/png") {
        return Err(ApiFailure::invalid(format!(
            "{type_field} must be image/jpeg or image/png, got `{content_type}`"
        )));
    }
    let data = required_str(object, data_field)?;
    let plain_alphabet = data
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
    if !plain_alphabet {
        return Err(ApiFailure::invalid(format!(
            "{data_field} must be plain base64 (no data: prefix, no whitespace)"
        )));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|err| ApiFailure::invalid(format!("{data_field} is not valid base64: {err}")))?;
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(ApiFailure::invalid(format!(
            "{data_field} is {} bytes, over the {MAX_IMAGE_BYTES} an image may be",
            bytes.len()
        )));
    }
    if sniff_image(&bytes) != Some(content_type) {
        return Err(ApiFailure::new(
            403,
            235,
            "Sorry, this image is broken. Please pick a different image.",
        ));
    }
    Ok(ImageRecord::Bytes {
        content_type: content_type.to_string(),
        sha256: sha256_hex(&bytes),
        len: bytes.len(),
        size: image_size(&bytes),
    })
}

/// Width and height from a JPEG's frame header or a PNG's `IHDR`; `None` when the header
/// cannot be read (the emulator takes such bytes, as it always has, by their signature).
pub(super) fn image_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let be16 = |at: usize| -> Option<u32> {
        let b = bytes.get(at..at + 2)?;
        Some(u32::from(u16::from_be_bytes([b[0], b[1]])))
    };
    let be32 = |at: usize| -> Option<u32> {
        let b = bytes.get(at..at + 4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return (bytes.get(12..16)? == b"IHDR").then_some((be32(16)?, be32(20)?));
    }
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    // JPEG: walk the segments to the first frame header (SOF0-SOF15 but DHT, JPG and DAC).
    let mut at = 2;
    while *bytes.get(at)? == 0xFF {
        let code = *bytes.get(at + 1)?;
        if matches!(code, 0xD8 | 0x01 | 0xD0..=0xD7 | 0xFF) {
            at += if code == 0xFF { 1 } else { 2 };
            continue;
        }
        if matches!(code, 0xC0..=0xCF) && !matches!(code, 0xC4 | 0xC8 | 0xCC) {
            return Some((be16(at + 7)?, be16(at + 5)?));
        }
        at += 2 + usize::try_from(be16(at + 2)?).ok()?;
    }
    None
}

/// The largest image the API takes as base64, decoded (20 MB, as Pinterest's product specs say).
pub const MAX_IMAGE_BYTES: usize = 20 * 1024 * 1024;

/// The content type the magic bytes announce (JPEG or PNG only).
pub(super) fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else {
        None
    }
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

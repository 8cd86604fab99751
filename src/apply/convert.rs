//! A local image's bytes as they are sent: the file itself, or (for a format Pinterest does not
//! take, a CMYK JPEG, or `--fit`) the image decoded, turned upright by its EXIF orientation,
//! encoded as JPEG or PNG and, with `--fit`, scaled down until it is under the size limit.
//!
//! Runs in memory at upload time, inside the request slot and one image at a time (the caller
//! holds the encoder's permit), so a run holds at most one decoded image. Decoding is bounded
//! twice: the pixel count is checked from the header before any pixel is decoded, and the
//! decoder runs under an allocation limit.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder as _, ImageReader, Limits};

use crate::manifest::files::MAX_IMAGE_BYTES;
use crate::manifest::image::MAX_DECODE_PIXELS;
use crate::manifest::{ImageType, LocalImage, Prepare};

/// Quality of the JPEGs pinbatch writes: high, since Pinterest compresses again.
const JPEG_QUALITY: u8 = 90;

/// Tries of `--fit` before giving up: each scales by the square root of how far over it is.
const FIT_TRIES: usize = 8;

/// The bytes to send for `image`: read from its file, and converted when its preparation says.
pub(super) fn prepared_bytes(image: &LocalImage) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(&image.path)
        .map_err(|err| format!("cannot read `{}`: {err}", image.path.display()))?;
    if image.info.prepare == Prepare::AsIs {
        return Ok(bytes);
    }
    let decoded = decode_upright(&bytes, &image.reference)?;
    drop(bytes);
    let encoded = encode(&decoded, image.content_type, &image.reference)?;
    if encoded.len() as u64 <= MAX_IMAGE_BYTES {
        return Ok(encoded);
    }
    if image.info.prepare != Prepare::Fit {
        return Err(format!(
            "`{}` is {} MB once converted, over the 20 MB Pinterest takes; pass --fit to scale it down until it fits",
            image.reference,
            encoded.len() / (1024 * 1024)
        ));
    }
    fit(decoded, encoded.len(), image)
}

/// Decodes an image (a GIF's first frame) under the pixel and memory bounds, and applies its
/// EXIF orientation.
fn decode_upright(bytes: &[u8], reference: &str) -> Result<DynamicImage, String> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|err| format!("cannot read `{reference}`: {err}"))?;
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODE_PIXELS * 4 + 64 * 1024 * 1024);
    reader.limits(limits);
    let mut decoder = reader
        .into_decoder()
        .map_err(|err| format!("cannot decode `{reference}`: {err}"))?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > MAX_DECODE_PIXELS {
        return Err(format!(
            "`{reference}` is {width} x {height}, more than the {} megapixels pinbatch decodes",
            MAX_DECODE_PIXELS / 1_000_000
        ));
    }
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut decoded = DynamicImage::from_decoder(decoder)
        .map_err(|err| format!("cannot decode `{reference}`: {err}"))?;
    decoded.apply_orientation(orientation);
    Ok(decoded)
}

/// Encodes as JPEG (opaque RGB) or PNG (with its alpha channel when it has one).
fn encode(image: &DynamicImage, as_type: ImageType, reference: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let result = match as_type {
        ImageType::Jpeg => {
            let rgb = DynamicImage::ImageRgb8(image.to_rgb8());
            let encoder =
                image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY);
            rgb.write_with_encoder(encoder)
        }
        ImageType::Png => {
            let converted = if image.color().has_alpha() {
                DynamicImage::ImageRgba8(image.to_rgba8())
            } else {
                DynamicImage::ImageRgb8(image.to_rgb8())
            };
            converted.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        }
    };
    result.map_err(|err| format!("cannot encode `{reference}` as {}: {err}", as_type.mime()))?;
    Ok(out)
}

/// Scales `decoded` down until its encoding fits under the size limit (`--fit`).
fn fit(decoded: DynamicImage, mut size: usize, image: &LocalImage) -> Result<Vec<u8>, String> {
    let limit = MAX_IMAGE_BYTES as f64;
    let (mut width, mut height) = (decoded.width(), decoded.height());
    for _ in 0..FIT_TRIES {
        // Bytes grow about with the pixel count: scale both sides by the square root, with a
        // margin so that one or two tries usually do.
        #[allow(clippy::cast_precision_loss)]
        let factor = (limit / size as f64).sqrt() * 0.9;
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let scale = |side: u32| ((f64::from(side) * factor).floor() as u32).max(1);
        (width, height) = (scale(width), scale(height));
        let smaller = decoded.resize(width, height, image::imageops::FilterType::Triangle);
        let encoded = encode(&smaller, image.content_type, &image.reference)?;
        if encoded.len() as u64 <= MAX_IMAGE_BYTES {
            return Ok(encoded);
        }
        size = encoded.len();
    }
    Err(format!(
        "`{}` is still over 20 MB after scaling it down {FIT_TRIES} times",
        image.reference
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::ImageInfo;
    use crate::manifest::image::ImageFormat;

    fn local(path: &std::path::Path, content_type: ImageType, prepare: Prepare) -> LocalImage {
        LocalImage {
            reference: "x".to_owned(),
            path: path.to_owned(),
            content_type,
            len: std::fs::metadata(path).unwrap().len(),
            info: ImageInfo {
                format: ImageFormat::WebP,
                width: 0,
                height: 0,
                prepare,
            },
        }
    }

    #[test]
    fn a_transparent_webp_becomes_a_png_and_an_opaque_bmp_a_jpeg() {
        let dir = tempfile::tempdir().unwrap();
        let webp = dir.path().join("a.webp");
        image::RgbaImage::from_pixel(30, 20, image::Rgba([10, 20, 30, 0]))
            .save(&webp)
            .unwrap();
        let bytes = prepared_bytes(&local(&webp, ImageType::Png, Prepare::Convert)).unwrap();
        let back = image::load_from_memory(&bytes).unwrap();
        assert_eq!(
            image::guess_format(&bytes).unwrap(),
            image::ImageFormat::Png
        );
        assert_eq!((back.width(), back.height()), (30, 20));
        assert!(back.color().has_alpha());
        let bmp = dir.path().join("a.bmp");
        image::RgbImage::from_pixel(8, 9, image::Rgb([200, 0, 0]))
            .save(&bmp)
            .unwrap();
        let bytes = prepared_bytes(&local(&bmp, ImageType::Jpeg, Prepare::Convert)).unwrap();
        assert_eq!(
            image::guess_format(&bytes).unwrap(),
            image::ImageFormat::Jpeg
        );
    }
}

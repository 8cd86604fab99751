//! A local image against what Pinterest takes and shows: its format (sent as it is, converted,
//! or refused), its size (scaled down with `--fit`), its pixels, its shape in the feed, and the
//! sizes of a carousel's images. Pure judgements of what the header says; the checks report
//! them where the image was written.

use std::path::{Path, PathBuf};

use super::diagnostic::Severity;
use super::files::{ImageProbe, MAX_IMAGE_BYTES};
use super::image::{
    FEED_CUT_RATIO, ImageFormat, MAX_DECODE_PIXELS, MAX_IMAGE_PIXELS, MIN_FEED_WIDTH,
};
use super::model::{ImageInfo, ImageType, LocalImage, Prepare};
use super::video::{ContainerError, MAX_VIDEO_MS, MIN_VIDEO_MS, VideoInfo, read_container};

/// Widest and tallest video Pinterest takes, as width over height (1.91:1 and 1:2).
const VIDEO_ASPECT: std::ops::RangeInclusive<f64> = 0.5..=1.91;

/// How local images may be prepared: `--no-convert` and `--fit`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaRules {
    /// Refuse images Pinterest does not take instead of converting them.
    pub no_convert: bool,
    /// Scale images over the size limit down until they fit.
    pub fit: bool,
}

/// One thing found about an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    pub message: String,
    pub hint: Option<String>,
}

impl Finding {
    fn new(severity: Severity, message: String, hint: Option<&str>) -> Self {
        Finding {
            severity,
            message,
            hint: hint.map(str::to_owned),
        }
    }
}

fn megabytes(bytes: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let mb = bytes as f64 / (1024.0 * 1024.0);
    format!("{mb:.1} MB")
}

fn megapixels(pixels: u64) -> u64 {
    pixels / 1_000_000
}

const HEIF_HINT: &str = "export it as JPEG first: on an iPhone, Settings > Camera > Formats > Most Compatible takes JPEG from then on; on a Mac, open it in Preview and use File > Export > JPEG; on Linux, `heif-convert photo.heic photo.jpg` (Debian's libheif-examples)";

/// Judges a probed local image written as `reference` (resolved to `path`): the image to send,
/// or `None` when it cannot be sent, and what was found.
pub(crate) fn judge_image(
    reference: &str,
    path: PathBuf,
    probe: &ImageProbe,
    rules: MediaRules,
) -> (Option<LocalImage>, Vec<Finding>) {
    let header = probe.header;
    let format = header.format;
    let mut findings = Vec::new();
    let mut refused = false;
    if let ImageFormat::Heif(name) = format {
        findings.push(Finding::new(
            Severity::Error,
            format!("{reference} is a {name} image (the iPhone's photo format), which Pinterest does not take and pinbatch cannot convert"),
            Some(HEIF_HINT),
        ));
        return (None, findings);
    }
    if let Some(extension) = extension_of(&path)
        && ImageFormat::is_image_extension(&extension)
        && !format.has_extension(&extension)
    {
        findings.push(Finding::new(
            Severity::Warning,
            format!("{reference} is a {format} image, though its name ends in .{extension}"),
            Some("rename it, so that other programs read it right too"),
        ));
    }
    let pixels = header.pixels();
    if pixels > MAX_IMAGE_PIXELS {
        findings.push(Finding::new(
            Severity::Error,
            format!(
                "{reference} claims {} x {} pixels ({} megapixels), more than the {} megapixels pinbatch takes: its header is damaged, or the image is far larger than any pin shows",
                header.width,
                header.height,
                megapixels(pixels),
                megapixels(MAX_IMAGE_PIXELS)
            ),
            Some("export it again at a usual size (1000 x 1500 is recommended)"),
        ));
        return (None, findings);
    }
    let converts = !format.accepted() || header.cmyk;
    // PNG stays PNG, and so does anything with transparency; the rest becomes JPEG.
    let content_type =
        if format == ImageFormat::Png || (header.alpha && format != ImageFormat::Jpeg) {
            ImageType::Png
        } else {
            ImageType::Jpeg
        };
    let mut prepare = Prepare::AsIs;
    if converts {
        let target = if content_type == ImageType::Png {
            "PNG (keeping its transparency)"
        } else {
            "JPEG"
        };
        match (rules.no_convert, header.cmyk) {
            (false, false) => {
                prepare = Prepare::Convert;
                findings.push(Finding::new(
                    Severity::Note,
                    format!(
                        "{reference} is a {format} image, which Pinterest does not take: it is converted to {target} when uploaded{}",
                        if format == ImageFormat::Gif { " (its first frame)" } else { "" }
                    ),
                    None,
                ));
            }
            (false, true) => {
                prepare = Prepare::Convert;
                findings.push(Finding::new(
                    Severity::Note,
                    format!("{reference} is a CMYK JPEG: it is converted to an RGB JPEG when uploaded, since feeds show CMYK colours wrong"),
                    None,
                ));
            }
            (true, false) => {
                refused = true;
                findings.push(Finding::new(
                    Severity::Error,
                    format!("{reference} is a {format} image; Pinterest takes JPEG or PNG (and --no-convert is given)"),
                    Some("convert it to JPEG or PNG, or leave out --no-convert to have pinbatch convert it when uploading"),
                ));
            }
            (true, true) => findings.push(Finding::new(
                Severity::Warning,
                format!("{reference} is a CMYK JPEG, sent as it is (--no-convert): feeds may show its colours wrong"),
                Some("save it as an RGB (sRGB) JPEG"),
            )),
        }
    }
    if probe.len > MAX_IMAGE_BYTES {
        if rules.fit {
            prepare = Prepare::Fit;
            findings.push(Finding::new(
                Severity::Note,
                format!(
                    "{reference} is {}, over the {} Pinterest takes: it is scaled down to fit when uploaded (--fit)",
                    megabytes(probe.len),
                    megabytes(MAX_IMAGE_BYTES)
                ),
                None,
            ));
        } else {
            refused = true;
            findings.push(Finding::new(
                Severity::Error,
                format!(
                    "{reference} is {}, more than the {} Pinterest takes",
                    megabytes(probe.len),
                    megabytes(MAX_IMAGE_BYTES)
                ),
                Some("pass --fit to have pinbatch scale it down until it fits when uploading, or make the file smaller"),
            ));
        }
    }
    if prepare != Prepare::AsIs && pixels > MAX_DECODE_PIXELS {
        refused = true;
        findings.push(Finding::new(
            Severity::Error,
            format!(
                "{reference} is {} x {} ({} megapixels): pinbatch converts or scales images of at most {} megapixels, to bound its memory",
                header.width,
                header.height,
                megapixels(pixels),
                megapixels(MAX_DECODE_PIXELS)
            ),
            Some("convert or scale it down yourself to a JPEG or PNG under 20 MB"),
        ));
    }
    if refused {
        return (None, findings);
    }
    let (width, height) = header.shown_size();
    let image = LocalImage {
        reference: reference.to_owned(),
        path,
        content_type,
        len: probe.len,
        info: ImageInfo {
            format,
            width,
            height,
            prepare,
        },
    };
    (Some(image), findings)
}

fn extension_of(path: &Path) -> Option<String> {
    Some(path.extension()?.to_str()?.to_ascii_lowercase())
}

/// How a pin's image shows in the feed: cut off when taller than 1:2.1, a note when wider than
/// tall, blurry when narrower than 600 px.
pub(crate) fn feed_shape(image: &LocalImage) -> Vec<Finding> {
    feed_shape_of(&image.reference, image.info.width, image.info.height)
}

/// [`feed_shape`] of an image known by its reference (a path or a URL) and shown size.
pub(crate) fn feed_shape_of(reference: &str, width: u32, height: u32) -> Vec<Finding> {
    let mut findings = Vec::new();
    if width == 0 || height == 0 {
        return findings;
    }
    if f64::from(height) > f64::from(width) * FEED_CUT_RATIO {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let visible = (f64::from(width) * FEED_CUT_RATIO).floor() as u32;
        findings.push(Finding::new(
            Severity::Warning,
            format!(
                "{reference} is {width} x {height} (1:{:.2}), taller than 1:2.1: the feed cuts it off and shows only its top {width} x {visible}",
                f64::from(height) / f64::from(width)
            ),
            Some("crop it to 2:3 (1000 x 1500 is recommended), or keep what matters in the top part"),
        ));
    } else if width > height {
        findings.push(Finding::new(
            Severity::Note,
            format!("{reference} is {width} x {height}, wider than tall: 2:3 (such as 1000 x 1500) is recommended and gets more room in the feed"),
            None,
        ));
    }
    if width < MIN_FEED_WIDTH {
        findings.push(Finding::new(
            Severity::Warning,
            format!("{reference} is {width} px wide: narrower than {MIN_FEED_WIDTH} px, it shows blurry in the feed"),
            Some("use an image at least 600 px wide (600 x 900 or more; 1000 x 1500 is recommended)"),
        ));
    }
    findings
}

/// A warning when a carousel's local images are not all of one size: schedulers that publish
/// carousels require it (Pinterest does not say so, hence a warning).
pub(crate) fn carousel_sizes(images: &[(usize, &LocalImage)]) -> Option<Finding> {
    let (_, first) = images.first()?;
    let size = |image: &LocalImage| (image.info.width, image.info.height);
    if images.iter().all(|(_, image)| size(image) == size(first)) {
        return None;
    }
    let sizes: Vec<String> = images
        .iter()
        .map(|(index, image)| {
            format!(
                "images[{}] is {} x {}",
                index + 1,
                image.info.width,
                image.info.height
            )
        })
        .collect();
    Some(Finding::new(
        Severity::Warning,
        format!("the carousel's images differ in size: {}", sizes.join(", ")),
        Some(
            "give every image of a carousel the same size (schedulers that publish carousels require it)",
        ),
    ))
}

/// Judges a local video by its container: the video to send (`None` when Pinterest would
/// refuse it) and what was found.
pub(crate) fn judge_video(reference: &str, path: &Path) -> (Option<VideoInfo>, Vec<Finding>) {
    let error = |message: String, hint: &str| Finding::new(Severity::Error, message, Some(hint));
    const EXPORT_HINT: &str = "export it again as an H.264 or H.265 .mp4 (any video editor, or `ffmpeg -i in.mov -c:v libx264 out.mp4`)";
    let info = match read_container(path) {
        Ok(info) => info,
        Err(problem) => {
            let message = match problem {
                ContainerError::NoMovie => format!(
                    "{reference} is not a playable video: it has no `moov` box (a recording that was not finished, or not a movie)"
                ),
                ContainerError::NoVideoTrack => format!("{reference} has no video track"),
                ContainerError::Damaged(why) => format!("{reference} is a damaged video: {why}"),
                ContainerError::Io(why) => format!("cannot read {reference}: {why}"),
            };
            return (None, vec![error(message, EXPORT_HINT)]);
        }
    };
    let mut findings = Vec::new();
    if !info.playable_codec() {
        findings.push(error(
            format!(
                "{reference} is encoded with {}; Pinterest plays H.264 and H.265 videos",
                info.codec_name()
            ),
            EXPORT_HINT,
        ));
    }
    #[allow(clippy::cast_precision_loss)]
    let seconds = info.duration_ms as f64 / 1000.0;
    if info.duration_ms < MIN_VIDEO_MS {
        findings.push(error(
            format!("{reference} lasts {seconds:.1} s; Pinterest takes videos of at least 4 s"),
            "use a longer clip",
        ));
    } else if info.duration_ms > MAX_VIDEO_MS {
        findings.push(error(
            format!(
                "{reference} lasts {} min {:02} s; Pinterest takes videos of at most 15 minutes",
                info.duration_ms / 60_000,
                info.duration_ms / 1000 % 60
            ),
            "cut it to 15 minutes or less",
        ));
    }
    if info.width > 0 && info.height > 0 {
        let aspect = f64::from(info.width) / f64::from(info.height);
        if !VIDEO_ASPECT.contains(&aspect) {
            findings.push(Finding::new(
                Severity::Warning,
                format!(
                    "{reference} is {} x {}, outside the 1.91:1 to 1:2 Pinterest takes for videos",
                    info.width, info.height
                ),
                Some("crop it to between 1.91:1 (landscape) and 1:2 (portrait); 2:3 or 9:16 suit the feed"),
            ));
        }
    }
    let refused = findings.iter().any(|f| f.severity == Severity::Error);
    ((!refused).then_some(info), findings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::image::ImageHeader;

    fn probe(format: ImageFormat, width: u32, height: u32, len: u64) -> ImageProbe {
        ImageProbe {
            header: ImageHeader {
                format,
                width,
                height,
                orientation: 1,
                alpha: false,
                cmyk: false,
            },
            len,
        }
    }

    fn judge(probe: &ImageProbe, rules: MediaRules) -> (Option<LocalImage>, Vec<Finding>) {
        judge_image("a.img", PathBuf::from("/m/a.img"), probe, rules)
    }

    #[test]
    fn formats_are_sent_converted_or_refused() {
        let (image, findings) = judge(
            &probe(ImageFormat::WebP, 1000, 1500, 10),
            MediaRules::default(),
        );
        let image = image.unwrap();
        assert_eq!(image.content_type, ImageType::Jpeg);
        assert_eq!(image.info.prepare, Prepare::Convert);
        assert_eq!(findings[0].severity, Severity::Note);
        let rules = MediaRules {
            no_convert: true,
            fit: false,
        };
        let (image, findings) = judge(&probe(ImageFormat::Gif, 1000, 1500, 10), rules);
        assert!(image.is_none());
        assert!(findings[0].message.contains("--no-convert"));
        let (image, findings) = judge(&probe(ImageFormat::Heif("HEIC"), 0, 0, 10), rules);
        assert!(
            image.is_none()
                && findings[0]
                    .hint
                    .as_deref()
                    .unwrap()
                    .contains("heif-convert")
        );
    }

    #[test]
    fn large_files_need_fit_and_huge_headers_are_refused() {
        let big = probe(ImageFormat::Png, 4000, 6000, MAX_IMAGE_BYTES + 1);
        let (image, findings) = judge(&big, MediaRules::default());
        assert!(image.is_none());
        assert!(findings[0].hint.as_deref().unwrap().contains("--fit"));
        let fit = MediaRules {
            no_convert: false,
            fit: true,
        };
        assert_eq!(judge(&big, fit).0.unwrap().info.prepare, Prepare::Fit);
        let (image, findings) = judge(&probe(ImageFormat::Png, 100_000, 100_000, 100), fit);
        assert!(image.is_none());
        assert!(findings[0].message.contains("100000 x 100000"));
    }

    #[test]
    fn the_feed_cuts_tall_pins_and_blurs_narrow_ones() {
        let (image, _) = judge(
            &probe(ImageFormat::Png, 1000, 2500, 10),
            MediaRules::default(),
        );
        let findings = feed_shape(&image.unwrap());
        assert_eq!(findings.len(), 1);
        assert!(
            findings[0].message.contains("only its top 1000 x 2100"),
            "{findings:?}"
        );
        let (image, _) = judge(&probe(ImageFormat::Jpeg, 50, 50, 10), MediaRules::default());
        let findings = feed_shape(&image.unwrap());
        assert_eq!(findings.len(), 1);
        assert!(findings[0].message.contains("50 px wide"));
        let (image, _) = judge(
            &probe(ImageFormat::Jpeg, 1500, 1000, 10),
            MediaRules::default(),
        );
        assert_eq!(feed_shape(&image.unwrap())[0].severity, Severity::Note);
    }
}

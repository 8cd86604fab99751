//! Local media checks: a file exists, is readable, is small enough, and its first bytes say what
//! it is. Only metadata and the first few bytes are read, never the whole file.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use super::image::{HeaderError, ImageHeader, read_header};

/// Largest image Pinterest accepts, in bytes (20 MB).
pub const MAX_IMAGE_BYTES: u64 = 20 * 1024 * 1024;
/// Largest video Pinterest accepts, in bytes (2 GB).
pub const MAX_VIDEO_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// Video file extensions pinbatch accepts.
pub const VIDEO_EXTENSIONS: &[&str] = &["mp4", "mov", "m4v"];

/// Bytes of an image read first to find its header; more only when the header lies further.
const IMAGE_HEAD_BYTES: usize = 64 * 1024;
/// The furthest into an image its header is looked for (a TIFF may keep it at the end).
const IMAGE_HEAD_MAX_BYTES: u64 = 64 * 1024 * 1024;
/// QuickTime top-level atoms a `.mov` may start with instead of `ftyp`.
const QUICKTIME_ATOMS: &[&[u8; 4]] = &[b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"];

/// Why a local media file cannot be used; the message names the path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaFileError {
    /// No such file.
    #[error("file not found: {0}")]
    NotFound(String),
    /// A directory, or another non-file.
    #[error("not a regular file: {0}")]
    NotAFile(String),
    /// Open or read failed.
    #[error("cannot read {path}: {reason}")]
    Unreadable {
        /// The path.
        path: String,
        /// The OS error.
        reason: String,
    },
    /// Too large.
    #[error("{path} is {len} bytes, at most {max} allowed")]
    TooLarge {
        /// The path.
        path: String,
        /// Its size.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// The bytes are no image format pinbatch knows.
    #[error("{0} is not an image pinbatch can read (checked its first bytes)")]
    NotAnImage(String),
    /// An image whose header is damaged or cut short.
    #[error("{path} is a damaged image: {reason}")]
    DamagedImage {
        /// The path.
        path: String,
        /// What is wrong with its header.
        reason: String,
    },
    /// Wrong extension or container for a video.
    #[error("{0}")]
    NotAVideo(String),
}

fn open_checked(path: &Path, max: u64) -> Result<(File, u64), MediaFileError> {
    let shown = path.display().to_string();
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(MediaFileError::NotFound(shown));
        }
        Err(err) => {
            return Err(MediaFileError::Unreadable {
                path: shown,
                reason: err.to_string(),
            });
        }
    };
    if !metadata.is_file() {
        return Err(MediaFileError::NotAFile(shown));
    }
    if metadata.len() > max {
        return Err(MediaFileError::TooLarge {
            path: shown,
            len: metadata.len(),
            max,
        });
    }
    let file = File::open(path).map_err(|err| MediaFileError::Unreadable {
        path: shown,
        reason: err.to_string(),
    })?;
    Ok((file, metadata.len()))
}

fn read_head(file: &mut File, path: &Path, buf: &mut [u8]) -> Result<usize, MediaFileError> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => {
                return Err(MediaFileError::Unreadable {
                    path: path.display().to_string(),
                    reason: err.to_string(),
                });
            }
        }
    }
    Ok(filled)
}

/// What a local image file is, by its header, and its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageProbe {
    /// Format, dimensions, orientation, transparency.
    pub header: ImageHeader,
    /// Size in bytes.
    pub len: u64,
}

/// The header of a local image file, read from its first bytes (further only when the header
/// lies further in), and its size. Any size is accepted here: the checks decide what is too
/// large.
pub fn probe_image(path: &Path) -> Result<ImageProbe, MediaFileError> {
    let (mut file, len) = open_checked(path, u64::MAX)?;
    let mut head = vec![0u8; IMAGE_HEAD_BYTES];
    let mut filled = read_head(&mut file, path, &mut head)?;
    loop {
        match read_header(&head[..filled]) {
            Ok(header) => return Ok(ImageProbe { header, len }),
            Err(HeaderError::Unknown) => {
                return Err(MediaFileError::NotAnImage(path.display().to_string()));
            }
            Err(HeaderError::Damaged(reason)) => {
                return Err(MediaFileError::DamagedImage {
                    path: path.display().to_string(),
                    reason,
                });
            }
            Err(HeaderError::Truncated { need }) => {
                let have = u64::try_from(filled).unwrap_or(u64::MAX);
                if need > len || have >= len || need > IMAGE_HEAD_MAX_BYTES {
                    return Err(MediaFileError::DamagedImage {
                        path: path.display().to_string(),
                        reason: format!(
                            "it ends (or its header reaches past {} MB) before its header does",
                            IMAGE_HEAD_MAX_BYTES / (1024 * 1024)
                        ),
                    });
                }
                // Read on to what the header needs, at least doubling what was read.
                let want = need
                    .max(have.saturating_mul(2))
                    .min(len)
                    .min(IMAGE_HEAD_MAX_BYTES);
                head.resize(usize::try_from(want).unwrap_or(usize::MAX), 0);
                filled += read_head(&mut file, path, &mut head[filled..])?;
            }
        }
    }
}

/// The size of a local video, after checking its extension and container signature
/// (`ftyp` at offset 4; a `.mov` may also start with another QuickTime atom).
pub fn probe_video(path: &Path) -> Result<u64, MediaFileError> {
    let shown = path.display().to_string();
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if !VIDEO_EXTENSIONS.contains(&extension.as_str()) {
        return Err(MediaFileError::NotAVideo(format!(
            "{shown} is not a .mp4, .mov or .m4v video"
        )));
    }
    let (mut file, len) = open_checked(path, MAX_VIDEO_BYTES)?;
    let mut head = [0u8; 8];
    let n = read_head(&mut file, path, &mut head)?;
    let atom = &head[4..8];
    let is_mp4 = n == 8 && atom == b"ftyp";
    let is_quicktime =
        n == 8 && extension == "mov" && QUICKTIME_ATOMS.iter().any(|a| atom == a.as_slice());
    if is_mp4 || is_quicktime {
        Ok(len)
    } else {
        Err(MediaFileError::NotAVideo(format!(
            "{shown} is not an MP4/QuickTime video (checked its first bytes)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn images_are_recognised_by_their_bytes_not_their_names() {
        let dir = tempfile::tempdir().unwrap();
        let png = write(
            dir.path(),
            "a.jpg",
            b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x02\0\0\0\x03\x08\x02\0\0\0",
        );
        let jpeg = write(
            dir.path(),
            "b.png",
            b"\xFF\xD8\xFF\xC0\0\x11\x08\0\x03\0\x02\x03\x01\x22\0\x02\x11\x01\x03\x11\x01",
        );
        let cut = write(dir.path(), "d.jpg", b"\xFF\xD8\xFF\xE0\0\x10JFIF");
        let text = write(dir.path(), "c.jpg", b"hello world");
        let probe = probe_image(&png).unwrap();
        assert_eq!(
            probe.header.format,
            crate::manifest::image::ImageFormat::Png
        );
        assert_eq!(
            (probe.header.width, probe.header.height, probe.len),
            (2, 3, 29)
        );
        assert_eq!(
            probe_image(&jpeg).unwrap().header.format,
            crate::manifest::image::ImageFormat::Jpeg
        );
        assert!(matches!(
            probe_image(&cut),
            Err(MediaFileError::DamagedImage { .. })
        ));
        assert!(matches!(
            probe_image(&text),
            Err(MediaFileError::NotAnImage(_))
        ));
        assert!(matches!(
            probe_image(&dir.path().join("missing.jpg")),
            Err(MediaFileError::NotFound(_))
        ));
        assert!(matches!(
            probe_image(dir.path()),
            Err(MediaFileError::NotAFile(_))
        ));
    }

    #[test]
    fn videos_need_extension_and_container() {
        let dir = tempfile::tempdir().unwrap();
        let mp4 = write(dir.path(), "a.mp4", b"\0\0\0\x18ftypisom");
        let mov = write(dir.path(), "b.mov", b"\0\0\0\x08wide....");
        let fake = write(dir.path(), "c.mp4", b"not a video at all");
        let avi = write(dir.path(), "d.avi", b"\0\0\0\x18ftypisom");
        assert_eq!(probe_video(&mp4).unwrap(), 12);
        assert!(probe_video(&mov).is_ok());
        assert!(probe_video(&fake).is_err());
        assert!(probe_video(&avi).is_err());
    }
}

//! Local media checks: a file exists, is readable, is small enough, and its first bytes say what
//! it is. Only metadata and the first few bytes are read, never the whole file.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use super::model::ImageType;

/// Largest image Pinterest accepts, in bytes (20 MB).
pub const MAX_IMAGE_BYTES: u64 = 20 * 1024 * 1024;
/// Largest video Pinterest accepts, in bytes (2 GB).
pub const MAX_VIDEO_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// Video file extensions pinbatch accepts.
pub const VIDEO_EXTENSIONS: &[&str] = &["mp4", "mov", "m4v"];

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
const JPEG_SIGNATURE: &[u8] = b"\xFF\xD8\xFF";
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
    /// The bytes are not JPEG or PNG.
    #[error("{0} is not a JPEG or PNG image (checked its first bytes)")]
    NotAnImage(String),
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

/// The image type of a local file, by its first bytes, and its size.
pub fn probe_image(path: &Path) -> Result<(ImageType, u64), MediaFileError> {
    let (mut file, len) = open_checked(path, MAX_IMAGE_BYTES)?;
    let mut head = [0u8; 8];
    let n = read_head(&mut file, path, &mut head)?;
    let head = &head[..n];
    if head.starts_with(PNG_SIGNATURE) {
        Ok((ImageType::Png, len))
    } else if head.starts_with(JPEG_SIGNATURE) {
        Ok((ImageType::Jpeg, len))
    } else {
        Err(MediaFileError::NotAnImage(path.display().to_string()))
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
        let png = write(dir.path(), "a.jpg", b"\x89PNG\r\n\x1a\nrest");
        let jpeg = write(dir.path(), "b.png", b"\xFF\xD8\xFF\xE0rest");
        let text = write(dir.path(), "c.jpg", b"hello world");
        assert_eq!(probe_image(&png).unwrap(), (ImageType::Png, 12));
        assert_eq!(probe_image(&jpeg).unwrap().0, ImageType::Jpeg);
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

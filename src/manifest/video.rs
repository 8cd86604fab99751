//! Video containers (MP4, MOV, M4V) read for what Pinterest checks: duration, dimensions and
//! codec, from the `moov` box, without reading the media data.
//!
//! The file's top-level boxes are walked by their headers, seeking over `mdat` (gigabytes of
//! frames), and only `moov` is read, up to [`MAX_MOOV_BYTES`]. Inside it: `mvhd` (duration),
//! and for the first video track (`hdlr` of type `vide`) `tkhd` (size and rotation matrix),
//! `mdhd` and the first `stsd` sample entry (its four-character codec). Every length read from
//! the file is checked against what holds it, so a damaged or hostile file ends in a message.
//! Why this and not a crate: README "Media and links".

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// The most bytes of `moov` read (a 15-minute video's sample tables take a few MB).
pub const MAX_MOOV_BYTES: u64 = 64 * 1024 * 1024;

/// Shortest video Pinterest takes, in milliseconds.
pub const MIN_VIDEO_MS: u64 = 4_000;
/// Longest video Pinterest takes, in milliseconds (15 minutes).
pub const MAX_VIDEO_MS: u64 = 15 * 60 * 1_000;

/// What a video's container says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VideoInfo {
    /// Duration in milliseconds.
    pub duration_ms: u64,
    /// Width as shown (the track's rotation applied), in pixels.
    pub width: u32,
    /// Height as shown, in pixels.
    pub height: u32,
    /// The codec's four-character code (`avc1`, `hvc1`, ...).
    pub codec: [u8; 4],
}

impl VideoInfo {
    /// `H.264`, `H.265`, or the four-character code as written.
    pub fn codec_name(&self) -> String {
        match &self.codec {
            b"avc1" | b"avc3" => "H.264".to_owned(),
            b"hvc1" | b"hev1" => "H.265".to_owned(),
            other => format!("`{}`", String::from_utf8_lossy(other).trim()),
        }
    }

    /// Whether Pinterest plays the codec (H.264 or H.265).
    pub fn playable_codec(&self) -> bool {
        matches!(&self.codec, b"avc1" | b"avc3" | b"hvc1" | b"hev1")
    }
}

/// Why a container could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerError {
    /// No `moov` box: the recording was not finished, or the file is not a movie.
    NoMovie,
    /// A `moov` without a video track.
    NoVideoTrack,
    /// The header is damaged; why.
    Damaged(String),
    /// The file could not be read.
    Io(String),
}

/// Reads the container of the video at `path`.
pub fn read_container(path: &Path) -> Result<VideoInfo, ContainerError> {
    let mut file = File::open(path).map_err(|err| ContainerError::Io(err.to_string()))?;
    let len = file
        .metadata()
        .map_err(|err| ContainerError::Io(err.to_string()))?
        .len();
    let moov = find_moov(&mut file, len)?;
    parse_moov(&moov)
}

/// Walks the top-level boxes by their headers to `moov` and returns its body.
fn find_moov(file: &mut File, len: u64) -> Result<Vec<u8>, ContainerError> {
    let io = |err: std::io::Error| ContainerError::Io(err.to_string());
    let mut at = 0u64;
    while at + 8 <= len {
        file.seek(SeekFrom::Start(at)).map_err(io)?;
        let mut header = [0u8; 16];
        let read = file.read(&mut header).map_err(io)?;
        if read < 8 {
            break;
        }
        let size32 = u64::from(u32::from_be_bytes([
            header[0], header[1], header[2], header[3],
        ]));
        let kind = [header[4], header[5], header[6], header[7]];
        let (size, header_len) = match size32 {
            0 => (len - at, 8),
            1 if read >= 16 => (
                u64::from_be_bytes(header[8..16].try_into().unwrap_or([0; 8])),
                16,
            ),
            1 => {
                return Err(ContainerError::Damaged(
                    "a box header is cut short".to_owned(),
                ));
            }
            size => (size, 8),
        };
        if size < header_len || at.saturating_add(size) > len {
            return Err(ContainerError::Damaged(format!(
                "box `{}` at byte {at} claims {size} bytes, more than the file holds",
                String::from_utf8_lossy(&kind)
            )));
        }
        if &kind == b"moov" {
            let body_len = size - header_len;
            if body_len > MAX_MOOV_BYTES {
                return Err(ContainerError::Damaged(format!(
                    "its `moov` box is {} MB, more than the {} MB pinbatch reads",
                    body_len / (1024 * 1024),
                    MAX_MOOV_BYTES / (1024 * 1024)
                )));
            }
            file.seek(SeekFrom::Start(at + header_len)).map_err(io)?;
            let mut body = vec![0u8; usize::try_from(body_len).unwrap_or(0)];
            file.read_exact(&mut body).map_err(io)?;
            return Ok(body);
        }
        at += size;
    }
    Err(ContainerError::NoMovie)
}

/// A box inside another: its four-character type and its body.
type Child<'a> = ([u8; 4], &'a [u8]);

/// The boxes directly inside `body`, in order; `Err` when a box claims more than `body` holds.
fn children(body: &[u8]) -> Result<Vec<Child<'_>>, ContainerError> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at + 8 <= body.len() {
        let size32 = u32::from_be_bytes([body[at], body[at + 1], body[at + 2], body[at + 3]]);
        let kind = [body[at + 4], body[at + 5], body[at + 6], body[at + 7]];
        let (size, header_len) = match size32 {
            0 => (body.len() - at, 8),
            1 => {
                let large = body
                    .get(at + 8..at + 16)
                    .and_then(|b| b.try_into().ok())
                    .map(u64::from_be_bytes)
                    .ok_or_else(|| damaged("a box header is cut short"))?;
                (usize::try_from(large).unwrap_or(usize::MAX), 16)
            }
            size => (usize::try_from(size).unwrap_or(usize::MAX), 8),
        };
        if size < header_len || size > body.len() - at {
            return Err(damaged(&format!(
                "box `{}` claims more bytes than its parent holds",
                String::from_utf8_lossy(&kind)
            )));
        }
        out.push((kind, &body[at + header_len..at + size]));
        at += size;
    }
    Ok(out)
}

fn damaged(why: &str) -> ContainerError {
    ContainerError::Damaged(why.to_owned())
}

fn child<'a>(body: &'a [u8], kind: &[u8; 4]) -> Result<Option<&'a [u8]>, ContainerError> {
    Ok(children(body)?
        .into_iter()
        .find(|(k, _)| k == kind)
        .map(|(_, b)| b))
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn be64(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

/// (timescale, duration) of an `mvhd` or `mdhd` body, versions 0 and 1.
fn timing(body: &[u8]) -> Option<(u32, u64)> {
    if body.first()? == &1 {
        Some((be32(body, 20)?, be64(body, 24)?))
    } else {
        Some((be32(body, 12)?, u64::from(be32(body, 16)?)))
    }
}

fn milliseconds((timescale, duration): (u32, u64)) -> Option<u64> {
    (timescale > 0).then(|| duration.saturating_mul(1000) / u64::from(timescale))
}

fn parse_moov(moov: &[u8]) -> Result<VideoInfo, ContainerError> {
    let movie_ms = child(moov, b"mvhd")?
        .and_then(timing)
        .and_then(milliseconds);
    for (kind, trak) in children(moov)? {
        if &kind != b"trak" {
            continue;
        }
        let Some(mdia) = child(trak, b"mdia")? else {
            continue;
        };
        let is_video = child(mdia, b"hdlr")?.and_then(|h| h.get(8..12)) == Some(b"vide".as_slice());
        if !is_video {
            continue;
        }
        let tkhd = child(trak, b"tkhd")?.ok_or_else(|| damaged("the video track has no `tkhd`"))?;
        let (width, height) =
            shown_size(tkhd).ok_or_else(|| damaged("the video track's `tkhd` is cut short"))?;
        let track_ms = child(mdia, b"mdhd")?
            .and_then(timing)
            .and_then(milliseconds);
        let codec = sample_entry(mdia)?
            .ok_or_else(|| damaged("the video track has no sample description"))?;
        let duration_ms = movie_ms.filter(|ms| *ms > 0).or(track_ms).unwrap_or(0);
        return Ok(VideoInfo {
            duration_ms,
            width,
            height,
            codec,
        });
    }
    Err(ContainerError::NoVideoTrack)
}

/// Width and height from `tkhd` (16.16 fixed point), swapped when its matrix turns the picture
/// a quarter (phones record portrait video so).
fn shown_size(tkhd: &[u8]) -> Option<(u32, u32)> {
    let base = if tkhd.first()? == &1 { 52 } else { 40 };
    let matrix_a = be32(tkhd, base)?;
    let matrix_b = be32(tkhd, base + 4)?;
    let width = be32(tkhd, base + 36)? >> 16;
    let height = be32(tkhd, base + 40)? >> 16;
    Some(if matrix_a == 0 && matrix_b != 0 {
        (height, width)
    } else {
        (width, height)
    })
}

/// The four-character code of the first sample entry of `mdia/minf/stbl/stsd`.
fn sample_entry(mdia: &[u8]) -> Result<Option<[u8; 4]>, ContainerError> {
    let Some(minf) = child(mdia, b"minf")? else {
        return Ok(None);
    };
    let Some(stbl) = child(minf, b"stbl")? else {
        return Ok(None);
    };
    let Some(stsd) = child(stbl, b"stsd")? else {
        return Ok(None);
    };
    // Version and flags (4 bytes), an entry count (4), then boxed entries.
    Ok(stsd
        .get(8..)
        .map(children)
        .transpose()?
        .and_then(|entries| entries.first().map(|(kind, _)| *kind)))
}

/// An MP4 header for unit tests: `ftyp`, a `moov` with one video track of `seconds`, `width` x
/// `height` and `codec`, and a small `mdat`.
#[cfg(test)]
pub(crate) fn sample_mp4(seconds: u32, width: u16, height: u16, codec: &[u8; 4]) -> Vec<u8> {
    fn boxed(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut out = u32::try_from(body.len() + 8)
            .unwrap()
            .to_be_bytes()
            .to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        out
    }
    let timing = |extra: usize| {
        let mut body = vec![0u8; 12];
        body.extend_from_slice(&1000u32.to_be_bytes());
        body.extend_from_slice(&(seconds * 1000).to_be_bytes());
        body.extend_from_slice(&vec![0u8; extra]);
        body
    };
    let mut tkhd = vec![0u8; 40];
    tkhd[3] = 3;
    for value in [0x0001_0000u32, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000] {
        tkhd.extend_from_slice(&value.to_be_bytes());
    }
    tkhd.extend_from_slice(&(u32::from(width) << 16).to_be_bytes());
    tkhd.extend_from_slice(&(u32::from(height) << 16).to_be_bytes());
    let mut hdlr = vec![0u8; 8];
    hdlr.extend_from_slice(b"vide");
    hdlr.extend_from_slice(&[0; 13]);
    let mut stsd = vec![0, 0, 0, 0, 0, 0, 0, 1];
    stsd.extend_from_slice(&boxed(codec, &[0u8; 78]));
    let stbl = boxed(b"stbl", &boxed(b"stsd", &stsd));
    let minf = boxed(b"minf", &stbl);
    let mdia = boxed(
        b"mdia",
        &[boxed(b"mdhd", &timing(4)), boxed(b"hdlr", &hdlr), minf].concat(),
    );
    let trak = boxed(b"trak", &[boxed(b"tkhd", &tkhd), mdia].concat());
    let moov = boxed(b"moov", &[boxed(b"mvhd", &timing(80)), trak].concat());
    let ftyp = boxed(b"ftyp", b"isom\0\0\x02\0isomiso2avc1mp41");
    [ftyp, moov, boxed(b"mdat", &[0; 16])].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> Result<VideoInfo, ContainerError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.mp4");
        std::fs::write(&path, bytes).unwrap();
        read_container(&path)
    }

    #[test]
    fn duration_size_and_codec_come_from_moov() {
        let info = read(&sample_mp4(30, 1080, 1920, b"hvc1")).unwrap();
        assert_eq!(info.duration_ms, 30_000);
        assert_eq!((info.width, info.height), (1080, 1920));
        assert_eq!(info.codec_name(), "H.265");
        assert!(info.playable_codec());
        let info = read(&sample_mp4(3, 640, 480, b"mp4v")).unwrap();
        assert!(!info.playable_codec());
        assert_eq!(info.codec_name(), "`mp4v`");
    }

    #[test]
    fn damaged_containers_are_errors_never_panics() {
        let good = sample_mp4(30, 1080, 1920, b"avc1");
        assert!(read(&good[..40]).is_err());
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..2000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mut bytes = good.clone();
            let at = usize::try_from(seed % bytes.len() as u64).unwrap();
            bytes[at] = (seed >> 32) as u8;
            if seed.is_multiple_of(3) {
                bytes.truncate(at);
            }
            let _ = read(&bytes);
        }
        let mut no_moov = good[..32].to_vec();
        no_moov.extend_from_slice(&[0, 0, 0, 16, b'm', b'd', b'a', b't', 1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(read(&no_moov), Err(ContainerError::NoMovie));
    }
}

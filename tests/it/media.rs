//! Local images as Pinterest takes and shows them, through the real binary: dimensions read from
//! headers and located diagnostics (cut off in the feed, blurry, wider than tall, carousels of
//! mixed sizes, names that lie), hostile headers refused, and what the emulator received for
//! images converted (WebP, GIF, CMYK JPEG) or scaled down (`--fit`) at upload time.

use std::path::{Path, PathBuf};

use pinbatch_emulator::{ImageRecord, PinMediaRecord};

use crate::common::TestEmulator;

const BOARD: &str = "Media";

fn write_manifest(dir: &Path, pins: &str) -> PathBuf {
    let path = dir.join("pins.yaml");
    std::fs::write(
        &path,
        format!("version: 1\ndefaults:\n  board: {BOARD}\npins:\n{pins}"),
    )
    .unwrap();
    path
}

/// An opaque RGB image of `width` x `height`, saved in the format its extension names.
fn save_rgb(path: &Path, width: u32, height: u32) {
    image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    })
    .save(path)
    .unwrap();
}

/// `pinbatch validate` of `manifest`: (exit code, stderr).
fn validate(emu: &TestEmulator, manifest: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let output = emu
        .pinbatch()
        .arg("validate")
        .arg(manifest)
        .args(extra)
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A JPEG with an EXIF segment holding `orientation`, as phones write them.
fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"MM\0*\0\0\0\x08\0\x01");
    tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1]);
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let mut segment = b"Exif\0\0".to_vec();
    segment.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&u16::try_from(segment.len() + 2).unwrap().to_be_bytes());
    out.extend_from_slice(&segment);
    out.extend_from_slice(&jpeg[2..]);
    out
}

#[test]
fn image_headers_give_located_diagnostics_of_the_feed() {
    let emu = TestEmulator::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    save_rgb(&d.join("tall.png"), 1000, 2500);
    save_rgb(&d.join("tiny.jpg"), 50, 50);
    save_rgb(&d.join("wide.jpg"), 1500, 1000);
    save_rgb(&d.join("a.jpg"), 1000, 1500);
    save_rgb(&d.join("b.jpg"), 800, 800);
    save_rgb(&d.join("named.jpg.png"), 1000, 1500);
    std::fs::rename(d.join("named.jpg.png"), d.join("named.jpg")).unwrap();
    // A phone photo stored landscape, shown portrait by its EXIF orientation (6: a quarter turn).
    save_rgb(&d.join("stored.jpg"), 1500, 1000);
    let rotated = with_exif_orientation(&std::fs::read(d.join("stored.jpg")).unwrap(), 6);
    std::fs::write(d.join("phone.jpg"), rotated).unwrap();
    let manifest = write_manifest(
        d,
        "  - image: tall.png\n  - image: tiny.jpg\n  - image: wide.jpg\n  - images: [a.jpg, b.jpg]\n  - image: named.jpg\n  - image: phone.jpg\n",
    );
    let (code, stderr) = validate(&emu, &manifest, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("pins.yaml:5:12: warning: image: tall.png is 1000 x 2500 (1:2.50), taller than 1:2.1: the feed cuts it off and shows only its top 1000 x 2100"),
        "{stderr}"
    );
    assert!(
        stderr.contains("pins.yaml:6:12: warning: image: tiny.jpg is 50 px wide: narrower than 600 px, it shows blurry in the feed"),
        "{stderr}"
    );
    assert!(
        stderr.contains("pins.yaml:7:12: note: image: wide.jpg is 1500 x 1000, wider than tall"),
        "{stderr}"
    );
    assert!(
        stderr.contains("pins.yaml:8:13: warning: images: the carousel's images differ in size: images[1] is 1000 x 1500, images[2] is 800 x 800"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "pins.yaml:9:12: warning: image: named.jpg is a PNG image, though its name ends in .jpg"
        ),
        "{stderr}"
    );
    assert!(
        !stderr.contains("image: phone.jpg"),
        "shown portrait: {stderr}"
    );
    // The fifth warning: the single-image pins look alike on a board listing (no titles).
    assert!(
        stderr.contains("6 pins, 0 errors, 5 warnings, 1 note"),
        "{stderr}"
    );
}

#[test]
fn hostile_and_unreadable_images_end_in_located_errors() {
    let emu = TestEmulator::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A PNG header claiming 100 000 x 100 000 pixels, and nothing behind it.
    let mut huge = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    huge.extend_from_slice(&100_000u32.to_be_bytes());
    huge.extend_from_slice(&100_000u32.to_be_bytes());
    huge.extend_from_slice(b"\x08\x02\0\0\0\0\0\0\0");
    std::fs::write(d.join("huge.png"), huge).unwrap();
    // A header cut short, text named .jpg, and an iPhone photo.
    std::fs::write(d.join("cut.png"), b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0").unwrap();
    std::fs::write(d.join("text.jpg"), b"this is only text, not an image").unwrap();
    std::fs::write(d.join("photo.heic"), b"\0\0\0\x18ftypheic\0\0\0\0mif1heic").unwrap();
    // A WebP of 8 000 x 8 000 (64 megapixels) needs decoding to be converted: refused early.
    let mut webp = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\x10\0\0\0".to_vec();
    webp.extend_from_slice(&7999u32.to_le_bytes()[..3]);
    webp.extend_from_slice(&7999u32.to_le_bytes()[..3]);
    std::fs::write(d.join("bomb.webp"), webp).unwrap();
    let manifest = write_manifest(
        d,
        "  - image: huge.png\n  - image: cut.png\n  - image: text.jpg\n  - image: photo.heic\n  - image: bomb.webp\n",
    );
    let (code, stderr) = validate(&emu, &manifest, &[]);
    assert_eq!(code, Some(1), "{stderr}");
    for expected in [
        "pins.yaml:5:12: error: image: huge.png claims 100000 x 100000 pixels (10000 megapixels)",
        "pins.yaml:6:12: error: image: ",
        "cut.png is a damaged image: it ends",
        "pins.yaml:7:12: error: image: ",
        "text.jpg is not an image pinbatch can read",
        "pins.yaml:8:12: error: image: photo.heic is a HEIC image",
        "heif-convert",
        "pins.yaml:9:12: error: image: bomb.webp is 8000 x 8000 (64 megapixels): pinbatch converts or scales images of at most 40 megapixels",
    ] {
        assert!(stderr.contains(expected), "{expected}\n{stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// The image of the pin titled `title` as the emulator stored it.
fn uploaded(emu: &TestEmulator, title: &str) -> (String, Option<(u32, u32)>, usize) {
    let snapshot = emu.emu().snapshot();
    let pin = snapshot
        .pins
        .iter()
        .find(|p| p.title.as_deref() == Some(title))
        .unwrap_or_else(|| panic!("no pin {title}"));
    match &pin.media {
        PinMediaRecord::Image(ImageRecord::Bytes {
            content_type,
            size,
            len,
            ..
        }) => (content_type.clone(), *size, *len),
        other => panic!("{title}: {other:?}"),
    }
}

#[test]
fn formats_pinterest_refuses_are_converted_when_uploaded() {
    let emu = TestEmulator::start();
    emu.emu().seed_board(BOARD, "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    image::RgbaImage::from_fn(600, 900, |x, _| {
        image::Rgba([200, 100, 50, (x % 256) as u8])
    })
    .save(d.join("clear.webp"))
    .unwrap();
    save_rgb(&d.join("anim.gif"), 700, 1050);
    save_rgb(&d.join("scan.bmp"), 640, 960);
    // A TIFF stored landscape and shown portrait: converted upright.
    save_rgb(&d.join("stored.tiff"), 960, 640);
    let mut tiff = std::fs::read(d.join("stored.tiff")).unwrap();
    set_tiff_orientation(&mut tiff, 6);
    std::fs::write(d.join("turned.tiff"), tiff).unwrap();
    let manifest = write_manifest(
        d,
        "  - { title: WebP, image: clear.webp }\n  - { title: GIF, image: anim.gif }\n  - { title: BMP, image: scan.bmp }\n  - { title: TIFF, image: turned.tiff }\n",
    );
    let (code, stderr) = validate(&emu, &manifest, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("note: image: clear.webp is a WebP image, which Pinterest does not take: it is converted to PNG (keeping its transparency) when uploaded"),
        "{stderr}"
    );
    assert!(
        stderr.contains("converted to JPEG when uploaded (its first frame)"),
        "{stderr}"
    );

    let (code, stderr) = validate(&emu, &manifest, &["--no-convert"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("error: image: clear.webp is a WebP image; Pinterest takes JPEG or PNG (and --no-convert is given)"),
        "{stderr}"
    );

    // plan says it too, at the pin.
    let output = emu
        .pinbatch()
        .args(["plan", "--offline"])
        .arg(&manifest)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("note: image: scan.bmp is a BMP image, which Pinterest does not take: it is converted to JPEG when uploaded"),
        "{stderr}"
    );

    let report = d.join("run.csv");
    let output = emu
        .pinbatch()
        .arg("apply")
        .arg(&manifest)
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The run's report says what each pin's image became.
    let mut rows = csv::Reader::from_path(&report).unwrap();
    let converted: Vec<String> = rows
        .records()
        .map(|row| row.unwrap().get(7).unwrap().to_owned())
        .collect();
    assert_eq!(
        converted,
        [
            "clear.webp: WebP converted to PNG",
            "anim.gif: GIF converted to JPEG",
            "scan.bmp: BMP converted to JPEG",
            "turned.tiff: TIFF converted to JPEG",
        ]
    );
    assert_eq!(uploaded(&emu, "WebP").0, "image/png");
    assert_eq!(uploaded(&emu, "WebP").1, Some((600, 900)));
    assert_eq!(uploaded(&emu, "GIF").0, "image/jpeg");
    assert_eq!(uploaded(&emu, "GIF").1, Some((700, 1050)));
    assert_eq!(uploaded(&emu, "BMP").1, Some((640, 960)));
    assert_eq!(uploaded(&emu, "TIFF").1, Some((640, 960)), "turned upright");
    emu.assert_no_spec_violations();
}

/// Gives a little-endian TIFF written by the `image` crate (which writes no orientation) the
/// EXIF orientation `orientation`: its first directory is written again, with the tag, at the
/// end of the file.
fn set_tiff_orientation(tiff: &mut Vec<u8>, orientation: u16) {
    assert!(tiff.starts_with(b"II*\0"));
    let offset = u32::from_le_bytes(tiff[4..8].try_into().unwrap()) as usize;
    let count = u16::from_le_bytes(tiff[offset..offset + 2].try_into().unwrap()) as usize;
    let mut entries: Vec<[u8; 12]> = (0..count)
        .map(|i| {
            let at = offset + 2 + i * 12;
            tiff[at..at + 12].try_into().unwrap()
        })
        .collect();
    let mut entry = [0u8; 12];
    entry[0..2].copy_from_slice(&274u16.to_le_bytes());
    entry[2..4].copy_from_slice(&3u16.to_le_bytes());
    entry[4..8].copy_from_slice(&1u32.to_le_bytes());
    entry[8..10].copy_from_slice(&orientation.to_le_bytes());
    entries.push(entry);
    entries.sort_by_key(|e| u16::from_le_bytes([e[0], e[1]]));
    // The new directory goes at the end (word-aligned); the header points to it.
    if tiff.len() % 2 == 1 {
        tiff.push(0);
    }
    let new_offset = u32::try_from(tiff.len()).unwrap();
    tiff.extend_from_slice(&u16::try_from(entries.len()).unwrap().to_le_bytes());
    for entry in entries {
        tiff.extend_from_slice(&entry);
    }
    tiff.extend_from_slice(&0u32.to_le_bytes());
    tiff[4..8].copy_from_slice(&new_offset.to_le_bytes());
}

#[test]
fn a_cmyk_jpeg_is_sent_as_rgb_and_fit_scales_a_large_image_down() {
    let emu = TestEmulator::start();
    emu.emu().seed_board(BOARD, "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    std::fs::copy(fixtures.join("cmyk.jpg"), d.join("cmyk.jpg")).unwrap();
    // Noise does not compress: a PNG of 2 700 x 2 700 pixels is about 22 MB.
    let mut seed = 7u32;
    let noise = image::RgbImage::from_fn(2700, 2700, |_, _| {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let [a, b, c, _] = seed.to_le_bytes();
        image::Rgb([a, b, c])
    });
    noise.save(d.join("large.png")).unwrap();
    assert!(std::fs::metadata(d.join("large.png")).unwrap().len() > 20 * 1024 * 1024);
    let manifest = write_manifest(
        d,
        "  - { title: CMYK, image: cmyk.jpg }\n  - { title: Large, image: large.png }\n",
    );
    let (code, stderr) = validate(&emu, &manifest, &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("pins.yaml:6:")
            && stderr.contains("large.png is 2")
            && stderr.contains("more than the 20.0 MB Pinterest takes"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: pass --fit"), "{stderr}");
    assert!(
        stderr.contains(
            "note: image: cmyk.jpg is a CMYK JPEG: it is converted to an RGB JPEG when uploaded"
        ),
        "{stderr}"
    );

    let output = emu
        .pinbatch()
        .args(["apply", "--fit"])
        .arg(&manifest)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (content_type, size, len) = uploaded(&emu, "Large");
    assert_eq!(content_type, "image/png");
    let (width, height) = size.unwrap();
    assert!(width < 2700 && width == height, "{size:?}");
    assert!(len <= 20 * 1024 * 1024, "{len}");
    let (content_type, size, _) = uploaded(&emu, "CMYK");
    assert_eq!(content_type, "image/jpeg");
    assert_eq!(size, Some((64, 96)));
    // What was sent decodes as a three-channel (RGB) JPEG.
    let body = emu
        .emu()
        .requests()
        .into_iter()
        .filter(|r| r.is("POST", "/v5/pins"))
        .filter_map(|r| r.body)
        .find(|b| b["title"] == "CMYK")
        .unwrap();
    let data = body["media_source"]["data"].as_str().unwrap();
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .unwrap();
    let decoded = image::load_from_memory(&bytes).unwrap();
    assert_eq!(decoded.color(), image::ColorType::Rgb8);
}

#[test]
fn videos_are_judged_by_their_container() {
    use crate::video::mp4_with;
    let emu = TestEmulator::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("short.mp4"), mp4_with(3, 1080, 1920, b"avc1", b"x")).unwrap();
    std::fs::write(
        d.join("long.mp4"),
        mp4_with(16 * 60, 1080, 1920, b"avc1", b"x"),
    )
    .unwrap();
    std::fs::write(d.join("old.mov"), mp4_with(30, 720, 1280, b"mp4v", b"x")).unwrap();
    std::fs::write(d.join("wide.mp4"), mp4_with(30, 1920, 800, b"hvc1", b"x")).unwrap();
    std::fs::write(d.join("fine.m4v"), mp4_with(30, 1080, 1920, b"hev1", b"x")).unwrap();
    // A recording that was never finished: `ftyp` and media data, no `moov`.
    let mut cut = mp4_with(30, 1080, 1920, b"avc1", b"x");
    cut.truncate(32);
    cut.extend_from_slice(&[0, 0, 0, 12, b'm', b'd', b'a', b't', 1, 2, 3, 4]);
    std::fs::write(d.join("cut.mp4"), cut).unwrap();
    // Over 2 GB: a sparse file, so nothing is written.
    let big = std::fs::File::create(d.join("big.mp4")).unwrap();
    use std::io::Write as _;
    (&big)
        .write_all(&mp4_with(30, 1080, 1920, b"avc1", b"x"))
        .unwrap();
    big.set_len(2 * 1024 * 1024 * 1024 + 1).unwrap();
    let manifest = write_manifest(
        d,
        "  - video: short.mp4\n  - video: long.mp4\n  - video: old.mov\n  - video: wide.mp4\n  - video: fine.m4v\n  - video: cut.mp4\n  - video: big.mp4\n",
    );
    let (code, stderr) = validate(&emu, &manifest, &[]);
    assert_eq!(code, Some(1), "{stderr}");
    for expected in [
        "pins.yaml:5:12: error: video: short.mp4 lasts 3.0 s; Pinterest takes videos of at least 4 s",
        "pins.yaml:6:12: error: video: long.mp4 lasts 16 min 00 s; Pinterest takes videos of at most 15 minutes",
        "pins.yaml:7:12: error: video: old.mov is encoded with `mp4v`; Pinterest plays H.264 and H.265 videos",
        "pins.yaml:8:12: warning: video: wide.mp4 is 1920 x 800, outside the 1.91:1 to 1:2 Pinterest takes for videos",
        "pins.yaml:10:12: error: video: cut.mp4 is not a playable video: it has no `moov` box",
        "pins.yaml:11:12: error: video: ",
    ] {
        assert!(stderr.contains(expected), "{expected}\n{stderr}");
    }
    assert!(
        stderr.contains("big.mp4 is 2147483649 bytes, at most 2147483648 allowed"),
        "{stderr}"
    );
    assert!(!stderr.contains("video: fine.m4v"), "{stderr}");
}

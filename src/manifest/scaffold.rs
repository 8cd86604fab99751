//! `init`'s engine: find the images and videos in a folder and render a starter manifest (CSV or
//! YAML) with one pin per file, ids from the relative path and titles from the file name.

use std::path::{Path, PathBuf};

use globset::GlobBuilder;

use crate::fs::paths::relative_reference;
use crate::fs::walk::Hidden;
use crate::manifest::files::{probe_image, probe_video};

/// The files `init` picks up when no `--glob` is given (matched case-insensitively).
pub const DEFAULT_GLOB: &str = "**/*.{jpg,jpeg,png,mp4,mov,m4v}";

/// Where editors find the manifest schema (`# yaml-language-server: $schema=...`).
pub const SCHEMA_URL: &str = "https://github.com/pinbatch/pinbatch/schemas/manifest.schema.json";

/// Longest title Pinterest takes, in characters.
const MAX_TITLE: usize = 100;

/// Why a folder could not be scanned.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    /// The folder does not exist or is not a folder.
    #[error("`{0}` is not a folder")]
    NotAFolder(PathBuf),
    /// The `--glob` pattern does not parse.
    #[error("`{pattern}` is not a valid glob pattern: {message}")]
    BadGlob {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        message: String,
    },
}

/// The kind of media a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    /// A JPEG or PNG, recognised by its first bytes.
    Image,
    /// An .mp4, .mov or .m4v video.
    Video,
}

/// One file found, ready to become a pin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundFile {
    /// The pin id: the path relative to the scanned folder, with `/` separators.
    pub id: String,
    /// A title made from the file name.
    pub title: String,
    /// The path relative to the manifest's folder, as the manifest writes it.
    pub reference: String,
    /// Image or video.
    pub kind: MediaKind,
}

/// What a scan found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    /// The files, sorted by their path in the folder.
    pub files: Vec<FoundFile>,
    /// Files that matched the pattern but are neither a JPEG/PNG nor a video, with why.
    pub skipped: Vec<String>,
}

/// Finds the files under `dir` whose path relative to `dir` matches `pattern` (`*` does not
/// cross `/`, `**` does; case-insensitive), sorted, skipping hidden files and folders and
/// following links as [`crate::fs::walk`] does. Media
/// references are written relative to `manifest_dir`, the folder the manifest will be in.
pub fn scan(dir: &Path, pattern: &str, manifest_dir: &Path) -> Result<Scan, ScaffoldError> {
    if !dir.is_dir() {
        return Err(ScaffoldError::NotAFolder(dir.to_owned()));
    }
    let matcher = GlobBuilder::new(pattern)
        .literal_separator(true)
        .case_insensitive(true)
        .build()
        .map_err(|err| ScaffoldError::BadGlob {
            pattern: pattern.to_owned(),
            message: err.kind().to_string(),
        })?
        .compile_matcher();
    let matched: Vec<String> = crate::fs::walk::files(dir, Hidden::Skip)
        .into_iter()
        .filter(|rel| matcher.is_match(rel))
        .collect();

    let mut scan = Scan::default();
    for rel in matched {
        let path = dir.join(&rel);
        let kind = if probe_image(&path).is_ok_and(|probe| {
            probe.header.format.accepted() && probe.len <= crate::manifest::files::MAX_IMAGE_BYTES
        }) {
            MediaKind::Image
        } else if has_video_extension(&rel) {
            match probe_video(&path) {
                Ok(_) => MediaKind::Video,
                Err(err) => {
                    scan.skipped.push(err.to_string());
                    continue;
                }
            }
        } else {
            scan.skipped.push(format!(
                "{} is neither a JPEG/PNG image (by its bytes) nor a video",
                path.display()
            ));
            continue;
        };
        scan.files.push(FoundFile {
            title: title_from(&rel),
            reference: relative_reference(manifest_dir, &path),
            id: rel,
            kind,
        });
    }
    Ok(scan)
}

fn has_video_extension(rel: &str) -> bool {
    rel.rsplit_once('.').is_some_and(|(_, ext)| {
        ["mp4", "mov", "m4v"]
            .iter()
            .any(|video| ext.eq_ignore_ascii_case(video))
    })
}

/// The file's stem with `-` and `_` read as spaces, runs of spaces collapsed, at most 100
/// characters.
pub fn title_from(rel: &str) -> String {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let stem = match name.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem,
        _ => name,
    };
    let spaced = stem.replace(['-', '_'], " ");
    let words: Vec<&str> = spaced.split_whitespace().collect();
    let title = if words.is_empty() {
        name.to_owned()
    } else {
        words.join(" ")
    };
    title.chars().take(MAX_TITLE).collect()
}

/// The manifest formats `init` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestFormat {
    /// pinbatch's own CSV columns.
    Csv,
    /// YAML with the schema comment.
    Yaml,
}

impl ManifestFormat {
    /// The format for an output file, by its extension (`.csv`, `.yaml`, `.yml`).
    pub fn of(path: &Path) -> Option<ManifestFormat> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "csv" => Some(ManifestFormat::Csv),
            "yaml" | "yml" => Some(ManifestFormat::Yaml),
            _ => None,
        }
    }
}

/// Renders the manifest. Without a board, the board is left empty for the user to fill in
/// (`validate` reports it until then).
pub fn render(scan: &Scan, board: Option<&str>, format: ManifestFormat) -> Vec<u8> {
    match format {
        ManifestFormat::Csv => render_csv(scan, board),
        ManifestFormat::Yaml => render_yaml(scan, board).into_bytes(),
    }
}

fn render_csv(scan: &Scan, board: Option<&str>) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let board = board.unwrap_or("");
    // Writing to memory cannot fail; a failure would only drop rows, never panic.
    let _ = writer.write_record(["id", "board", "title", "image", "video"]);
    for file in &scan.files {
        let (image, video) = match file.kind {
            MediaKind::Image => (file.reference.as_str(), ""),
            MediaKind::Video => ("", file.reference.as_str()),
        };
        let _ = writer.write_record([file.id.as_str(), board, &file.title, image, video]);
    }
    writer.into_inner().unwrap_or_default()
}

/// A YAML double-quoted scalar: JSON string syntax is valid YAML and escapes everything needed.
fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned())
}

fn render_yaml(scan: &Scan, board: Option<&str>) -> String {
    let mut text = format!("# yaml-language-server: $schema={SCHEMA_URL}\nversion: 1\n");
    text.push_str("defaults:\n");
    match board {
        Some(board) => text.push_str(&format!("  board: {}\n", quoted(board))),
        None => text.push_str("  board: \"\" # fill in the board name (or a board id)\n"),
    }
    text.push_str("pins:\n");
    for file in &scan.files {
        let field = match file.kind {
            MediaKind::Image => "image",
            MediaKind::Video => "video",
        };
        text.push_str(&format!(
            "  - id: {}\n    title: {}\n    {field}: {}\n",
            quoted(&file.id),
            quoted(&file.title),
            quoted(&file.reference)
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_come_from_file_names() {
        assert_eq!(title_from("a/sleepy-cat_01.jpg"), "sleepy cat 01");
        assert_eq!(title_from("--x__.png"), "x");
        assert_eq!(title_from("___.png"), "___.png");
        assert_eq!(title_from(&format!("{}.jpg", "a".repeat(150))).len(), 100);
    }

    #[test]
    fn the_scan_sorts_recognises_and_skips() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("b/c")).unwrap();
        std::fs::create_dir_all(root.join(".hidden")).unwrap();
        std::fs::write(root.join("b/c/z.JPG"), b"\xFF\xD8\xFF\xE0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0\xFF\xC0\0\x11\x08\x05\xDC\x03\xE8\x03\x01\x22\0\x02\x11\x01\x03\x11\x01\xFF\xD9").unwrap();
        std::fs::write(root.join("a.png"), b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\x03\xe8\0\0\x05\xdc\x08\x02\0\0\0\0\0\0\0\0\0\0\0IEND\xaeB`\x82").unwrap();
        std::fs::write(root.join("fake.jpg"), b"not an image").unwrap();
        std::fs::write(root.join("clip.mp4"), b"\0\0\0\x18ftypisom").unwrap();
        std::fs::write(root.join("notes.txt"), b"text").unwrap();
        std::fs::write(root.join(".hidden/x.jpg"), b"\xFF\xD8\xFF").unwrap();
        let scan = scan(root, DEFAULT_GLOB, root).unwrap();
        let ids: Vec<&str> = scan.files.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["a.png", "b/c/z.JPG", "clip.mp4"]);
        assert_eq!(scan.files[2].kind, MediaKind::Video);
        assert_eq!(scan.skipped.len(), 1, "{:?}", scan.skipped);
        assert!(scan.skipped[0].contains("fake.jpg"));

        let out = root.join("out");
        let elsewhere = super::scan(root, "**/*.png", &out).unwrap();
        assert_eq!(elsewhere.files[0].reference, "../a.png");
        assert!(matches!(
            super::scan(root, "[", root),
            Err(ScaffoldError::BadGlob { .. })
        ));
    }

    #[test]
    fn yaml_quotes_everything_and_names_the_schema() {
        let scan = Scan {
            files: vec![FoundFile {
                id: "a: b.jpg".to_owned(),
                title: "say \"hi\" #1".to_owned(),
                reference: "a: b.jpg".to_owned(),
                kind: MediaKind::Image,
            }],
            skipped: Vec::new(),
        };
        let text = render_yaml(&scan, Some("Board: x"));
        assert!(text.starts_with("# yaml-language-server: $schema="));
        let value: serde_json::Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(value["defaults"]["board"], "Board: x");
        assert_eq!(value["pins"][0]["title"], "say \"hi\" #1");
        assert_eq!(value["pins"][0]["image"], "a: b.jpg");
    }
}

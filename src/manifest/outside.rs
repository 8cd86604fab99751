//! Media paths that lead outside the manifest's folder: `../`, absolute paths, symlinks that
//! point out, glob patterns rooted above it. A manifest from someone else (a pull request run
//! in CI) could otherwise publish any image the machine can read, so these are warned about
//! with the resolved path, and `apply` refuses them under CI unless allowed (README "Paths
//! outside the manifest's folder").

use std::path::{Path, PathBuf};

use super::model::{ImageSource, Manifest, Media, VideoCover};

/// Where `path` really is when that is outside `base_dir` (both resolved, symlinks followed);
/// `None` when it is inside, or when either cannot be resolved (a missing file is reported
/// on its own).
pub fn outside_of(base_dir: &Path, path: &Path) -> Option<PathBuf> {
    let base = base_dir.canonicalize().ok()?;
    let resolved = path.canonicalize().ok()?;
    (!resolved.starts_with(&base)).then_some(resolved)
}

/// One local file of a manifest outside its folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutsideFile {
    /// The pin's key.
    pub key: String,
    /// The path as written.
    pub reference: String,
    /// Where it resolves to.
    pub resolved: PathBuf,
}

/// Every local image and video of `manifest` that resolves outside the folder `base_dir`.
pub fn outside_files(manifest: &Manifest, base_dir: &Path) -> Vec<OutsideFile> {
    let mut out = Vec::new();
    for pin in &manifest.pins {
        let mut files: Vec<(&str, &Path)> = Vec::new();
        let sources: Vec<&ImageSource> = match &pin.media {
            Media::Image(source) => vec![source],
            Media::Carousel(items) => items.iter().map(|item| &item.source).collect(),
            Media::Video(_) => Vec::new(),
        };
        for source in sources {
            if let ImageSource::File(image) = source {
                files.push((image.reference.as_str(), image.path.as_path()));
            }
        }
        match &pin.media {
            Media::Image(_) | Media::Carousel(_) => {}
            Media::Video(video) => {
                files.push((video.reference.as_str(), video.path.as_path()));
                if let Some(VideoCover::File(cover)) = &video.cover {
                    files.push((cover.reference.as_str(), cover.path.as_path()));
                }
            }
        }
        for (reference, path) in files {
            if let Some(resolved) = outside_of(base_dir, path) {
                out.push(OutsideFile {
                    key: pin.key.clone(),
                    reference: reference.to_owned(),
                    resolved,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_dot_absolute_and_symlinked_paths_are_outside() {
        let root = tempfile::tempdir().unwrap();
        let base = root.path().join("project");
        std::fs::create_dir_all(base.join("images")).unwrap();
        std::fs::write(root.path().join("secret.png"), b"x").unwrap();
        std::fs::write(base.join("images/a.png"), b"x").unwrap();
        std::os::unix::fs::symlink(root.path().join("secret.png"), base.join("images/link.png"))
            .unwrap();
        assert_eq!(outside_of(&base, &base.join("images/a.png")), None);
        let secret = root.path().join("secret.png").canonicalize().unwrap();
        assert_eq!(
            outside_of(&base, &base.join("../secret.png")),
            Some(secret.clone())
        );
        assert_eq!(
            outside_of(&base, &root.path().join("secret.png")),
            Some(secret.clone())
        );
        assert_eq!(
            outside_of(&base, &base.join("images/link.png")),
            Some(secret)
        );
        assert_eq!(outside_of(&base, &base.join("missing.png")), None);
    }
}

//! The one directory walker: the files below a folder, as `/`-separated paths relative to it,
//! in sorted order. Used by manifest globs and by `init`.
//!
//! Symlinks are followed, to files and to folders alike (a folder of photos is often a link to
//! where the photos really are); a link that leads back into a folder being walked is skipped,
//! so a loop ends instead of walking forever. Entries that cannot be read, and names that are
//! not UTF-8 (which a manifest could not name), are skipped.

use std::path::Path;

/// Which entries a walk skips besides unreadable ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hidden {
    /// Files and folders whose name starts with `.` are walked like the others.
    Include,
    /// Files and folders whose name starts with `.` are left out.
    Skip,
}

/// Every file below `dir` (none when `dir` is not a readable folder), relative to it, sorted.
pub(crate) fn files(dir: &Path, hidden: Hidden) -> Vec<String> {
    let walker = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .min_depth(1)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|entry| {
            hidden == Hidden::Include || !entry.file_name().to_string_lossy().starts_with('.')
        });
    let mut found: Vec<String> = walker
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_file())
        .filter_map(|entry| {
            let relative = entry.path().strip_prefix(dir).ok()?;
            let parts: Option<Vec<&str>> = relative.iter().map(|part| part.to_str()).collect();
            Some(parts?.join("/"))
        })
        .collect();
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_relative_sorted_and_hidden_ones_optional() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("b/c")).unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        for name in ["b/c/z.jpg", "a.png", "b/x.jpg", ".git/config", ".env"] {
            std::fs::write(root.join(name), b"x").unwrap();
        }
        assert_eq!(files(root, Hidden::Skip), ["a.png", "b/c/z.jpg", "b/x.jpg"]);
        assert_eq!(
            files(root, Hidden::Include),
            [".env", ".git/config", "a.png", "b/c/z.jpg", "b/x.jpg"]
        );
        assert!(files(&root.join("absent"), Hidden::Include).is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn links_are_followed_and_loops_end() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let photos = tempfile::tempdir().unwrap();
        std::fs::write(photos.path().join("p.jpg"), b"x").unwrap();
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::os::unix::fs::symlink(photos.path(), root.join("sub/photos")).unwrap();
        std::os::unix::fs::symlink(root, root.join("sub/loop")).unwrap();
        std::os::unix::fs::symlink(photos.path().join("p.jpg"), root.join("link.jpg")).unwrap();
        assert_eq!(
            files(root, Hidden::Include),
            ["link.jpg", "sub/photos/p.jpg"]
        );
    }
}

//! Writing generated files (scaffolded manifests, exported CSVs): atomic replacement, and media
//! paths written relative to the file that names them.

use std::io::Write as _;
use std::path::{Component, Path, PathBuf};

/// Why a generated file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The file exists and replacing it was not asked for.
    #[error("`{0}` already exists")]
    Exists(PathBuf),
    /// Creating, writing or renaming failed.
    #[error("cannot write `{path}`")]
    Io {
        /// The file being written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Writes `bytes` to `path` (creating its folder) through a temporary file in the same folder, synced, then renamed
/// over it, so a crash leaves either the old file or the new one. With `replace` false an
/// existing file is left alone and [`OutputError::Exists`] returned (checked at the rename, so
/// a file created meanwhile is not overwritten either).
pub fn write_atomic(path: &Path, bytes: &[u8], replace: bool) -> Result<(), OutputError> {
    let io = |source: std::io::Error| OutputError::Io {
        path: path.to_owned(),
        source,
    };
    if !replace && path.exists() {
        return Err(OutputError::Exists(path.to_owned()));
    }
    let dir = parent_dir(path);
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut temp = tempfile::Builder::new()
        .prefix(".pinbatch-")
        .tempfile_in(dir)
        .map_err(io)?;
    temp.write_all(bytes)
        .and_then(|()| temp.as_file().sync_all())
        .map_err(io)?;
    if replace {
        temp.persist(path).map_err(|err| io(err.error))?;
    } else {
        temp.persist_noclobber(path).map_err(|err| {
            if err.error.kind() == std::io::ErrorKind::AlreadyExists {
                OutputError::Exists(path.to_owned())
            } else {
                io(err.error)
            }
        })?;
    }
    Ok(())
}

/// The folder of `path`, `.` for a bare file name.
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// `target` as a manifest reference relative to the folder `base`: `/` separators, `..` where
/// needed. Both are made absolute first; a target on another root (a Windows drive) is returned
/// absolute.
pub fn relative_reference(base: &Path, target: &Path) -> String {
    let base = normalise(&std::path::absolute(base).unwrap_or_else(|_| base.to_path_buf()));
    let target = normalise(&std::path::absolute(target).unwrap_or_else(|_| target.to_path_buf()));
    let base_parts: Vec<Component<'_>> = base.components().collect();
    let target_parts: Vec<Component<'_>> = target.components().collect();
    if base_parts.first() != target_parts.first() {
        return slashed(&target);
    }
    let common = base_parts
        .iter()
        .zip(&target_parts)
        .take_while(|(a, b)| a == b)
        .count();
    let mut parts: Vec<String> = vec!["..".to_owned(); base_parts.len() - common];
    parts.extend(
        target_parts[common..]
            .iter()
            .map(|part| part.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

/// Removes `.` and resolves `..` lexically (no file system access, symlinks are not followed).
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn slashed(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_relative_with_forward_slashes() {
        assert_eq!(
            relative_reference(Path::new("/a/b"), Path::new("/a/b/c/d.jpg")),
            "c/d.jpg"
        );
        assert_eq!(
            relative_reference(Path::new("/a/b/out"), Path::new("/a/b/c/d.jpg")),
            "../c/d.jpg"
        );
        assert_eq!(
            relative_reference(Path::new("/a/./b/x/.."), Path::new("/a/b/d.jpg")),
            "d.jpg"
        );
    }

    #[test]
    fn an_existing_file_is_kept_unless_replacing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pins.csv");
        write_atomic(&path, b"one", false).unwrap();
        assert!(matches!(
            write_atomic(&path, b"two", false),
            Err(OutputError::Exists(_))
        ));
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        write_atomic(&path, b"three", true).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"three");
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }
}

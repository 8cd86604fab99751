//! The one way pinbatch replaces a file: a temporary file in the same folder, written and
//! fsynced, renamed over the target, then the folder fsynced so the rename itself survives a
//! crash. A crash at any instant leaves the old file or the new one, never a truncated mix.
//! Used for the state's compaction, the token store, reports and generated files.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Who may read the file written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Only its owner (mode 0600): secrets.
    Private,
    /// Everyone may read it (mode 0644), as files people share and commit.
    Shared,
}

/// What to do when the target exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Existing {
    /// Replace it.
    Replace,
    /// Leave it alone and fail with [`AtomicError::Exists`] (checked at the rename, so a file
    /// created meanwhile is not overwritten either).
    Keep,
}

/// Why a file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum AtomicError {
    /// The file exists and replacing it was not asked for.
    #[error("`{}` already exists", .0.display())]
    Exists(PathBuf),
    /// Creating, writing, syncing or renaming failed.
    #[error("cannot write `{}`", path.display())]
    Io {
        /// The file being written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Writes `bytes` to `path`, creating its folder, as the module says.
pub(crate) fn write(
    path: &Path,
    bytes: &[u8],
    access: Access,
    existing: Existing,
) -> Result<(), AtomicError> {
    let io = |source: std::io::Error| AtomicError::Io {
        path: path.to_owned(),
        source,
    };
    if existing == Existing::Keep && path.exists() {
        return Err(AtomicError::Exists(path.to_owned()));
    }
    let dir = parent_dir(path);
    std::fs::create_dir_all(dir).map_err(io)?;
    // tempfile creates the file with mode 0600 on Unix: a secret is never readable by others,
    // not even for a moment.
    let mut temp = tempfile::Builder::new()
        .prefix(".pinbatch-")
        .tempfile_in(dir)
        .map_err(io)?;
    temp.write_all(bytes).map_err(io)?;
    #[cfg(unix)]
    if access == Access::Shared {
        use std::os::unix::fs::PermissionsExt as _;
        temp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(io)?;
    }
    #[cfg(not(unix))]
    let _ = access;
    temp.as_file().sync_all().map_err(io)?;
    match existing {
        Existing::Replace => {
            temp.persist(path).map_err(|err| io(err.error))?;
        }
        Existing::Keep => {
            temp.persist_noclobber(path).map_err(|err| {
                if err.error.kind() == std::io::ErrorKind::AlreadyExists {
                    AtomicError::Exists(path.to_owned())
                } else {
                    io(err.error)
                }
            })?;
        }
    }
    sync_dir(dir).map_err(io)
}

/// The folder of `path`, `.` for a bare file name.
pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Makes a rename durable: fsync the folder that holds the file.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_or_keeps_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/out.txt");
        write(&path, b"one", Access::Shared, Existing::Keep).unwrap();
        assert!(matches!(
            write(&path, b"two", Access::Shared, Existing::Keep),
            Err(AtomicError::Exists(_))
        ));
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        write(&path, b"two", Access::Shared, Existing::Replace).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let entries = std::fs::read_dir(path.parent().unwrap()).unwrap().count();
        assert_eq!(entries, 1, "no temporary file is left behind");
    }

    #[cfg(unix)]
    #[test]
    fn secrets_are_private_and_shared_files_readable() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let mode = |name: &str| {
            std::fs::metadata(dir.path().join(name))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        write(
            &dir.path().join("s"),
            b"x",
            Access::Private,
            Existing::Replace,
        )
        .unwrap();
        write(
            &dir.path().join("p"),
            b"x",
            Access::Shared,
            Existing::Replace,
        )
        .unwrap();
        assert_eq!(mode("s"), 0o600);
        assert_eq!(mode("p"), 0o644);
    }
}

//! Media paths in generated files (scaffolded manifests, exported CSVs), written relative to
//! the file that names them.

use std::path::{Component, Path, PathBuf};

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
}

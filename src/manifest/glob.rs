//! `glob:` entries: matching files under the manifest's folder, and the `{stem}`, `{name}`,
//! `{dir}` and `{index}` placeholders filled in for each match.

use std::path::Path;

use globset::GlobBuilder;

use crate::fs::walk::Hidden;

/// What the placeholders stand for, for one matched file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GlobMatch {
    /// The path relative to the manifest's folder, with `/` separators (as a reference).
    pub reference: String,
    /// 1-based position in sorted order.
    pub index: usize,
}

impl GlobMatch {
    fn name(&self) -> &str {
        self.reference.rsplit('/').next().unwrap_or(&self.reference)
    }

    fn stem(&self) -> &str {
        let name = self.name();
        match name.rsplit_once('.') {
            Some((stem, _)) if !stem.is_empty() => stem,
            _ => name,
        }
    }

    fn dir(&self) -> &str {
        self.reference.rsplit_once('/').map_or("", |(dir, _)| dir)
    }

    /// `template` with `{stem}`, `{name}`, `{dir}` and `{index}` replaced; other braces are kept.
    pub fn fill(&self, template: &str) -> String {
        let mut out = String::with_capacity(template.len() + 16);
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open..];
            let replacement = [
                ("{stem}", self.stem().to_owned()),
                ("{name}", self.name().to_owned()),
                ("{dir}", self.dir().to_owned()),
                ("{index}", self.index.to_string()),
            ]
            .into_iter()
            .find(|(placeholder, _)| after.starts_with(placeholder));
            match replacement {
                Some((placeholder, value)) => {
                    out.push_str(&value);
                    rest = &after[placeholder.len()..];
                }
                None => {
                    out.push('{');
                    rest = &after[1..];
                }
            }
        }
        out.push_str(rest);
        out
    }
}

/// The files matching `pattern` (relative to `base_dir`, `*` does not cross `/`, `**` does),
/// sorted by path. Err carries a message for an invalid pattern.
pub(crate) fn expand(pattern: &str, base_dir: &Path) -> Result<Vec<GlobMatch>, String> {
    let matcher = GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map_err(|err| format!("is not a valid glob pattern: {}", err.kind()))?
        .compile_matcher();
    // Walk only below the pattern's literal leading folders.
    let components: Vec<&str> = pattern.split('/').collect();
    let literal = components
        .iter()
        .take_while(|c| !c.contains(['*', '?', '[', '{', '\\']))
        .count();
    // A fully literal pattern names a file: walk its folder.
    let folders = if literal == components.len() {
        literal - 1
    } else {
        literal
    };
    let root_rel = components[..folders].join("/");
    let root = if root_rel.is_empty() {
        base_dir.to_path_buf()
    } else {
        base_dir.join(&root_rel)
    };
    let mut found: Vec<String> = crate::fs::walk::files(&root, Hidden::Include)
        .into_iter()
        .map(|rel| match root_rel.as_str() {
            "" => rel,
            folder if folder.ends_with('/') => format!("{folder}{rel}"),
            folder => format!("{folder}/{rel}"),
        })
        .filter(|reference| matcher.is_match(reference))
        .collect();
    found.sort();
    Ok(found
        .into_iter()
        .enumerate()
        .map(|(i, reference)| GlobMatch {
            reference,
            index: i + 1,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled() {
        let m = GlobMatch {
            reference: "photos/cats/tom.jpg".to_owned(),
            index: 3,
        };
        assert_eq!(
            m.fill("{stem} #{index} in {dir} ({name}) {other}"),
            "tom #3 in photos/cats (tom.jpg) {other}"
        );
        let top = GlobMatch {
            reference: "a.b.png".to_owned(),
            index: 1,
        };
        assert_eq!(top.fill("{stem}|{dir}"), "a.b|");
    }

    #[test]
    fn matches_are_sorted_and_relative() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("p/sub")).unwrap();
        for name in [
            "p/b.jpg",
            "p/a.png",
            "p/sub/c.jpg",
            "p/notes.txt",
            "top.jpg",
        ] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        let refs = |pattern: &str| -> Vec<String> {
            expand(pattern, dir.path())
                .unwrap()
                .into_iter()
                .map(|m| m.reference)
                .collect()
        };
        assert_eq!(refs("p/*.{jpg,png}"), ["p/a.png", "p/b.jpg"]);
        assert_eq!(refs("p/**/*.jpg"), ["p/b.jpg", "p/sub/c.jpg"]);
        assert_eq!(refs("*.jpg"), ["top.jpg"]);
        assert_eq!(refs("p/b.jpg"), ["p/b.jpg"]);
        assert!(refs("nothing/*.jpg").is_empty());
        let absolute = format!("{}/p/*.jpg", dir.path().display());
        assert_eq!(
            refs(&absolute),
            [format!("{}/p/b.jpg", dir.path().display())]
        );
        let from_sub: Vec<String> = expand("../*.jpg", &dir.path().join("p"))
            .unwrap()
            .into_iter()
            .map(|m| m.reference)
            .collect();
        assert_eq!(from_sub, ["../top.jpg"]);
        assert!(expand("p/[", dir.path()).is_err());
    }
}

//! `--token-file` and `auth import`: a plain token file (its first non-empty line is the
//! token), or a JSON token file as Pinterest's api-quickstart writes them
//! (`common/oauth_tokens/NAME.json`: `name`, `access_token`, `refresh_token`, `scopes`).
//!
//! pinbatch never writes to such a file. A pair renewed from it is kept in pinbatch's own token
//! store, marked with the file's [`TokenFile::lineage`], so that the next `--token-file` of the
//! same file takes the renewed pair up instead of the spent one the file still holds.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::CredentialsError;
use crate::secret::SecretString;

/// How a token file is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenFileFormat {
    /// The first non-empty line is the access token.
    Plain,
    /// api-quickstart's JSON token file, with the `name` it gives the token.
    Quickstart {
        /// The token's `name` (`access_token` by default in the quickstart).
        name: Option<String>,
    },
}

impl fmt::Display for TokenFileFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenFileFormat::Plain => f.write_str("a plain token file"),
            TokenFileFormat::Quickstart { name: Some(name) } => {
                write!(f, "an api-quickstart JSON token file (`{name}`)")
            }
            TokenFileFormat::Quickstart { name: None } => {
                f.write_str("an api-quickstart JSON token file")
            }
        }
    }
}

/// What a token file holds.
#[derive(Debug, Clone)]
pub struct TokenFile {
    /// The file.
    pub path: PathBuf,
    /// How it is written.
    pub format: TokenFileFormat,
    /// The access token.
    pub access_token: SecretString,
    /// The refresh token, when the file has one.
    pub refresh_token: Option<SecretString>,
    /// The scopes the file lists (none for a plain file).
    pub scopes: Vec<String>,
}

/// api-quickstart's JSON: `scopes` is the token endpoint's `scope` text (comma or space
/// separated) in its writers, a list in some copies; both are read.
#[derive(Debug, Deserialize)]
struct QuickstartJson {
    #[serde(default)]
    name: Option<String>,
    access_token: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    scopes: Option<Scopes>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Scopes {
    Text(String),
    List(Vec<String>),
}

impl TokenFile {
    /// Reads a token file: JSON when its first non-blank character is `{`, else plain.
    pub fn read(path: &Path) -> Result<TokenFile, CredentialsError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| CredentialsError::ReadTokenFile {
                path: path.to_owned(),
                source,
            })?;
        if text.trim_start().starts_with('{') {
            return Self::from_json(path, &text);
        }
        let token = text
            .lines()
            .map(str::trim)
            .find(|line| !line.is_empty())
            .ok_or_else(|| CredentialsError::EmptyTokenFile {
                path: path.to_owned(),
            })?;
        Ok(TokenFile {
            path: path.to_owned(),
            format: TokenFileFormat::Plain,
            access_token: SecretString::new(token),
            refresh_token: None,
            scopes: Vec::new(),
        })
    }

    fn from_json(path: &Path, text: &str) -> Result<TokenFile, CredentialsError> {
        let bad = |reason: String| CredentialsError::BadTokenFile {
            path: path.to_owned(),
            reason,
        };
        // Only where it went wrong is said: serde's message may quote a value (a token).
        let json: QuickstartJson = serde_json::from_str(text).map_err(|err| {
            let what = match err.classify() {
                serde_json::error::Category::Data => "a field of the wrong type",
                _ => "not valid JSON",
            };
            bad(format!(
                "{what} at line {} column {}",
                err.line(),
                err.column()
            ))
        })?;
        let access_token = json
            .access_token
            .filter(|token| !token.trim().is_empty())
            .ok_or_else(|| bad("it has no `access_token`".to_owned()))?;
        let scopes = match json.scopes {
            None => Vec::new(),
            Some(Scopes::List(list)) => list,
            Some(Scopes::Text(text)) => text
                .split([',', ' '])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        };
        Ok(TokenFile {
            path: path.to_owned(),
            format: TokenFileFormat::Quickstart { name: json.name },
            access_token: SecretString::new(access_token.trim()),
            refresh_token: json
                .refresh_token
                .filter(|token| !token.trim().is_empty())
                .map(|token| SecretString::new(token.trim())),
            scopes,
        })
    }

    /// Which tokens the file holds, without them: a digest of its refresh token (else of its
    /// access token). A store entry renewed from this file carries it.
    pub fn lineage(&self) -> String {
        let token = self.refresh_token.as_ref().unwrap_or(&self.access_token);
        let digest = Sha256::digest(token.expose().as_bytes());
        digest[..12].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Whether people other than the owner may read the file (Unix permissions).
    pub fn readable_by_others(&self) -> bool {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::metadata(&self.path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
        }
        #[cfg(not(unix))]
        {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<TokenFile, CredentialsError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t");
        std::fs::write(&path, text).unwrap();
        TokenFile::read(&path)
    }

    #[test]
    fn quickstart_json_and_plain_files_are_told_apart() {
        let json = read(
            r#"{"name": "access_token", "access_token": "pina_a", "refresh_token": "pinr_r", "scopes": "boards:read,pins:write"}"#,
        )
        .unwrap();
        assert_eq!(
            json.format,
            TokenFileFormat::Quickstart {
                name: Some("access_token".into())
            }
        );
        assert_eq!(json.access_token.expose(), "pina_a");
        assert_eq!(json.refresh_token.as_ref().unwrap().expose(), "pinr_r");
        assert_eq!(json.scopes, ["boards:read", "pins:write"]);
        let listed = read(
            "\n  {\"access_token\": \"a\", \"refresh_token\": null, \"scopes\": [\"pins:read\"]}",
        )
        .unwrap();
        assert_eq!(listed.format, TokenFileFormat::Quickstart { name: None });
        assert!(listed.refresh_token.is_none());
        assert_eq!(listed.scopes, ["pins:read"]);
        let plain = read("\n  pina_plain  \nignored\n").unwrap();
        assert_eq!(plain.format, TokenFileFormat::Plain);
        assert_eq!(plain.access_token.expose(), "pina_plain");
        assert_ne!(json.lineage(), listed.lineage());
        assert_eq!(json.lineage().len(), 24);
    }

    #[test]
    fn a_broken_json_file_says_why_without_its_tokens() {
        let err = read(r#"{"access_token": "pina_secret", "#).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("not valid JSON"), "{text}");
        assert!(!text.contains("pina_secret"));
        let err = read(r#"{"name": "x", "refresh_token": "pinr_secret"}"#).unwrap_err();
        assert!(err.to_string().contains("no `access_token`"));
        let err = read(r#"{"access_token": ["pina_secret"]}"#).unwrap_err();
        assert!(
            err.to_string()
                .contains("a field of the wrong type at line 1"),
            "{err}"
        );
        assert!(!err.to_string().contains("pina_secret"));
        assert!(matches!(
            read(" \n"),
            Err(CredentialsError::EmptyTokenFile { .. })
        ));
    }
}

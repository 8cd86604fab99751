//! Where the access token comes from: the access-token sources in precedence order
//! (`--token-file`, plain or api-quickstart JSON, see [`token_file`]; `PINTEREST_ACCESS_TOKEN`;
//! the token store), and the token store itself: `tokens.json` in the config directory, one
//! entry per API origin, written atomically with mode 0600, locked across processes.
//!
//! May use `fs` and the leaves; the API client learns of the store only through the
//! `api::TokenSink` it is given.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::secret::SecretString;

pub mod token_file;

pub use token_file::{TokenFile, TokenFileFormat};

/// Environment variable holding an access token.
pub const ACCESS_TOKEN_ENV: &str = "PINTEREST_ACCESS_TOKEN";
/// Environment variable overriding the config directory (token store).
pub const CONFIG_DIR_ENV: &str = "PINBATCH_CONFIG_DIR";
/// Environment variable holding the Pinterest app id.
pub const APP_ID_ENV: &str = "PINTEREST_APP_ID";
/// Environment variable holding the Pinterest app secret.
pub const APP_SECRET_ENV: &str = "PINTEREST_APP_SECRET";
/// File name of the token store inside the config directory.
pub const TOKEN_STORE_FILE: &str = "tokens.json";

/// Where the access token in use came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// `--token-file PATH`, as it is written; `renewed` when the pair in use is the one
    /// renewed from it and kept in the token store.
    File {
        /// The file.
        path: PathBuf,
        /// Plain, or api-quickstart's JSON.
        format: TokenFileFormat,
        /// The token store's renewed pair is used instead of the file's.
        renewed: bool,
    },
    /// The `PINTEREST_ACCESS_TOKEN` environment variable.
    Env,
    /// The token store entry for the environment's origin.
    Store(PathBuf),
}

impl fmt::Display for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenSource::File {
                path,
                format,
                renewed,
            } => {
                write!(f, "--token-file {}, {format}", path.display())?;
                if *renewed {
                    f.write_str("; renewed since, the pair kept in the token store is used")?;
                }
                Ok(())
            }
            TokenSource::Env => f.write_str(ACCESS_TOKEN_ENV),
            TokenSource::Store(path) => write!(f, "token store {}", path.display()),
        }
    }
}

/// Failures reading or writing credentials.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// The `--token-file` could not be read.
    #[error("cannot read the token file `{}`", path.display())]
    ReadTokenFile {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The `--token-file` is empty.
    #[error("the token file `{}` is empty", path.display())]
    EmptyTokenFile {
        /// The file.
        path: PathBuf,
    },
    /// The `--token-file` looks like JSON but is not a token file pinbatch reads.
    #[error("the token file `{}` is not an api-quickstart JSON token file: {reason}", path.display())]
    BadTokenFile {
        /// The file.
        path: PathBuf,
        /// What is wrong (never the file's text).
        reason: String,
    },
    /// The token store could not be read.
    #[error("cannot read the token store `{}`", path.display())]
    ReadStore {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The token store is not valid JSON of the expected shape.
    #[error("the token store `{}` is damaged", path.display())]
    ParseStore {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// The token store could not be written.
    #[error("cannot write the token store `{}`", path.display())]
    WriteStore {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// No config directory could be determined.
    #[error("cannot find a config directory: set {CONFIG_DIR_ENV}")]
    NoConfigDir,
}

/// The config directory: `PINBATCH_CONFIG_DIR` when set (passed in as `override_dir`), else the
/// platform's (`~/.config/pinbatch` on Linux).
pub fn config_dir(override_dir: Option<&Path>) -> Result<PathBuf, CredentialsError> {
    if let Some(dir) = override_dir {
        return Ok(dir.to_owned());
    }
    directories::ProjectDirs::from("", "", "pinbatch")
        .map(|dirs| dirs.config_dir().to_owned())
        .ok_or(CredentialsError::NoConfigDir)
}

/// One stored login, for one API origin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredToken {
    /// The access token.
    pub access_token: SecretString,
    /// The refresh token, if the login gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<SecretString>,
    /// When the access token expires (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_expires_at: Option<u64>,
    /// When the refresh token expires (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_expires_at: Option<u64>,
    /// Granted scopes.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The account's username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The account type (`PINNER` or `BUSINESS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_type: Option<String>,
    /// The app id the tokens were issued to (needed to refresh).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// When this entry was written (Unix seconds).
    #[serde(default)]
    pub updated_at: u64,
    /// The [`TokenFile::lineage`] of the token file this entry was imported or renewed from: a
    /// later `--token-file` of that file uses this entry instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<String>,
}

/// How long before its refresh token expires a stored login is warned about (7 days).
pub const REFRESH_WARNING: Duration = Duration::from_secs(7 * 24 * 3600);

/// What a stored login needs, judged at some instant (see [`StoredToken::health`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginHealth {
    /// Nothing to say.
    Fine,
    /// The refresh token expires within [`REFRESH_WARNING`], at this Unix second.
    RefreshExpiresSoon {
        /// When it expires.
        at: u64,
        /// Seconds left.
        left: u64,
    },
    /// The refresh token expired at this Unix second: no refresh can work any more.
    RefreshExpired {
        /// When it expired.
        at: u64,
    },
    /// The access token expired at this Unix second and cannot be refreshed here.
    AccessExpired {
        /// When it expired.
        at: u64,
    },
}

impl StoredToken {
    /// Whether this login still works at `now`, or is about to stop working. `can_refresh`
    /// says whether a refresh is possible here (a refresh token and the app's credentials).
    pub fn health(&self, now: SystemTime, can_refresh: bool) -> LoginHealth {
        let now = crate::epoch::seconds(now);
        if self.refresh_token.is_some()
            && let Some(at) = self.refresh_token_expires_at
        {
            if at <= now {
                return LoginHealth::RefreshExpired { at };
            }
            let left = at - now;
            if left <= REFRESH_WARNING.as_secs() {
                return LoginHealth::RefreshExpiresSoon { at, left };
            }
        }
        match self.access_token_expires_at {
            Some(at) if at <= now && !can_refresh => LoginHealth::AccessExpired { at },
            _ => LoginHealth::Fine,
        }
    }
}

/// A span of seconds as people say it: `5 days`, `3 hours`, `12 minutes`, `40 seconds`.
pub fn rough_duration(seconds: u64) -> String {
    let (count, unit) = match seconds {
        s if s >= 2 * 86_400 => (s / 86_400, "days"),
        s if s >= 2 * 3_600 => (s / 3_600, "hours"),
        s if s >= 2 * 60 => (s / 60, "minutes"),
        s => (s, "seconds"),
    };
    if count == 1 {
        format!("1 {}", unit.trim_end_matches('s'))
    } else {
        format!("{count} {unit}")
    }
}

/// The whole `tokens.json` document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenStoreFile {
    /// Format version (1).
    pub version: u32,
    /// Logins keyed by API origin (e.g. `https://api.pinterest.com`).
    #[serde(default)]
    pub tokens: BTreeMap<String, StoredToken>,
}

/// The cross-process lock of a token store, held while the value lives (see [`TokenStore::lock`]).
#[derive(Debug)]
pub struct StoreLock {
    _file: std::fs::File,
}

/// The token store at a path.
#[derive(Debug, Clone)]
pub struct TokenStore {
    path: PathBuf,
}

impl TokenStore {
    /// The store `tokens.json` inside `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        TokenStore {
            path: dir.join(TOKEN_STORE_FILE),
        }
    }

    /// The file path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Holds other pinbatch processes off this store until the guard is dropped: an exclusive
    /// lock on `tokens.json.lock`, waited for. Refreshing a token rotates the refresh token, so
    /// two processes refreshing at once would each spend the same one and one pair would be lost;
    /// under the lock, the second reads the pair the first stored instead.
    pub fn lock(&self) -> Result<StoreLock, CredentialsError> {
        let write_error = |source| CredentialsError::WriteStore {
            path: self.path.clone(),
            source,
        };
        let mut lock_path = self.path.as_os_str().to_owned();
        lock_path.push(".lock");
        if let Some(dir) = self.path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(write_error)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(PathBuf::from(lock_path))
            .map_err(write_error)?;
        file.lock().map_err(write_error)?;
        Ok(StoreLock { _file: file })
    }

    /// Reads the whole store; a missing file is an empty store.
    pub fn load(&self) -> Result<TokenStoreFile, CredentialsError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Ok(TokenStoreFile {
                    version: 1,
                    tokens: BTreeMap::new(),
                });
            }
            Err(source) => {
                return Err(CredentialsError::ReadStore {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        serde_json::from_str(&text).map_err(|source| CredentialsError::ParseStore {
            path: self.path.clone(),
            source,
        })
    }

    /// The entry for `origin`, if any.
    pub fn get(&self, origin: &str) -> Result<Option<StoredToken>, CredentialsError> {
        Ok(self.load()?.tokens.remove(origin))
    }

    /// Sets the entry for `origin` and writes the store.
    pub fn put(&self, origin: &str, token: StoredToken) -> Result<(), CredentialsError> {
        let mut file = self.load()?;
        file.version = 1;
        file.tokens.insert(origin.to_owned(), token);
        self.save(&file)
    }

    /// Removes the entry for `origin`; returns whether there was one.
    pub fn remove(&self, origin: &str) -> Result<bool, CredentialsError> {
        let mut file = self.load()?;
        let existed = file.tokens.remove(origin).is_some();
        if existed {
            self.save(&file)?;
        }
        Ok(existed)
    }

    /// Writes the store atomically and private to its owner (see [`crate::fs::atomic`]).
    pub fn save(&self, file: &TokenStoreFile) -> Result<(), CredentialsError> {
        let mut json =
            serde_json::to_vec_pretty(file).map_err(|err| CredentialsError::WriteStore {
                path: self.path.clone(),
                source: err.into(),
            })?;
        json.push(b'\n');
        crate::fs::atomic::write(
            &self.path,
            &json,
            crate::fs::atomic::Access::Private,
            crate::fs::atomic::Existing::Replace,
        )
        .map_err(|err| CredentialsError::WriteStore {
            path: self.path.clone(),
            source: match err {
                crate::fs::atomic::AtomicError::Io { source, .. } => source,
                other => std::io::Error::other(other.to_string()),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_in_debug_and_display() {
        let secret = SecretString::new("pina_very_secret");
        assert_eq!(format!("{secret:?}"), "(redacted)");
        assert_eq!(format!("{secret}"), "(redacted)");
        assert_eq!(secret.expose(), "pina_very_secret");
        let token = StoredToken {
            access_token: secret,
            refresh_token: Some(SecretString::new("pinr_other")),
            access_token_expires_at: None,
            refresh_token_expires_at: None,
            scopes: vec![],
            username: None,
            account_type: None,
            app_id: None,
            updated_at: 0,
            token_file: None,
        };
        let debug = format!("{token:?}");
        assert!(!debug.contains("pina_very_secret") && !debug.contains("pinr_other"));
    }

    #[test]
    fn store_round_trips_per_origin_with_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::in_dir(&dir.path().join("nested"));
        assert_eq!(store.get("https://api.pinterest.com").unwrap(), None);
        let token = StoredToken {
            access_token: SecretString::new("pina_1"),
            refresh_token: Some(SecretString::new("pinr_1")),
            access_token_expires_at: Some(2_000_000_000),
            refresh_token_expires_at: Some(2_100_000_000),
            scopes: vec!["boards:read".into(), "pins:write".into()],
            username: Some("me".into()),
            account_type: Some("BUSINESS".into()),
            app_id: Some("1234".into()),
            updated_at: 1_900_000_000,
            token_file: None,
        };
        store
            .put("https://api.pinterest.com", token.clone())
            .unwrap();
        let mut sandbox = token.clone();
        sandbox.access_token = SecretString::new("pina_sandbox");
        store
            .put("https://api-sandbox.pinterest.com", sandbox.clone())
            .unwrap();
        assert_eq!(store.get("https://api.pinterest.com").unwrap(), Some(token));
        assert_eq!(
            store.get("https://api-sandbox.pinterest.com").unwrap(),
            Some(sandbox)
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(store.path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(store.remove("https://api.pinterest.com").unwrap());
        assert!(!store.remove("https://api.pinterest.com").unwrap());
        assert_eq!(store.load().unwrap().tokens.len(), 1);
        // No temp files are left behind.
        let leftovers = std::fs::read_dir(store.path().parent().unwrap())
            .unwrap()
            .count();
        assert_eq!(leftovers, 1);
    }

    #[test]
    fn a_damaged_store_is_reported_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::in_dir(dir.path());
        std::fs::write(store.path(), "{not json").unwrap();
        assert!(matches!(
            store.load(),
            Err(CredentialsError::ParseStore { .. })
        ));
    }

    fn login(access_at: Option<u64>, refresh_at: Option<u64>) -> StoredToken {
        StoredToken {
            access_token: SecretString::new("a"),
            refresh_token: Some(SecretString::new("r")),
            access_token_expires_at: access_at,
            refresh_token_expires_at: refresh_at,
            scopes: Vec::new(),
            username: None,
            account_type: None,
            app_id: None,
            updated_at: 0,
            token_file: None,
        }
    }

    #[test]
    fn a_login_warns_a_week_before_its_refresh_token_expires_and_stops_after() {
        let day = 86_400;
        let now = crate::epoch::from_seconds(100 * day);
        let fine = login(Some(100 * day + 30 * day), Some(100 * day + 8 * day));
        assert_eq!(fine.health(now, true), LoginHealth::Fine);
        let soon = login(Some(100 * day + day), Some(100 * day + 7 * day));
        assert_eq!(
            soon.health(now, true),
            LoginHealth::RefreshExpiresSoon {
                at: 107 * day,
                left: 7 * day
            }
        );
        let expired = login(Some(100 * day + day), Some(100 * day));
        assert_eq!(
            expired.health(now, true),
            LoginHealth::RefreshExpired { at: 100 * day }
        );
        // An expired access token is only a problem when nothing can refresh it.
        let stale = login(Some(99 * day), Some(150 * day));
        assert_eq!(stale.health(now, true), LoginHealth::Fine);
        assert_eq!(
            stale.health(now, false),
            LoginHealth::AccessExpired { at: 99 * day }
        );
        // Without a refresh token, its expiry says nothing.
        let mut plain = login(None, Some(90 * day));
        plain.refresh_token = None;
        assert_eq!(plain.health(now, false), LoginHealth::Fine);
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(rough_duration(6 * 86_400 + 5), "6 days");
        assert_eq!(rough_duration(86_400 + 3_600), "25 hours");
        assert_eq!(rough_duration(61), "61 seconds");
        assert_eq!(rough_duration(1), "1 second");
    }
}

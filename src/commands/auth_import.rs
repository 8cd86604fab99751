//! `pinbatch auth import FILE`: stores a token file (api-quickstart's JSON, or a plain token) in
//! the token store for the selected environment, as a login would: atomically, mode 0600, under
//! the store's lock. Offline: the token is checked the first time it is used (`auth status`).
//! The file itself is never changed; its lineage is kept with the entry, so a later
//! `--token-file` of the same file uses the entry (and its renewals) instead.

use std::time::SystemTime;

use anyhow::Context as _;

use crate::auth::{StoredToken, TokenFile};
use crate::cli::AuthImportArgs;
use crate::commands::exit::{ExitStatus, Fatal};
use crate::commands::settings::GlobalSettings;

/// Runs `auth import`.
pub fn run(
    settings: &GlobalSettings,
    args: &AuthImportArgs,
    quiet: bool,
) -> anyhow::Result<ExitStatus> {
    let file = TokenFile::read(&args.file)
        .map_err(|err| Fatal::new(ExitStatus::Auth, format!("{err}")))?;
    let store = settings.token_store()?;
    let origin = settings.environment.origin();
    let locking = store.clone();
    let _lock = locking.lock().context("cannot lock the token store")?;
    let replaced = store.get(origin)?.is_some();
    let entry = StoredToken {
        access_token: file.access_token.clone(),
        refresh_token: file.refresh_token.clone(),
        access_token_expires_at: None,
        refresh_token_expires_at: None,
        scopes: file.scopes.clone(),
        username: None,
        account_type: None,
        app_id: settings.app_id.clone(),
        updated_at: crate::epoch::seconds(SystemTime::now()),
        token_file: Some(file.lineage()),
    };
    store.put(origin, entry)?;
    if !quiet {
        eprintln!(
            "Stored {} ({}) for {} in {}{}",
            args.file.display(),
            file.format,
            settings.environment,
            store.path().display(),
            if replaced {
                ", replacing the login stored there before"
            } else {
                ""
            }
        );
        if file.refresh_token.is_none() {
            eprintln!(
                "It has no refresh token: once the access token expires, log in again (`pinbatch auth login`)."
            );
        }
        if file.readable_by_others() {
            eprintln!(
                "warning: {} can be read by other users of this machine; the token store is private to you (0600), so the file can be removed or made private (chmod 600)",
                args.file.display()
            );
        }
        eprintln!("`pinbatch auth status` checks it against Pinterest.");
    }
    Ok(ExitStatus::Success)
}

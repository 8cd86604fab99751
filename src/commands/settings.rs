//! Settings resolved once from the command line and the environment: which API environment,
//! where the access token comes from, and how to build an `ApiClient` from them. Commands call
//! [`GlobalSettings::resolve`] and then [`GlobalSettings::api_client`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::api::retry::RetryPolicy;
use crate::api::types::TokenResponse;
use crate::api::{
    ApiClient, ApiError, AppCredentials, ClientConfig, Credentials, Environment,
    RefreshCredentials, StoredPair, TokenLock, TokenSink,
};
use crate::auth::{
    self, ACCESS_TOKEN_ENV, APP_ID_ENV, APP_SECRET_ENV, CONFIG_DIR_ENV, LoginHealth, StoredToken,
    TokenFile, TokenSource, TokenStore,
};
use crate::cli::{GlobalArgs, ManifestArgs, NetworkArgs, ScheduleArgs};
use crate::commands::exit::{ExitStatus, Fatal};
use crate::manifest::{PublishZone, SchedulePolicy};
use crate::secret::SecretString;

/// The hint shown whenever no usable token exists.
pub const LOGIN_HINT: &str =
    "run `pinbatch auth login`, set PINTEREST_ACCESS_TOKEN, or pass --token-file";

/// Request behaviour of one command's client.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClientOptions {
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Client-side pacing in requests per second.
    pub rate_limit: Option<f64>,
    /// Per-attempt timeout.
    pub timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            retry: RetryPolicy::default(),
            rate_limit: None,
            timeout: Duration::from_secs(30),
        }
    }
}

impl ClientOptions {
    /// Options from `--max-retries`, `--retry-base-delay`, `--rate-limit` and `--timeout`.
    pub fn from_args(args: &NetworkArgs) -> Self {
        let defaults = RetryPolicy::default();
        ClientOptions {
            retry: RetryPolicy {
                max_retries: args.max_retries,
                base_delay: args.retry_base_delay,
                // A short base delay (tests, emulators) also shortens the cap proportionally.
                max_delay: defaults
                    .max_delay
                    .min(args.retry_base_delay.saturating_mul(60)),
                total_budget: defaults.total_budget,
            },
            rate_limit: args.rate_limit,
            timeout: args.timeout,
        }
    }
}

/// The environment-derived settings every API command shares.
#[derive(Debug, Clone)]
pub struct GlobalSettings {
    /// Which API to talk to.
    pub environment: Environment,
    /// `--token-file`, if given.
    pub token_file: Option<PathBuf>,
    /// `PINTEREST_ACCESS_TOKEN`, if set and non-empty.
    pub env_token: Option<SecretString>,
    /// The config directory holding the token store.
    pub config_dir: Option<PathBuf>,
    /// `PINTEREST_APP_ID`, if set.
    pub app_id: Option<String>,
    /// `PINTEREST_APP_SECRET`, if set.
    pub app_secret: Option<SecretString>,
}

impl GlobalSettings {
    /// Resolves the global options against the process environment. A bad `--api-base` or a
    /// `--sandbox`/`--api-base` conflict is a configuration error (exit code 3).
    pub fn resolve(global: &GlobalArgs) -> anyhow::Result<Self> {
        Self::resolve_with(global, |name| std::env::var(name).ok())
    }

    /// Like [`GlobalSettings::resolve`], reading variables through `env` (for tests).
    pub fn resolve_with(
        global: &GlobalArgs,
        env: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Self> {
        let environment = Environment::resolve(global.sandbox, global.api_base.as_deref())
            .map_err(|err| {
                Fatal::new(ExitStatus::Auth, err.to_string())
                    .with_hint("use --sandbox or --api-base URL, not both; plain http:// only for 127.0.0.1, ::1 or localhost")
            })?;
        let non_empty = |name: &str| env(name).filter(|value| !value.trim().is_empty());
        let config_dir =
            auth::config_dir(non_empty(CONFIG_DIR_ENV).map(PathBuf::from).as_deref()).ok();
        Ok(GlobalSettings {
            environment,
            token_file: global.token_file.clone(),
            env_token: non_empty(ACCESS_TOKEN_ENV).map(|t| SecretString::new(t.trim())),
            config_dir,
            app_id: non_empty(APP_ID_ENV),
            app_secret: non_empty(APP_SECRET_ENV).map(SecretString::new),
        })
    }

    /// The token store, in the config directory.
    pub fn token_store(&self) -> anyhow::Result<TokenStore> {
        let dir = self.config_dir.as_deref().ok_or_else(|| {
            Fatal::new(
                ExitStatus::Auth,
                format!("cannot find a config directory for the token store: set {CONFIG_DIR_ENV}"),
            )
        })?;
        Ok(TokenStore::in_dir(dir))
    }

    /// The stored login for this environment, if any.
    pub fn stored_token(&self) -> anyhow::Result<Option<StoredToken>> {
        match &self.config_dir {
            Some(dir) => Ok(TokenStore::in_dir(dir).get(self.environment.origin())?),
            None => Ok(None),
        }
    }

    /// App credentials from flags (if given), else the environment, else the stored app id.
    pub fn app_credentials(
        &self,
        app_id: Option<&str>,
        app_secret: Option<SecretString>,
        stored: Option<&StoredToken>,
    ) -> Option<AppCredentials> {
        let app_id = app_id
            .map(str::to_owned)
            .or_else(|| self.app_id.clone())
            .or_else(|| stored.and_then(|s| s.app_id.clone()))?;
        let app_secret = app_secret.or_else(|| self.app_secret.clone())?;
        Some(AppCredentials { app_id, app_secret })
    }

    /// The access token to use and where it came from: `--token-file`, then
    /// `PINTEREST_ACCESS_TOKEN`, then the token store (refreshable when app credentials exist).
    pub fn credentials(&self) -> anyhow::Result<Option<(Credentials, TokenSource)>> {
        if let Some(path) = &self.token_file {
            return self.file_credentials(path).map(Some);
        }
        if let Some(token) = &self.env_token {
            return Ok(Some((Credentials::bearer(token.clone()), TokenSource::Env)));
        }
        let store = match self.token_store() {
            Ok(store) => store,
            Err(_) => return Ok(None),
        };
        let origin = self.environment.origin().to_owned();
        let Some(stored) = store.get(&origin)? else {
            return Ok(None);
        };
        let refresh = stored.refresh_token.clone().and_then(|refresh_token| {
            self.app_credentials(None, None, Some(&stored))
                .map(|app| RefreshCredentials { refresh_token, app })
        });
        self.check_login(&stored, refresh.is_some(), SystemTime::now())?;
        let path = store.path().to_owned();
        let credentials = Credentials {
            access_token: stored.access_token.clone(),
            expires_at: stored
                .access_token_expires_at
                .map(crate::epoch::from_seconds),
            refresh,
            sink: Some(Arc::new(StoreSink {
                store,
                origin,
                file: None,
            })),
        };
        Ok(Some((credentials, TokenSource::Store(path))))
    }

    /// The token of `--token-file`: a plain file's line, or api-quickstart JSON's pair,
    /// refreshable with the app's credentials. The file is never written: a renewed pair goes
    /// to the token store, marked with the file's lineage, and is used instead of the file's
    /// spent pair from then on.
    fn file_credentials(&self, path: &Path) -> anyhow::Result<(Credentials, TokenSource)> {
        let file =
            TokenFile::read(path).map_err(|err| Fatal::new(ExitStatus::Auth, error_text(&err)))?;
        let lineage = file.lineage();
        let store = self.token_store().ok();
        let renewed = match &store {
            Some(store) => store
                .get(self.environment.origin())?
                .filter(|stored| stored.token_file.as_deref() == Some(lineage.as_str())),
            None => None,
        };
        let source = TokenSource::File {
            path: path.to_owned(),
            format: file.format.clone(),
            renewed: renewed.is_some(),
        };
        let (access_token, expires_at, refresh_token) = match &renewed {
            Some(stored) => (
                stored.access_token.clone(),
                stored.access_token_expires_at,
                stored.refresh_token.clone(),
            ),
            None => (file.access_token.clone(), None, file.refresh_token.clone()),
        };
        let refresh = refresh_token.and_then(|refresh_token| {
            self.app_credentials(None, None, renewed.as_ref())
                .map(|app| RefreshCredentials { refresh_token, app })
        });
        if let Some(stored) = &renewed {
            self.check_login(stored, refresh.is_some(), SystemTime::now())?;
        }
        let sink = store.filter(|_| refresh.is_some()).map(|store| {
            Arc::new(StoreSink {
                store,
                origin: self.environment.origin().to_owned(),
                file: Some(FileLineage {
                    lineage,
                    scopes: file.scopes.clone(),
                    app_id: self.app_id.clone(),
                }),
            }) as Arc<dyn TokenSink>
        });
        let credentials = Credentials {
            access_token,
            expires_at: expires_at.map(crate::epoch::from_seconds),
            refresh,
            sink,
        };
        Ok((credentials, source))
    }

    /// The command that logs in to this environment again.
    pub fn login_command(&self, subcommand: &str) -> String {
        match &self.environment {
            Environment::Production => format!("pinbatch auth {subcommand}"),
            Environment::Sandbox => format!("pinbatch --sandbox auth {subcommand}"),
            Environment::Custom(origin) => {
                format!("pinbatch --api-base {origin} auth {subcommand}")
            }
        }
    }

    /// Refuses a stored login that can no longer work at `now` (exit code 3, before anything
    /// is sent), and warns once per process when its refresh token expires within a week.
    fn check_login(
        &self,
        stored: &StoredToken,
        can_refresh: bool,
        now: SystemTime,
    ) -> anyhow::Result<()> {
        let login = self.login_command("login");
        match stored.health(now, can_refresh) {
            LoginHealth::Fine => Ok(()),
            LoginHealth::RefreshExpiresSoon { at, left } => {
                static WARNED: std::sync::Once = std::sync::Once::new();
                WARNED.call_once(|| {
                    eprintln!(
                        "warning: the stored refresh token for {} expires {} (in {}); after that pinbatch cannot renew the access token. Run `{}` to renew it, or `{login}` to log in again.",
                        self.environment,
                        timestamp_text(at),
                        auth::rough_duration(left),
                        self.login_command("refresh"),
                    );
                });
                Ok(())
            }
            LoginHealth::RefreshExpired { at } => Err(Fatal::new(
                ExitStatus::Auth,
                format!(
                    "the stored refresh token for {} expired {}: the login can no longer be renewed",
                    self.environment,
                    timestamp_text(at)
                ),
            )
            .with_hint(format!("run `{login}` to log in again"))
            .into()),
            LoginHealth::AccessExpired { at } => Err(Fatal::new(
                ExitStatus::Auth,
                format!(
                    "the stored access token for {} expired {} and cannot be refreshed here",
                    self.environment,
                    timestamp_text(at)
                ),
            )
            .with_hint(format!(
                "set {APP_ID_ENV} and {APP_SECRET_ENV} so that pinbatch can refresh it, or run `{login}`"
            ))
            .into()),
        }
    }

    /// The origins other than this one that the token store has a login for.
    pub fn other_logins(&self) -> Vec<String> {
        let Ok(store) = self.token_store() else {
            return Vec::new();
        };
        store
            .load()
            .map(|file| {
                file.tokens
                    .into_keys()
                    .filter(|origin| origin != self.environment.origin())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A client with a token; no token is a configuration error (exit code 3) with a hint.
    pub fn api_client(&self, options: ClientOptions) -> anyhow::Result<ApiClient> {
        let Some((credentials, source)) = self.credentials()? else {
            return Err(Fatal::new(
                ExitStatus::Auth,
                format!("no access token for {}", self.environment),
            )
            .with_hint(self.no_login_hint())
            .into());
        };
        tracing::debug!(source = %source, origin = self.environment.origin(), "using access token");
        self.build_client(Some(credentials), options)
    }

    /// The hint for a missing login: how to log in, and which environments do have one (a
    /// login is per environment: a sandbox token is not a production token).
    pub fn no_login_hint(&self) -> String {
        let others = self.other_logins();
        if others.is_empty() {
            return LOGIN_HINT.to_owned();
        }
        let others: Vec<String> = others
            .iter()
            .map(|origin| match origin.as_str() {
                crate::api::environment::PRODUCTION_ORIGIN => format!("production ({origin})"),
                crate::api::environment::SANDBOX_ORIGIN => {
                    format!("the sandbox ({origin}; add --sandbox)")
                }
                other => format!("{other} (add --api-base {other})"),
            })
            .collect();
        format!(
            "{LOGIN_HINT}; the token store has a login for {} only",
            others.join(" and ")
        )
    }

    /// A client without a token, for the OAuth token endpoint.
    pub fn anonymous_client(&self, options: ClientOptions) -> anyhow::Result<ApiClient> {
        self.build_client(None, options)
    }

    /// A client sending exactly this token.
    pub fn client_with_token(
        &self,
        token: SecretString,
        options: ClientOptions,
    ) -> anyhow::Result<ApiClient> {
        self.build_client(Some(Credentials::bearer(token)), options)
    }

    fn build_client(
        &self,
        credentials: Option<Credentials>,
        options: ClientOptions,
    ) -> anyhow::Result<ApiClient> {
        let mut config = ClientConfig::new(self.environment.clone());
        config.credentials = credentials;
        config.retry = options.retry;
        config.rate_limit = options.rate_limit;
        config.timeout = options.timeout;
        ApiClient::new(config).map_err(api_failure)
    }
}

/// A Unix time as RFC 3339 text.
pub fn timestamp_text(seconds: u64) -> String {
    i64::try_from(seconds)
        .ok()
        .and_then(|seconds| jiff::Timestamp::from_second(seconds).ok())
        .map(|t| t.to_string())
        .unwrap_or_else(|| format!("at Unix time {seconds}"))
}

/// The manifest reading options from `--sheet`, `--encoding` and `--timezone`. An unknown
/// encoding or time zone is a usage error (exit code 2).
pub fn load_options(args: &ManifestArgs) -> anyhow::Result<crate::manifest::LoadOptions> {
    use crate::manifest::{LoadOptions, encoding};
    let encoding = match &args.encoding {
        None => None,
        Some(name) => Some(encoding::by_name(name).ok_or_else(|| {
            Fatal::new(
                ExitStatus::Usage,
                format!("--encoding: `{name}` is not an encoding pinbatch knows"),
            )
            .with_hint(format!("use one of {}", encoding::NAMES_HINT))
        })?),
    };
    let timezone = match &args.timezone {
        None => None,
        Some(name) => Some(PublishZone::named(name).map_err(|message| {
            Fatal::new(ExitStatus::Usage, format!("--timezone: {message}")).with_hint(
                "use an IANA time zone name such as Europe/Paris, America/New_York or Asia/Tokyo",
            )
        })?),
    };
    let mut utm = Vec::with_capacity(args.utm.len());
    for given in &args.utm {
        let parsed = given
            .split_once('=')
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.to_owned()))
            .map(|(name, value)| {
                (
                    name.strip_prefix("utm_").map(str::to_owned).unwrap_or(name),
                    value,
                )
            })
            .filter(|(name, _)| crate::manifest::utm::UTM_KEYS.contains(&name.as_str()));
        match parsed {
            Some(pair) => utm.push(pair),
            None => {
                return Err(Fatal::new(
                    ExitStatus::Usage,
                    format!("--utm: `{given}` is not NAME=VALUE with a UTM name"),
                )
                .with_hint("write e.g. --utm source=pinterest --utm campaign={board}; names: source, medium, campaign, term, content")
                .into());
            }
        }
    }
    Ok(LoadOptions {
        sheet: args.sheet.clone(),
        encoding,
        timezone,
        keep_rejected: false,
        media: crate::manifest::media::MediaRules {
            no_convert: args.no_convert,
            fit: args.fit,
        },
        utm,
    })
}

/// The days `report --metrics` sums, from `--since` and `--until` and `today` (UTC): by
/// default the 30 days before today. Days Pinterest cannot answer for (it keeps 90 days back
/// from today, and none after it) or a period that ends before it starts are a usage error
/// (exit code 2), before any request.
pub fn metrics_period(
    since: Option<jiff::civil::Date>,
    until: Option<jiff::civil::Date>,
    today: jiff::civil::Date,
) -> anyhow::Result<crate::apply::metrics::Period> {
    use crate::api::analytics::RETENTION_DAYS;
    let days = |n: i64| jiff::Span::new().days(n);
    let earliest = today.checked_sub(days(RETENTION_DAYS))?;
    let until = match until {
        Some(until) => until,
        None => today.checked_sub(days(1))?,
    };
    let since = match since {
        Some(since) => since,
        None => until.checked_sub(days(29))?.max(earliest),
    };
    let usage = |message: String| {
        Fatal::new(ExitStatus::Usage, message).with_hint(format!(
            "Pinterest keeps pin analytics for {RETENTION_DAYS} days: choose days from {earliest} to {today} (UTC)"
        ))
    };
    if since < earliest {
        return Err(usage(format!(
            "--since {since} is more than {RETENTION_DAYS} days ago"
        ))
        .into());
    }
    if until > today {
        return Err(usage(format!("--until {until} is after today ({today}, UTC)")).into());
    }
    if since > until {
        return Err(usage(format!("--since {since} is after --until {until}")).into());
    }
    Ok(crate::apply::metrics::Period { since, until })
}

/// The schedule policy of a command: the manifest's `schedule:` block with the flags over it,
/// setting by setting, `--start` read in the manifest's time zone as `publish_at` is. `None`
/// when neither sets anything. Bad flags are usage errors (exit code 2).
pub fn schedule_policy(
    args: &ScheduleArgs,
    manifest: Option<&SchedulePolicy>,
    zone: &PublishZone,
) -> anyhow::Result<Option<SchedulePolicy>> {
    let flags = SchedulePolicy {
        start: args
            .start
            .as_deref()
            .map(|text| local_instant("--start", text, zone))
            .transpose()?,
        per_day: args.per_day,
        between: args.between,
        days: args.days,
        every: args.every,
        jitter: args.jitter,
        same_link: args.same_link,
    };
    let policy = manifest.cloned().unwrap_or_default().overridden_by(&flags);
    if policy.is_empty() {
        return Ok(None);
    }
    if !policy.has_pace() {
        return Err(Fatal::new(
            ExitStatus::Usage,
            "the schedule sets no pace: nothing says how fast to publish",
        )
        .with_hint(
            "add --per-day N (pins per day) or --every DURATION (the least time between two pins)",
        )
        .into());
    }
    Ok(Some(policy))
}

/// A time given on the command line (`--start`, `--until`), read in the manifest's zone as
/// `publish_at` is; a usage error (exit code 2) naming the flag when it cannot be.
pub fn local_instant(
    flag: &str,
    text: &str,
    zone: &PublishZone,
) -> anyhow::Result<jiff::Timestamp> {
    crate::manifest::datetime::parse_publish_at(text, zone).map_err(|problem| {
        Fatal::new(ExitStatus::Usage, format!("{flag}: {}", problem.message))
            .with_hint(problem.hint)
            .into()
    })
}

/// Builds the stored entry for a token response (login or refresh) at `now`.
pub fn stored_token_from(
    tokens: &TokenResponse,
    previous: Option<&StoredToken>,
    now: SystemTime,
) -> StoredToken {
    let now_secs = crate::epoch::seconds(now);
    let scopes = match &tokens.scope {
        Some(scope) => scope
            .split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        None => previous.map(|p| p.scopes.clone()).unwrap_or_default(),
    };
    StoredToken {
        access_token: SecretString::new(tokens.access_token.clone()),
        refresh_token: tokens
            .refresh_token
            .clone()
            .map(SecretString::new)
            .or_else(|| previous.and_then(|p| p.refresh_token.clone())),
        access_token_expires_at: tokens.expires_in.map(|secs| now_secs + secs),
        refresh_token_expires_at: tokens
            .refresh_token_expires_at
            .or_else(|| tokens.refresh_token_expires_in.map(|secs| now_secs + secs))
            .or_else(|| previous.and_then(|p| p.refresh_token_expires_at)),
        scopes,
        username: previous.and_then(|p| p.username.clone()),
        account_type: previous.and_then(|p| p.account_type.clone()),
        app_id: previous.and_then(|p| p.app_id.clone()),
        updated_at: now_secs,
        token_file: previous.and_then(|p| p.token_file.clone()),
    }
}

/// The store entry of one origin, as a client's token sink.
struct StoreSink {
    store: TokenStore,
    origin: String,
    /// For the pair of a `--token-file`: only an entry renewed from that file is its own.
    file: Option<FileLineage>,
}

/// What marks a store entry as renewed from a token file, and what the file says that a token
/// response may not.
#[derive(Clone)]
struct FileLineage {
    lineage: String,
    scopes: Vec<String>,
    app_id: Option<String>,
}

/// That entry under the store's cross-process lock (`None` when the lock could not be taken:
/// the refresh still goes on, as before the lock existed).
struct LockedStore {
    store: TokenStore,
    origin: String,
    file: Option<FileLineage>,
    _lock: Option<auth::StoreLock>,
}

impl LockedStore {
    /// The entry, when it is this client's own: any for a store login, only one renewed from
    /// the same file for a token file's pair.
    fn own_entry(&self) -> Option<StoredToken> {
        let stored = self.store.get(&self.origin).ok().flatten()?;
        match &self.file {
            None => Some(stored),
            Some(file) => {
                (stored.token_file.as_deref() == Some(file.lineage.as_str())).then_some(stored)
            }
        }
    }
}

impl TokenSink for StoreSink {
    fn lock(&self) -> Box<dyn TokenLock> {
        let lock = self
            .store
            .lock()
            .inspect_err(|err| {
                tracing::warn!(error = %error_text(err), "could not lock the token store");
            })
            .ok();
        Box::new(LockedStore {
            store: self.store.clone(),
            origin: self.origin.clone(),
            file: self.file.clone(),
            _lock: lock,
        })
    }
}

impl TokenLock for LockedStore {
    fn stored(&self) -> Option<StoredPair> {
        let stored = self.own_entry()?;
        Some(StoredPair {
            expires_at: stored
                .access_token_expires_at
                .map(crate::epoch::from_seconds),
            refresh_token: stored.refresh_token?,
            access_token: stored.access_token,
        })
    }

    fn tokens_refreshed(&self, tokens: &TokenResponse) {
        let previous = self.own_entry();
        let mut entry = stored_token_from(tokens, previous.as_ref(), SystemTime::now());
        if let Some(file) = &self.file {
            entry.token_file = Some(file.lineage.clone());
            if entry.scopes.is_empty() {
                entry.scopes = file.scopes.clone();
            }
            entry.app_id = entry.app_id.or_else(|| file.app_id.clone());
        }
        if let Err(err) = self.store.put(&self.origin, entry) {
            tracing::warn!(error = %error_text(&err), "could not store the refreshed token");
        }
    }
}

/// Turns an API failure into a command error: exit code 3 for authentication problems, 1
/// otherwise, with Pinterest's code and message in the text and the error's hint.
pub fn api_failure(err: ApiError) -> anyhow::Error {
    let status = if err.is_auth() {
        ExitStatus::Auth
    } else {
        ExitStatus::Failure
    };
    // The message already names the root cause; the transport's own chain adds only noise.
    let mut fatal = Fatal::new(status, err.to_string());
    if let Some(hint) = err.hint() {
        fatal = fatal.with_hint(hint);
    }
    fatal.into()
}

/// A board or section lookup failure as a command error: API failures keep their exit code,
/// unknown or ambiguous names are exit 1.
pub fn lookup_failure(err: crate::plan::resolve::LookupError) -> anyhow::Error {
    match err {
        crate::plan::resolve::LookupError::Api(err) => api_failure(err),
        other => Fatal::new(ExitStatus::Failure, other.to_string()).into(),
    }
}

/// The API client of a command that only needs the global settings and its network options
/// (`boards`, `sections`, `pins`).
pub fn command_client(
    global: &crate::cli::GlobalArgs,
    network: &crate::cli::NetworkArgs,
) -> anyhow::Result<ApiClient> {
    GlobalSettings::resolve(global)?.api_client(ClientOptions::from_args(network))
}

/// An error and its causes on one line.
fn error_text(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn global(args: &[&str]) -> GlobalArgs {
        let mut argv = vec!["pinbatch"];
        argv.extend_from_slice(args);
        argv.push("schema");
        crate::cli::Cli::try_parse_from(argv).unwrap().global
    }

    fn status_of(err: &anyhow::Error) -> ExitStatus {
        err.chain()
            .find_map(|cause| cause.downcast_ref::<Fatal>())
            .map(|fatal| fatal.status)
            .unwrap_or(ExitStatus::Failure)
    }

    #[test]
    fn manifest_options_resolve_or_are_usage_errors() {
        let args = ManifestArgs {
            sheet: Some("Pins".into()),
            encoding: Some("cp932".into()),
            timezone: Some("Asia/Tokyo".into()),
            no_convert: false,
            fit: true,
            utm: vec!["utm_source=pinterest".into(), "campaign={board}".into()],
        };
        let options = load_options(&args).unwrap();
        assert_eq!(options.encoding, Some(encoding_rs::SHIFT_JIS));
        assert_eq!(options.timezone.unwrap().name(), "Asia/Tokyo");
        assert!(options.media.fit && !options.media.no_convert);
        assert_eq!(
            options.utm,
            [
                ("source".to_owned(), "pinterest".to_owned()),
                ("campaign".to_owned(), "{board}".to_owned())
            ]
        );
        for bad in [
            ManifestArgs {
                encoding: Some("ebcdic-ish".into()),
                ..ManifestArgs::default()
            },
            ManifestArgs {
                timezone: Some("Mars/Olympus".into()),
                ..ManifestArgs::default()
            },
            ManifestArgs {
                utm: vec!["utm_camp=x".into()],
                ..ManifestArgs::default()
            },
        ] {
            assert_eq!(
                status_of(&load_options(&bad).unwrap_err()),
                ExitStatus::Usage
            );
        }
    }

    #[test]
    fn a_bad_api_base_is_a_configuration_error() {
        let err =
            GlobalSettings::resolve_with(&global(&["--api-base", "http://example.com"]), |_| None)
                .unwrap_err();
        assert_eq!(status_of(&err), ExitStatus::Auth);
        let err = GlobalSettings::resolve_with(
            &global(&["--sandbox", "--api-base", "https://x.example"]),
            |_| None,
        )
        .unwrap_err();
        assert_eq!(status_of(&err), ExitStatus::Auth);
    }

    #[test]
    fn token_precedence_is_file_then_env_then_store() {
        let dir = tempfile::tempdir().unwrap();
        let config_dir = dir.path().join("config");
        let store = TokenStore::in_dir(&config_dir);
        let tokens = TokenResponse {
            access_token: "from-store".into(),
            refresh_token: Some("r".into()),
            expires_in: Some(3600),
            ..TokenResponse::default()
        };
        store
            .put(
                "https://api-sandbox.pinterest.com",
                stored_token_from(&tokens, None, SystemTime::now()),
            )
            .unwrap();
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, "from-file\n").unwrap();
        let config_text = config_dir.display().to_string();
        let env = |with_token: bool| {
            let config_text = config_text.clone();
            move |name: &str| match name {
                CONFIG_DIR_ENV => Some(config_text.clone()),
                ACCESS_TOKEN_ENV if with_token => Some("from-env".into()),
                _ => None,
            }
        };
        let token = |settings: GlobalSettings| {
            let (credentials, source) = settings.credentials().unwrap().unwrap();
            (credentials.access_token.expose().to_owned(), source)
        };
        let file_path = token_file.display().to_string();
        let with_file = global(&["--sandbox", "--token-file", &file_path]);
        let plain = global(&["--sandbox"]);
        assert_eq!(
            token(GlobalSettings::resolve_with(&with_file, env(true)).unwrap()),
            (
                "from-file".into(),
                TokenSource::File {
                    path: token_file.clone(),
                    format: crate::auth::TokenFileFormat::Plain,
                    renewed: false
                }
            )
        );
        assert_eq!(
            token(GlobalSettings::resolve_with(&plain, env(true)).unwrap()).0,
            "from-env"
        );
        let (value, source) = token(GlobalSettings::resolve_with(&plain, env(false)).unwrap());
        assert_eq!(value, "from-store");
        assert!(matches!(source, TokenSource::Store(_)));
        // The production origin has no entry: no token, exit code 3.
        let production = GlobalSettings::resolve_with(&global(&[]), env(false)).unwrap();
        let err = production.api_client(ClientOptions::default()).unwrap_err();
        assert_eq!(status_of(&err), ExitStatus::Auth);
    }

    #[test]
    fn a_refresh_keeps_the_account_and_rotates_the_refresh_token() {
        let previous = StoredToken {
            access_token: SecretString::new("a1"),
            refresh_token: Some(SecretString::new("r1")),
            access_token_expires_at: Some(1),
            refresh_token_expires_at: Some(2),
            scopes: vec!["pins:read".into()],
            username: Some("me".into()),
            account_type: Some("BUSINESS".into()),
            app_id: Some("app".into()),
            updated_at: 0,
            token_file: Some("lineage".into()),
        };
        let tokens = TokenResponse {
            access_token: "a2".into(),
            refresh_token: Some("r2".into()),
            expires_in: Some(100),
            refresh_token_expires_in: Some(1000),
            ..TokenResponse::default()
        };
        let now = crate::epoch::from_seconds(5000);
        let entry = stored_token_from(&tokens, Some(&previous), now);
        assert_eq!(entry.access_token.expose(), "a2");
        assert_eq!(entry.refresh_token.unwrap().expose(), "r2");
        assert_eq!(entry.access_token_expires_at, Some(5100));
        assert_eq!(entry.refresh_token_expires_at, Some(6000));
        assert_eq!(entry.scopes, ["pins:read"]);
        assert_eq!(entry.username.as_deref(), Some("me"));
        assert_eq!(entry.app_id.as_deref(), Some("app"));
        assert_eq!(entry.token_file.as_deref(), Some("lineage"));
    }

    #[test]
    fn the_metrics_period_defaults_to_the_30_days_before_today_and_stays_in_90() {
        let today = jiff::civil::date(2026, 12, 10);
        let period = metrics_period(None, None, today).unwrap();
        assert_eq!(
            (period.since, period.until),
            (
                jiff::civil::date(2026, 11, 10),
                jiff::civil::date(2026, 12, 9)
            )
        );
        assert_eq!(period.days().count(), 30);
        let since = metrics_period(Some(jiff::civil::date(2026, 12, 1)), None, today).unwrap();
        assert_eq!(since.until, jiff::civil::date(2026, 12, 9));
        let oldest = metrics_period(None, Some(jiff::civil::date(2026, 9, 20)), today).unwrap();
        assert_eq!(
            oldest.since,
            jiff::civil::date(2026, 9, 11),
            "never before 90 days ago"
        );
        for (since, until) in [
            (Some(jiff::civil::date(2026, 9, 10)), None),
            (None, Some(jiff::civil::date(2026, 12, 11))),
            (
                Some(jiff::civil::date(2026, 12, 5)),
                Some(jiff::civil::date(2026, 12, 4)),
            ),
        ] {
            let err = metrics_period(since, until, today).unwrap_err();
            assert_eq!(status_of(&err), ExitStatus::Usage, "{since:?} {until:?}");
        }
    }

    #[test]
    fn api_failures_map_to_exit_codes_with_hints() {
        use crate::api::types::ErrorBody;
        let unauthorized = ApiError::status_error("GET", "/v5/boards", 401, ErrorBody::default());
        assert_eq!(status_of(&api_failure(unauthorized)), ExitStatus::Auth);
        let missing = ApiError::status_error(
            "POST",
            "/v5/pins",
            404,
            ErrorBody {
                code: Some(40),
                message: Some("Board not found.".into()),
                message_detail: None,
            },
        );
        let err = api_failure(missing);
        assert_eq!(status_of(&err), ExitStatus::Failure);
        assert!(err.to_string().contains("(code 40): Board not found."));
    }
}

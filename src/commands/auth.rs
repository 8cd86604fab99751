//! `pinbatch auth login|status|refresh|logout`: the OAuth authorization-code flow with a local
//! redirect listener, and the token store entry of the selected environment.

use std::time::SystemTime;

use anyhow::Context;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::api::AppCredentials;
use crate::api::oauth::{self, DEFAULT_SCOPES, SECRET_SCOPES};
use crate::auth::{self, TokenFileFormat, TokenSource};
use crate::cli::{
    AuthCommand, AuthLoginArgs, AuthRefreshArgs, AuthStatusArgs, GlobalArgs, StatusFormat,
};
use crate::commands::exit::{ExitStatus, Fatal};
use crate::commands::settings::{
    ClientOptions, GlobalSettings, api_failure, stored_token_from, timestamp_text,
};
use crate::secret::SecretString;

/// Runs an `auth` subcommand.
pub async fn run(global: &GlobalArgs, command: &AuthCommand) -> anyhow::Result<ExitStatus> {
    let settings = GlobalSettings::resolve(global)?;
    match command {
        AuthCommand::Login(args) => login(&settings, args, global.quiet).await,
        AuthCommand::Status(args) => status(&settings, args).await,
        AuthCommand::Refresh(args) => refresh(&settings, args, global.quiet).await,
        AuthCommand::Logout => logout(&settings, global.quiet),
        AuthCommand::Import(args) => super::auth_import::run(&settings, args, global.quiet),
    }
}

fn app_missing(what: &str, flag: &str, env: &str) -> anyhow::Error {
    Fatal::new(ExitStatus::Auth, format!("no Pinterest app {what}"))
        .with_hint(format!(
            "pass {flag} or set {env} (see the app's page on developers.pinterest.com)"
        ))
        .into()
}

async fn login(
    settings: &GlobalSettings,
    args: &AuthLoginArgs,
    quiet: bool,
) -> anyhow::Result<ExitStatus> {
    let app_id = args
        .app_id
        .clone()
        .filter(|id| !id.trim().is_empty())
        .ok_or_else(|| app_missing("id", "--app-id", auth::APP_ID_ENV))?;
    let app_secret = app_secret(settings, args.app_secret.as_deref(), args.app_secret_stdin)?
        .ok_or_else(|| app_missing("secret", "--app-secret-stdin", auth::APP_SECRET_ENV))?;
    let app = AppCredentials { app_id, app_secret };
    let mut scopes: Vec<String> = match &args.scopes {
        Some(scopes) => scopes
            .iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
        None => DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
    };
    if args.secret_boards {
        for scope in SECRET_SCOPES {
            if !scopes.iter().any(|s| s == scope) {
                scopes.push((*scope).to_owned());
            }
        }
    }
    let store = settings.token_store()?;
    let listener = TcpListener::bind(("127.0.0.1", args.port))
        .await
        .with_context(|| {
            format!(
                "cannot listen on 127.0.0.1:{} for the OAuth redirect",
                args.port
            )
        })?;
    let port = listener.local_addr()?.port();
    let redirect_uri = format!("http://localhost:{port}/");
    let state = oauth::random_state();
    let url = oauth::authorize_url(
        &settings.environment,
        &app.app_id,
        &redirect_uri,
        &scopes,
        &state,
    );
    eprintln!(
        "Open this address in a browser and allow access (redirect URI {redirect_uri}):\n\n  {url}\n"
    );
    if !args.no_browser
        && let Err(err) = open::that_detached(&url)
    {
        tracing::warn!("could not open a browser: {err}");
    }
    if !quiet {
        eprintln!("Waiting for the browser to come back...");
    }
    let code = tokio::time::timeout(args.wait, wait_for_code(listener, &state))
        .await
        .map_err(|_| {
            Fatal::new(
                ExitStatus::Auth,
                format!(
                    "no authorization arrived within {}",
                    humantime::format_duration(args.wait)
                ),
            )
            .with_hint(format!(
                "open the address above, and check that {redirect_uri} is a registered redirect URI of the app"
            ))
        })??;

    let options = ClientOptions::from_args(&args.network);
    let tokens = settings
        .anonymous_client(options)?
        .exchange_code(&app, &code, &redirect_uri)
        .await
        .map_err(api_failure)
        .context("cannot exchange the authorization code for a token")?;
    let account = settings
        .client_with_token(SecretString::new(tokens.access_token.clone()), options)?
        .user_account()
        .await
        .map_err(api_failure)
        .context("the new token does not work")?;
    let mut entry = stored_token_from(&tokens, None, SystemTime::now());
    entry.username = Some(account.username.clone());
    entry.account_type = account.account_type.clone();
    entry.app_id = Some(app.app_id.clone());
    store.put(settings.environment.origin(), entry)?;
    if !quiet {
        eprintln!(
            "Logged in to {} as {}; tokens stored in {}",
            settings.environment,
            account.username,
            store.path().display()
        );
    }
    Ok(ExitStatus::Success)
}

const PAGE_STYLE: &str = "font-family:sans-serif;max-width:36em;margin:4em auto";

/// Accepts redirect requests until one carries the code (or an error) for `expected_state`.
async fn wait_for_code(listener: TcpListener, expected_state: &str) -> anyhow::Result<String> {
    loop {
        let (mut socket, _) = listener.accept().await?;
        let Some(target) = read_request_target(&mut socket).await else {
            continue;
        };
        let Ok(url) = url::Url::parse("http://localhost").and_then(|base| base.join(&target))
        else {
            respond(
                &mut socket,
                "400 Bad Request",
                "Not an authorization response.",
            )
            .await;
            continue;
        };
        let param = |name: &str| {
            url.query_pairs()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.into_owned())
        };
        if let Some(error) = param("error") {
            respond(
                &mut socket,
                "200 OK",
                "Authorization was refused. You can close this tab.",
            )
            .await;
            let detail = param("error_description").unwrap_or_default();
            return Err(Fatal::new(
                ExitStatus::Auth,
                format!("authorization was refused: {error} {detail}")
                    .trim()
                    .to_owned(),
            )
            .into());
        }
        let Some(code) = param("code") else {
            // Browsers also ask for /favicon.ico and the like.
            respond(
                &mut socket,
                "404 Not Found",
                "Waiting for the authorization response.",
            )
            .await;
            continue;
        };
        if param("state").as_deref() != Some(expected_state) {
            respond(
                &mut socket,
                "400 Bad Request",
                "The state does not match this login; start again.",
            )
            .await;
            return Err(Fatal::new(
                ExitStatus::Auth,
                "the authorization response does not belong to this login (state mismatch)",
            )
            .with_hint("run `pinbatch auth login` again and use the address it prints")
            .into());
        }
        respond(
            &mut socket,
            "200 OK",
            "pinbatch is authorized. You can close this tab.",
        )
        .await;
        return Ok(code);
    }
}

/// Reads one HTTP request head and returns its target (`/?code=...`); `None` if unreadable.
async fn read_request_target(socket: &mut tokio::net::TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buffer = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        let read = socket.read(&mut buffer).await.ok()?;
        if read == 0 {
            break;
        }
        head.extend_from_slice(&buffer[..read]);
    }
    let text = String::from_utf8_lossy(&head);
    let mut parts = text.lines().next()?.split_whitespace();
    let method = parts.next()?;
    let target = parts.next()?;
    (method == "GET").then(|| target.to_owned())
}

async fn respond(socket: &mut tokio::net::TcpStream, status: &str, message: &str) {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>pinbatch</title></head>\
         <body style=\"{PAGE_STYLE}\"><h1>pinbatch</h1><p>{message}</p></body></html>"
    );
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    // The browser may already be gone; the login goes on regardless.
    let _ = socket.write_all(response.as_bytes()).await;
    let _ = socket.shutdown().await;
}

/// What `auth status --format json` prints.
#[derive(Debug, Serialize)]
struct StatusReport {
    environment: String,
    origin: String,
    token_source: String,
    /// With `--token-file`: `plain` or `api-quickstart-json`.
    token_file_format: Option<&'static str>,
    username: String,
    account_type: Option<String>,
    scopes: Option<Vec<String>>,
    access_token_expires_at: Option<String>,
    refresh_token_expires_at: Option<String>,
    refreshable: bool,
}

/// What `auth status` shows of where the token came from.
struct TokenDetails {
    /// The store entry in use (a login, or a token file's renewed pair).
    stored: Option<auth::StoredToken>,
    /// A token file's own scopes, when the pair in use is still the file's.
    file_scopes: Option<Vec<String>>,
    /// With `--token-file`: `plain` or `api-quickstart-json`.
    token_file_format: Option<&'static str>,
}

fn token_details(settings: &GlobalSettings, source: &TokenSource) -> anyhow::Result<TokenDetails> {
    let stored = match source {
        TokenSource::Store(_) | TokenSource::File { renewed: true, .. } => {
            settings.stored_token()?
        }
        _ => None,
    };
    let file_scopes = match source {
        TokenSource::File {
            path,
            renewed: false,
            ..
        } => auth::TokenFile::read(path)
            .ok()
            .map(|file| file.scopes)
            .filter(|scopes| !scopes.is_empty()),
        _ => None,
    };
    let token_file_format = match source {
        TokenSource::File {
            format: TokenFileFormat::Plain,
            ..
        } => Some("plain"),
        TokenSource::File { .. } => Some("api-quickstart-json"),
        _ => None,
    };
    Ok(TokenDetails {
        stored,
        file_scopes,
        token_file_format,
    })
}

fn timestamp(seconds: Option<u64>) -> Option<String> {
    seconds.map(timestamp_text)
}

/// The app secret: from standard input with `--app-secret-stdin`, else `--app-secret` (with a
/// warning: a command line is visible to every user of the machine), else
/// `PINTEREST_APP_SECRET`.
fn app_secret(
    settings: &GlobalSettings,
    on_command_line: Option<&str>,
    from_stdin: bool,
) -> anyhow::Result<Option<SecretString>> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("cannot read the app secret from standard input")?;
        let secret = line.trim();
        if secret.is_empty() {
            return Err(Fatal::new(
                ExitStatus::Auth,
                "--app-secret-stdin: standard input held no app secret",
            )
            .into());
        }
        return Ok(Some(SecretString::new(secret)));
    }
    if let Some(secret) = on_command_line.filter(|secret| !secret.is_empty()) {
        eprintln!(
            "warning: --app-secret on the command line can be read by every user of this machine (`ps`); set {} or use --app-secret-stdin instead",
            auth::APP_SECRET_ENV
        );
        return Ok(Some(SecretString::new(secret)));
    }
    Ok(settings.app_secret.clone())
}

async fn status(settings: &GlobalSettings, args: &AuthStatusArgs) -> anyhow::Result<ExitStatus> {
    let Some((credentials, source)) = settings.credentials()? else {
        return Err(Fatal::new(
            ExitStatus::Auth,
            format!("not logged in to {}", settings.environment),
        )
        .with_hint(settings.no_login_hint())
        .into());
    };
    let refreshable = credentials.refresh.is_some();
    let TokenDetails {
        stored,
        file_scopes,
        token_file_format,
    } = token_details(settings, &source)?;
    let account = match settings
        .api_client(ClientOptions::from_args(&args.network))?
        .user_account()
        .await
    {
        Ok(account) => account,
        Err(err) => {
            // Say what happened: a rejected token and an unreachable API need different fixes.
            let context = if err.is_auth() {
                "the token was rejected".to_owned()
            } else {
                format!(
                    "cannot check the token: {} did not answer",
                    settings.environment.origin()
                )
            };
            return Err(api_failure(err).context(context));
        }
    };
    let report = StatusReport {
        environment: settings.environment.name().to_owned(),
        origin: settings.environment.origin().to_owned(),
        token_source: source.to_string(),
        token_file_format,
        username: account.username.clone(),
        account_type: account.account_type.clone(),
        scopes: stored.as_ref().map(|s| s.scopes.clone()).or(file_scopes),
        access_token_expires_at: timestamp(stored.as_ref().and_then(|s| s.access_token_expires_at)),
        refresh_token_expires_at: timestamp(
            stored.as_ref().and_then(|s| s.refresh_token_expires_at),
        ),
        refreshable,
    };
    match args.format {
        StatusFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        StatusFormat::Human => {
            let unknown = || "unknown".to_owned();
            let separate = if settings.environment == crate::api::Environment::Sandbox {
                ": sandbox boards and pins are separate from production's"
            } else {
                ""
            };
            println!("Environment:   {}{separate}", settings.environment);
            println!(
                "Account:       {} ({})",
                report.username,
                report.account_type.clone().unwrap_or_else(unknown)
            );
            println!("Token from:    {}", report.token_source);
            println!(
                "Scopes:        {}",
                report
                    .scopes
                    .as_ref()
                    .map(|s| s.join(","))
                    .unwrap_or_else(unknown)
            );
            let now = crate::epoch::seconds(SystemTime::now());
            let when = |at: Option<u64>| match at {
                None => unknown(),
                Some(at) if at <= now => format!("{} (expired)", timestamp_text(at)),
                Some(at) => format!(
                    "{} (in {})",
                    timestamp_text(at),
                    auth::rough_duration(at - now)
                ),
            };
            println!(
                "Access token:  expires {}",
                when(stored.as_ref().and_then(|s| s.access_token_expires_at))
            );
            let has_refresh_token = stored.as_ref().is_some_and(|s| s.refresh_token.is_some());
            if has_refresh_token {
                println!(
                    "Refresh token: expires {}",
                    when(stored.as_ref().and_then(|s| s.refresh_token_expires_at))
                );
            }
            println!(
                "Refreshable:   {}",
                if report.refreshable {
                    "yes"
                } else if has_refresh_token {
                    "no (set PINTEREST_APP_ID and PINTEREST_APP_SECRET)"
                } else {
                    "no"
                }
            );
        }
    }
    Ok(ExitStatus::Success)
}

async fn refresh(
    settings: &GlobalSettings,
    args: &AuthRefreshArgs,
    quiet: bool,
) -> anyhow::Result<ExitStatus> {
    let store = settings.token_store()?;
    let origin = settings.environment.origin();
    // Read, refresh and store under the store's lock: another process refreshing at the same
    // time would spend the same refresh token, and one rotated pair would be lost.
    let locking = store.clone();
    let _lock = tokio::task::spawn_blocking(move || locking.lock())
        .await
        .context("cannot lock the token store")??;
    let Some(stored) = store.get(origin)? else {
        return Err(Fatal::new(
            ExitStatus::Auth,
            format!("no stored login for {}", settings.environment),
        )
        .with_hint("run `pinbatch auth login`")
        .into());
    };
    if let Some(at) = stored.refresh_token_expires_at
        && at <= crate::epoch::seconds(SystemTime::now())
    {
        return Err(Fatal::new(
            ExitStatus::Auth,
            format!(
                "the stored refresh token for {} expired {}",
                settings.environment,
                timestamp_text(at)
            ),
        )
        .with_hint(format!(
            "run `{}` to log in again",
            settings.login_command("login")
        ))
        .into());
    }
    let Some(refresh_token) = stored.refresh_token.clone() else {
        return Err(
            Fatal::new(ExitStatus::Auth, "the stored login has no refresh token")
                .with_hint("run `pinbatch auth login`")
                .into(),
        );
    };
    let secret = app_secret(settings, args.app_secret.as_deref(), args.app_secret_stdin)?;
    let app = settings
        .app_credentials(args.app_id.as_deref(), secret, Some(&stored))
        .ok_or_else(|| {
            app_missing(
                "id and secret",
                "--app-id/--app-secret",
                "PINTEREST_APP_ID/PINTEREST_APP_SECRET",
            )
        })?;
    let tokens = settings
        .anonymous_client(ClientOptions::from_args(&args.network))?
        .refresh_access_token(&app, &refresh_token)
        .await
        .map_err(api_failure)
        .context("cannot refresh the access token")?;
    let mut entry = stored_token_from(&tokens, Some(&stored), SystemTime::now());
    entry.app_id = Some(app.app_id.clone());
    let expires = timestamp(entry.access_token_expires_at);
    store.put(origin, entry)?;
    if !quiet {
        eprintln!(
            "Access token for {} refreshed{}",
            settings.environment,
            expires
                .map(|at| format!("; it expires {at}"))
                .unwrap_or_default()
        );
    }
    Ok(ExitStatus::Success)
}

fn logout(settings: &GlobalSettings, quiet: bool) -> anyhow::Result<ExitStatus> {
    let store = settings.token_store()?;
    let removed = store.remove(settings.environment.origin())?;
    if !quiet {
        if removed {
            eprintln!("Removed the stored tokens for {}", settings.environment);
        } else {
            eprintln!("No stored tokens for {}", settings.environment);
        }
    }
    Ok(ExitStatus::Success)
}

//! `auth`, `boards` and `sections` commands driven through the real binary against a small
//! local API server on 127.0.0.1 (port 0), with a private config directory per test.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use axum::Router;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_pinbatch");

fn authorized(headers: &HeaderMap) -> bool {
    matches!(
        headers.get("authorization").and_then(|v| v.to_str().ok()),
        Some("Bearer tok") | Some("Bearer pina_fresh")
    )
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({"code": 2, "message": "Authentication failed."})),
    )
        .into_response()
}

/// Starts the fake API on a thread with its own runtime; returns its origin.
fn start_server() -> String {
    let router = Router::new()
        .route(
            "/v5/user_account",
            get(|headers: HeaderMap| async move {
                if !authorized(&headers) {
                    return unauthorized();
                }
                axum::Json(json!({"username": "cat_lover", "account_type": "BUSINESS"})).into_response()
            }),
        )
        .route(
            "/v5/boards",
            get(
                |headers: HeaderMap, Query(query): Query<std::collections::HashMap<String, String>>| async move {
                    if !authorized(&headers) {
                        return unauthorized();
                    }
                    let page = if query.get("bookmark").map(String::as_str) == Some("p2") {
                        json!({"items": [
                            {"id": "3", "name": "Twin", "privacy": "SECRET", "pin_count": 0},
                            {"id": "4", "name": "Twin", "privacy": "PUBLIC"}
                        ], "bookmark": null})
                    } else {
                        json!({"items": [
                            {"id": "1", "name": "Animals 動物", "description": "Cats, dogs", "privacy": "PUBLIC", "pin_count": 12},
                            {"id": "2", "name": "Nature", "privacy": "PROTECTED", "pin_count": 3}
                        ], "bookmark": "p2"})
                    };
                    axum::Json(page).into_response()
                },
            ),
        )
        .route(
            "/v5/boards/{id}/sections",
            get(|headers: HeaderMap, Path(id): Path<String>| async move {
                if !authorized(&headers) {
                    return unauthorized();
                }
                axum::Json(json!({"items": [{"id": format!("{id}01"), "name": "Cats"}], "bookmark": null}))
                    .into_response()
            }),
        )
        .route(
            "/v5/oauth/token",
            post(
                |axum::Form(form): axum::Form<std::collections::HashMap<String, String>>| async move {
                    assert_eq!(form["grant_type"], "authorization_code");
                    assert_eq!(form["code"], "the-code");
                    axum::Json(json!({
                        "access_token": "pina_fresh", "refresh_token": "pinr_1", "expires_in": 3600,
                        "refresh_token_expires_in": 86400, "scope": "boards:read,pins:write",
                        "token_type": "bearer", "response_type": "authorization_code"
                    }))
                },
            ),
        );
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            sender.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, router).await.unwrap();
        });
    });
    format!("http://{}", receiver.recv().unwrap())
}

fn pinbatch(config_dir: &std::path::Path, origin: &str) -> Command {
    let mut command = Command::new(BIN);
    command
        .env_remove("PINTEREST_ACCESS_TOKEN")
        .env_remove("PINTEREST_APP_ID")
        .env_remove("PINTEREST_APP_SECRET")
        .env_remove("PINBATCH_API_BASE")
        .env("PINBATCH_CONFIG_DIR", config_dir)
        .env("NO_COLOR", "1")
        .args(["--api-base", origin]);
    command
}

fn run(command: &mut Command) -> (i32, String, String) {
    let output = command.output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn boards_list_prints_every_page_as_json_csv_and_table() {
    let origin = start_server();
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run(pinbatch(dir.path(), &origin)
        .args(["boards", "list", "--format", "json"])
        .env("PINTEREST_ACCESS_TOKEN", "tok"));
    assert_eq!(code, 0, "{stderr}");
    let boards: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(boards.as_array().unwrap().len(), 4);
    assert_eq!(
        boards[0],
        json!({"id": "1", "name": "Animals 動物", "description": "Cats, dogs", "privacy": "PUBLIC", "pin_count": 12})
    );

    let (code, stdout, _) = run(pinbatch(dir.path(), &origin)
        .args(["boards", "list", "--format", "csv"])
        .env("PINTEREST_ACCESS_TOKEN", "tok"));
    assert_eq!(code, 0);
    assert!(
        stdout.starts_with(
            "id,name,description,privacy,pin_count\n1,Animals 動物,\"Cats, dogs\",PUBLIC,12\n"
        ),
        "{stdout}"
    );

    let (code, stdout, _) = run(pinbatch(dir.path(), &origin)
        .args(["boards", "list"])
        .env("PINTEREST_ACCESS_TOKEN", "tok"));
    assert_eq!(code, 0);
    assert!(
        stdout.lines().next().unwrap().starts_with("ID  NAME"),
        "{stdout}"
    );
}

#[test]
fn sections_list_resolves_board_names_and_rejects_ambiguous_ones() {
    let origin = start_server();
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "tok\n").unwrap();
    let token_arg = token_file.display().to_string();
    let (code, stdout, stderr) = run(pinbatch(dir.path(), &origin).args([
        "sections",
        "list",
        "animals 動物",
        "--format",
        "json",
        "--token-file",
        &token_arg,
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        serde_json::from_str::<Value>(&stdout).unwrap(),
        json!([{"id": "101", "name": "Cats"}])
    );
    let (code, _, stderr) = run(pinbatch(dir.path(), &origin).args([
        "sections",
        "list",
        "Twin",
        "--token-file",
        &token_arg,
    ]));
    assert_eq!(code, 1);
    assert!(
        stderr.contains("3 (Twin)") && stderr.contains("4 (Twin)"),
        "{stderr}"
    );
}

#[test]
fn auth_problems_exit_with_code_3_and_a_hint() {
    let origin = start_server();
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = run(pinbatch(dir.path(), &origin).args(["boards", "list"]));
    assert_eq!(code, 3);
    assert!(
        stderr.contains("no access token") && stderr.contains("hint:"),
        "{stderr}"
    );

    let (code, _, stderr) = run(pinbatch(dir.path(), &origin)
        .args(["boards", "list"])
        .env("PINTEREST_ACCESS_TOKEN", "wrong"));
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("401 Unauthorized (code 2): Authentication failed."),
        "{stderr}"
    );
    assert!(!stderr.contains("wrong"), "the token leaked: {stderr}");

    let (code, _, stderr) = run(Command::new(BIN)
        .env("PINBATCH_CONFIG_DIR", dir.path())
        .args(["boards", "list", "--api-base", "http://example.com"]));
    assert_eq!(code, 3);
    assert!(stderr.contains("loopback"), "{stderr}");
}

#[test]
fn auth_login_exchanges_the_code_stores_tokens_and_status_reads_them() {
    let origin = start_server();
    let dir = tempfile::tempdir().unwrap();
    let mut child = pinbatch(dir.path(), &origin)
        .args([
            "auth",
            "login",
            "--no-browser",
            "--port",
            "0",
            "--app-id",
            "app1",
            "--app-secret",
            "s3cret",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let mut printed: Vec<String> = Vec::new();
    let authorize = lines
        .by_ref()
        .map(|line| line.unwrap())
        .find(|line| {
            printed.push(line.clone());
            line.contains("/oauth/?")
        })
        .expect("the authorize URL is printed");
    assert!(
        printed
            .iter()
            .any(|line| line.contains("--app-secret on the command line")),
        "a secret on the command line draws a warning: {printed:?}"
    );
    assert!(printed.iter().all(|line| !line.contains("s3cret")));
    let url = url::Url::parse(authorize.trim()).unwrap();
    assert!(
        url.as_str()
            .starts_with(&format!("{origin}/oauth/?client_id=app1&"))
    );
    let param = |name: &str| {
        url.query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
            .unwrap()
    };
    let redirect = param("redirect_uri").replace("localhost", "127.0.0.1");
    let state = param("state");
    assert_eq!(
        param("scope"),
        "boards:read,boards:write,pins:read,pins:write,user_accounts:read"
    );
    // A stray request (favicon) does not end the login; the real redirect does.
    let http =
        std::net::TcpStream::connect(redirect.trim_start_matches("http://").trim_end_matches('/'))
            .unwrap();
    drop(http);
    let response = redirect_get(&format!("{redirect}?code=the-code&state={state}"));
    assert!(response.contains("200 OK"), "{response}");
    let rest: Vec<String> = lines.map(|line| line.unwrap()).collect();
    assert!(child.wait().unwrap().success(), "{rest:?}");

    let stored: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("tokens.json")).unwrap())
            .unwrap();
    let entry = &stored["tokens"][&origin];
    assert_eq!(entry["access_token"], "pina_fresh");
    assert_eq!(entry["username"], "cat_lover");
    assert_eq!(entry["app_id"], "app1");
    assert!(
        !stored.to_string().contains("s3cret"),
        "the app secret must not be stored"
    );

    let (code, stdout, stderr) =
        run(pinbatch(dir.path(), &origin).args(["auth", "status", "--format", "json"]));
    assert_eq!(code, 0, "{stderr}");
    let status: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(status["username"], "cat_lover");
    assert_eq!(status["scopes"], json!(["boards:read", "pins:write"]));
    assert!(!stdout.contains("pina_fresh"));

    let (code, _, _) = run(pinbatch(dir.path(), &origin).args(["auth", "logout"]));
    assert_eq!(code, 0);
    let (code, _, _) = run(pinbatch(dir.path(), &origin).args(["auth", "status"]));
    assert_eq!(code, 3);
}

/// A plain HTTP/1.1 GET (the redirect listener is not a full server).
fn redirect_get(url: &str) -> String {
    use std::io::{Read, Write};
    let parsed = url::Url::parse(url).unwrap();
    let address = format!("{}:{}", parsed.host_str().unwrap(), parsed.port().unwrap());
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    let target = format!("{}?{}", parsed.path(), parsed.query().unwrap_or(""));
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

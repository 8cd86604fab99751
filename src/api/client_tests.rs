//! Client tests against tiny axum servers on 127.0.0.1 port 0: pagination, retries, 429 pacing,
//! unknown outcomes of creates, token refresh, and the media upload form.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Multipart, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::*;
use crate::api::types::MediaSource;

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}

fn config(origin: &str) -> ClientConfig {
    let mut config = ClientConfig::new(Environment::resolve(false, Some(origin)).unwrap());
    config.credentials = Some(Credentials::bearer(SecretString::new("tok")));
    config.retry = RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        total_budget: Duration::from_secs(10),
    };
    config.timeout = Duration::from_secs(5);
    config
}

fn client(origin: &str) -> ApiClient {
    ApiClient::new(config(origin)).unwrap()
}

fn pin() -> PinCreate {
    PinCreate {
        board_id: "1".into(),
        board_section_id: None,
        title: Some("t".into()),
        description: None,
        link: None,
        alt_text: None,
        dominant_color: None,
        ai_disclosures: None,
        media_source: MediaSource::ImageUrl {
            url: "https://e.com/a.jpg".into(),
        },
    }
}

fn error(status: StatusCode, code: i64, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"code": code, "message": message})),
    )
        .into_response()
}

#[tokio::test]
async fn list_boards_follows_bookmarks_across_pages() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let router = Router::new()
        .route(
            "/v5/boards",
            get(
                |State(seen): State<Arc<Mutex<Vec<String>>>>,
                 headers: HeaderMap,
                 Query(query): Query<std::collections::HashMap<String, String>>| async move {
                    assert_eq!(headers["authorization"], "Bearer tok");
                    assert_eq!(query.get("page_size").map(String::as_str), Some("250"));
                    let bookmark = query.get("bookmark").cloned();
                    seen.lock().unwrap().push(bookmark.clone().unwrap_or_default());
                    let (id, next) = match bookmark.as_deref() {
                        None => ("1", json!("b2")),
                        Some("b2") => ("2", json!("b3")),
                        _ => ("3", Value::Null),
                    };
                    axum::Json(json!({"items": [{"id": id, "name": format!("Board {id}")}], "bookmark": next}))
                },
            ),
        )
        .with_state(seen.clone());
    let origin = serve(router).await;
    let boards = client(&origin).list_boards().await.unwrap();
    let ids: Vec<&str> = boards.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(ids, ["1", "2", "3"]);
    assert_eq!(*seen.lock().unwrap(), ["", "b2", "b3"]);
}

#[tokio::test]
async fn transient_503s_are_retried_until_success() {
    let hits = Arc::new(AtomicUsize::new(0));
    let router = Router::new()
        .route(
            "/v5/user_account",
            get(|State(hits): State<Arc<AtomicUsize>>| async move {
                if hits.fetch_add(1, Ordering::SeqCst) < 2 {
                    error(StatusCode::SERVICE_UNAVAILABLE, 503, "busy")
                } else {
                    axum::Json(json!({"username": "me", "account_type": "BUSINESS"}))
                        .into_response()
                }
            }),
        )
        .with_state(hits.clone());
    let origin = serve(router).await;
    let account = client(&origin).user_account().await.unwrap();
    assert_eq!(account.username, "me");
    assert_eq!(hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn retries_stop_at_the_limit_and_the_error_counts_them() {
    let hits = Arc::new(AtomicUsize::new(0));
    let router = Router::new()
        .route(
            "/v5/boards/{id}",
            get(|State(hits): State<Arc<AtomicUsize>>| async move {
                hits.fetch_add(1, Ordering::SeqCst);
                let mut response = error(StatusCode::BAD_GATEWAY, 502, "down");
                response
                    .headers_mut()
                    .insert("x-pinterest-rid", "rid-7".parse().unwrap());
                response
            }),
        )
        .with_state(hits.clone());
    let origin = serve(router).await;
    let err = client(&origin).get_board("42").await.unwrap_err();
    assert_eq!(hits.load(Ordering::SeqCst), 4);
    assert_eq!(err.retries(), 3);
    assert_eq!(err.status(), Some(502));
    assert_eq!(
        err.to_string(),
        "GET /v5/boards/42 failed: 502 Bad Gateway (code 502): down [request id rid-7] after 3 retries"
    );
}

#[tokio::test]
async fn a_429_with_retry_after_pauses_then_the_create_is_retried() {
    let hits = Arc::new(AtomicUsize::new(0));
    let router = Router::new()
        .route(
            "/v5/pins",
            post(
                |State(hits): State<Arc<AtomicUsize>>, axum::Json(body): axum::Json<Value>| async move {
                    assert_eq!(body["media_source"]["source_type"], "image_url");
                    if hits.fetch_add(1, Ordering::SeqCst) == 0 {
                        let mut response =
                            error(StatusCode::TOO_MANY_REQUESTS, 8, "This request exceeded a rate limit.");
                        response.headers_mut().insert("retry-after", "1".parse().unwrap());
                        response
                    } else {
                        (StatusCode::CREATED, axum::Json(json!({"id": "777", "board_id": "1"})))
                            .into_response()
                    }
                },
            ),
        )
        .with_state(hits.clone());
    let origin = serve(router).await;
    let started = Instant::now();
    let created = client(&origin).create_pin(pin()).await.unwrap();
    assert_eq!(created.id, "777");
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "Retry-After was not honoured"
    );
}

#[tokio::test]
async fn a_spam_429_is_not_retried() {
    let hits = Arc::new(AtomicUsize::new(0));
    let router = Router::new()
        .route(
            "/v5/pins",
            post(|State(hits): State<Arc<AtomicUsize>>| async move {
                hits.fetch_add(1, Ordering::SeqCst);
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    axum::Json(json!({"code": 8, "message": "Rate limited", "message_detail": "Blocked as spam"})),
                )
            }),
        )
        .with_state(hits.clone());
    let origin = serve(router).await;
    let err = client(&origin).create_pin(pin()).await.unwrap_err();
    assert!(err.is_spam());
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_5xx_on_create_is_an_unknown_outcome_and_not_retried() {
    let hits = Arc::new(AtomicUsize::new(0));
    let router = Router::new()
        .route(
            "/v5/pins",
            post(|State(hits): State<Arc<AtomicUsize>>| async move {
                hits.fetch_add(1, Ordering::SeqCst);
                error(StatusCode::INTERNAL_SERVER_ERROR, 500, "oops")
            }),
        )
        .with_state(hits.clone());
    let origin = serve(router).await;
    let err = client(&origin).create_pin(pin()).await.unwrap_err();
    assert!(err.outcome_unknown());
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_connection_dropped_mid_request_leaves_the_create_outcome_unknown() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            // Read the request, then hang up without answering: the server may have acted.
            let mut buffer = [0u8; 4096];
            let _ = socket.read(&mut buffer).await;
            drop(socket);
        }
    });
    let err = client(&origin).create_pin(pin()).await.unwrap_err();
    assert_eq!(err.kind(), ApiErrorKind::Transport, "{err}");
    assert!(err.outcome_unknown());
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "a create with an unknown outcome was resent"
    );
}

#[tokio::test]
async fn a_refused_connection_is_retried_even_for_creates() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let err = client(&origin).create_pin(pin()).await.unwrap_err();
    assert_eq!(err.kind(), ApiErrorKind::Connect);
    assert!(!err.outcome_unknown());
    assert_eq!(err.retries(), 3);
}

#[tokio::test]
async fn a_timeout_after_sending_is_an_unknown_outcome() {
    let router = Router::new().route(
        "/v5/pins",
        post(|| async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            StatusCode::CREATED
        }),
    );
    let origin = serve(router).await;
    let mut config = config(&origin);
    config.timeout = Duration::from_millis(100);
    let err = ApiClient::new(config)
        .unwrap()
        .create_pin(pin())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ApiErrorKind::Timeout);
    assert!(err.outcome_unknown());
}

/// Multipart fields received, in order.
type Fields = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

#[derive(Default)]
struct RecordingSink(Arc<Mutex<Vec<TokenResponse>>>);

/// A sink with nothing stored that records what a refresh stores.
struct RecordingLock(Arc<Mutex<Vec<TokenResponse>>>);

impl TokenSink for RecordingSink {
    fn lock(&self) -> Box<dyn TokenLock> {
        Box::new(RecordingLock(Arc::clone(&self.0)))
    }
}

impl TokenLock for RecordingLock {
    fn stored(&self) -> Option<StoredPair> {
        None
    }

    fn tokens_refreshed(&self, tokens: &TokenResponse) {
        self.0.lock().unwrap().push(tokens.clone());
    }
}

fn refresh_router(token_hits: Arc<AtomicUsize>, accept: &'static str) -> Router {
    Router::new()
        .route(
            "/v5/user_account",
            get(move |headers: HeaderMap| async move {
                if headers["authorization"] == format!("Bearer {accept}").as_str() {
                    axum::Json(json!({"username": "me"})).into_response()
                } else {
                    error(StatusCode::UNAUTHORIZED, 2, "Authentication failed.")
                }
            }),
        )
        .route(
            "/v5/oauth/token",
            post(
                |State(hits): State<Arc<AtomicUsize>>,
                 headers: HeaderMap,
                 axum::Form(form): axum::Form<std::collections::HashMap<String, String>>| async move {
                    hits.fetch_add(1, Ordering::SeqCst);
                    // "app:secret" in base64.
                    assert_eq!(headers["authorization"], "Basic YXBwOnNlY3JldA==");
                    assert_eq!(form["grant_type"], "refresh_token");
                    assert_eq!(form["refresh_token"], "pinr_old");
                    axum::Json(json!({
                        "access_token": "new", "refresh_token": "pinr_new", "expires_in": 3600,
                        "refresh_token_expires_in": 7200, "scope": "boards:read",
                        "token_type": "bearer", "response_type": "refresh_token"
                    }))
                },
            ),
        )
        .with_state(token_hits)
}

fn refreshable(origin: &str, sink: Arc<RecordingSink>) -> ApiClient {
    let mut config = config(origin);
    config.credentials = Some(Credentials {
        access_token: SecretString::new("old"),
        expires_at: None,
        refresh: Some(RefreshCredentials {
            refresh_token: SecretString::new("pinr_old"),
            app: AppCredentials {
                app_id: "app".into(),
                app_secret: SecretString::new("secret"),
            },
        }),
        sink: Some(sink),
    });
    ApiClient::new(config).unwrap()
}

#[tokio::test]
async fn a_401_refreshes_once_stores_the_rotated_token_and_retries() {
    let token_hits = Arc::new(AtomicUsize::new(0));
    let origin = serve(refresh_router(token_hits.clone(), "new")).await;
    let sink = Arc::new(RecordingSink::default());
    let client = refreshable(&origin, sink.clone());
    assert_eq!(client.user_account().await.unwrap().username, "me");
    assert_eq!(client.user_account().await.unwrap().username, "me");
    assert_eq!(token_hits.load(Ordering::SeqCst), 1);
    let stored = sink.0.lock().unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].refresh_token.as_deref(), Some("pinr_new"));
}

#[tokio::test]
async fn a_401_that_survives_the_refresh_is_returned_after_one_refresh() {
    let token_hits = Arc::new(AtomicUsize::new(0));
    let origin = serve(refresh_router(token_hits.clone(), "never")).await;
    let client = refreshable(&origin, Arc::new(RecordingSink::default()));
    let err = client.user_account().await.unwrap_err();
    assert!(err.is_auth());
    assert_eq!(err.status(), Some(401));
    assert_eq!(token_hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_expired_token_is_refreshed_before_use() {
    let token_hits = Arc::new(AtomicUsize::new(0));
    let origin = serve(refresh_router(token_hits.clone(), "new")).await;
    let mut config = config(&origin);
    let sink = Arc::new(RecordingSink::default());
    config.credentials = Some(Credentials {
        access_token: SecretString::new("old"),
        expires_at: Some(SystemTime::now() - Duration::from_secs(10)),
        refresh: Some(RefreshCredentials {
            refresh_token: SecretString::new("pinr_old"),
            app: AppCredentials {
                app_id: "app".into(),
                app_secret: SecretString::new("secret"),
            },
        }),
        sink: Some(sink.clone()),
    });
    let client = ApiClient::new(config).unwrap();
    assert_eq!(client.user_account().await.unwrap().username, "me");
    assert_eq!(token_hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn no_token_is_an_auth_error_without_a_request() {
    let mut config = config("http://127.0.0.1:9");
    config.credentials = None;
    let err = ApiClient::new(config)
        .unwrap()
        .list_boards()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ApiErrorKind::NoToken);
    assert!(err.is_auth());
}

#[tokio::test]
async fn media_upload_sends_every_parameter_then_the_file_without_the_token() {
    let received = Fields::default();
    let router = Router::new()
        .route(
            "/upload",
            post(
                |State(received): State<Fields>,
                 headers: HeaderMap,
                 mut form: Multipart| async move {
                    assert!(headers.get("authorization").is_none());
                    while let Some(field) = form.next_field().await.unwrap() {
                        let name = field.name().unwrap_or_default().to_owned();
                        let data = field.bytes().await.unwrap().to_vec();
                        received.lock().unwrap().push((name, data));
                    }
                    StatusCode::NO_CONTENT
                },
            ),
        )
        .with_state(received.clone());
    let origin = serve(router).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("clip.mp4");
    std::fs::write(&file, b"not really a video").unwrap();
    let upload = MediaUpload {
        media_id: "5".into(),
        media_type: "video".into(),
        upload_url: format!("{origin}/upload"),
        upload_parameters: [("key", "k/1"), ("policy", "p"), ("x-amz-signature", "s")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    };
    client(&origin).upload_media(&upload, &file).await.unwrap();
    let received = received.lock().unwrap();
    let names: Vec<&str> = received.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["key", "policy", "x-amz-signature", "file"]);
    assert_eq!(received[3].1, b"not really a video");
}

#[tokio::test]
async fn a_429_on_one_request_holds_the_others_of_the_same_client() {
    let started = Instant::now();
    let hits = Arc::new(AtomicUsize::new(0));
    let router = Router::new()
        .route(
            "/v5/boards/{id}",
            get(
                |State(hits): State<Arc<AtomicUsize>>,
                 axum::extract::Path(id): axum::extract::Path<String>| async move {
                    if id == "first" && hits.fetch_add(1, Ordering::SeqCst) == 0 {
                        let mut response = error(StatusCode::TOO_MANY_REQUESTS, 8, "slow down");
                        response
                            .headers_mut()
                            .insert("retry-after", "1".parse().unwrap());
                        return response;
                    }
                    axum::Json(json!({"id": id, "name": "B"})).into_response()
                },
            ),
        )
        .with_state(hits.clone());
    let origin = serve(router).await;
    let client = client(&origin);
    let first = tokio::spawn({
        let client = client.clone();
        async move { client.get_board("first").await }
    });
    // Let the first request meet its 429 before the second one starts.
    while hits.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    client.get_board("second").await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "the second request did not wait for the shared pause"
    );
    first.await.unwrap().unwrap();
}

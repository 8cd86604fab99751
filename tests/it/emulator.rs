//! The emulator itself, exercised over HTTP with reqwest: pagination, every media kind, error
//! codes, auth, each fault mode (including connections dropped with no response), the write
//! limit headers, OpenAPI validation and the OAuth code and refresh flows.

use std::time::{Duration, Instant};

use base64::Engine as _;
use pinbatch_emulator::{
    AppliedFault, Emulator, EmulatorConfig, ImageRecord, MediaStatus, PinMediaRecord,
    parse_fault_spec, sha256_hex,
};
use serde_json::{Value, json};

use crate::common::{TestEmulator, openapi_path};

const TOKEN: &str = "emulator-token";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01";
const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F'];

async fn start(faults: &str) -> Emulator {
    Emulator::start(EmulatorConfig {
        faults: parse_fault_spec(faults).unwrap(),
        openapi: Some(openapi_path()),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap()
}

fn client() -> reqwest::Client {
    pinbatch::api::http_client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn get(emu: &Emulator, path: &str) -> reqwest::Response {
    client()
        .get(format!("{}/v5{path}", emu.base_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
}

async fn send_json(
    emu: &Emulator,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> reqwest::Response {
    client()
        .request(method, format!("{}/v5{path}", emu.base_url()))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn post(emu: &Emulator, path: &str, body: Value) -> reqwest::Response {
    send_json(emu, reqwest::Method::POST, path, body).await
}

async fn post_json(emu: &Emulator, path: &str, body: Value) -> (u16, Value) {
    status_and_json(post(emu, path, body).await).await
}

async fn get_json(emu: &Emulator, path: &str) -> (u16, Value) {
    status_and_json(get(emu, path).await).await
}

async fn status_and_json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn image_pin(board_id: &str) -> Value {
    json!({"board_id": board_id, "title": "t",
           "media_source": {"source_type": "image_url", "url": "https://example.com/a.jpg"}})
}

#[tokio::test]
async fn boards_paginate_with_bookmarks() {
    let emu = start("").await;
    for i in 0..300 {
        emu.seed_board(&format!("Board {i:03}"), "PUBLIC");
    }
    let first = get(&emu, "/boards").await;
    assert!(first.headers().contains_key("x-pinterest-rid"));
    let (_, first) = status_and_json(first).await;
    assert_eq!(first["items"].as_array().unwrap().len(), 25);

    let mut names = Vec::new();
    let mut bookmark: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &bookmark {
            Some(b) => format!("/boards?page_size=250&bookmark={b}"),
            None => "/boards?page_size=250".to_string(),
        };
        let (status, page) = get_json(&emu, &path).await;
        assert_eq!(status, 200);
        pages += 1;
        for board in page["items"].as_array().unwrap() {
            assert!(
                board["id"]
                    .as_str()
                    .unwrap()
                    .bytes()
                    .all(|b| b.is_ascii_digit())
            );
            names.push(board["name"].as_str().unwrap().to_string());
        }
        match page["bookmark"].as_str() {
            Some(next) => bookmark = Some(next.to_string()),
            None => {
                assert!(page["bookmark"].is_null());
                break;
            }
        }
    }
    assert_eq!(pages, 2);
    assert_eq!(names.len(), 300);
    assert_eq!(names.first().unwrap(), "Board 000");
    assert_eq!(names.last().unwrap(), "Board 299");
    assert_eq!(emu.response_violations(), Vec::<String>::new());
    let (status, body) = get_json(&emu, "/boards?page_size=251").await;
    assert_eq!((status, body["code"].as_u64()), (400, Some(1)));
}

async fn upload_video(emu: &Emulator) -> String {
    let (status, media) = post_json(emu, "/media", json!({"media_type": "video"})).await;
    assert_eq!(status, 201);
    let media_id = media["media_id"].as_str().unwrap().to_string();
    let upload_url = media["upload_url"].as_str().unwrap();
    assert!(upload_url.starts_with(&emu.base_url()));
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in media["upload_parameters"].as_object().unwrap() {
        form = form.text(name.clone(), value.as_str().unwrap().to_string());
    }
    form = form.part(
        "file",
        reqwest::multipart::Part::bytes(b"fake mp4 bytes".to_vec()).file_name("clip.mp4"),
    );
    let uploaded = client()
        .post(upload_url)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status().as_u16(), 204);
    media_id
}

async fn poll_until_done(emu: &Emulator, media_id: &str) -> Vec<String> {
    let mut seen = Vec::new();
    for _ in 0..10 {
        let (_, media) = get_json(emu, &format!("/media/{media_id}")).await;
        let status = media["status"].as_str().unwrap().to_string();
        seen.push(status.clone());
        if status == "succeeded" || status == "failed" {
            break;
        }
    }
    seen
}

#[tokio::test]
async fn every_media_kind_is_stored() {
    let emu = start("").await;
    let (status, board) = post_json(
        &emu,
        "/boards",
        json!({"name": "Recipes", "privacy": "SECRET"}),
    )
    .await;
    assert_eq!(status, 201);
    let board_id = board["id"].as_str().unwrap().to_string();
    let (status, section) = post_json(
        &emu,
        &format!("/boards/{board_id}/sections"),
        json!({"name": "Soups"}),
    )
    .await;
    assert_eq!(status, 201);
    let section_id = section["id"].as_str().unwrap().to_string();

    let (status, pin) = post_json(
        &emu,
        "/pins",
        json!({"board_id": board_id, "board_section_id": section_id,
            "title": "Image", "description": "d", "link": "https://example.com/r", "alt_text": "a",
            "media_source": {"source_type": "image_url", "url": "https://example.com/a.jpg"}}),
    )
    .await;
    assert_eq!(status, 201);
    let created_at = pin["created_at"].as_str().unwrap();
    assert_eq!(created_at.len(), 19, "{created_at}");
    assert!(jiff::civil::DateTime::strptime("%Y-%m-%dT%H:%M:%S", created_at).is_ok());
    assert_eq!(pin["media"]["media_type"], "image");

    let bodies = [
        json!({"board_id": board_id, "title": "Base64",
               "media_source": {"source_type": "image_base64", "content_type": "image/png", "data": b64(PNG)}}),
        json!({"board_id": board_id, "title": "Carousel urls", "media_source": {"source_type": "multiple_image_urls",
               "items": [{"url": "https://example.com/1.jpg", "title": "one"}, {"url": "https://example.com/2.jpg"}]}}),
        json!({"board_id": board_id, "title": "Carousel base64", "media_source": {"source_type": "multiple_image_base64",
               "items": [{"content_type": "image/jpeg", "data": b64(JPEG)}, {"content_type": "image/png", "data": b64(PNG)}]}}),
    ];
    for body in bodies {
        let (status, pin) = post_json(&emu, "/pins", body).await;
        assert_eq!(status, 201, "{pin}");
    }

    let media_id = upload_video(&emu).await;
    let statuses = poll_until_done(&emu, &media_id).await;
    assert_eq!(statuses, ["processing", "processing", "succeeded"]);
    let (status, video) = post_json(&emu, "/pins", json!({"board_id": board_id, "title": "Video", "media_source":
            {"source_type": "video_id", "media_id": media_id, "cover_image_url": "https://example.com/c.jpg"}})).await;
    assert_eq!(status, 201, "{video}");
    assert_eq!(video["media"]["media_type"], "video");

    let snapshot = emu.snapshot();
    assert_eq!(snapshot.pins.len(), 5);
    let kinds: Vec<_> = snapshot.pins.iter().map(|p| p.media.kind()).collect();
    assert_eq!(kinds, ["image", "image", "carousel", "carousel", "video"]);
    let first = &snapshot.pins[0];
    assert_eq!(first.board_section_id.as_deref(), Some(section_id.as_str()));
    assert_eq!(first.alt_text.as_deref(), Some("a"));
    assert_eq!(
        first.media,
        PinMediaRecord::Image(ImageRecord::Url("https://example.com/a.jpg".into()))
    );
    assert_eq!(
        snapshot.pins[1].media,
        PinMediaRecord::Image(ImageRecord::Bytes {
            content_type: "image/png".into(),
            sha256: sha256_hex(PNG),
            len: PNG.len(),
            size: Some((1, 1)),
        })
    );
    assert_eq!(snapshot.media[0].status, MediaStatus::Succeeded);
    assert_eq!(
        snapshot.media[0].sha256.as_deref(),
        Some(sha256_hex(b"fake mp4 bytes").as_str())
    );

    let (_, listed) = get_json(&emu, &format!("/boards/{board_id}/pins?page_size=2")).await;
    assert_eq!(listed["items"][0]["title"], "Video");
    assert_eq!(listed["items"][1]["title"], "Carousel base64");
    assert!(listed["bookmark"].is_string());
    let (_, in_section) = get_json(
        &emu,
        &format!("/boards/{board_id}/sections/{section_id}/pins"),
    )
    .await;
    assert_eq!(in_section["items"].as_array().unwrap().len(), 1);
    assert!(in_section["bookmark"].is_null());

    let pin_id = snapshot.pins[0].id.clone();
    let (status, patched) = status_and_json(
        send_json(
            &emu,
            reqwest::Method::PATCH,
            &format!("/pins/{pin_id}"),
            json!({"title": "New"}),
        )
        .await,
    )
    .await;
    assert_eq!((status, patched["title"].as_str()), (200, Some("New")));
    let deleted = client()
        .delete(format!("{}/v5/pins/{pin_id}", emu.base_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status().as_u16(), 204);
    let (_, account) = get_json(&emu, "/user_account").await;
    assert_eq!(account["username"], "pinbatch-emulator");
    assert_eq!(account["pin_count"], 4);
    assert_eq!(emu.spec_violations(), Vec::<String>::new());
    assert_eq!(emu.response_violations(), Vec::<String>::new());
}

#[tokio::test]
async fn errors_carry_pinterest_codes() {
    let emu = start("").await;
    let board_id = emu.seed_board("Recipes", "PUBLIC");
    let other = emu.seed_board("Other", "PUBLIC");
    let foreign_section = emu.seed_section(&other, "Elsewhere");
    let cases = [
        (
            post(&emu, "/boards", json!({"name": "Recipes"})).await,
            400,
            400,
        ),
        (post(&emu, "/pins", image_pin("123")).await, 404, 40),
        (
            post(
                &emu,
                "/pins",
                json!({"board_id": board_id, "board_section_id": foreign_section,
                "media_source": {"source_type": "image_url", "url": "https://example.com/a.jpg"}}),
            )
            .await,
            404,
            2031,
        ),
        (
            post(
                &emu,
                "/pins",
                json!({"board_id": board_id, "title": "x".repeat(101),
                "media_source": {"source_type": "image_url", "url": "https://example.com/a.jpg"}}),
            )
            .await,
            400,
            1,
        ),
        (
            post(
                &emu,
                "/pins",
                json!({"board_id": board_id, "media_source": {"source_type": "image_base64",
                "content_type": "image/jpeg", "data": b64(b"not an image")}}),
            )
            .await,
            403,
            235,
        ),
        (get(&emu, "/pins/42").await, 404, 50),
        (get(&emu, "/boards/42").await, 404, 40),
        (get(&emu, "/media/42").await, 404, 404),
    ];
    for (response, status, code) in cases {
        assert!(response.headers().contains_key("x-pinterest-rid"));
        let (got_status, body) = status_and_json(response).await;
        assert_eq!(
            (got_status, body["code"].as_u64()),
            (status, Some(code)),
            "{body}"
        );
        assert!(body["message"].is_string());
    }
}

#[tokio::test]
async fn bad_or_expired_tokens_get_401_code_2() {
    let emu = start("").await;
    let url = format!("{}/v5/user_account", emu.base_url());
    let missing = client().get(&url).send().await.unwrap();
    let wrong = client().get(&url).bearer_auth("nope").send().await.unwrap();
    for response in [missing, wrong] {
        let (status, body) = status_and_json(response).await;
        assert_eq!(status, 401);
        assert_eq!(
            body,
            json!({"code": 2, "message": "Authentication failed."})
        );
    }
    assert_eq!(get(&emu, "/user_account").await.status().as_u16(), 200);
    assert!(emu.expire_access_token(TOKEN));
    assert_eq!(get(&emu, "/user_account").await.status().as_u16(), 401);
    let pair = emu.issue_tokens();
    let fresh = client()
        .get(&url)
        .bearer_auth(&pair.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status().as_u16(), 200);
}

#[tokio::test]
async fn injected_errors_and_429s() {
    let emu = start("fail-first=1,status=500").await;
    let board_id = emu.seed_board("B", "PUBLIC");
    let (status, body) = post_json(&emu, "/pins", image_pin(&board_id)).await;
    assert_eq!((status, body["code"].as_u64()), (500, Some(500)));
    assert_eq!(
        post(&emu, "/pins", image_pin(&board_id))
            .await
            .status()
            .as_u16(),
        201
    );
    // Only POST /pins is a target by default.
    assert_eq!(get(&emu, "/boards").await.status().as_u16(), 200);

    emu.set_faults(parse_fault_spec("rate429=1,retry-after=2s").unwrap());
    let response = post(&emu, "/pins", image_pin(&board_id)).await;
    assert_eq!(response.headers()["retry-after"], "2");
    let (status, body) = status_and_json(response).await;
    assert_eq!((status, body["code"].as_u64()), (429, Some(8)));

    emu.set_faults(parse_fault_spec("rate429=1").unwrap());
    let response = post(&emu, "/pins", image_pin(&board_id)).await;
    assert_eq!(response.status().as_u16(), 429);
    assert!(!response.headers().contains_key("retry-after"));

    emu.set_faults(parse_fault_spec("error-rate=1,status=503,scope=all").unwrap());
    assert_eq!(get(&emu, "/boards").await.status().as_u16(), 503);

    let faults: Vec<_> = emu.requests().iter().filter_map(|r| r.fault).collect();
    assert_eq!(
        faults,
        [
            AppliedFault::Injected(500),
            AppliedFault::Injected(429),
            AppliedFault::Injected(429),
            AppliedFault::Injected(503)
        ]
    );
    assert_eq!(emu.snapshot().pins.len(), 1);
}

/// Posts a Pin and asserts the client got a transport error: no status, no response at all.
async fn assert_connection_closed(emu: &Emulator, board_id: &str) {
    let result = client()
        .post(format!("{}/v5/pins", emu.base_url()))
        .bearer_auth(TOKEN)
        .json(&image_pin(board_id))
        .send()
        .await;
    let err = result.expect_err("a dropped connection must not produce a response");
    assert!(err.status().is_none(), "{err:?}");
    assert!(err.is_request() && !err.is_timeout(), "{err:?}");
    let mut chain = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(&err);
    while let Some(inner) = source {
        chain.push_str(&format!("{inner}; "));
        source = inner.source();
    }
    assert!(chain.contains("closed"), "{chain}");
}

#[tokio::test]
async fn dropped_connections_are_errors_not_responses() {
    let emu = start("drop-before-first=1,drop-after-first=1").await;
    let board_id = emu.seed_board("B", "PUBLIC");

    assert_connection_closed(&emu, &board_id).await;
    assert_eq!(emu.snapshot().pins.len(), 0);

    assert_connection_closed(&emu, &board_id).await;
    assert_eq!(
        emu.snapshot().pins.len(),
        1,
        "the pin is stored although the client saw no response"
    );

    assert_eq!(
        post(&emu, "/pins", image_pin(&board_id))
            .await
            .status()
            .as_u16(),
        201
    );
    let recorded: Vec<_> = emu
        .requests()
        .into_iter()
        .filter(|r| r.is("POST", "/v5/pins"))
        .collect();
    assert_eq!(recorded[0].fault, Some(AppliedFault::DropBefore));
    assert_eq!(recorded[1].fault, Some(AppliedFault::DropAfterCommit));
    assert_eq!(
        (recorded[0].status, recorded[1].status, recorded[2].status),
        (None, None, Some(201))
    );
}

#[tokio::test]
async fn write_limit_answers_429_with_headers() {
    let emu = start("write-fixed=2/60s").await;
    let board_id = emu.seed_board("B", "PUBLIC");
    let mut remaining = Vec::new();
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let response = post(&emu, "/pins", image_pin(&board_id)).await;
        assert_eq!(response.headers()["x-ratelimit-limit"], "2");
        assert!(response.headers().contains_key("x-ratelimit-reset"));
        remaining.push(
            response.headers()["x-ratelimit-remaining"]
                .to_str()
                .unwrap()
                .to_string(),
        );
        let (status, body) = status_and_json(response).await;
        statuses.push((status, body["code"].as_u64()));
    }
    assert_eq!(remaining, ["1", "0", "0"]);
    assert_eq!(statuses[2], (429, Some(8)));
    assert!(
        !get(&emu, "/boards")
            .await
            .headers()
            .contains_key("x-ratelimit-limit")
    );
    // How the budget comes back is tested on the limiter itself, with a made-up clock.
}

#[tokio::test]
async fn latency_applies_and_concurrency_is_measured() {
    let emu = start("latency=150ms").await;
    let started = Instant::now();
    let calls = (0..4).map(|_| get(&emu, "/user_account"));
    let responses = futures::future::join_all(calls).await;
    assert!(responses.iter().all(|r| r.status().is_success()));
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(150), "{elapsed:?}");
    assert!(emu.max_in_flight() >= 2, "{}", emu.max_in_flight());
}

#[tokio::test]
async fn failed_video_processing_blocks_the_pin() {
    let emu = start("media-fail=1,media-polls=0").await;
    let board_id = emu.seed_board("B", "PUBLIC");
    let media_id = upload_video(&emu).await;
    assert_eq!(poll_until_done(&emu, &media_id).await, ["failed"]);
    let (status, _) = post_json(&emu, "/pins", json!({"board_id": board_id, "media_source": {"source_type": "video_id", "media_id": media_id}})).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn openapi_violations_are_recorded() {
    let emu = start("").await;
    let board_id = emu.seed_board("B", "PUBLIC");
    assert_eq!(
        post(&emu, "/pins", image_pin(&board_id))
            .await
            .status()
            .as_u16(),
        201
    );
    assert!(emu.spec_violations().is_empty());
    post(
        &emu,
        "/pins",
        json!({"board_id": board_id, "media_source": {"source_type": "image_url"}}),
    )
    .await;
    post(
        &emu,
        "/pins",
        json!({"board_id": 17, "title": null,
        "media_source": {"source_type": "image_url", "url": "https://example.com/a.jpg"}}),
    )
    .await;
    let violations = emu.spec_violations();
    assert_eq!(violations.len(), 2, "{violations:#?}");
    assert!(
        violations[0].starts_with("POST /v5/pins:"),
        "{}",
        violations[0]
    );
    assert!(violations[0].contains("/media_source"), "{}", violations[0]);
    assert!(violations[1].contains("/board_id"), "{}", violations[1]);
}

#[tokio::test]
async fn oauth_code_flow_and_refresh_rotation() {
    let emu = start("").await;
    let redirect_uri = "http://127.0.0.1:8085/";
    let authorize = client()
        .get(format!("{}/oauth/", emu.base_url()))
        .query(&[
            ("client_id", "1234"),
            ("redirect_uri", redirect_uri),
            ("response_type", "code"),
            ("scope", "boards:read,pins:write"),
            ("state", "xyz"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(authorize.status().as_u16(), 302);
    let location = url::Url::parse(authorize.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(redirect_uri));
    let query: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(query["state"], "xyz");
    let code = query["code"].clone();

    let token_url = format!("{}/v5/oauth/token", emu.base_url());
    let wrong_secret = client()
        .post(&token_url)
        .basic_auth("1234", Some("wrong"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", redirect_uri),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_secret.status().as_u16(), 401);

    let (status, tokens) = status_and_json(
        client()
            .post(&token_url)
            .basic_auth("1234", Some("emulator-secret"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", redirect_uri),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    for field in ["access_token", "refresh_token", "scope"] {
        assert!(tokens[field].is_string(), "{field}");
    }
    for field in [
        "expires_in",
        "refresh_token_expires_in",
        "refresh_token_expires_at",
    ] {
        assert!(tokens[field].is_i64(), "{field}");
    }
    assert_eq!(tokens["token_type"], "bearer");
    assert_eq!(tokens["response_type"], "authorization_code");
    assert_eq!(tokens["scope"], "boards:read,pins:write");
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    let whoami = |token: String| {
        let url = format!("{}/v5/user_account", emu.base_url());
        async move {
            client()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(whoami(access.clone()).await, 200);

    let (status, rotated) = status_and_json(
        client()
            .post(&token_url)
            .basic_auth("1234", Some("emulator-secret"))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{rotated}");
    assert_eq!(rotated["response_type"], "refresh_token");
    let new_access = rotated["access_token"].as_str().unwrap().to_string();
    assert_ne!(new_access, access);
    assert_ne!(rotated["refresh_token"].as_str().unwrap(), refresh);
    assert_eq!(whoami(access).await, 401);
    assert_eq!(whoami(new_access).await, 200);

    let reused = client()
        .post(&token_url)
        .basic_auth("1234", Some("emulator-secret"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
        .send()
        .await
        .unwrap();
    assert_eq!(reused.status().as_u16(), 400);
    assert_eq!(emu.spec_violations(), Vec::<String>::new());
    assert_eq!(emu.response_violations(), Vec::<String>::new());
}

#[test]
fn harness_runs_the_binary_next_to_an_emulator() {
    let emu = TestEmulator::with_faults("latency=1ms");
    emu.pinbatch()
        .args(["emulator", "--help"])
        .assert()
        .success()
        .stdout(predicates::str::contains("drop-after-commit"));
    let status = emu.block_on(async {
        client()
            .get(format!("{}/v5/user_account", emu.base_url()))
            .bearer_auth(emu.token())
            .send()
            .await
            .unwrap()
            .status()
    });
    assert!(status.is_success());
    assert_eq!(emu.requests().len(), 1);
    emu.assert_no_spec_violations();
}

/// Kills the child process on drop so a failed assertion never leaves a server running.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn emulator_subcommand_serves_on_loopback_and_prints_its_url_and_token() {
    use std::io::BufRead as _;

    let child = std::process::Command::new(env!("CARGO_BIN_EXE_pinbatch"))
        .args([
            "emulator",
            "--port",
            "0",
            "--faults",
            "latency=1ms",
            "--openapi",
        ])
        .arg(openapi_path())
        .env_remove("PINBATCH_API_BASE")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let stdout = child.0.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(stdout).lines();
    let mut printed = Vec::new();
    for line in lines.by_ref().take(6) {
        printed.push(line.unwrap());
    }
    let text = printed.join("\n");
    assert!(
        text.contains("PINTEREST_ACCESS_TOKEN=emulator-token"),
        "{text}"
    );
    assert!(text.contains("faults: latency=1ms"), "{text}");
    let base = printed[0]
        .split_whitespace()
        .find(|word| word.starts_with("http://127.0.0.1:"))
        .unwrap()
        .to_string();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let status = runtime.block_on(async {
        client()
            .get(format!("{base}/v5/user_account"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status.as_u16(), 200);
}

#[test]
fn emulator_subcommand_reports_bad_arguments() {
    let emu = TestEmulator::start();
    emu.pinbatch()
        .args([
            "emulator",
            "--port",
            "0",
            "--openapi",
            "/nonexistent/openapi.json",
        ])
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "cannot read the OpenAPI document",
        ))
        .stderr(predicates::str::contains("hint:"));
    emu.pinbatch()
        .args(["emulator", "--faults", "error-rate=0.7,drop-before=0.7"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("more than 1"));
}

//! HTTP surface of the emulator: the axum router, the gateway middleware (body capture, OpenAPI
//! validation, latency, bearer check, write limit, injected faults, recording, request id) and
//! one handler per endpoint, rendering the official response shapes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Multipart, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::faults::HeaderForm;
use super::faults::{Injection, is_write_method};
use super::limits::{ResetFormat, WriteQuota};
use super::pushback::{BLOCKED_LINK_MESSAGE, Pushback, SPAM_BLOCK_MESSAGE};
use super::record::{AppliedFault, RecordedRequest};
use super::store::{
    ApiFailure, BoardRecord, PinMediaRecord, PinRecord, TokenLifetimes, parse_page_size,
};
use super::{ConnectionKiller, Shared, lock};

type AppState = State<Arc<Shared>>;

/// Largest request body accepted (base64 images and video uploads in tests stay far below).
const BODY_LIMIT_BYTES: usize = 256 * 1024 * 1024;

/// A time as Pinterest prints it in bodies: UTC, whole seconds, no offset.
pub(crate) fn pinterest_time(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S").to_string()
}

/// A time as HTTP's `Date` header prints it (RFC 9110 IMF-fixdate).
fn http_date(at: jiff::Timestamp) -> String {
    at.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Builds the router with every endpoint and the gateway middleware.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let api = Router::new()
        .route("/user_account", get(user_account))
        .route("/boards", get(list_boards).post(create_board))
        .route("/boards/{board_id}", get(get_board))
        .route(
            "/boards/{board_id}/sections",
            get(list_sections).post(create_section),
        )
        .route("/boards/{board_id}/pins", get(list_board_pins))
        .route(
            "/boards/{board_id}/sections/{section_id}/pins",
            get(list_section_pins),
        )
        .route("/pins", get(list_pins).post(create_pin))
        .route(
            "/pins/{pin_id}",
            get(get_pin).patch(update_pin).delete(delete_pin),
        )
        .route(
            "/pins/{pin_id}/analytics",
            get(super::analytics::pin_analytics),
        )
        .route("/media", post(register_media))
        .route("/media/{media_id}", get(get_media))
        .route("/oauth/token", post(oauth_token))
        .fallback(api_not_found);
    Router::new()
        .nest("/v5", api)
        .route("/oauth/", get(authorize))
        .route("/oauth", get(authorize))
        .route("/upload/{media_id}", post(upload))
        // Base64 images of several megabytes exceed axum's 2 MB default for body extractors.
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(middleware::from_fn_with_state(shared.clone(), gateway))
        .with_state(shared)
}

// ---- responses ----

fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

impl IntoResponse for ApiFailure {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        json_response(status, json!({"code": self.code, "message": self.message}))
    }
}

type ApiResult = Result<Response, ApiFailure>;

fn parse_json(body: &Bytes) -> Result<Value, ApiFailure> {
    serde_json::from_slice(body)
        .map_err(|err| ApiFailure::invalid(format!("the body is not valid JSON: {err}")))
}

fn query_map(raw: Option<&str>) -> HashMap<String, String> {
    raw.map(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect()
    })
    .unwrap_or_default()
}

/// The common query of list endpoints.
struct PageQuery {
    bookmark: Option<String>,
    size: usize,
    all: HashMap<String, String>,
}

fn page_query(raw: &Option<String>) -> Result<PageQuery, ApiFailure> {
    let all = query_map(raw.as_deref());
    let size = parse_page_size(all.get("page_size").map(String::as_str))?;
    Ok(PageQuery {
        bookmark: all.get("bookmark").cloned(),
        size,
        all,
    })
}

// ---- gateway ----

/// What the gateway decided before the handler runs.
enum Admission {
    /// Answer with this response instead of running the handler.
    Answer(Response, Option<AppliedFault>),
    /// Close the connection without storing anything.
    DropBefore,
    /// Run the handler; if it succeeds, do what `after_commit` says instead of answering.
    Handle { after_commit: AfterCommit },
}

/// What happens to a request once the handler has stored its effect.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AfterCommit {
    /// Answer normally.
    Answer,
    /// Close the connection with no response.
    Drop,
    /// Answer with a gateway's HTML error page of this status, as a proxy in front does when
    /// the service behind it is slow or its answer is lost.
    GatewayPage(u16),
    /// Never answer; the connection stays open until the client gives up.
    Stall,
}

/// Bearer check, Trial access, write limit and injected faults, in that order, for a request
/// under `/v5`.
fn admit(
    shared: &Shared,
    method: &str,
    api_path: &str,
    headers: &HeaderMap,
    link: Option<&str>,
) -> (Admission, Option<WriteQuota>) {
    let is_token_endpoint = api_path.starts_with("/oauth/token");
    if !is_token_endpoint && !bearer_is_valid(shared, headers) {
        return (
            Admission::Answer(ApiFailure::unauthenticated().into_response(), None),
            None,
        );
    }
    let server_now = shared.now();
    let until_tomorrow = until_midnight(server_now);
    let mut faults = lock(&shared.faults);
    if faults.plan().trial_access && is_write_method(method) && !is_token_endpoint {
        return (
            Admission::Answer(
                ApiFailure::trial_access().into_response(),
                Some(AppliedFault::TrialAccess),
            ),
            None,
        );
    }
    if let Some(refusal) = faults.push_back(method, api_path, link, Instant::now()) {
        let (response, fault) = match refusal {
            Pushback::Link { status } => (link_blocked(status), AppliedFault::LinkBlocked),
            Pushback::Account { left } => (account_blocked(left), AppliedFault::SpamBlocked),
        };
        return (Admission::Answer(response, Some(fault)), None);
    }
    let mut quota = None;
    if is_write_method(method) && !is_token_endpoint {
        quota = faults.take_write(Instant::now(), server_now.as_millisecond(), until_tomorrow);
        if let Some(refused) = quota.filter(|q| !q.allowed) {
            let response = if refused.daily {
                daily_quota_exhausted(refused.reset)
            } else {
                rate_limited(refused.announced.then_some(refused.reset))
            };
            return (
                Admission::Answer(response, Some(AppliedFault::WriteLimited)),
                quota,
            );
        }
    }
    if !faults.is_target(method, api_path) {
        return (
            Admission::Handle {
                after_commit: AfterCommit::Answer,
            },
            quota,
        );
    }
    let retry_after = faults.plan().retry_after;
    let after_commit = |after_commit| Admission::Handle { after_commit };
    let admission = match faults.decide() {
        Injection::Pass => after_commit(AfterCommit::Answer),
        Injection::Error { status } => Admission::Answer(
            injected_error(status, retry_after),
            Some(AppliedFault::Injected(status)),
        ),
        Injection::DropBefore => Admission::DropBefore,
        Injection::DropAfterCommit => after_commit(AfterCommit::Drop),
        Injection::GatewayAfterCommit { status } => after_commit(AfterCommit::GatewayPage(status)),
        Injection::StallAfterCommit => after_commit(AfterCommit::Stall),
    };
    (admission, quota)
}

/// Runs around every request: captures and validates the body, waits out the latency, admits
/// (auth, write limit, faults), runs the handler, checks the response against the spec, adds
/// the rate-limit and request-id headers, and records the exchange.
async fn gateway(State(shared): AppState, request: Request, next: Next) -> Response {
    let arrived = Instant::now();
    let arrived_after = arrived.saturating_duration_since(shared.started);
    let (parts, body) = request.into_parts();
    let killer = parts.extensions.get::<ConnectionKiller>().cloned();
    let bytes = match axum::body::to_bytes(body, BODY_LIMIT_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => return ApiFailure::invalid("the body could not be read").into_response(),
    };
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut entry = RecordedRequest {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        status: None,
        body: recorded_body(&content_type, &bytes),
        fault: None,
        arrived: arrived_after,
        finished: arrived_after,
    };
    let method = entry.method.clone();
    let api_path = entry
        .path
        .strip_prefix("/v5")
        .filter(|p| p.starts_with('/'))
        .map(str::to_string);
    let api_path = api_path.as_deref();
    if let (Some(validator), Some(api_path)) = (&shared.validator, api_path)
        && !bytes.is_empty()
        && validator.covers(&method, api_path)
    {
        let problems = match &entry.body {
            Some(body) => validator.validate(&method, api_path, &content_type, body),
            None => vec![format!(
                "{method} /v5{api_path}: the body is not valid JSON or form data (content type `{content_type}`)"
            )],
        };
        lock(&shared.violations).extend(problems);
    }

    let latency = lock(&shared.faults).plan().latency;
    if !latency.is_zero() {
        sleep_until_precisely(arrived + latency).await;
    }

    let link = entry
        .body
        .as_ref()
        .and_then(|body| body.get("link"))
        .and_then(Value::as_str);
    let (admission, quota) = match api_path {
        Some(api_path) => admit(&shared, &method, api_path, &parts.headers, link),
        None => (
            Admission::Handle {
                after_commit: AfterCommit::Answer,
            },
            None,
        ),
    };
    let mut response = match admission {
        Admission::Answer(response, fault) => {
            entry.fault = fault;
            response
        }
        Admission::DropBefore => {
            entry.fault = Some(AppliedFault::DropBefore);
            return drop_connection(&shared, killer, entry).await;
        }
        Admission::Handle { after_commit } => {
            let response = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            if !response.status().is_success() {
                response
            } else {
                match after_commit {
                    AfterCommit::Answer => response,
                    AfterCommit::Drop => {
                        entry.fault = Some(AppliedFault::DropAfterCommit);
                        return drop_connection(&shared, killer, entry).await;
                    }
                    AfterCommit::GatewayPage(status) => {
                        entry.fault = Some(AppliedFault::GatewayAfterCommit(status));
                        gateway_page(status)
                    }
                    AfterCommit::Stall => {
                        entry.fault = Some(AppliedFault::StallAfterCommit);
                        entry.finished = shared.started.elapsed();
                        lock(&shared.records).push(entry);
                        return std::future::pending::<Response>().await;
                    }
                }
            }
        }
    };
    if let (Some(validator), Some(api_path)) = (&shared.validator, api_path)
        && response.status().is_success()
    {
        response = check_response(&shared, validator, &method, api_path, response).await;
    }
    if let Some(quota) = quota.filter(|quota| quota.announced) {
        let form = {
            let faults = lock(&shared.faults);
            (faults.plan().reset_format, faults.plan().header_form)
        };
        add_quota_headers(response.headers_mut(), quota, form, shared.now());
    }
    if let Ok(rid) = HeaderValue::from_str(&shared.next_request_id()) {
        response
            .headers_mut()
            .insert(HeaderName::from_static("x-pinterest-rid"), rid);
    }
    // The server's own clock (which `clock-offset` moves), as every HTTP server sends it.
    if let Ok(date) = HeaderValue::from_str(&http_date(shared.now())) {
        response.headers_mut().insert(header::DATE, date);
    }
    entry.status = Some(response.status().as_u16());
    entry.finished = shared.started.elapsed();
    lock(&shared.records).push(entry);
    response
}

/// A proxy's error page: HTML, not Pinterest's JSON, as gateways in front of an API send when
/// the service behind them is slow or its answer is lost.
fn gateway_page(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    let title = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Gateway Error")
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html")],
        format!(
            "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"
        ),
    )
        .into_response()
}

/// How early the coarse timer is asked to wake before a latency deadline.
const COARSE_WAKE_MARGIN: Duration = Duration::from_millis(3);

/// Waits until `deadline` to within a fraction of a millisecond. Tokio's timer works in whole
/// milliseconds and rounds up: on it alone, `latency=50ms` answers after 51.5-52 ms, and every
/// client measured against the emulator looks about 4% slower than it is. So the timer sleeps
/// until shortly before the deadline and a blocking thread's `nanosleep` covers the rest.
async fn sleep_until_precisely(deadline: Instant) {
    if let Some(coarse) = deadline.checked_sub(COARSE_WAKE_MARGIN) {
        tokio::time::sleep_until(coarse.into()).await;
    }
    let rest = deadline.saturating_duration_since(Instant::now());
    if !rest.is_zero() {
        // A failed join only means the runtime is shutting down; there is nothing left to delay.
        let _ = tokio::task::spawn_blocking(move || std::thread::sleep(rest)).await;
    }
}

/// Validates a successful JSON response against the spec and hands back an identical response.
async fn check_response(
    shared: &Shared,
    validator: &super::SpecValidator,
    method: &str,
    api_path: &str,
    response: Response,
) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT_BYTES).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let problems = match serde_json::from_slice::<Value>(&bytes) {
        Ok(body) => validator.validate_response(method, api_path, parts.status.as_u16(), &body),
        Err(err) => vec![format!(
            "{method} /v5{api_path}: response is not JSON: {err}"
        )],
    };
    lock(&shared.response_violations).extend(problems);
    Response::from_parts(parts, Body::from(bytes))
}

/// Records the request, closes its connection and never answers.
async fn drop_connection(
    shared: &Shared,
    killer: Option<ConnectionKiller>,
    mut entry: RecordedRequest,
) -> Response {
    entry.finished = shared.started.elapsed();
    lock(&shared.records).push(entry);
    match killer {
        Some(killer) => {
            killer.kill();
            std::future::pending::<Response>().await
        }
        // Only reachable if the router is served by something other than `serve_connection`.
        None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn recorded_body(content_type: &str, bytes: &Bytes) -> Option<Value> {
    if bytes.is_empty() {
        return None;
    }
    if content_type.starts_with("application/json") {
        serde_json::from_slice(bytes).ok()
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        let fields: Map<String, Value> = url::form_urlencoded::parse(bytes)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
        Some(Value::Object(fields))
    } else {
        None
    }
}

fn bearer_is_valid(shared: &Shared, headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some((scheme, token)) = value.split_once(' ') else {
        return false;
    };
    scheme.eq_ignore_ascii_case("bearer") && lock(&shared.store).is_valid_access_token(token.trim())
}

const RATE_LIMIT_MESSAGE: &str = "This request exceeded a rate limit. This can happen if the client exceeds one of the published rate limits or if multiple write operations are applied to an object within a short time window.";

fn rate_limited(retry_after: Option<std::time::Duration>) -> Response {
    let mut response = ApiFailure {
        status: 429,
        code: 8,
        message: RATE_LIMIT_MESSAGE.into(),
    }
    .into_response();
    if let Some(after) = retry_after {
        let seconds = after.as_secs_f64().ceil() as u64;
        if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
    response
}

fn injected_error(status: u16, retry_after: Option<std::time::Duration>) -> Response {
    if status == 429 {
        return rate_limited(retry_after);
    }
    let message = if status >= 500 {
        "The service is temporarily unavailable. Please try again later."
    } else {
        "Invalid request."
    };
    ApiFailure {
        status,
        code: u32::from(status),
        message: message.into(),
    }
    .into_response()
}

/// A pin whose link is on a blocked domain, answered as public code shows Pinterest does.
fn link_blocked(status: u16) -> Response {
    ApiFailure {
        status,
        code: 9,
        message: BLOCKED_LINK_MESSAGE.into(),
    }
    .into_response()
}

/// A write of an account blocked as spam: a 429 that says so, and when the block ends.
fn account_blocked(left: std::time::Duration) -> Response {
    let mut response = ApiFailure {
        status: 429,
        code: 8,
        message: SPAM_BLOCK_MESSAGE.into(),
    }
    .into_response();
    let seconds = left.as_secs_f64().ceil() as u64;
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// The time left until midnight UTC by the emulator's clock: when a daily quota comes back.
fn until_midnight(now: jiff::Timestamp) -> std::time::Duration {
    let second = now.as_second();
    let next = (second.div_euclid(86_400) + 1) * 86_400;
    std::time::Duration::from_secs(u64::try_from(next - second).unwrap_or(0))
}

/// A 429 for a used-up daily quota: Pinterest documents daily limits for Trial access but not
/// the shape of this answer, so it is a rate limit (code 8) whose message says which one.
fn daily_quota_exhausted(until_tomorrow: std::time::Duration) -> Response {
    let mut response = ApiFailure {
        status: 429,
        code: 8,
        message: "You have exceeded your daily request limit. Try again after midnight UTC.".into(),
    }
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&until_tomorrow.as_secs().to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

fn add_quota_headers(
    headers: &mut HeaderMap,
    quota: WriteQuota,
    (format, form): (ResetFormat, HeaderForm),
    now: jiff::Timestamp,
) {
    let seconds_to_go = quota.reset.as_secs_f64().ceil() as u64;
    let reset_secs = match format {
        ResetFormat::Delta => seconds_to_go,
        // In whole milliseconds: a window that ends on a whole second must read as that
        // second, never the next one through a rounding of floating point.
        ResetFormat::Epoch => {
            let reset_ms = i64::try_from(quota.reset.as_millis()).unwrap_or(i64::MAX / 2);
            u64::try_from((now.as_millisecond() + reset_ms + 999).div_euclid(1000)).unwrap_or(0)
        }
    };
    // A looser policy announced beside the enforced one, as servers with a daily cap do.
    const DAY: (u64, u64) = (100_000, 86_400);
    let window = quota
        .window
        .map(|window| window.as_secs_f64().ceil().max(1.0) as u64);
    let (limit, remaining) = (u64::from(quota.limit), u64::from(quota.remaining));
    let fields: Vec<(&'static str, String)> = match (form, window) {
        (HeaderForm::List, Some(window)) => vec![
            (
                "x-ratelimit-limit",
                format!("{limit}, {limit};w={window}, {};w={}", DAY.0, DAY.1),
            ),
            ("x-ratelimit-remaining", remaining.to_string()),
            ("x-ratelimit-reset", reset_secs.to_string()),
        ],
        (HeaderForm::Ietf, Some(window)) => vec![
            (
                "ratelimit-policy",
                format!(
                    "\"writes\";q={limit};w={window}, \"day\";q={};w={}",
                    DAY.0, DAY.1
                ),
            ),
            (
                "ratelimit",
                format!(
                    "\"writes\";r={remaining};t={seconds_to_go}, \"day\";r={};t={}",
                    DAY.0 - 1,
                    DAY.1
                ),
            ),
        ],
        (HeaderForm::Garbled, _) => vec![
            ("x-ratelimit-limit", format!("about {limit} a window")),
            ("x-ratelimit-remaining", "some".to_owned()),
        ],
        _ => vec![
            ("x-ratelimit-limit", limit.to_string()),
            ("x-ratelimit-remaining", remaining.to_string()),
            ("x-ratelimit-reset", reset_secs.to_string()),
        ],
    };
    for (name, value) in fields {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
}

async fn api_not_found(method: Method) -> Response {
    ApiFailure {
        status: 404,
        code: 404,
        message: format!("Not found: the emulator has no {method} on this path."),
    }
    .into_response()
}

// ---- rendering ----

fn board_json(shared: &Shared, board: &BoardRecord) -> Value {
    let store = lock(&shared.store);
    json!({
        "id": board.id,
        "name": board.name,
        "description": board.description,
        "privacy": board.privacy,
        "is_ads_only": false,
        "owner": {"username": shared.username},
        "created_at": board.created_at,
        "board_pins_modified_at": store.board_pins_modified_at(&board.id).unwrap_or_else(|| board.created_at.clone()),
        "collaborator_count": 0,
        "follower_count": 0,
        "pin_count": store.pin_count(&board.id),
        "media": {"image_cover_url": null, "pin_thumbnail_urls": []},
    })
}

/// The sizes Pinterest serves of a pin's image. Like Pinterest, which serves its own copies,
/// they carry no trace of the image's source.
fn image_sizes(shared: &Shared, pin_id: &str, slot: usize) -> Value {
    let mut sizes = Map::new();
    for (name, width, height) in [
        ("150x150", 150, 150),
        ("400x300", 400, 300),
        ("600x", 600, 900),
        ("1200x", 1200, 1800),
    ] {
        let url = format!("{}/images/{pin_id}/{slot}/{name}.jpg", shared.base_url);
        sizes.insert(
            name.into(),
            json!({"url": url, "width": width, "height": height}),
        );
    }
    Value::Object(sizes)
}

fn pin_json(shared: &Shared, pin: &PinRecord) -> Value {
    let (creative_type, media) = match &pin.media {
        PinMediaRecord::Image(_) => (
            "REGULAR",
            json!({"media_type": "image", "images": image_sizes(shared, &pin.id, 0)}),
        ),
        PinMediaRecord::Carousel(items) => (
            "CAROUSEL",
            json!({"media_type": "multiple_images", "items": items.iter().enumerate().map(|(i, item)| json!({
                "item_type": "image",
                "title": item.title,
                "description": item.description,
                "link": item.link,
                "images": image_sizes(shared, &pin.id, i),
            })).collect::<Vec<_>>()}),
        ),
        PinMediaRecord::Video { .. } => {
            let cover_url = format!("{}/images/{}/cover.jpg", shared.base_url, pin.id);
            (
                "VIDEO",
                json!({
                    "media_type": "video",
                    "images": image_sizes(shared, &pin.id, 0),
                    "cover_image_url": cover_url,
                    "video_url": null,
                    "duration": null,
                    "width": null,
                    "height": null,
                }),
            )
        }
    };
    let mut body = json!({
        "id": pin.id,
        "created_at": pin.created_at,
        "link": pin.link,
        "title": pin.title,
        "description": pin.description,
        "dominant_color": pin.dominant_color,
        "alt_text": pin.alt_text,
        "creative_type": creative_type,
        "board_id": pin.board_id,
        "board_section_id": pin.board_section_id,
        "board_owner": {"username": pin.owner.as_deref().unwrap_or(&shared.username)},
        "is_owner": pin.owner.is_none(),
        "media": media,
        "parent_pin_id": null,
        "is_standard": true,
        "has_been_promoted": false,
        "pin_metrics": null,
    });
    if let (Some(labels), Some(object)) = (&pin.ai_disclosures, body.as_object_mut()) {
        object.insert("ai_disclosures".into(), json!({ "values": labels }));
    }
    body
}

fn page_json<T>(items: Vec<T>, bookmark: Option<String>, render: impl Fn(&T) -> Value) -> Value {
    json!({
        "items": items.iter().map(render).collect::<Vec<_>>(),
        "bookmark": bookmark,
    })
}

// ---- handlers ----

async fn user_account(State(shared): AppState) -> Response {
    let store = lock(&shared.store);
    json_response(
        StatusCode::OK,
        json!({
            "account_type": "BUSINESS",
            "id": "100000000000000000",
            "username": shared.username,
            "profile_image": format!("{}/images/profile.jpg", shared.base_url),
            "website_url": shared.base_url,
            "business_name": null,
            "about": "Local Pinterest API emulator",
            "board_count": store.board_count(),
            "pin_count": store.total_pin_count(),
            "follower_count": 0,
            "following_count": 0,
            "monthly_views": 0,
        }),
    )
}

async fn list_boards(State(shared): AppState, RawQuery(raw): RawQuery) -> ApiResult {
    let PageQuery {
        bookmark,
        size,
        all: query,
    } = page_query(&raw)?;
    let page = lock(&shared.store).list_boards(
        query.get("privacy").map(String::as_str),
        bookmark.as_deref(),
        size,
    )?;
    Ok(json_response(
        StatusCode::OK,
        page_json(page.items, page.bookmark, |b| board_json(&shared, b)),
    ))
}

async fn create_board(State(shared): AppState, body: Bytes) -> ApiResult {
    let body = parse_json(&body)?;
    let name = body.get("name").and_then(Value::as_str).unwrap_or("");
    let description = body
        .get("description")
        .and_then(Value::as_str)
        .map(str::to_string);
    let privacy = match body.get("privacy") {
        None | Some(Value::Null) => "PUBLIC",
        Some(Value::String(privacy)) => privacy.as_str(),
        Some(_) => return Err(ApiFailure::invalid("privacy must be a string")),
    };
    let now = pinterest_time(shared.now());
    let board = lock(&shared.store).create_board(name, description, privacy, &now)?;
    Ok(json_response(
        StatusCode::CREATED,
        board_json(&shared, &board),
    ))
}

async fn get_board(State(shared): AppState, Path(board_id): Path<String>) -> ApiResult {
    let board = lock(&shared.store).board(&board_id)?.clone();
    Ok(json_response(StatusCode::OK, board_json(&shared, &board)))
}

async fn list_sections(
    State(shared): AppState,
    Path(board_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let PageQuery { bookmark, size, .. } = page_query(&raw)?;
    let page = lock(&shared.store).list_sections(&board_id, bookmark.as_deref(), size)?;
    Ok(json_response(
        StatusCode::OK,
        page_json(
            page.items,
            page.bookmark,
            |s| json!({"id": s.id, "name": s.name}),
        ),
    ))
}

async fn create_section(
    State(shared): AppState,
    Path(board_id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let body = parse_json(&body)?;
    let name = body.get("name").and_then(Value::as_str).unwrap_or("");
    let section = lock(&shared.store).create_section(&board_id, name)?;
    Ok(json_response(
        StatusCode::CREATED,
        json!({"id": section.id, "name": section.name}),
    ))
}

async fn list_board_pins(
    State(shared): AppState,
    Path(board_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let PageQuery { bookmark, size, .. } = page_query(&raw)?;
    let rules = shared.listing_rules();
    let page = lock(&shared.store).list_pins(Some(&board_id), bookmark.as_deref(), size, &rules)?;
    Ok(json_response(
        StatusCode::OK,
        page_json(page.items, page.bookmark, |p| pin_json(&shared, p)),
    ))
}

async fn list_section_pins(
    State(shared): AppState,
    Path((board_id, section_id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let PageQuery { bookmark, size, .. } = page_query(&raw)?;
    let rules = shared.listing_rules();
    let page = lock(&shared.store).list_section_pins(
        &board_id,
        &section_id,
        bookmark.as_deref(),
        size,
        &rules,
    )?;
    Ok(json_response(
        StatusCode::OK,
        page_json(page.items, page.bookmark, |p| pin_json(&shared, p)),
    ))
}

async fn list_pins(State(shared): AppState, RawQuery(raw): RawQuery) -> ApiResult {
    let PageQuery { bookmark, size, .. } = page_query(&raw)?;
    let rules = shared.listing_rules();
    let page = lock(&shared.store).list_pins(None, bookmark.as_deref(), size, &rules)?;
    Ok(json_response(
        StatusCode::OK,
        page_json(page.items, page.bookmark, |p| pin_json(&shared, p)),
    ))
}

/// Pin text as a service that normalizes it keeps it (the `normalize-text` fault): trimmed,
/// with CRLF and CR line ends as LF.
fn stored_text(shared: &Shared, mut body: Value) -> Value {
    if !lock(&shared.faults).plan().normalize_text {
        return body;
    }
    for field in ["title", "description", "alt_text", "link"] {
        if let Some(Value::String(text)) = body.get_mut(field) {
            *text = text.trim().replace("\r\n", "\n").replace('\r', "\n");
        }
    }
    body
}

/// Refuses a media request while the `media-outage` fault holds.
fn media_available(shared: &Shared) -> Result<(), ApiFailure> {
    if lock(&shared.faults).plan().media_outage {
        Err(ApiFailure::unavailable())
    } else {
        Ok(())
    }
}

async fn create_pin(State(shared): AppState, body: Bytes) -> ApiResult {
    let body = stored_text(&shared, parse_json(&body)?);
    let now = pinterest_time(shared.now());
    let pin = lock(&shared.store).create_pin(&body, &now, Some(Instant::now()))?;
    Ok(json_response(StatusCode::CREATED, pin_json(&shared, &pin)))
}

async fn get_pin(State(shared): AppState, Path(pin_id): Path<String>) -> ApiResult {
    let pin = lock(&shared.store).pin(&pin_id)?.clone();
    Ok(json_response(StatusCode::OK, pin_json(&shared, &pin)))
}

async fn update_pin(State(shared): AppState, Path(pin_id): Path<String>, body: Bytes) -> ApiResult {
    let body = stored_text(&shared, parse_json(&body)?);
    let pin = lock(&shared.store).update_pin(&pin_id, &body)?;
    Ok(json_response(StatusCode::OK, pin_json(&shared, &pin)))
}

async fn delete_pin(State(shared): AppState, Path(pin_id): Path<String>) -> ApiResult {
    lock(&shared.store).delete_pin(&pin_id)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn upload_key(media_id: &str) -> String {
    format!("uploads/{media_id}/video.mp4")
}

async fn register_media(State(shared): AppState, body: Bytes) -> ApiResult {
    media_available(&shared)?;
    let body = parse_json(&body)?;
    if body.get("media_type").and_then(Value::as_str) != Some("video") {
        return Err(ApiFailure::invalid("media_type must be video"));
    }
    let (will_fail, polls) = {
        let mut faults = lock(&shared.faults);
        (faults.media_processing_fails(), faults.plan().media_polls)
    };
    let media = lock(&shared.store).register_media(will_fail, polls);
    let date = jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string();
    let policy = base64::engine::general_purpose::STANDARD.encode(
        json!({"expiration": "emulated", "conditions": [{"key": upload_key(&media.media_id)}]})
            .to_string(),
    );
    Ok(json_response(
        StatusCode::CREATED,
        json!({
            "media_id": media.media_id,
            "media_type": "video",
            "upload_url": format!("{}/upload/{}", shared.base_url, media.media_id),
            "upload_parameters": {
                "x-amz-date": date,
                "x-amz-signature": super::sha256_hex(media.media_id.as_bytes()),
                "x-amz-security-token": "emulated-security-token",
                "x-amz-algorithm": "AWS4-HMAC-SHA256",
                "key": upload_key(&media.media_id),
                "policy": policy,
                "x-amz-credential": "EMULATOR/20261129/us-east-1/s3/aws4_request",
                "Content-Type": "multipart/form-data",
            },
        }),
    ))
}

async fn get_media(State(shared): AppState, Path(media_id): Path<String>) -> ApiResult {
    media_available(&shared)?;
    let media = lock(&shared.store).poll_media(&media_id)?;
    Ok(json_response(
        StatusCode::OK,
        json!({"media_id": media.media_id, "media_type": "video", "status": media.status.as_str()}),
    ))
}

fn s3_error(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "application/xml")],
        format!("<Error><Code>InvalidArgument</Code><Message>{message}</Message></Error>"),
    )
        .into_response()
}

/// The presigned S3 POST stand-in: the parameters as form fields, then `file` last; 204.
async fn upload(
    State(shared): AppState,
    Path(media_id): Path<String>,
    mut multipart: Multipart,
) -> Response {
    if !lock(&shared.store).media_awaits_upload(&media_id) {
        return s3_error("No upload is registered for this media id, or it was already uploaded.");
    }
    let mut key = None;
    let mut file: Option<Vec<u8>> = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(err) => return s3_error(&format!("Malformed multipart body: {err}")),
        };
        if file.is_some() {
            return s3_error("The file must be the last field of the form.");
        }
        let name = field.name().unwrap_or("").to_string();
        let data = match field.bytes().await {
            Ok(data) => data,
            Err(err) => return s3_error(&format!("Malformed multipart body: {err}")),
        };
        match name.as_str() {
            "file" => file = Some(data.to_vec()),
            "key" => key = Some(String::from_utf8_lossy(&data).into_owned()),
            _ => {}
        }
    }
    if key.as_deref() != Some(upload_key(&media_id).as_str()) {
        return s3_error("The key field is missing or does not match the upload parameters.");
    }
    let Some(file) = file else {
        return s3_error("The form has no file field.");
    };
    lock(&shared.store).complete_upload(&media_id, &file);
    StatusCode::NO_CONTENT.into_response()
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

async fn oauth_token(State(shared): AppState, headers: HeaderMap, body: Bytes) -> ApiResult {
    match basic_credentials(&headers) {
        Some((id, secret)) if id == shared.app_id && secret == shared.app_secret => {}
        _ => return Err(ApiFailure::unauthenticated()),
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| {
        form.get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ApiFailure::invalid(format!("{name} is required")))
    };
    let grant_type = field("grant_type")?;
    let lifetimes = {
        let faults = lock(&shared.faults);
        let plan = faults.plan();
        let defaults = TokenLifetimes::default();
        TokenLifetimes {
            access: plan.token_lifetime.unwrap_or(defaults.access),
            refresh: plan.refresh_token_lifetime.unwrap_or(defaults.refresh),
        }
    };
    lock(&shared.store).set_token_lifetimes(lifetimes);
    let pair = match grant_type {
        "authorization_code" => {
            lock(&shared.store).redeem_auth_code(field("code")?, field("redirect_uri")?)?
        }
        "refresh_token" => lock(&shared.store).refresh(field("refresh_token")?)?,
        other => {
            return Err(ApiFailure::invalid(format!(
                "grant_type `{other}` is not supported by the emulator"
            )));
        }
    };
    // Whole seconds, rounded up, so that a client never believes a token lives longer.
    let seconds = |lifetime: Duration| lifetime.as_secs() + u64::from(lifetime.subsec_nanos() > 0);
    let refresh_expires_in = seconds(lifetimes.refresh);
    let refresh_expires_at = shared.now().as_second() + refresh_expires_in as i64;
    Ok(json_response(
        StatusCode::OK,
        json!({
            "access_token": pair.access_token,
            "refresh_token": pair.refresh_token,
            "token_type": "bearer",
            "expires_in": seconds(lifetimes.access),
            "refresh_token_expires_in": refresh_expires_in,
            "refresh_token_expires_at": refresh_expires_at,
            "scope": pair.scope,
            "response_type": grant_type,
        }),
    ))
}

fn plain_bad_request(message: String) -> Response {
    (StatusCode::BAD_REQUEST, message).into_response()
}

/// The browser consent page, emulated: approves at once and redirects with `code` and `state`.
async fn authorize(State(shared): AppState, RawQuery(raw): RawQuery) -> Response {
    let query = query_map(raw.as_deref());
    let get = |name: &str| query.get(name).map(String::as_str).unwrap_or("");
    let client_id = query
        .get("client_id")
        .or_else(|| query.get("consumer_id"))
        .map(String::as_str)
        .unwrap_or("");
    if client_id != shared.app_id {
        return plain_bad_request(format!("unknown client_id `{client_id}`"));
    }
    if get("response_type") != "code" {
        return plain_bad_request("response_type must be code".into());
    }
    let Ok(mut target) = url::Url::parse(get("redirect_uri")) else {
        return plain_bad_request("redirect_uri must be an absolute URL".into());
    };
    let code = lock(&shared.store).issue_auth_code(get("redirect_uri"), get("scope"));
    {
        let mut pairs = target.query_pairs_mut();
        pairs.append_pair("code", &code);
        if let Some(state) = query.get("state") {
            pairs.append_pair("state", state);
        }
    }
    (StatusCode::FOUND, [(header::LOCATION, target.to_string())]).into_response()
}

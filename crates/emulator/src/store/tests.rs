//! The store's rules, unit by unit: pagination, listings, tokens, boards, pins and media.

use std::time::Duration;

use base64::Engine as _;
use serde_json::json;

use super::*;

const NOW: &str = "2026-11-29T17:00:00";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10];

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn store_with_board() -> (Store, String) {
    let mut store = Store::new("token");
    let board = store.create_board("Recipes", None, "PUBLIC", NOW).unwrap();
    (store, board.id)
}

#[test]
fn pagination_walks_every_item_once() {
    let mut store = Store::new("t");
    for i in 0..60 {
        store
            .create_board(&format!("b{i}"), None, "PUBLIC", NOW)
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut bookmark = None;
    loop {
        let page = store.list_boards(None, bookmark.as_deref(), 25).unwrap();
        seen.extend(page.items.into_iter().map(|b| b.name));
        match page.bookmark {
            Some(next) => bookmark = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 60);
    assert_eq!(seen[0], "b0");
    assert_eq!(seen[59], "b59");
    assert!(store.list_boards(None, Some("garbage"), 25).is_err());
}

#[test]
fn exact_multiple_has_null_bookmark_on_last_page() {
    let mut store = Store::new("t");
    for i in 0..50 {
        store
            .create_board(&format!("b{i}"), None, "PUBLIC", NOW)
            .unwrap();
    }
    let first = store.list_boards(None, None, 25).unwrap();
    let second = store
        .list_boards(None, first.bookmark.as_deref(), 25)
        .unwrap();
    assert_eq!(second.items.len(), 25);
    assert_eq!(second.bookmark, None);
}

#[test]
fn page_size_bounds() {
    assert_eq!(parse_page_size(None).unwrap(), 25);
    assert_eq!(parse_page_size(Some("250")).unwrap(), 250);
    for bad in ["0", "251", "-1", "ten"] {
        assert_eq!(parse_page_size(Some(bad)).unwrap_err().code, 1);
    }
}

#[test]
fn pins_list_newest_first() {
    let (mut store, board) = store_with_board();
    for i in 0..3 {
        let body = json!({"board_id": board, "title": format!("p{i}"),
                "media_source": {"source_type": "image_url", "url": "https://example.com/a.jpg"}});
        store.create_pin(&body, NOW, None).unwrap();
    }
    let rules = ListingRules::plain(Instant::now());
    let page = store.list_pins(Some(&board), None, 2, &rules).unwrap();
    let titles: Vec<_> = page
        .items
        .iter()
        .map(|p| p.title.clone().unwrap())
        .collect();
    assert_eq!(titles, ["p2", "p1"]);
    let rest = store
        .list_pins(Some(&board), page.bookmark.as_deref(), 2, &rules)
        .unwrap();
    assert_eq!(rest.items[0].title.as_deref(), Some("p0"));
    assert_eq!(rest.bookmark, None);
}

/// Walks every page of a board's listing under `rules` and returns the titles in order.
fn listed_titles(store: &Store, board: &str, rules: &ListingRules) -> Vec<String> {
    let mut titles = Vec::new();
    let mut bookmark: Option<String> = None;
    loop {
        let page = store
            .list_pins(Some(board), bookmark.as_deref(), 2, rules)
            .unwrap();
        titles.extend(page.items.iter().map(|p| p.title.clone().unwrap()));
        match page.bookmark {
            Some(next) => bookmark = Some(next),
            None => return titles,
        }
    }
}

#[test]
fn listings_lag_reorder_and_leave_sections_apart_when_told() {
    use super::super::faults::ListOrder;
    let (mut store, board) = store_with_board();
    let section = store.create_section(&board, "S").unwrap().id;
    let start = Instant::now();
    for i in 0..5 {
        let mut body = json!({"board_id": board, "title": format!("p{i}"),
                "media_source": {"source_type": "image_url", "url": "https://example.com/a.jpg"}});
        if i == 1 {
            body["board_section_id"] = json!(section);
        }
        let created = (i == 4).then_some(start);
        store.create_pin(&body, NOW, created).unwrap();
    }
    let mut rules = ListingRules::plain(start);
    rules.lag = std::time::Duration::from_secs(3);
    assert_eq!(
        listed_titles(&store, &board, &rules),
        ["p3", "p2", "p1", "p0"]
    );
    rules.now = start + std::time::Duration::from_secs(3);
    assert_eq!(
        listed_titles(&store, &board, &rules),
        ["p4", "p3", "p2", "p1", "p0"]
    );
    rules.order = ListOrder::Oldest;
    assert_eq!(
        listed_titles(&store, &board, &rules),
        ["p0", "p1", "p2", "p3", "p4"]
    );
    rules.order = ListOrder::Mixed;
    let mut mixed = listed_titles(&store, &board, &rules);
    assert_ne!(mixed, ["p0", "p1", "p2", "p3", "p4"]);
    assert_ne!(mixed, ["p4", "p3", "p2", "p1", "p0"]);
    mixed.sort();
    assert_eq!(mixed, ["p0", "p1", "p2", "p3", "p4"]);
    rules.section_pins_in_board = false;
    let without_section = listed_titles(&store, &board, &rules);
    assert!(!without_section.contains(&"p1".to_owned()));
    let in_section = store
        .list_section_pins(&board, &section, None, 10, &rules)
        .unwrap();
    assert_eq!(in_section.items.len(), 1);
    rules.repeat_bookmark = true;
    let first = store.list_pins(Some(&board), None, 1, &rules).unwrap();
    let asked = first.bookmark.unwrap();
    let second = store
        .list_pins(Some(&board), Some(&asked), 1, &rules)
        .unwrap();
    assert_eq!(second.bookmark.as_deref(), Some(asked.as_str()));
}

#[test]
fn tokens_stop_working_when_their_lifetime_is_over() {
    let mut store = Store::new("static");
    store.set_token_lifetimes(TokenLifetimes {
        access: Duration::ZERO,
        refresh: Duration::from_secs(3600),
    });
    let pair = store.issue_tokens("pins:read");
    assert!(
        !store.is_valid_access_token(&pair.access_token),
        "lived 0 s"
    );
    let renewed = store.refresh(&pair.refresh_token).unwrap();
    assert!(!store.is_valid_access_token(&renewed.access_token));
    store.set_token_lifetimes(TokenLifetimes {
        access: Duration::from_secs(3600),
        refresh: Duration::ZERO,
    });
    let pair = store.issue_tokens("pins:read");
    assert!(store.is_valid_access_token(&pair.access_token));
    let err = store.refresh(&pair.refresh_token).unwrap_err();
    assert!(err.message.contains("expired"), "{}", err.message);
    assert!(
        store.is_valid_access_token("static"),
        "the configured token lives on"
    );
}

#[test]
fn tokens_expire_and_refresh_rotates() {
    let mut store = Store::new("static");
    assert!(store.is_valid_access_token("static"));
    assert!(!store.is_valid_access_token("other"));
    let pair = store.issue_tokens("pins:read");
    assert!(store.is_valid_access_token(&pair.access_token));
    let rotated = store.refresh(&pair.refresh_token).unwrap();
    assert!(!store.is_valid_access_token(&pair.access_token));
    assert!(store.is_valid_access_token(&rotated.access_token));
    assert!(store.refresh(&pair.refresh_token).is_err());
    store.expire_all_access_tokens();
    assert!(!store.is_valid_access_token("static"));
    assert!(store.refresh(&rotated.refresh_token).is_ok());
}

#[test]
fn auth_codes_are_single_use_and_bound_to_the_redirect() {
    let mut store = Store::new("t");
    let code = store.issue_auth_code("http://localhost:8085/", "pins:read");
    assert!(store.redeem_auth_code(&code, "http://elsewhere/").is_err());
    let code = store.issue_auth_code("http://localhost:8085/", "pins:read");
    assert!(
        store
            .redeem_auth_code(&code, "http://localhost:8085/")
            .is_ok()
    );
    assert!(
        store
            .redeem_auth_code(&code, "http://localhost:8085/")
            .is_err()
    );
}

#[test]
fn duplicate_board_names_are_rejected() {
    let (mut store, _) = store_with_board();
    let err = store
        .create_board("recipes", None, "PUBLIC", NOW)
        .unwrap_err();
    assert_eq!((err.status, err.code), (400, 400));
}

#[test]
fn pin_validation_rules() {
    let (mut store, board) = store_with_board();
    let other = store.create_board("Other", None, "SECRET", NOW).unwrap();
    let foreign_section = store.create_section(&other.id, "S").unwrap();
    let url_media = json!({"source_type": "image_url", "url": "https://example.com/a.jpg"});
    let cases = [
        (
            json!({"board_id": "999", "media_source": url_media}),
            404,
            40,
        ),
        (
            json!({"board_id": board, "board_section_id": foreign_section.id, "media_source": url_media}),
            404,
            2031,
        ),
        (
            json!({"board_id": board, "title": "x".repeat(101), "media_source": url_media}),
            400,
            1,
        ),
        (
            json!({"board_id": board, "description": "x".repeat(801), "media_source": url_media}),
            400,
            1,
        ),
        (
            json!({"board_id": board, "alt_text": "x".repeat(501), "media_source": url_media}),
            400,
            1,
        ),
        (
            json!({"board_id": board, "link": "not a url", "media_source": url_media}),
            400,
            1,
        ),
        (json!({"board_id": board}), 400, 1),
        (
            json!({"board_id": board, "media_source": {"source_type": "image_base64",
                    "content_type": "image/png", "data": b64(JPEG)}}),
            403,
            235,
        ),
        (
            json!({"board_id": board, "media_source": {"source_type": "image_base64",
                    "content_type": "image/png", "data": "data:image/png;base64,AAAA"}}),
            400,
            1,
        ),
        (
            json!({"board_id": board, "media_source": {"source_type": "multiple_image_urls",
                    "items": [{"url": "https://example.com/1.jpg"}]}}),
            400,
            1,
        ),
        (
            json!({"board_id": board, "media_source": {"source_type": "video_id", "media_id": "12"}}),
            404,
            404,
        ),
    ];
    for (body, status, code) in cases {
        let err = store.create_pin(&body, NOW, None).unwrap_err();
        assert_eq!((err.status, err.code), (status, code), "{body}");
    }
    let ok_title = "é".repeat(100);
    let pin = store
            .create_pin(
                &json!({"board_id": board, "title": ok_title, "media_source": {
                    "source_type": "multiple_image_base64",
                    "items": [{"content_type": "image/png", "data": b64(PNG)},
                              {"content_type": "image/jpeg", "data": b64(JPEG), "title": "second"}]}}),
                NOW,
                None,
            )
            .unwrap();
    let PinMediaRecord::Carousel(items) = &pin.media else {
        panic!("expected a carousel");
    };
    assert_eq!(items[1].title.as_deref(), Some("second"));
    assert_eq!(
        items[0].image,
        ImageRecord::Bytes {
            content_type: "image/png".into(),
            sha256: sha256_hex(PNG),
            len: PNG.len(),
            size: super::fields::image_size(PNG),
        }
    );
}

#[test]
fn images_over_20_mb_are_refused() {
    let (mut store, board) = store_with_board();
    let mut big = PNG.to_vec();
    big.resize(super::fields::MAX_IMAGE_BYTES + 1, 0);
    let failure = store
        .create_pin(
            &json!({"board_id": board, "media_source": {"source_type": "image_base64",
                    "content_type": "image/png", "data": b64(&big)}}),
            NOW,
            None,
        )
        .unwrap_err();
    assert_eq!((failure.status, failure.code), (400, 1));
    assert!(
        failure.message.contains("over the 20971520"),
        "{}",
        failure.message
    );
}

#[test]
fn uploaded_images_keep_the_size_their_header_gives() {
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\x03\xe8\0\0\x05\xdc\x08\x02\0\0\0";
    assert_eq!(super::fields::image_size(png), Some((1000, 1500)));
    let jpeg = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0\xFF\xC0\0\x11\x08\x00\x32\x00\x64\x03";
    assert_eq!(super::fields::image_size(jpeg), Some((100, 50)));
    assert_eq!(super::fields::image_size(b"\xFF\xD8\xFF\xE0\0"), None);
}

#[test]
fn video_must_have_finished_processing() {
    let (mut store, board) = store_with_board();
    let media = store.register_media(false, 1);
    let body = json!({"board_id": board, "media_source":
            {"source_type": "video_id", "media_id": media.media_id, "cover_image_url": "https://example.com/c.jpg"}});
    assert_eq!(store.create_pin(&body, NOW, None).unwrap_err().status, 400);
    assert!(store.complete_upload(&media.media_id, b"video"));
    assert_eq!(
        store.poll_media(&media.media_id).unwrap().status,
        MediaStatus::Processing
    );
    assert_eq!(
        store.poll_media(&media.media_id).unwrap().status,
        MediaStatus::Succeeded
    );
    let pin = store.create_pin(&body, NOW, None).unwrap();
    assert_eq!(pin.media.kind(), "video");
}

#[test]
fn failing_media_ends_failed() {
    let mut store = Store::new("t");
    let media = store.register_media(true, 0);
    store.complete_upload(&media.media_id, b"v");
    assert_eq!(
        store.poll_media(&media.media_id).unwrap().status,
        MediaStatus::Failed
    );
}

#[test]
fn update_moves_and_validates() {
    let (mut store, board) = store_with_board();
    let section = store.create_section(&board, "Soups").unwrap();
    let pin = store
        .create_pin(
            &json!({"board_id": board, "board_section_id": section.id, "title": "a",
                    "media_source": {"source_type": "image_url", "url": "https://e.com/a.jpg"}}),
            NOW,
            None,
        )
        .unwrap();
    let updated = store
        .update_pin(&pin.id, &json!({"title": "b", "alt_text": null}))
        .unwrap();
    assert_eq!(updated.title.as_deref(), Some("b"));
    assert_eq!(
        updated.board_section_id.as_deref(),
        Some(section.id.as_str())
    );
    assert_eq!(
        store
            .update_pin(&pin.id, &json!({"board_section_id": "5"}))
            .unwrap_err()
            .code,
        2031
    );
    assert_eq!(
        store
            .update_pin("1", &json!({"title": "b"}))
            .unwrap_err()
            .code,
        50
    );
    store.delete_pin(&pin.id).unwrap();
    assert_eq!(store.delete_pin(&pin.id).unwrap_err().code, 50);
}

#[test]
fn section_names_are_bounded() {
    let (mut store, board) = store_with_board();
    assert!(store.create_section(&board, "").is_err());
    assert!(store.create_section(&board, &"s".repeat(181)).is_err());
    assert!(store.create_section(&board, &"s".repeat(180)).is_ok());
    assert_eq!(store.create_section("42", "x").unwrap_err().code, 40);
}

//! Destination links through the real binary: shorteners, Pinterest itself, plain http and
//! repeated links found offline; UTM tags from `defaults.utm`, a pin's own `utm`, CSV columns
//! and `--utm`, sent in the create, shown by `plan` and `export`, and changing them updates
//! created pins.

use std::path::Path;

use crate::common::TestEmulator;

fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn sent_links(emu: &TestEmulator, method: &str) -> Vec<String> {
    emu.emu()
        .requests()
        .into_iter()
        .filter(|r| r.method == method && r.path.starts_with("/v5/pins"))
        .filter_map(|r| r.body?.get("link")?.as_str().map(str::to_owned))
        .collect()
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[test]
fn links_pinterest_would_flag_are_found_offline() {
    let emu = TestEmulator::start();
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("pins.csv");
    write(
        &manifest,
        "board,title,image,link\n\
         B,One,https://example.com/1.jpg,https://bit.ly/3xYz\n\
         B,Two,https://example.com/2.jpg,https://www.pinterest.com/pin/123/\n\
         B,Three,https://example.com/3.jpg,http://shop.example/p\n\
         B,Four,https://example.com/4.jpg,https://shop.example/same\n\
         B,Five,https://example.com/5.jpg,https://shop.example/same\n\
         B,Six,https://example.com/6.jpg,https://shop.example/same\n",
    );
    let output = emu
        .pinbatch()
        .arg("validate")
        .arg(&manifest)
        .output()
        .unwrap();
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    for expected in [
        "pins.csv: row 2: warning: link: `https://bit.ly/3xYz` goes through bit.ly, a link shortener or redirector",
        "pins.csv: row 3: warning: link: `https://www.pinterest.com/pin/123/` links to Pinterest itself",
        "pins.csv: row 4: warning: link: `http://shop.example/p` is plain http://",
        "pins.csv: row 5: note: link: `https://shop.example/same` is the link of 3 pins (also at row 6, row 7)",
        "6 pins, 0 errors, 3 warnings, 1 note",
    ] {
        assert!(stderr.contains(expected), "{expected}\n{stderr}");
    }
}

#[test]
fn utm_tags_are_sent_shown_and_update_created_pins() {
    let emu = TestEmulator::start();
    emu.emu().seed_board("Garden", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("pins.yaml");
    let yaml = |campaign: &str| {
        format!(
            "version: 1\ndefaults:\n  board: Garden\n  utm: {{ source: pinterest, medium: social, campaign: \"{campaign}\" }}\npins:\n\
             \x20 - {{ id: rose, title: Rose, image: \"https://example.com/r.jpg\", link: \"https://shop.example/rose?ref=7#care\" }}\n\
             \x20 - id: tulip\n    title: Tulip\n    image: https://example.com/t.jpg\n    link: https://shop.example/tulip?utm_source=news\n    utm: {{ content: \"{{key}}-{{row}}\" }}\n"
        )
    };
    write(&manifest, &yaml("{board}"));
    let output = emu
        .pinbatch()
        .args(["plan", "--format", "json"])
        .arg(&manifest)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        plan["pins"][0]["link"],
        "https://shop.example/rose?ref=7&utm_source=pinterest&utm_medium=social&utm_campaign=Garden#care"
    );
    let output = emu.pinbatch().arg("apply").arg(&manifest).output().unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let mut created = sent_links(&emu, "POST");
    created.sort();
    assert_eq!(
        created,
        [
            "https://shop.example/rose?ref=7&utm_source=pinterest&utm_medium=social&utm_campaign=Garden#care",
            "https://shop.example/tulip?utm_source=news&utm_medium=social&utm_campaign=Garden&utm_content=tulip-2",
        ],
        "the link's own utm_source is kept, never repeated"
    );
    // A new campaign is an edit of both links: each pin is updated, none created again.
    write(&manifest, &yaml("spring"));
    let output = emu.pinbatch().arg("apply").arg(&manifest).output().unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(emu.creates(), 2);
    let updated = sent_links(&emu, "PATCH");
    assert_eq!(updated.len(), 2, "{updated:?}");
    assert!(
        updated.iter().all(|l| l.contains("utm_campaign=spring")),
        "{updated:?}"
    );
    emu.assert_no_spec_violations();
}

#[test]
fn csv_rows_take_utm_columns_and_the_flag() {
    let emu = TestEmulator::start();
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("pins.csv");
    write(
        &manifest,
        "board,title,image,link,utm_content\n\
         Garden,Rose,https://example.com/r.jpg,https://shop.example/rose,row-{row}\n\
         Garden,Tulip,https://example.com/t.jpg,https://shop.example/tulip,{stem}\n",
    );
    let output = emu
        .pinbatch()
        .args([
            "validate",
            "--utm",
            "source=pinterest",
            "--utm",
            "utm_campaign={board}",
        ])
        .arg(&manifest)
        .output()
        .unwrap();
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("pins.csv: row 3: error: utm.content: `{stem}` is not a placeholder"),
        "{stderr}"
    );
    let export = dir.path().join("bulk.csv");
    write(
        &manifest,
        "board,title,image,link,utm_content\n\
         Garden,Rose,https://example.com/r.jpg,https://shop.example/rose,row-{row}\n",
    );
    let output = emu
        .pinbatch()
        .args([
            "export",
            "--utm",
            "source=pinterest",
            "--utm",
            "utm_campaign={board}",
            "-o",
        ])
        .arg(&export)
        .arg(&manifest)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let text = std::fs::read_to_string(&export).unwrap();
    assert!(
        text.contains(
            "https://shop.example/rose?utm_source=pinterest&utm_campaign=Garden&utm_content=row-2"
        ),
        "{text}"
    );
    let output = emu
        .pinbatch()
        .args(["validate", "--utm", "campain=x"])
        .arg(&manifest)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
}

/// A local site with pages, redirects and errors (127.0.0.1, port 0), for following links.
struct Site {
    runtime: tokio::runtime::Runtime,
    addr: std::net::SocketAddr,
}

impl Site {
    fn start() -> Self {
        use axum::http::{Method, StatusCode, Uri, header};
        use axum::response::IntoResponse;
        async fn serve(method: Method, uri: Uri) -> axum::response::Response {
            let redirect = |to: &str| {
                (
                    StatusCode::MOVED_PERMANENTLY,
                    [(header::LOCATION, to.to_owned())],
                )
                    .into_response()
            };
            match uri.path() {
                "/shop/rose" => "a page".into_response(),
                "/old/rose" => redirect("/shop/rose"),
                "/s/1" => redirect("/old/rose"),
                "/no-head" if method == Method::HEAD => {
                    StatusCode::METHOD_NOT_ALLOWED.into_response()
                }
                "/no-head" => "a page that refuses HEAD".into_response(),
                "/broken" => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                "/loop" => redirect("/loop"),
                _ => StatusCode::NOT_FOUND.into_response(),
            }
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        runtime.spawn(async move {
            let _ = axum::serve(listener, axum::Router::new().fallback(serve)).await;
        });
        Site { runtime, addr }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let runtime = std::mem::replace(
            &mut self.runtime,
            tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap(),
        );
        runtime.shutdown_background();
    }
}

/// A port nothing listens on: bound, then closed.
fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/page")
}

#[test]
fn destination_links_are_followed_online_and_resolved_on_request() {
    let site = Site::start();
    let emu = TestEmulator::start();
    emu.emu().seed_board("Garden", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("pins.csv");
    let rows = [
        ("Moved", site.url("/s/1")),
        ("Fine", site.url("/shop/rose")),
        ("NoHead", site.url("/no-head")),
        ("Gone", site.url("/gone")),
        ("Broken", site.url("/broken")),
        ("Loop", site.url("/loop")),
        ("Nobody", closed_port_url()),
    ];
    // A local image: the online check fetches image URLs too, and tests reach only 127.0.0.1.
    std::fs::write(dir.path().join("a.jpg"), crate::video::TINY_JPEG).unwrap();
    let mut csv = String::from("id,board,title,image,link\n");
    for (title, link) in &rows {
        csv.push_str(&format!("{title},Garden,{title},a.jpg,{link}\n"));
    }
    write(&manifest, &csv);
    let output = emu
        .pinbatch()
        .env_remove("PINBATCH_NO_LINK_CHECK")
        .args(["validate", "--online", "--link-timeout", "5s"])
        .arg(&manifest)
        .output()
        .unwrap();
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let final_url = site.url("/shop/rose");
    for expected in [
        format!(
            "row 2: note: link: `{}` redirects to `{final_url}`",
            site.url("/s/1")
        ),
        format!(
            "row 5: error: link: `{}` leads nowhere: HTTP 404 Not Found",
            site.url("/gone")
        ),
        format!(
            "row 6: error: link: `{}` leads nowhere: HTTP 500 Internal Server Error",
            site.url("/broken")
        ),
        "row 7: error: link: ".to_owned(),
        "leads nowhere: more than 10 redirects".to_owned(),
        "row 8: error: link: ".to_owned(),
        "leads nowhere: the server refused the connection (nothing listens on that port)"
            .to_owned(),
    ] {
        assert!(stderr.contains(&expected), "{expected}\n{stderr}");
    }
    // The page and the page that refuses HEAD are reached: only their plain-http warnings.
    for row in ["row 3", "row 4"] {
        assert!(
            !stderr.contains(&format!("{row}: error")) && !stderr.contains(&format!("{row}: note")),
            "{stderr}"
        );
    }

    // Only the redirected pin: apply --resolve-links sends where it leads, with its UTM tags.
    write(
        &manifest,
        &format!(
            "board,title,image,link\nGarden,Moved,a.jpg,{}\n",
            site.url("/s/1")
        ),
    );
    let output = emu
        .pinbatch()
        .args(["apply", "--resolve-links", "--utm", "source=pinterest"])
        .arg(&manifest)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(
        sent_links(&emu, "POST"),
        [format!("{final_url}?utm_source=pinterest")]
    );
    assert!(
        std::fs::read_to_string(&manifest).unwrap().contains("/s/1"),
        "the manifest is not changed"
    );
}

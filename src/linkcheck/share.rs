//! Share links of Google Drive, Dropbox and OneDrive: pages that show a file, not the file.
//!
//! Recognised by their address alone (no network). Where the service has a direct form of the
//! same public file (Dropbox's `raw=1`, Drive's download URL, OneDrive's `download` endpoint)
//! it is offered; otherwise the finding says what to do instead.

use url::Url;

/// A share link found in a manifest, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareLink {
    /// The service, for messages (`Dropbox`, `Google Drive`, ...).
    pub service: &'static str,
    /// The direct link to the same file, when the service has one.
    pub direct: Option<String>,
    /// What to do when there is no direct form.
    pub advice: &'static str,
}

/// The share link `url` is, if it is one.
pub fn recognise(url: &str) -> Option<ShareLink> {
    let parsed = Url::parse(url).ok()?;
    let host = parsed.host_str()?.to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host);
    let path = parsed.path();
    match host {
        "dropbox.com" => dropbox(&parsed, path),
        "drive.google.com" => google_drive(&parsed, path),
        "docs.google.com" => Some(ShareLink {
            service: "Google Docs",
            direct: None,
            advice: "a Google document is not an image: export the picture as JPEG or PNG and link that file",
        }),
        "photos.app.goo.gl" | "photos.google.com" => Some(ShareLink {
            service: "Google Photos",
            direct: None,
            advice: "Google Photos share pages have no direct link: download the photo next to the manifest and give its path, or host it elsewhere",
        }),
        "1drv.ms" => Some(ShareLink {
            service: "OneDrive",
            direct: None,
            advice: "a 1drv.ms link opens OneDrive's viewer: in OneDrive choose Embed and use the link it gives (with `embed` replaced by `download`), or download the image and give its path",
        }),
        "onedrive.live.com" => onedrive(&parsed, path),
        _ if host.ends_with(".sharepoint.com") => sharepoint(&parsed),
        _ => None,
    }
}

fn dropbox(parsed: &Url, path: &str) -> Option<ShareLink> {
    let shared = path.starts_with("/s/") || path.starts_with("/scl/fi/");
    if path.starts_with("/sh/") || path.starts_with("/scl/fo/") {
        return Some(ShareLink {
            service: "Dropbox",
            direct: None,
            advice: "this is a shared Dropbox folder: share the image file itself and use that link",
        });
    }
    if !shared {
        return None;
    }
    if parsed.query_pairs().any(|(k, v)| k == "raw" && v == "1") {
        return None;
    }
    let mut direct = parsed.clone();
    let kept: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(k, _)| k != "dl" && k != "raw")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    direct
        .query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .append_pair("raw", "1");
    Some(ShareLink {
        service: "Dropbox",
        direct: Some(direct.to_string()),
        advice: "",
    })
}

fn google_drive(parsed: &Url, path: &str) -> Option<ShareLink> {
    let id = if let Some(rest) = path.strip_prefix("/file/d/") {
        rest.split('/').next().map(str::to_owned)
    } else if path == "/open" {
        parsed
            .query_pairs()
            .find(|(k, _)| k == "id")
            .map(|(_, v)| v.into_owned())
    } else if path == "/uc" {
        // Already the download form.
        return None;
    } else if path.starts_with("/drive/folders/") {
        return Some(ShareLink {
            service: "Google Drive",
            direct: None,
            advice: "this is a Drive folder: share the image file itself (Anyone with the link) and use that link",
        });
    } else {
        None
    };
    let id = id.filter(|id| {
        !id.is_empty()
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })?;
    Some(ShareLink {
        service: "Google Drive",
        direct: Some(format!(
            "https://drive.google.com/uc?export=download&id={id}"
        )),
        advice: "",
    })
}

fn onedrive(parsed: &Url, path: &str) -> Option<ShareLink> {
    match path {
        "/redir" | "/embed" => {
            let mut direct = parsed.clone();
            direct.set_path("/download");
            Some(ShareLink {
                service: "OneDrive",
                direct: Some(direct.to_string()),
                advice: "",
            })
        }
        "/download" => None,
        _ => Some(ShareLink {
            service: "OneDrive",
            direct: None,
            advice: "this opens OneDrive's viewer: in OneDrive choose Embed and use the link it gives (with `embed` replaced by `download`), or download the image and give its path",
        }),
    }
}

fn sharepoint(parsed: &Url) -> Option<ShareLink> {
    if parsed
        .query_pairs()
        .any(|(k, v)| k == "download" && v == "1")
    {
        return None;
    }
    let mut direct = parsed.clone();
    direct.query_pairs_mut().append_pair("download", "1");
    Some(ShareLink {
        service: "SharePoint/OneDrive for Business",
        direct: Some(direct.to_string()),
        advice: "",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropbox_share_links_get_raw_1() {
        let link = recognise("https://www.dropbox.com/s/abc123/cat.jpg?dl=0").unwrap();
        assert_eq!(link.service, "Dropbox");
        assert_eq!(
            link.direct.as_deref(),
            Some("https://www.dropbox.com/s/abc123/cat.jpg?raw=1")
        );
        let link =
            recognise("https://www.dropbox.com/scl/fi/xyz/cat.jpg?rlkey=k1&st=s2&dl=0").unwrap();
        assert_eq!(
            link.direct.as_deref(),
            Some("https://www.dropbox.com/scl/fi/xyz/cat.jpg?rlkey=k1&st=s2&raw=1")
        );
        assert_eq!(
            recognise("https://www.dropbox.com/s/abc123/cat.jpg?raw=1"),
            None
        );
        let folder = recognise("https://www.dropbox.com/sh/abc/def?dl=0").unwrap();
        assert!(folder.direct.is_none() && folder.advice.contains("folder"));
    }

    #[test]
    fn drive_file_links_get_the_download_url() {
        for url in [
            "https://drive.google.com/file/d/1AbC-d_E/view?usp=sharing",
            "https://drive.google.com/open?id=1AbC-d_E",
        ] {
            assert_eq!(
                recognise(url).unwrap().direct.as_deref(),
                Some("https://drive.google.com/uc?export=download&id=1AbC-d_E"),
                "{url}"
            );
        }
        assert_eq!(
            recognise("https://drive.google.com/uc?export=download&id=1AbC"),
            None
        );
        assert!(
            recognise("https://drive.google.com/drive/folders/1x")
                .unwrap()
                .direct
                .is_none()
        );
        assert!(
            recognise("https://photos.app.goo.gl/abc")
                .unwrap()
                .advice
                .contains("download the photo")
        );
    }

    #[test]
    fn onedrive_links() {
        let redir =
            recognise("https://onedrive.live.com/redir?resid=ABC!123&authkey=!xyz").unwrap();
        assert_eq!(
            redir.direct.as_deref(),
            Some("https://onedrive.live.com/download?resid=ABC!123&authkey=!xyz")
        );
        let short = recognise("https://1drv.ms/i/s!AbCdEf").unwrap();
        assert!(short.direct.is_none() && short.advice.contains("Embed"));
        let business = recognise("https://contoso.sharepoint.com/:i:/g/personal/a/EabC").unwrap();
        assert!(business.direct.unwrap().ends_with("download=1"));
    }

    #[test]
    fn other_hosts_are_not_share_links() {
        assert_eq!(recognise("https://example.com/s/cat.jpg?dl=0"), None);
        assert_eq!(recognise("https://i.imgur.com/cat.jpg"), None);
        assert_eq!(recognise("not a url"), None);
    }
}

//! Pin keys: the explicit `id`, or one derived from board + media reference(s) as written.
//!
//! Derived keys use references as written in the manifest (never absolute paths), so moving the
//! manifest's folder keeps every key, and editing a pin's text keeps its key.

use super::model::{BoardRef, CarouselItem, ImageSource, Media};

/// The reference of an image as written (path or URL).
fn image_reference(source: &ImageSource) -> &str {
    match source {
        ImageSource::File(image) => &image.reference,
        ImageSource::Url(url) => url,
    }
}

/// `board/reference`; a carousel joins its references with `+`.
pub fn derive_key(board: &BoardRef, media: &Media) -> String {
    let mut key = board.to_string();
    key.push('/');
    match media {
        Media::Image(source) => key.push_str(image_reference(source)),
        Media::Carousel(items) => {
            for (i, CarouselItem { source, .. }) in items.iter().enumerate() {
                if i > 0 {
                    key.push('+');
                }
                key.push_str(image_reference(source));
            }
        }
        Media::Video(video) => key.push_str(&video.reference),
    }
    key
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::manifest::model::{ImageType, LocalImage, VideoSpec};

    fn local(reference: &str) -> ImageSource {
        ImageSource::File(LocalImage {
            reference: reference.to_owned(),
            path: PathBuf::from("/somewhere/else").join(reference),
            content_type: ImageType::Jpeg,
            len: 1,
            info: crate::manifest::ImageInfo::sent_as_is(ImageType::Jpeg),
        })
    }

    #[test]
    fn keys_come_from_references_as_written() {
        let board = BoardRef::parse("Animals 動物");
        assert_eq!(
            derive_key(&board, &Media::Image(local("images/cat.jpg"))),
            "Animals 動物/images/cat.jpg"
        );
        let carousel = Media::Carousel(
            ["a.jpg", "b.png"]
                .iter()
                .map(|r| CarouselItem {
                    source: local(r),
                    title: None,
                    description: None,
                    link: None,
                })
                .collect(),
        );
        assert_eq!(
            derive_key(&BoardRef::parse("123"), &carousel),
            "123/a.jpg+b.png"
        );
        let video = Media::Video(VideoSpec {
            reference: "clips/run.mp4".to_owned(),
            path: PathBuf::from("/x/clips/run.mp4"),
            len: 1,
            cover: None,
            info: crate::manifest::video::VideoInfo {
                duration_ms: 30_000,
                width: 1080,
                height: 1920,
                codec: *b"avc1",
            },
        });
        assert_eq!(derive_key(&board, &video), "Animals 動物/clips/run.mp4");
    }

    #[test]
    fn urls_are_used_as_written() {
        let media = Media::Image(ImageSource::Url("https://example.com/a.jpg".to_owned()));
        assert_eq!(
            derive_key(&BoardRef::parse("B"), &media),
            "B/https://example.com/a.jpg"
        );
    }
}

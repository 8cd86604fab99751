//! A pin's media for its create request: images read (converted when they need it) and
//! base64-encoded lazily, inside the request slot (so memory holds at most one pin's media per
//! slot), and videos registered, uploaded and waited for beforehand, holding a slot only for
//! each request they make.

use std::time::{Duration, Instant};

use base64::Engine as _;

use super::{Context, TaskError};
use crate::api::types::{ImageBase64Item, ImageUrlItem, MediaSource};
use crate::manifest::{ImageSource, LocalImage, Media, PinSpec, VideoCover, VideoSpec};
use crate::state::Record;

/// How long to wait for a video to finish processing.
const VIDEO_PROCESSING_LIMIT: Duration = Duration::from_secs(15 * 60);

/// The first wait between two polls of a video's processing; it doubles up to
/// [`VIDEO_POLL_MAX`].
const VIDEO_POLL_FIRST: Duration = Duration::from_millis(200);

/// The longest wait between two polls of a video's processing.
const VIDEO_POLL_MAX: Duration = Duration::from_secs(10);

/// Builds the `media_source` of a pin, reading and encoding local files only now, inside the
/// request slot. `video_media_id` is the processed upload of a video pin
/// (see [`prepare_video`]).
pub(super) async fn media_source(
    context: &Context,
    spec: &PinSpec,
    video_media_id: Option<&str>,
) -> Result<MediaSource, TaskError> {
    match &spec.media {
        Media::Image(ImageSource::Url(url)) => Ok(MediaSource::ImageUrl { url: url.clone() }),
        Media::Image(ImageSource::File(image)) => Ok(MediaSource::ImageBase64 {
            content_type: image.content_type.mime().to_owned(),
            data: read_base64(context, image).await?,
        }),
        Media::Carousel(items) => {
            if items
                .iter()
                .all(|item| matches!(item.source, ImageSource::Url(_)))
            {
                let items = items
                    .iter()
                    .filter_map(|item| match &item.source {
                        ImageSource::Url(url) => Some(ImageUrlItem {
                            url: url.clone(),
                            title: item.title.clone(),
                            description: item.description.clone(),
                            link: item.link.clone(),
                        }),
                        ImageSource::File(_) => None,
                    })
                    .collect();
                return Ok(MediaSource::MultipleImageUrls { items });
            }
            let mut encoded = Vec::with_capacity(items.len());
            for item in items {
                let ImageSource::File(image) = &item.source else {
                    return Err(TaskError::Media(
                        "a carousel mixes local files and URLs".to_owned(),
                    ));
                };
                encoded.push(ImageBase64Item {
                    content_type: image.content_type.mime().to_owned(),
                    data: read_base64(context, image).await?,
                    title: item.title.clone(),
                    description: item.description.clone(),
                    link: item.link.clone(),
                });
            }
            Ok(MediaSource::MultipleImageBase64 { items: encoded })
        }
        Media::Video(video) => {
            let Some(media_id) = video_media_id else {
                return Err(TaskError::Media(format!(
                    "video `{}` was not uploaded",
                    video.reference
                )));
            };
            let (mut url, mut content_type, mut data, mut frame) = (None, None, None, None);
            match &video.cover {
                Some(VideoCover::Url(cover)) => url = Some(cover.clone()),
                Some(VideoCover::File(image)) => {
                    content_type = Some(image.content_type.mime().to_owned());
                    data = Some(read_base64(context, image).await?);
                }
                Some(VideoCover::Frame(seconds)) => frame = Some(u64::from(*seconds)),
                None => {}
            }
            Ok(MediaSource::VideoId {
                media_id: media_id.to_owned(),
                cover_image_url: url,
                cover_image_content_type: content_type,
                cover_image_data: data,
                cover_image_key_frame_time: frame,
            })
        }
    }
}

/// Reads (and converts, see [`super::convert`]) and encodes an image on a blocking thread:
/// encoding a large image takes tens of milliseconds, and every pin's future is polled by the
/// same task, so doing it inline would hold up the responses of all the other pins in the
/// meantime. One image at a time: while it is encoded both its bytes and its text are in memory
/// (and, when converted, its decoded pixels), and encoding several at once (measured with 8 MB
/// images) pushed the peak past `30 MB + N x 3 x largest image`.
async fn read_base64(context: &Context, image: &LocalImage) -> Result<String, TaskError> {
    // Never closed, so acquiring cannot fail; without a permit the encode would still be correct.
    let _encoding = context.encoder.acquire().await.ok();
    let image = image.clone();
    tokio::task::spawn_blocking(move || {
        let bytes = super::convert::prepared_bytes(&image).map_err(TaskError::Media)?;
        Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
    })
    .await
    .map_err(|err| TaskError::Media(format!("the image reader stopped: {err}")))?
}

/// For a video pin: registers, uploads and waits for its video, and returns the media id to
/// create the pin with; `None` for other pins. Reuses a media id the state already holds, so
/// that a crash after the upload does not upload the file again.
///
/// Each request takes a request slot for itself only; the waits between processing polls hold
/// none, so a video processed for minutes does not keep other pins waiting.
///
/// A media registered but not recorded as uploaded is asked for its status first: a crash just
/// after the upload finished leaves it `processing` or `succeeded`, and it is kept. Only one still
/// waiting for its file (whose upload parameters are gone), failed or unknown is registered anew.
pub(super) async fn prepare_video(
    context: &Context,
    spec: &PinSpec,
) -> Result<Option<String>, TaskError> {
    let Media::Video(video) = &spec.media else {
        return Ok(None);
    };
    let reusable = match context.writer.media(&spec.key) {
        Some((media_id, true)) => Some(media_id),
        Some((media_id, false)) => {
            let slot = context.slot().await?;
            let status = context.client.media_status(&media_id).await;
            drop(slot);
            match status {
                Ok(status) if matches!(status.status.as_str(), "processing" | "succeeded") => {
                    record_media(context, spec, &media_id, true).await?;
                    Some(media_id)
                }
                Ok(_) => None,
                Err(err) if err.status() == Some(404) => None,
                Err(err) => return Err(TaskError::Api(err)),
            }
        }
        None => None,
    };
    let media_id = match reusable {
        Some(media_id) => media_id,
        None => {
            let slot = context.slot().await?;
            let upload = context
                .client
                .register_media()
                .await
                .map_err(TaskError::Api)?;
            drop(slot);
            record_media(context, spec, &upload.media_id, false).await?;
            let slot = context.slot().await?;
            context
                .client
                .upload_media(&upload, &video.path)
                .await
                .map_err(TaskError::Api)?;
            drop(slot);
            record_media(context, spec, &upload.media_id, true).await?;
            upload.media_id
        }
    };
    wait_for_processing(context, spec, video, &media_id).await?;
    Ok(Some(media_id))
}

async fn record_media(
    context: &Context,
    spec: &PinSpec,
    media_id: &str,
    uploaded: bool,
) -> Result<(), TaskError> {
    context
        .writer
        .record(vec![Record::Media {
            key: spec.key.clone(),
            media_id: media_id.to_owned(),
            uploaded,
        }])
        .await
        .map_err(TaskError::State)
}

/// Polls a media's status with a growing delay until it succeeds, fails or takes too long.
async fn wait_for_processing(
    context: &Context,
    spec: &PinSpec,
    video: &VideoSpec,
    media_id: &str,
) -> Result<(), TaskError> {
    let deadline = Instant::now() + VIDEO_PROCESSING_LIMIT;
    let mut delay = VIDEO_POLL_FIRST;
    loop {
        let slot = context.slot().await?;
        let status = context
            .client
            .media_status(media_id)
            .await
            .map_err(TaskError::Api)?;
        drop(slot);
        match status.status.as_str() {
            "succeeded" => return Ok(()),
            "failed" => {
                // Forget the upload so the next run sends the file again (perhaps fixed)
                // instead of finding the same failed media forever.
                record_media(context, spec, media_id, false).await?;
                return Err(TaskError::Media(format!(
                    "Pinterest could not process video `{}` (media {media_id}): check its format (H.264/H.265 .mp4/.mov/.m4v, 4 s to 15 min)",
                    video.reference
                )));
            }
            _ => {}
        }
        if Instant::now() >= deadline {
            return Err(TaskError::Media(format!(
                "video `{}` (media {media_id}) was still processing after {} minutes",
                video.reference,
                VIDEO_PROCESSING_LIMIT.as_secs() / 60
            )));
        }
        if !context.rest(delay).await {
            return Err(TaskError::Stopped);
        }
        delay = (delay * 2).min(VIDEO_POLL_MAX);
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::apply::test_context;
    use crate::manifest::{CarouselItem, ImageType};
    use crate::state::StateFile;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\x03\xe8\0\0\x05\xdc\x08\x02\0\0\0\0\0\0\0\0\0\0\0IEND\xaeB`\x82";

    fn spec(media: Media) -> PinSpec {
        PinSpec::sample("a", "Board", media)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn local_images_are_read_only_when_sent_and_urls_pass_through() {
        let dir = tempfile::tempdir().unwrap();
        let image_path = dir.path().join("a.png");
        std::fs::write(&image_path, PNG).unwrap();
        let state = StateFile::open(&dir.path().join("s.state"), "o").unwrap();
        let (context, thread) = test_context(state);
        let local = LocalImage {
            reference: "a.png".to_owned(),
            path: image_path.clone(),
            content_type: ImageType::Png,
            len: 11,
            info: crate::manifest::ImageInfo::sent_as_is(ImageType::Png),
        };
        let source = media_source(
            &context,
            &spec(Media::Image(ImageSource::File(local.clone()))),
            None,
        )
        .await
        .unwrap();
        let MediaSource::ImageBase64 { content_type, data } = source else {
            panic!("{source:?}");
        };
        assert_eq!(content_type, "image/png");
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(data)
                .unwrap(),
            PNG
        );
        let slides = |sources: Vec<ImageSource>| {
            Media::Carousel(
                sources
                    .into_iter()
                    .map(|source| CarouselItem {
                        source,
                        title: None,
                        description: None,
                        link: None,
                    })
                    .collect(),
            )
        };
        let urls = slides(vec![
            ImageSource::Url("https://x/1.jpg".to_owned()),
            ImageSource::Url("https://x/2.jpg".to_owned()),
        ]);
        assert!(matches!(
            media_source(&context, &spec(urls), None).await.unwrap(),
            MediaSource::MultipleImageUrls { items } if items.len() == 2
        ));
        let mixed = slides(vec![
            ImageSource::File(local),
            ImageSource::Url("https://x/2.jpg".to_owned()),
        ]);
        assert!(matches!(
            media_source(&context, &spec(mixed), None).await,
            Err(TaskError::Media(_))
        ));
        std::fs::remove_file(&image_path).unwrap();
        let gone = LocalImage {
            reference: "a.png".to_owned(),
            path: image_path,
            content_type: ImageType::Png,
            len: 11,
            info: crate::manifest::ImageInfo::sent_as_is(ImageType::Png),
        };
        let err = media_source(&context, &spec(Media::Image(ImageSource::File(gone))), None)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, TaskError::Media(message) if message.contains("a.png")),
            "{err:?}"
        );
        assert!(
            prepare_video(
                &context,
                &spec(Media::Image(ImageSource::Url("https://x/1.jpg".to_owned())))
            )
            .await
            .unwrap()
            .is_none()
        );
        drop(context);
        thread.finish();
    }
}

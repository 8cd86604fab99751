//! Video media: registration, the upload, and processing that ends after a number of status
//! polls in `succeeded` or `failed`.

use super::fields::sha256_hex;
use super::{ApiFailure, MediaRecord, MediaStatus, Store};

impl Store {
    /// Registers a video upload.
    pub fn register_media(&mut self, will_fail: bool, processing_polls: u32) -> MediaRecord {
        let (_, media_id) = self.allocate();
        let media = MediaRecord {
            media_id,
            status: MediaStatus::Registered,
            sha256: None,
            len: None,
            polls_left: processing_polls,
            will_fail,
        };
        self.media.push(media.clone());
        media
    }

    /// Whether an upload for this media id is expected (it exists and nothing was uploaded yet).
    pub fn media_awaits_upload(&self, media_id: &str) -> bool {
        self.media
            .iter()
            .any(|m| m.media_id == media_id && m.status == MediaStatus::Registered)
    }

    /// Stores an uploaded file: the media goes to `processing`.
    pub fn complete_upload(&mut self, media_id: &str, bytes: &[u8]) -> bool {
        let Some(media) = self.media.iter_mut().find(|m| m.media_id == media_id) else {
            return false;
        };
        media.sha256 = Some(sha256_hex(bytes));
        media.len = Some(bytes.len());
        media.status = MediaStatus::Processing;
        true
    }

    /// Answers a status poll, advancing processing by one poll.
    pub fn poll_media(&mut self, media_id: &str) -> Result<MediaRecord, ApiFailure> {
        let media = self
            .media
            .iter_mut()
            .find(|m| m.media_id == media_id)
            .ok_or_else(ApiFailure::media_not_found)?;
        if media.status == MediaStatus::Processing {
            if media.polls_left == 0 {
                media.status = if media.will_fail {
                    MediaStatus::Failed
                } else {
                    MediaStatus::Succeeded
                };
            } else {
                media.polls_left -= 1;
            }
        }
        Ok(media.clone())
    }
}

//! Text encodings of CSV files as spreadsheets save them: UTF-8 (with or without a BOM),
//! UTF-16 LE/BE with a BOM (Excel's "Unicode text"), Shift_JIS/CP932 (Excel in Japan) and
//! Windows-1252 (Excel in much of Europe and the Americas).
//!
//! Detection never guesses into mojibake: a file that none of these decodes cleanly is one
//! problem naming the first row that does not decode, never a title full of `ãƒ`.

use std::borrow::Cow;

use encoding_rs::{DecoderResult, Encoding, SHIFT_JIS, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};

/// The encodings tried when none is named, in the order they are considered.
pub const DETECTED: &str = "UTF-8, UTF-16 (with a BOM), Shift_JIS/CP932 or Windows-1252";

/// An encoding by a name people use: WHATWG labels (`utf-8`, `shift_jis`, `windows-1252`,
/// `utf-16le`, ...) plus `cp932`, `cp1252` and `utf-16` (little-endian, as Windows writes it).
pub fn by_name(name: &str) -> Option<&'static Encoding> {
    let lower = name.trim().to_ascii_lowercase();
    match lower.as_str() {
        "cp932" | "ms932" | "windows-31j" | "shift-jis" | "sjis" => Some(SHIFT_JIS),
        "cp1252" => Some(WINDOWS_1252),
        "utf-16" | "utf16" | "ucs-2" => Some(UTF_16LE),
        "utf16le" => Some(UTF_16LE),
        "utf16be" => Some(UTF_16BE),
        "utf8" => Some(UTF_8),
        _ => Encoding::for_label(lower.as_bytes()),
    }
}

/// The encoding names `--encoding` is documented with.
pub const NAMES_HINT: &str = "utf-8, utf-16le, utf-16be, shift_jis (cp932), windows-1252";

/// A file that does not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undecodable {
    /// The spreadsheet row (1-based; quoted line breaks do not start a row) of the first byte
    /// that does not decode.
    pub row: u32,
    /// The physical line of that byte.
    pub line: u32,
    /// What is wrong, for the message.
    pub message: String,
}

/// Decoded text and the encoding it was read as.
#[derive(Debug)]
pub struct Decoded<'a> {
    /// The text, borrowed when the file was UTF-8 already.
    pub text: Cow<'a, str>,
    /// The encoding used.
    pub encoding: &'static Encoding,
}

/// Decodes `bytes` as `forced`, or detects the encoding. A BOM always wins over detection and
/// is removed from the text.
pub fn decode<'a>(
    bytes: &'a [u8],
    forced: Option<&'static Encoding>,
) -> Result<Decoded<'a>, Undecodable> {
    let (bom_encoding, bom_len) = match Encoding::for_bom(bytes) {
        Some((encoding, len)) => (Some(encoding), len),
        None => (None, 0),
    };
    if let Some(encoding) = forced {
        let body = if bom_encoding == Some(encoding) {
            &bytes[bom_len..]
        } else {
            bytes
        };
        return decode_strictly(body, encoding).map(|text| Decoded { text, encoding });
    }
    if let Some(encoding) = bom_encoding {
        let body = &bytes[bom_len..];
        return decode_strictly(body, encoding).map(|text| Decoded { text, encoding });
    }
    match std::str::from_utf8(bytes) {
        Ok(text) if !has_stray_controls(text) => {
            return Ok(Decoded {
                text: Cow::Borrowed(text),
                encoding: UTF_8,
            });
        }
        Ok(_) => {}
        Err(_) => {}
    }
    let shift_jis = SHIFT_JIS
        .decode_without_bom_handling_and_without_replacement(bytes)
        .filter(|text| !has_stray_controls(text) && japanese_score(text) > 0);
    if let Some(text) = shift_jis {
        return Ok(Decoded {
            text: Cow::Owned(text.into_owned()),
            encoding: SHIFT_JIS,
        });
    }
    let latin = WINDOWS_1252
        .decode_without_bom_handling_and_without_replacement(bytes)
        .filter(|text| !has_stray_controls(text));
    if let Some(text) = latin {
        return Ok(Decoded {
            text: Cow::Owned(text.into_owned()),
            encoding: WINDOWS_1252,
        });
    }
    Err(first_undecodable(bytes))
}

/// Decodes with no replacement characters: the first malformed sequence is an error.
fn decode_strictly<'a>(
    bytes: &'a [u8],
    encoding: &'static Encoding,
) -> Result<Cow<'a, str>, Undecodable> {
    if encoding == UTF_8 {
        return match std::str::from_utf8(bytes) {
            Ok(text) => Ok(Cow::Borrowed(text)),
            Err(err) => Err(undecodable_at(bytes, err.valid_up_to(), encoding)),
        };
    }
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let capacity = decoder
        .max_utf8_buffer_length_without_replacement(bytes.len())
        .unwrap_or(bytes.len().saturating_mul(3));
    let mut text = String::with_capacity(capacity);
    let (result, read) = decoder.decode_to_string_without_replacement(bytes, &mut text, true);
    match result {
        DecoderResult::InputEmpty => Ok(Cow::Owned(text)),
        DecoderResult::Malformed(bad, _) => {
            let at = read.saturating_sub(usize::from(bad));
            Err(undecodable_at(bytes, at, encoding))
        }
        DecoderResult::OutputFull => Err(undecodable_at(bytes, read, encoding)),
    }
}

fn undecodable_at(bytes: &[u8], at: usize, encoding: &'static Encoding) -> Undecodable {
    let (row, line) = row_and_line_at(bytes, at);
    Undecodable {
        row,
        line,
        message: format!(
            "is not valid {} text (byte {})",
            encoding.name(),
            shown_bytes(&bytes[at..])
        ),
    }
}

/// Where detection failed: the first byte that is not UTF-8, described for the user.
fn first_undecodable(bytes: &[u8]) -> Undecodable {
    let at = match std::str::from_utf8(bytes) {
        Err(err) => err.valid_up_to(),
        // Valid UTF-8 with control characters: point at the first one.
        Ok(text) => text
            .char_indices()
            .find(|(_, c)| is_stray_control(*c))
            .map_or(0, |(i, _)| i),
    };
    let (row, line) = row_and_line_at(bytes, at);
    let zeros = bytes.iter().take(4096).filter(|b| **b == 0).count();
    let message = if zeros * 4 > bytes.len().min(4096) {
        format!(
            "is not {DETECTED} text: it looks like UTF-16 without a byte order mark (first bytes {})",
            shown_bytes(bytes)
        )
    } else {
        format!(
            "is not {DETECTED} text (first undecodable bytes {})",
            shown_bytes(&bytes[at..])
        )
    };
    Undecodable { row, line, message }
}

fn shown_bytes(bytes: &[u8]) -> String {
    bytes
        .iter()
        .take(4)
        .map(|b| format!("0x{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The spreadsheet row and physical line of byte `at`: line breaks inside quotes continue a row.
fn row_and_line_at(bytes: &[u8], at: usize) -> (u32, u32) {
    let (mut row, mut line, mut quoted) = (1u32, 1u32, false);
    for &byte in &bytes[..at.min(bytes.len())] {
        match byte {
            b'"' => quoted = !quoted,
            b'\n' => {
                line = line.saturating_add(1);
                if !quoted {
                    row = row.saturating_add(1);
                }
            }
            _ => {}
        }
    }
    (row, line)
}

/// Control characters other than tab and line breaks: never in a real spreadsheet export, but
/// what decoding a file in the wrong encoding produces (C1 controls from Windows-1252's unused
/// bytes, NULs from UTF-16).
fn is_stray_control(c: char) -> bool {
    (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{FFFD}'
}

fn has_stray_controls(text: &str) -> bool {
    text.chars().any(is_stray_control)
}

/// How Japanese a Shift_JIS reading looks: kana and CJK punctuation count for it; a character
/// squeezed between two ASCII letters (`Cr` + kanji + `me`, what Windows-1252 accents become)
/// and half-width katakana (what Latin-1 letters become) count against it.
fn japanese_score(text: &str) -> i64 {
    let chars: Vec<char> = text.chars().collect();
    let mut score = 0i64;
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii() {
            continue;
        }
        let code = u32::from(c);
        let before = i.checked_sub(1).and_then(|j| chars.get(j));
        let after = chars.get(i + 1);
        let squeezed = before.is_some_and(char::is_ascii_alphabetic)
            && after.is_some_and(char::is_ascii_alphabetic);
        score += match code {
            _ if squeezed => -3,
            0x3040..=0x30FF | 0x3000..=0x303F | 0xFF01..=0xFF5E => 2,
            0x4E00..=0x9FFF => 1,
            0xFF61..=0xFF9F => -1,
            _ => 0,
        };
    }
    score
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(encoding: &'static Encoding, text: &str) -> Vec<u8> {
        encoding.encode(text).0.into_owned()
    }

    const JAPANESE: &str =
        "board,title,image\n動物,眠っている猫,a.jpg\nどうぶつ,ネコとイヌ,b.jpg\n";
    const FRENCH: &str =
        "board,title,image\nCuisine,Crème brûlée,a.jpg\nMünchen,Grüße aus Köln,b.jpg\n";

    #[test]
    fn utf8_with_and_without_bom() {
        let decoded = decode(JAPANESE.as_bytes(), None).unwrap();
        assert_eq!(decoded.encoding, UTF_8);
        assert!(matches!(decoded.text, Cow::Borrowed(_)));
        let mut with_bom = b"\xEF\xBB\xBF".to_vec();
        with_bom.extend_from_slice(JAPANESE.as_bytes());
        assert_eq!(decode(&with_bom, None).unwrap().text, JAPANESE);
    }

    #[test]
    fn utf16_with_a_bom_either_way() {
        for (encoding, bom) in [(UTF_16LE, &b"\xFF\xFE"[..]), (UTF_16BE, &b"\xFE\xFF"[..])] {
            let mut bytes = bom.to_vec();
            for unit in JAPANESE.encode_utf16() {
                let pair = if encoding == UTF_16LE {
                    unit.to_le_bytes()
                } else {
                    unit.to_be_bytes()
                };
                bytes.extend_from_slice(&pair);
            }
            let decoded = decode(&bytes, None).unwrap();
            assert_eq!(decoded.encoding, encoding);
            assert_eq!(decoded.text, JAPANESE);
        }
    }

    #[test]
    fn shift_jis_and_windows_1252_are_told_apart() {
        let bytes = encode(SHIFT_JIS, JAPANESE);
        let decoded = decode(&bytes, None).unwrap();
        assert_eq!(decoded.encoding, SHIFT_JIS);
        assert_eq!(decoded.text, JAPANESE);
        let bytes = encode(WINDOWS_1252, FRENCH);
        let decoded = decode(&bytes, None).unwrap();
        assert_eq!(decoded.encoding, WINDOWS_1252);
        assert_eq!(decoded.text, FRENCH);
        for word in ["Crème", "déjà vu", "Straße", "Åsa Öberg", "naïve café"] {
            let text = format!("title\n{word}\n");
            let bytes = encode(WINDOWS_1252, &text);
            let decoded = decode(&bytes, None).unwrap();
            assert_eq!(decoded.text, text, "{word}");
        }
    }

    #[test]
    fn undecodable_files_name_the_first_bad_row() {
        // UTF-16 without a BOM: NULs everywhere.
        let bytes: Vec<u8> = "title\nhello\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let err = decode(&bytes, None).unwrap_err();
        assert!(
            err.message.contains("UTF-16 without a byte order mark"),
            "{err:?}"
        );
        // Windows-1252's unused byte 0x81 in the third row.
        let err = decode(b"title\nok\nbad \x81 here\n", None).unwrap_err();
        assert_eq!((err.row, err.line), (3, 3));
        assert!(err.message.contains("0x81"), "{}", err.message);
    }

    #[test]
    fn a_forced_encoding_is_strict_and_rows_follow_quotes() {
        let bytes = encode(SHIFT_JIS, JAPANESE);
        assert_eq!(decode(&bytes, Some(SHIFT_JIS)).unwrap().text, JAPANESE);
        let err = decode(&bytes, Some(UTF_8)).unwrap_err();
        assert_eq!(err.row, 2);
        assert!(err.message.starts_with("is not valid UTF-8 text"));
        let err = decode(b"a,b\n\"x\ny\",z\n1,\xff\n", Some(UTF_8)).unwrap_err();
        assert_eq!((err.row, err.line), (3, 4));
    }

    #[test]
    fn names_people_use() {
        assert_eq!(by_name("CP932"), Some(SHIFT_JIS));
        assert_eq!(by_name("shift_jis"), Some(SHIFT_JIS));
        assert_eq!(by_name("cp1252"), Some(WINDOWS_1252));
        assert_eq!(by_name("latin1"), Some(WINDOWS_1252));
        assert_eq!(by_name("UTF-16"), Some(UTF_16LE));
        assert_eq!(by_name("utf-16be"), Some(UTF_16BE));
        assert_eq!(by_name("utf8"), Some(UTF_8));
        assert_eq!(by_name("klingon"), None);
    }
}

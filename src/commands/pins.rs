//! `pinbatch pins list|get|delete`: the pins an account already has, whoever made them. Lists
//! read every page (newest first by `created_at`, whatever order the listing came in); the CSV
//! form writes manifest columns, so a listing can be edited and read back by `validate`,
//! `import` and `apply`. Deleting asks first.

use std::collections::HashMap;
use std::io::{BufRead as _, IsTerminal as _, Write as _};

use anyhow::Context as _;
use serde::Serialize;

use super::boards::{render_table, to_csv};
use crate::api::ApiClient;
use crate::api::types::{Pin, largest_image};
use crate::cli::{GlobalArgs, ListFormat, PinsCommand, PinsDeleteArgs, PinsGetArgs, PinsListArgs};
use crate::commands::exit::{ExitStatus, Fatal};
use crate::commands::settings::{api_failure, command_client, lookup_failure};
use crate::manifest::BoardRef;
use crate::plan::resolve;

/// Runs a `pins` subcommand.
pub async fn run(global: &GlobalArgs, command: &PinsCommand) -> anyhow::Result<ExitStatus> {
    match command {
        PinsCommand::List(args) => list(global, args).await,
        PinsCommand::Get(args) => get(global, args).await,
        PinsCommand::Delete(args) => delete(global, args).await,
    }
}

async fn list(global: &GlobalArgs, args: &PinsListArgs) -> anyhow::Result<ExitStatus> {
    let client = command_client(global, &args.network)?;
    let board = BoardRef::parse(args.board.trim());
    let (board_id, section_id) = resolve::lookup(&client, &board, args.section.as_deref())
        .await
        .map_err(lookup_failure)?;
    let mut pins = match &section_id {
        Some(section_id) => client.list_section_pins(&board_id, section_id).await,
        None => client.list_board_pins(&board_id).await,
    }
    .map_err(api_failure)
    .with_context(|| format!("cannot list the pins of board `{}`", args.board))?;
    newest_first(&mut pins);
    if let Some(limit) = args.limit {
        pins.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    }
    let sections = section_names(&client, &board_id, &pins).await?;
    print_pins(&pins, &sections, &args.board, args.format)?;
    if !global.quiet && args.format == ListFormat::Table {
        eprintln!("{} pin(s)", pins.len());
    }
    Ok(ExitStatus::Success)
}

async fn get(global: &GlobalArgs, args: &PinsGetArgs) -> anyhow::Result<ExitStatus> {
    let client = command_client(global, &args.network)?;
    let pin = client
        .get_pin(&args.id)
        .await
        .map_err(api_failure)
        .with_context(|| format!("cannot read pin {}", args.id))?;
    let sections = match &pin.board_id {
        Some(board_id) => section_names(&client, board_id, std::slice::from_ref(&pin)).await?,
        None => HashMap::new(),
    };
    let board = pin.board_id.clone().unwrap_or_default();
    match args.format {
        ListFormat::Table => {
            let row = PinRow::of(&pin, &sections);
            let mut out = std::io::stdout().lock();
            let lines = [
                ("ID", row.id.to_owned()),
                ("Created", row.created_at.unwrap_or("").to_owned()),
                ("Title", row.title.unwrap_or("").to_owned()),
                ("Description", row.description.unwrap_or("").to_owned()),
                ("Link", row.link.unwrap_or("").to_owned()),
                ("Alt text", row.alt_text.unwrap_or("").to_owned()),
                ("Media", row.media_type.unwrap_or("").to_owned()),
                ("Board", row.board_id.unwrap_or("").to_owned()),
                ("Section", row.section.unwrap_or("").to_owned()),
                ("AI labels", row.ai_disclosures.join(", ")),
                ("URL", row.url.clone()),
            ];
            for (name, value) in lines {
                writeln!(out, "{:<13}{}", format!("{name}:"), one_line(&value))?;
            }
        }
        ListFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&PinRow::of(&pin, &sections))?
        ),
        ListFormat::Csv => print_pins(
            std::slice::from_ref(&pin),
            &sections,
            &board,
            ListFormat::Csv,
        )?,
    }
    Ok(ExitStatus::Success)
}

async fn delete(global: &GlobalArgs, args: &PinsDeleteArgs) -> anyhow::Result<ExitStatus> {
    let mut ids: Vec<&str> = Vec::new();
    for id in &args.ids {
        if !ids.contains(&id.as_str()) {
            ids.push(id);
        }
    }
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(Fatal::new(
                ExitStatus::Usage,
                format!(
                    "refusing to delete {} pin(s) without confirmation: standard input is not a terminal",
                    ids.len()
                ),
            )
            .with_hint("pass --yes to delete without asking")
            .into());
        }
        eprint!(
            "Delete {} pin(s) ({}) from Pinterest? This cannot be undone. [y/N] ",
            ids.len(),
            ids.join(", ")
        );
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            eprintln!("Nothing was deleted.");
            return Ok(ExitStatus::Failure);
        }
    }
    let client = command_client(global, &args.network)?;
    let mut failed = 0usize;
    for id in &ids {
        match client.delete_pin(id).await {
            Ok(()) => println!("deleted {id}"),
            Err(err) if err.is_auth() => return Err(api_failure(err)),
            Err(err) => {
                failed += 1;
                let hint = err
                    .hint()
                    .map(|h| format!(" (hint: {h})"))
                    .unwrap_or_default();
                println!("failed  {id}: {err}{hint}");
            }
        }
    }
    if !global.quiet {
        eprintln!("{} deleted, {failed} failed", ids.len() - failed);
    }
    Ok(if failed == 0 {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// Sorts pins newest first by `created_at` (pins without one last), then by id, highest first.
/// Pinterest documents no order for its listings, so none is assumed.
fn newest_first(pins: &mut [Pin]) {
    let number = |id: &str| id.parse::<u128>().unwrap_or(0);
    pins.sort_by(|a, b| {
        let created = |pin: &Pin| pin.created_ms();
        created(b)
            .cmp(&created(a))
            .then_with(|| number(&b.id).cmp(&number(&a.id)))
    });
}

/// Section names by id for the sections `pins` are in (one listing of the board's sections,
/// only when some pin is in one).
async fn section_names(
    client: &ApiClient,
    board_id: &str,
    pins: &[Pin],
) -> anyhow::Result<HashMap<String, String>> {
    if pins.iter().all(|pin| pin.board_section_id.is_none()) {
        return Ok(HashMap::new());
    }
    let sections = client.list_sections(board_id).await.map_err(api_failure)?;
    Ok(sections.into_iter().map(|s| (s.id, s.name)).collect())
}

/// A pin as `pins list --format json` prints it.
#[derive(Debug, Serialize)]
struct PinRow<'a> {
    id: &'a str,
    created_at: Option<&'a str>,
    title: Option<&'a str>,
    description: Option<&'a str>,
    link: Option<&'a str>,
    alt_text: Option<&'a str>,
    media_type: Option<&'a str>,
    board_id: Option<&'a str>,
    section_id: Option<&'a str>,
    section: Option<&'a str>,
    ai_disclosures: Vec<&'a str>,
    url: String,
}

impl<'a> PinRow<'a> {
    fn of(pin: &'a Pin, sections: &'a HashMap<String, String>) -> Self {
        PinRow {
            id: &pin.id,
            created_at: pin.created_at.as_deref(),
            title: pin.title.as_deref(),
            description: pin.description.as_deref(),
            link: pin.link.as_deref(),
            alt_text: pin.alt_text.as_deref(),
            media_type: pin.media.as_ref().and_then(|m| m.media_type.as_deref()),
            board_id: pin.board_id.as_deref(),
            section_id: pin.board_section_id.as_deref(),
            section: pin
                .board_section_id
                .as_ref()
                .and_then(|id| sections.get(id))
                .map(String::as_str),
            ai_disclosures: labels(pin),
            url: crate::apply::progress::pin_url(&pin.id),
        }
    }
}

fn labels(pin: &Pin) -> Vec<&str> {
    pin.ai_disclosures
        .as_ref()
        .map(|d| d.values.iter().map(String::as_str).collect())
        .unwrap_or_default()
}

/// A pin as a manifest CSV row (`pins list --format csv`): pinbatch's own columns, the pin id
/// as the key, and Pinterest's copies of the images as the media.
#[derive(Debug, Serialize)]
struct ManifestRow<'a> {
    id: &'a str,
    board: &'a str,
    section: Option<&'a str>,
    title: Option<&'a str>,
    description: Option<&'a str>,
    link: Option<&'a str>,
    alt_text: Option<&'a str>,
    dominant_color: Option<&'a str>,
    ai_disclosures: String,
    image: String,
}

/// The image cell of a pin: its largest served copy, or `|`-separated copies for a carousel.
/// Empty for a video, whose file Pinterest does not hand back.
fn image_cell(pin: &Pin) -> String {
    let Some(media) = &pin.media else {
        return String::new();
    };
    match media.media_type.as_deref() {
        Some("image") => media
            .images
            .as_ref()
            .and_then(largest_image)
            .unwrap_or_default()
            .to_owned(),
        Some("multiple_images") => media
            .items
            .iter()
            .flatten()
            .filter_map(|item| item.images.as_ref().and_then(largest_image))
            .collect::<Vec<_>>()
            .join("|"),
        _ => String::new(),
    }
}

fn print_pins(
    pins: &[Pin],
    sections: &HashMap<String, String>,
    board: &str,
    format: ListFormat,
) -> anyhow::Result<()> {
    match format {
        ListFormat::Json => {
            let rows: Vec<PinRow<'_>> = pins.iter().map(|p| PinRow::of(p, sections)).collect();
            println!("{}", serde_json::to_string_pretty(&rows)?);
        }
        ListFormat::Csv => {
            let rows: Vec<ManifestRow<'_>> = pins
                .iter()
                .map(|pin| ManifestRow {
                    id: &pin.id,
                    board,
                    section: pin
                        .board_section_id
                        .as_ref()
                        .and_then(|id| sections.get(id))
                        .map(String::as_str),
                    title: pin.title.as_deref(),
                    description: pin.description.as_deref(),
                    link: pin.link.as_deref(),
                    alt_text: pin.alt_text.as_deref(),
                    dominant_color: pin.dominant_color.as_deref(),
                    ai_disclosures: labels(pin).join("|"),
                    image: image_cell(pin),
                })
                .collect();
            for row in rows.iter().filter(|row| row.image.is_empty()) {
                eprintln!(
                    "warning: pin {} has no image Pinterest hands back (a video): fill in its `video` (a local file) before using the CSV as a manifest",
                    row.id
                );
            }
            print!("{}", to_csv(&rows)?);
        }
        ListFormat::Table => {
            let table: Vec<Vec<String>> = pins
                .iter()
                .map(|pin| {
                    let row = PinRow::of(pin, sections);
                    vec![
                        row.id.to_owned(),
                        row.created_at.unwrap_or("").to_owned(),
                        one_line(row.title.unwrap_or("")),
                        row.link.unwrap_or("").to_owned(),
                        row.media_type.unwrap_or("").to_owned(),
                        row.section.or(row.section_id).unwrap_or("").to_owned(),
                        row.url,
                    ]
                })
                .collect();
            print!(
                "{}",
                render_table(
                    &["ID", "CREATED", "TITLE", "LINK", "MEDIA", "SECTION", "URL"],
                    &table
                )
            );
        }
    }
    Ok(())
}

fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pin(id: &str, created_at: Option<&str>) -> Pin {
        Pin {
            id: id.to_owned(),
            created_at: created_at.map(str::to_owned),
            ..Pin::default()
        }
    }

    #[test]
    fn pins_are_sorted_newest_first_whatever_the_listing_order() {
        let mut pins = vec![
            pin("5", Some("2026-12-01T10:00:00")),
            pin("9", None),
            pin("7", Some("2026-12-02T10:00:00")),
            pin("8", Some("2026-12-01T10:00:00")),
        ];
        newest_first(&mut pins);
        let ids: Vec<&str> = pins.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["7", "8", "5", "9"]);
    }

    #[test]
    fn the_image_cell_is_the_largest_copy_and_empty_for_videos() {
        let pin: Pin = serde_json::from_value(serde_json::json!({
            "id": "1",
            "media": {"media_type": "multiple_images", "items": [
                {"images": {"150x150": {"url": "s1"}, "1200x": {"url": "l1"}}},
                {"images": {"600x": {"url": "m2"}}}
            ]}
        }))
        .unwrap();
        assert_eq!(image_cell(&pin), "l1|m2");
        let video: Pin = serde_json::from_value(serde_json::json!({
            "id": "2", "media": {"media_type": "video", "images": {"1200x": {"url": "cover"}}}
        }))
        .unwrap();
        assert_eq!(image_cell(&video), "");
    }
}

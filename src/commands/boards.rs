//! `pinbatch boards list|create` and `pinbatch sections list`: inspect and prepare boards,
//! printed as a table, JSON or CSV on stdout.

use anyhow::Context;
use serde::Serialize;

use crate::api::Environment;
use crate::api::types::{Board, BoardCreate, BoardPrivacy, BoardSection};
use crate::cli::{
    BoardsCommand, BoardsCreateArgs, GlobalArgs, ListFormat, PrivacyArg, SectionsCommand,
    SectionsListArgs,
};
use crate::commands::exit::ExitStatus;
use crate::commands::settings::{
    ClientOptions, GlobalSettings, api_failure, command_client, lookup_failure,
};
use crate::manifest::BoardRef;
use crate::plan::resolve;

/// Runs a `boards` subcommand.
pub async fn run(global: &GlobalArgs, command: &BoardsCommand) -> anyhow::Result<ExitStatus> {
    match command {
        BoardsCommand::List(args) => {
            let settings = GlobalSettings::resolve(global)?;
            let client = settings.api_client(ClientOptions::from_args(&args.network))?;
            let boards = client.list_boards().await.map_err(api_failure)?;
            print_boards(&boards, args.format)?;
            if let Some(note) = sandbox_note(&settings.environment)
                && !global.quiet
            {
                eprintln!("{note}");
            }
            Ok(ExitStatus::Success)
        }
        BoardsCommand::Create(args) => create(global, args).await,
    }
}

/// Runs a `sections` subcommand.
pub async fn run_sections(
    global: &GlobalArgs,
    command: &SectionsCommand,
) -> anyhow::Result<ExitStatus> {
    match command {
        SectionsCommand::List(args) => list_sections(global, args).await,
    }
}

/// What `boards list` adds on the sandbox: its boards are not the account's real boards.
fn sandbox_note(environment: &Environment) -> Option<String> {
    (*environment == Environment::Sandbox).then(|| {
        format!(
            "note: these are the sandbox's boards ({}): sandbox boards and pins are separate from production's and visible only to you; publish without --sandbox once the app has Standard access",
            environment.origin()
        )
    })
}

async fn create(global: &GlobalArgs, args: &BoardsCreateArgs) -> anyhow::Result<ExitStatus> {
    let client = command_client(global, &args.network)?;
    // Pinterest refuses duplicate names with a vague message; say which board is in the way.
    let boards = client.list_boards().await.map_err(api_failure)?;
    if let Some(existing) = boards.iter().find(|b| b.name == args.name) {
        anyhow::bail!(
            "a board named `{}` already exists (id {})",
            existing.name,
            existing.id
        );
    }
    let request = BoardCreate {
        name: args.name.clone(),
        description: args.description.clone(),
        privacy: args.privacy.map(|privacy| match privacy {
            PrivacyArg::Public => BoardPrivacy::Public,
            PrivacyArg::Protected => BoardPrivacy::Protected,
            PrivacyArg::Secret => BoardPrivacy::Secret,
        }),
    };
    let board = client
        .create_board(&request)
        .await
        .map_err(api_failure)
        .with_context(|| format!("cannot create the board `{}`", args.name))?;
    print_boards(std::slice::from_ref(&board), args.format)?;
    Ok(ExitStatus::Success)
}

async fn list_sections(global: &GlobalArgs, args: &SectionsListArgs) -> anyhow::Result<ExitStatus> {
    let client = command_client(global, &args.network)?;
    // Names are looked up as `apply` and `pins list` look them up; a numeric board is an id
    // (which may be a board not in the account's list, say another user's group board).
    let board = BoardRef::parse(args.board.trim());
    let (board_id, _) = resolve::lookup(&client, &board, None)
        .await
        .map_err(lookup_failure)?;
    let sections = client.list_sections(&board_id).await.map_err(api_failure)?;
    print_sections(&sections, args.format)?;
    Ok(ExitStatus::Success)
}

/// A board as printed by `boards list --format json|csv`.
#[derive(Debug, Serialize)]
struct BoardRow<'a> {
    id: &'a str,
    name: &'a str,
    description: Option<&'a str>,
    privacy: Option<&'a str>,
    pin_count: Option<u64>,
}

fn print_boards(boards: &[Board], format: ListFormat) -> anyhow::Result<()> {
    let rows: Vec<BoardRow<'_>> = boards
        .iter()
        .map(|b| BoardRow {
            id: &b.id,
            name: &b.name,
            description: b.description.as_deref(),
            privacy: b.privacy.as_deref(),
            pin_count: b.pin_count,
        })
        .collect();
    match format {
        ListFormat::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
        ListFormat::Csv => print!("{}", to_csv(&rows)?),
        ListFormat::Table => {
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    vec![
                        r.id.to_owned(),
                        r.name.to_owned(),
                        r.privacy.unwrap_or("").to_owned(),
                        r.pin_count.map(|c| c.to_string()).unwrap_or_default(),
                        r.description.unwrap_or("").replace('\n', " "),
                    ]
                })
                .collect();
            print!(
                "{}",
                render_table(&["ID", "NAME", "PRIVACY", "PINS", "DESCRIPTION"], &table)
            );
        }
    }
    Ok(())
}

fn print_sections(sections: &[BoardSection], format: ListFormat) -> anyhow::Result<()> {
    match format {
        ListFormat::Json => println!("{}", serde_json::to_string_pretty(sections)?),
        ListFormat::Csv => print!("{}", to_csv(sections)?),
        ListFormat::Table => {
            let table: Vec<Vec<String>> = sections
                .iter()
                .map(|s| vec![s.id.clone(), s.name.clone()])
                .collect();
            print!("{}", render_table(&["ID", "NAME"], &table));
        }
    }
    Ok(())
}

pub(super) fn to_csv<T: Serialize>(rows: &[T]) -> anyhow::Result<String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer.serialize(row)?;
    }
    let bytes = writer.into_inner().context("cannot write CSV")?;
    Ok(String::from_utf8(bytes)?)
}

/// Left-aligned columns separated by two spaces; the last column is not padded.
pub(super) fn render_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let width = |text: &str| text.chars().count();
    let mut widths: Vec<usize> = header.iter().map(|h| width(h)).collect();
    for row in rows {
        for (column, cell) in row.iter().enumerate() {
            widths[column] = widths[column].max(width(cell));
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let last = row.len().saturating_sub(1);
        for (column, cell) in row.iter().enumerate() {
            out.push_str(cell);
            if column < last {
                out.push_str(&" ".repeat(widths[column] - width(cell) + 2));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_sandbox_says_its_boards_are_separate() {
        let note = sandbox_note(&Environment::Sandbox).unwrap();
        assert!(note.contains("separate from production"), "{note}");
        assert_eq!(sandbox_note(&Environment::Production), None);
        assert_eq!(
            sandbox_note(&Environment::Custom("http://127.0.0.1:1".into())),
            None
        );
    }

    #[test]
    fn tables_align_unicode_columns() {
        let table = render_table(
            &["ID", "NAME"],
            &[
                vec!["1".into(), "動物".into()],
                vec!["22".into(), "x".into()],
            ],
        );
        assert_eq!(table, "ID  NAME\n1   動物\n22  x\n");
    }

    #[test]
    fn csv_has_a_header_and_empty_optional_cells() {
        let rows = vec![BoardRow {
            id: "1",
            name: "A, B",
            description: None,
            privacy: Some("PUBLIC"),
            pin_count: Some(3),
        }];
        assert_eq!(
            to_csv(&rows).unwrap(),
            "id,name,description,privacy,pin_count\n1,\"A, B\",,PUBLIC,3\n"
        );
    }
}

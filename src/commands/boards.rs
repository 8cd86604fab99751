//! `pinbatch boards list|create` and `pinbatch sections list`: inspect and prepare boards,
//! printed as a table, JSON or CSV on stdout.

use anyhow::Context;
use serde::Serialize;

use crate::api::types::{Board, BoardCreate, BoardPrivacy, BoardSection};
use crate::api::{ApiClient, Environment};
use crate::cli::{
    BoardsCommand, BoardsCreateArgs, GlobalArgs, ListFormat, NetworkArgs, PrivacyArg,
    SectionsCommand, SectionsListArgs,
};
use crate::commands::exit::ExitStatus;
use crate::commands::settings::{ClientOptions, GlobalSettings, api_failure};

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

fn client(global: &GlobalArgs, network: &NetworkArgs) -> anyhow::Result<ApiClient> {
    GlobalSettings::resolve(global)?.api_client(ClientOptions::from_args(network))
}

async fn create(global: &GlobalArgs, args: &BoardsCreateArgs) -> anyhow::Result<ExitStatus> {
    let client = client(global, &args.network)?;
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
    let client = client(global, &args.network)?;
    let boards = client.list_boards().await.map_err(api_failure)?;
    let board_id = match find_board(&boards, &args.board) {
        Ok(board) => board.id.clone(),
        // A numeric id of a board not in the list (say, another user's group board) is tried directly.
        Err(_) if is_id(&args.board) => {
            client.get_board(&args.board).await.map_err(api_failure)?.id
        }
        Err(err) => return Err(err),
    };
    let sections = client.list_sections(&board_id).await.map_err(api_failure)?;
    print_sections(&sections, args.format)?;
    Ok(ExitStatus::Success)
}

fn is_id(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// Finds a board by id or exact name (then case-insensitively); two boards with the name are
/// an error listing their ids, an unknown name suggests close ones.
pub fn find_board<'a>(boards: &'a [Board], wanted: &str) -> anyhow::Result<&'a Board> {
    if let Some(board) = boards.iter().find(|b| b.id == wanted) {
        return Ok(board);
    }
    let mut matches: Vec<&Board> = boards.iter().filter(|b| b.name == wanted).collect();
    if matches.is_empty() {
        let folded = wanted.to_lowercase();
        matches = boards
            .iter()
            .filter(|b| b.name.to_lowercase() == folded)
            .collect();
    }
    match matches.as_slice() {
        [board] => Ok(board),
        [] => {
            let mut close: Vec<&str> = boards
                .iter()
                .filter(|b| {
                    strsim::jaro_winkler(&b.name.to_lowercase(), &wanted.to_lowercase()) > 0.8
                })
                .map(|b| b.name.as_str())
                .collect();
            close.truncate(3);
            if close.is_empty() {
                anyhow::bail!("no board named `{wanted}` (see `pinbatch boards list`)")
            } else {
                anyhow::bail!(
                    "no board named `{wanted}`; did you mean `{}`?",
                    close.join("`, `")
                )
            }
        }
        several => {
            let ids: Vec<String> = several
                .iter()
                .map(|b| format!("{} ({})", b.id, b.name))
                .collect();
            anyhow::bail!(
                "`{wanted}` names {} boards: {}; give the board id instead",
                several.len(),
                ids.join(", ")
            )
        }
    }
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

    fn board(id: &str, name: &str) -> Board {
        Board {
            id: id.into(),
            name: name.into(),
            ..Board::default()
        }
    }

    #[test]
    fn boards_are_found_by_id_name_or_folded_name() {
        let boards = vec![
            board("1", "Animals 動物"),
            board("2", "Nature"),
            board("3", "nature"),
        ];
        assert_eq!(find_board(&boards, "2").unwrap().id, "2");
        assert_eq!(find_board(&boards, "Animals 動物").unwrap().id, "1");
        assert_eq!(find_board(&boards, "animals 動物").unwrap().id, "1");
        // The exact spelling wins over a case-insensitive twin.
        assert_eq!(find_board(&boards, "nature").unwrap().id, "3");
        let err = find_board(&boards, "NATURE").unwrap_err().to_string();
        assert!(
            err.contains("2 (Nature)") && err.contains("3 (nature)"),
            "{err}"
        );
        let err = find_board(&boards, "Natur").unwrap_err().to_string();
        assert!(err.contains("did you mean"), "{err}");
    }

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

//! Board and section resolution: manifest names -> Pinterest ids, with one paginated listing per
//! run, ambiguity errors that list the ids, and creation of declared (or, with `--create-boards`,
//! any) missing boards and sections.
//!
//! Resolution happens in two steps so that nothing is written when something is wrong: [`survey`]
//! only reads and reports every problem at once; [`Survey::create_missing`] then writes.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::api::types::{Board, BoardCreate, BoardPrivacy, BoardSection};
use crate::api::{ApiClient, ApiError};
use crate::manifest::{BoardDecl, BoardRef, Format, Manifest, Privacy};

/// A problem found while resolving; all of them are reported before anything is written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveProblem {
    /// Two or more boards have the name.
    #[error("Board name `{name}` is ambiguous: boards {} have it; write the board id instead", ids.join(", "))]
    AmbiguousBoard {
        /// The name.
        name: String,
        /// The matching boards, as `id (name)`.
        ids: Vec<String>,
    },
    /// No board has the name and it may not be created.
    #[error("Board `{name}` does not exist{}; {}", did_you_mean(suggestion.as_deref()), if *declarable {
        "declare it under `boards:` or pass --create-boards".to_owned()
    } else {
        format!("pass --create-boards, or create it first with `pinbatch boards create {}`", shell_word(name))
    })]
    MissingBoard {
        /// The name.
        name: String,
        /// The account's board name closest to it, when one is close enough to be a typo.
        suggestion: Option<String>,
        /// Whether the manifest could declare it (YAML's `boards:`); CSV and workbooks cannot.
        declarable: bool,
    },
    /// Two or more sections of a board have the name.
    #[error("Section `{section}` of board `{board}` is ambiguous: sections {} have it", ids.join(", "))]
    AmbiguousSection {
        /// The board as written.
        board: String,
        /// The section name.
        section: String,
        /// Matching section ids.
        ids: Vec<String>,
    },
    /// No section has the name and it may not be created.
    #[error("Section `{section}` does not exist on board `{board}`; {}", if *declarable {
        "list it under the board's `sections:` in `boards:` or pass --create-boards"
    } else {
        "pass --create-boards to create it"
    })]
    MissingSection {
        /// The board as written.
        board: String,
        /// The section name.
        section: String,
        /// Whether the manifest could declare it (YAML's `boards:`); CSV and workbooks cannot.
        declarable: bool,
    },
}

/// The ids pins are sent to.
#[derive(Debug, Clone, Default)]
pub struct ResolvedBoards {
    boards: HashMap<BoardRef, String>,
    sections: HashMap<(String, String), String>,
}

impl ResolvedBoards {
    /// The board id for a reference, once resolved.
    pub fn board_id(&self, board: &BoardRef) -> Option<&str> {
        self.boards.get(board).map(String::as_str)
    }

    /// The section id for a section name on a resolved board.
    pub fn section_id(&self, board_id: &str, section: &str) -> Option<&str> {
        self.sections
            .get(&(board_id.to_owned(), section.to_owned()))
            .map(String::as_str)
    }
}

/// What reading the account's boards found: resolved ids and what has to be created.
#[derive(Debug, Default)]
pub struct Survey {
    /// What is already resolved.
    pub resolved: ResolvedBoards,
    /// Boards to create, by name.
    pub boards_to_create: Vec<BoardCreate>,
    /// Sections to create: (board as written, section name).
    pub sections_to_create: Vec<(BoardRef, String)>,
    /// Everything that is wrong.
    pub problems: Vec<ResolveProblem>,
}

/// What may be created when missing: boards declared under `boards:` (with their sections),
/// or anything with `--create-boards`.
struct CreationRules<'a> {
    declared: HashMap<&'a str, &'a BoardDecl>,
    create_boards: bool,
    /// Whether the manifest could declare boards (YAML's `boards:`); CSV and workbooks cannot.
    declarable: bool,
}

/// Reads the account's boards (once, all pages) and the sections of the boards that need them,
/// and works out ids for every `(board, section)` in `needed`.
pub async fn survey(
    client: &ApiClient,
    manifest: &Manifest,
    needed: &BTreeSet<(BoardRef, Option<String>)>,
    create_boards: bool,
) -> Result<Survey, ApiError> {
    let mut survey = Survey::default();
    let rules = CreationRules {
        declared: manifest
            .boards
            .iter()
            .map(|decl| (decl.name.as_str(), decl))
            .collect(),
        create_boards,
        // CSV and workbook users cannot declare boards: their hints name what they can do.
        declarable: Format::of(&manifest.path).is_some_and(Format::declares_boards),
    };
    let needs_names = needed
        .iter()
        .any(|(board, _)| matches!(board, BoardRef::Name(_)));
    let listing = if needs_names {
        client.list_boards().await?
    } else {
        Vec::new()
    };
    let boards: Vec<BoardRef> = needed
        .iter()
        .map(|(board, _)| board.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    for board in &boards {
        survey.resolve_board(board, &listing, &rules);
    }
    survey.resolve_sections(client, needed, &rules).await?;
    Ok(survey)
}

impl Survey {
    /// Resolves one board: an id as is, a name by the listing; a missing one is to be created
    /// when declared (or with `--create-boards`), else a problem.
    fn resolve_board(&mut self, board: &BoardRef, listing: &[Board], rules: &CreationRules<'_>) {
        match board {
            BoardRef::Id(id) => {
                self.resolved.boards.insert(board.clone(), id.clone());
            }
            BoardRef::Name(name) => {
                let named = listing.iter().map(|b| (b.id.as_str(), b.name.as_str()));
                let found = find_by_name(named.clone(), name);
                match found.as_slice() {
                    [(id, _)] => {
                        self.resolved.boards.insert(board.clone(), (*id).to_owned());
                    }
                    [] => {
                        if let Some(decl) = rules.declared.get(name.as_str()) {
                            self.boards_to_create.push(BoardCreate {
                                name: name.clone(),
                                description: decl.description.clone(),
                                privacy: decl.privacy.map(|privacy| match privacy {
                                    Privacy::Public => BoardPrivacy::Public,
                                    Privacy::Protected => BoardPrivacy::Protected,
                                    Privacy::Secret => BoardPrivacy::Secret,
                                }),
                            });
                        } else if rules.create_boards {
                            self.boards_to_create.push(BoardCreate {
                                name: name.clone(),
                                description: None,
                                privacy: None,
                            });
                        } else {
                            let names: Vec<&str> = named.map(|(_, name)| name).collect();
                            self.problems.push(ResolveProblem::MissingBoard {
                                name: name.clone(),
                                suggestion: did_you_mean_name(name, &names),
                                declarable: rules.declarable,
                            });
                        }
                    }
                    several => self.problems.push(ResolveProblem::AmbiguousBoard {
                        name: name.clone(),
                        ids: listed(several),
                    }),
                }
            }
        }
    }

    /// Resolves the sections, listing each board's sections once; a missing one is to be
    /// created when declared (or with `--create-boards`), else a problem.
    async fn resolve_sections(
        &mut self,
        client: &ApiClient,
        needed: &BTreeSet<(BoardRef, Option<String>)>,
        rules: &CreationRules<'_>,
    ) -> Result<(), ApiError> {
        // Sections, grouped by board so each board's sections are listed once.
        let mut sections_by_board: BTreeMap<&BoardRef, BTreeSet<&str>> = BTreeMap::new();
        for (board, section) in needed {
            if let Some(section) = section {
                sections_by_board.entry(board).or_default().insert(section);
            }
        }
        for (board, names) in sections_by_board {
            let may_create = |section: &str| {
                rules.create_boards
                    || matches!(board, BoardRef::Name(name)
                        if rules.declared.get(name.as_str()).is_some_and(|d| d.sections.iter().any(|s| s == section)))
            };
            let Some(board_id) = self.resolved.board_id(board).map(str::to_owned) else {
                // The board will be created: all its sections are new.
                for section in names {
                    if may_create(section) {
                        self
                            .sections_to_create
                            .push((board.clone(), section.to_owned()));
                    } else if !self.problems.iter().any(|p| matches!(p, ResolveProblem::MissingBoard { name, .. } if BoardRef::Name(name.clone()) == *board)) {
                        self.problems.push(ResolveProblem::MissingSection {
                            board: board.to_string(),
                            section: section.to_owned(),
                            declarable: rules.declarable,
                        });
                    }
                }
                continue;
            };
            let existing: Vec<BoardSection> = client.list_sections(&board_id).await?;
            for section in names {
                let found = find_by_name(
                    existing.iter().map(|s| (s.id.as_str(), s.name.as_str())),
                    section,
                );
                match found.as_slice() {
                    [(id, _)] => {
                        self.resolved
                            .sections
                            .insert((board_id.clone(), section.to_owned()), (*id).to_owned());
                    }
                    [] if may_create(section) => self
                        .sections_to_create
                        .push((board.clone(), section.to_owned())),
                    [] => self.problems.push(ResolveProblem::MissingSection {
                        board: board.to_string(),
                        section: section.to_owned(),
                        declarable: rules.declarable,
                    }),
                    several => self.problems.push(ResolveProblem::AmbiguousSection {
                        board: board.to_string(),
                        section: section.to_owned(),
                        ids: several.iter().map(|(id, _)| (*id).to_owned()).collect(),
                    }),
                }
            }
        }
        Ok(())
    }
}

impl Survey {
    /// Creates the missing boards and sections and returns the complete resolution.
    /// `on_created` hears about each one created, for the user.
    pub async fn create_missing(
        mut self,
        client: &ApiClient,
        mut on_created: impl FnMut(&str),
    ) -> Result<ResolvedBoards, ApiError> {
        for create in std::mem::take(&mut self.boards_to_create) {
            let board = client.create_board(&create).await?;
            on_created(&format!("created board `{}` ({})", board.name, board.id));
            self.resolved
                .boards
                .insert(BoardRef::Name(create.name.clone()), board.id);
        }
        for (board, name) in std::mem::take(&mut self.sections_to_create) {
            let Some(board_id) = self.resolved.board_id(&board).map(str::to_owned) else {
                continue;
            };
            let section = client.create_section(&board_id, &name).await?;
            on_created(&format!(
                "created section `{}` on board `{board}` ({})",
                section.name, section.id
            ));
            self.resolved.sections.insert((board_id, name), section.id);
        }
        Ok(self.resolved)
    }
}

/// Why one board (and section) could not be looked up for a command that only reads.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LookupError {
    /// The listing could not be read.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The name is ambiguous.
    #[error("{0}")]
    Ambiguous(ResolveProblem),
    /// No board has the name.
    #[error("Board `{name}` does not exist{} (see `pinbatch boards list`)", did_you_mean(suggestion.as_deref()))]
    NoBoard {
        /// The name.
        name: String,
        /// The account's board name closest to it, when one is close enough to be a typo.
        suggestion: Option<String>,
    },
    /// The board has no section of the name.
    #[error("Section `{section}` does not exist on board `{board}` (see `pinbatch sections list`)")]
    NoSection {
        /// The board as written.
        board: String,
        /// The section name.
        section: String,
    },
}

/// Looks up one existing board, and a section of it, for a command that only reads (`pins
/// list`, `sections list`): the names are matched as `apply` matches them (one listing of every page, exact
/// names first, then case-insensitive; a numeric board is an id), with the same ambiguity
/// errors, and nothing is created. Returns the board id and the section id.
pub(crate) async fn lookup(
    client: &ApiClient,
    board: &BoardRef,
    section: Option<&str>,
) -> Result<(String, Option<String>), LookupError> {
    let nothing_declared = Manifest {
        path: std::path::PathBuf::new(),
        boards: Vec::new(),
        pins: Vec::new(),
        schedule: None,
    };
    let needed = BTreeSet::from([(board.clone(), section.map(str::to_owned))]);
    let found = survey(client, &nothing_declared, &needed, false).await?;
    if let Some(problem) = found.problems.into_iter().next() {
        return Err(match problem {
            ResolveProblem::MissingBoard {
                name, suggestion, ..
            } => LookupError::NoBoard { name, suggestion },
            ResolveProblem::MissingSection { board, section, .. } => {
                LookupError::NoSection { board, section }
            }
            ambiguous => LookupError::Ambiguous(ambiguous),
        });
    }
    let board_id = found
        .resolved
        .board_id(board)
        .ok_or_else(|| LookupError::NoBoard {
            name: board.to_string(),
            suggestion: None,
        })?
        .to_owned();
    let section_id = match section {
        None => None,
        Some(name) => Some(
            found
                .resolved
                .section_id(&board_id, name)
                .ok_or_else(|| LookupError::NoSection {
                    board: board.to_string(),
                    section: name.to_owned(),
                })?
                .to_owned(),
        ),
    };
    Ok((board_id, section_id))
}

/// A board name as one shell word: as is when it is plain, else in single quotes.
fn shell_word(name: &str) -> String {
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    if plain {
        name.to_owned()
    } else {
        format!("'{}'", name.replace('\'', r"'\''"))
    }
}

/// The `(id, name)` items whose name matches: exact matches win; otherwise case-insensitive
/// ones. The one way a board or section name is looked up.
fn find_by_name<'a>(
    items: impl Iterator<Item = (&'a str, &'a str)> + Clone,
    name: &str,
) -> Vec<(&'a str, &'a str)> {
    let exact: Vec<(&str, &str)> = items
        .clone()
        .filter(|(_, candidate)| *candidate == name)
        .collect();
    if !exact.is_empty() {
        return exact;
    }
    let lower = name.to_lowercase();
    items
        .filter(|(_, candidate)| candidate.to_lowercase() == lower)
        .collect()
}

/// Matching boards as `id (name)`, so that names differing only in case can be told apart.
fn listed(found: &[(&str, &str)]) -> Vec<String> {
    found
        .iter()
        .map(|(id, name)| format!("{id} ({name})"))
        .collect()
}

/// The name closest to `name` among `names`, when it is close enough to be a typo (the same
/// rule as every other "did you mean").
fn did_you_mean_name(name: &str, names: &[&str]) -> Option<String> {
    crate::manifest::suggest::did_you_mean(name, names).map(str::to_owned)
}

/// `; did you mean `X`?` after "does not exist", or nothing.
fn did_you_mean(suggestion: Option<&str>) -> String {
    suggestion.map_or_else(String::new, |name| format!("; did you mean `{name}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_names_win_over_case_insensitive_ones() {
        let items = [
            ("1", "Cats"),
            ("2", "cats"),
            ("3", "Dogs"),
            ("4", "Animals 動物"),
        ];
        let ids = |name: &str| -> Vec<&str> {
            find_by_name(items.iter().copied(), name)
                .into_iter()
                .map(|(id, _)| id)
                .collect()
        };
        assert_eq!(ids("cats"), vec!["2"]);
        assert_eq!(ids("DOGS"), vec!["3"]);
        assert_eq!(ids("animals 動物"), vec!["4"]);
        assert!(ids("Birds").is_empty());
        assert_eq!(ids("CATS"), vec!["1", "2"]);
        assert_eq!(
            listed(&find_by_name(items.iter().copied(), "CATS")),
            vec!["1 (Cats)", "2 (cats)"]
        );
        assert_eq!(
            did_you_mean_name("Dgos", &["Cats", "Dogs"]).as_deref(),
            Some("Dogs")
        );
        assert_eq!(did_you_mean_name("Birds", &["Cats", "Dogs"]), None);
        let missing = LookupError::NoBoard {
            name: "Natur".into(),
            suggestion: Some("Nature".into()),
        };
        assert_eq!(
            missing.to_string(),
            "Board `Natur` does not exist; did you mean `Nature`? (see `pinbatch boards list`)"
        );
    }

    #[test]
    fn missing_board_hints_fit_the_manifest_format() {
        let yaml = ResolveProblem::MissingBoard {
            name: "Cats".into(),
            suggestion: None,
            declarable: true,
        };
        assert!(
            yaml.to_string()
                .ends_with("declare it under `boards:` or pass --create-boards")
        );
        let csv = ResolveProblem::MissingBoard {
            name: "Animals 動物".into(),
            suggestion: None,
            declarable: false,
        };
        assert_eq!(
            csv.to_string(),
            "Board `Animals 動物` does not exist; pass --create-boards, or create it first with \
             `pinbatch boards create 'Animals 動物'`"
        );
        assert!(!csv.to_string().contains("boards:"));
        let section = ResolveProblem::MissingSection {
            board: "Cats".into(),
            section: "Kittens".into(),
            declarable: false,
        };
        assert!(
            section
                .to_string()
                .ends_with("pass --create-boards to create it")
        );
        assert_eq!(shell_word("it's"), r"'it'\''s'");
    }

    #[test]
    fn duplicates_are_all_returned() {
        let items = [("1", "Cats"), ("2", "Cats")];
        assert_eq!(
            find_by_name(items.iter().copied(), "Cats"),
            vec![("1", "Cats"), ("2", "Cats")]
        );
    }
}

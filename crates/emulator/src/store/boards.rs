//! Boards and their sections: creation under Pinterest's naming rules, lookups and listings.

use super::pages::{Order, Page, paginate};
use super::{ApiFailure, BoardRecord, SectionRecord, Store};

/// Board section names are 1..=180 characters (OpenAPI `BoardSection.name`).
const SECTION_NAME_MAX: usize = 180;

impl Store {
    /// Creates a board; 400 code 400 if the name is empty or already used (case-insensitive).
    pub fn create_board(
        &mut self,
        name: &str,
        description: Option<String>,
        privacy: &str,
        now: &str,
    ) -> Result<BoardRecord, ApiFailure> {
        let trimmed = name.trim();
        let duplicate = self
            .boards
            .iter()
            .any(|(_, b)| b.name.trim().eq_ignore_ascii_case(trimmed));
        if trimmed.is_empty() || duplicate {
            return Err(ApiFailure::new(
                400,
                400,
                "The board name is invalid or duplicated.",
            ));
        }
        if !matches!(privacy, "PUBLIC" | "PROTECTED" | "SECRET") {
            return Err(ApiFailure::invalid(
                "privacy must be PUBLIC, PROTECTED or SECRET",
            ));
        }
        Ok(self.insert_board(name, description, privacy, now))
    }

    /// Adds a board without the owner's unique-name rule: a group board another user shares
    /// with the account may carry the same name as one of its own.
    pub fn insert_board(
        &mut self,
        name: &str,
        description: Option<String>,
        privacy: &str,
        now: &str,
    ) -> BoardRecord {
        let (seq, id) = self.allocate();
        let board = BoardRecord {
            id,
            name: name.to_string(),
            description,
            privacy: privacy.to_string(),
            created_at: now.to_string(),
        };
        self.boards.push((seq, board.clone()));
        board
    }

    /// The board with this id.
    pub fn board(&self, id: &str) -> Result<&BoardRecord, ApiFailure> {
        self.boards
            .iter()
            .map(|(_, b)| b)
            .find(|b| b.id == id)
            .ok_or_else(ApiFailure::board_not_found)
    }

    /// Number of Pins on a board.
    pub fn pin_count(&self, board_id: &str) -> usize {
        self.pins
            .iter()
            .filter(|(_, p)| p.board_id == board_id)
            .count()
    }

    /// Number of boards.
    pub fn board_count(&self) -> usize {
        self.boards.len()
    }

    /// Number of Pins.
    pub fn total_pin_count(&self) -> usize {
        self.pins.len()
    }

    /// Creation time of the newest Pin on a board, if any.
    pub fn board_pins_modified_at(&self, board_id: &str) -> Option<String> {
        self.pins
            .iter()
            .rev()
            .find(|(_, p)| p.board_id == board_id)
            .map(|(_, p)| p.created_at.clone())
    }

    /// Boards in creation order, optionally filtered by a `privacy` list filter.
    pub fn list_boards(
        &self,
        privacy: Option<&str>,
        bookmark: Option<&str>,
        page_size: usize,
    ) -> Result<Page<BoardRecord>, ApiFailure> {
        let wanted: Option<&[&str]> = match privacy {
            None | Some("ALL") => None,
            Some("PUBLIC") => Some(&["PUBLIC"]),
            Some("PROTECTED") => Some(&["PROTECTED"]),
            Some("SECRET") => Some(&["SECRET"]),
            Some("PUBLIC_AND_SECRET") => Some(&["PUBLIC", "SECRET"]),
            Some(other) => {
                return Err(ApiFailure::invalid(format!(
                    "privacy `{other}` is not one of ALL, PUBLIC, PROTECTED, SECRET, PUBLIC_AND_SECRET"
                )));
            }
        };
        let boards = self
            .boards
            .iter()
            .filter(|(_, b)| wanted.is_none_or(|w| w.contains(&b.privacy.as_str())))
            .map(|(seq, b)| (*seq, b.clone()));
        paginate(boards, Order::OldestFirst, bookmark, page_size, false)
    }

    /// Creates a section; 404 code 40 for an unknown board, 400 code 400 for a bad or duplicate name.
    pub fn create_section(
        &mut self,
        board_id: &str,
        name: &str,
    ) -> Result<SectionRecord, ApiFailure> {
        self.board(board_id)?;
        let length = name.chars().count();
        let duplicate = self
            .sections
            .iter()
            .any(|(_, s)| s.board_id == board_id && s.name.eq_ignore_ascii_case(name));
        if name.trim().is_empty() || length > SECTION_NAME_MAX || duplicate {
            return Err(ApiFailure::new(
                400,
                400,
                "Invalid board section parameters.",
            ));
        }
        let (seq, id) = self.allocate();
        let section = SectionRecord {
            id,
            board_id: board_id.to_string(),
            name: name.to_string(),
        };
        self.sections.push((seq, section.clone()));
        Ok(section)
    }

    /// A board's sections in creation order.
    pub fn list_sections(
        &self,
        board_id: &str,
        bookmark: Option<&str>,
        page_size: usize,
    ) -> Result<Page<SectionRecord>, ApiFailure> {
        self.board(board_id)?;
        let sections = self
            .sections
            .iter()
            .filter(|(_, s)| s.board_id == board_id)
            .map(|(seq, s)| (*seq, s.clone()));
        paginate(sections, Order::OldestFirst, bookmark, page_size, false)
    }

    pub(super) fn check_section(&self, board_id: &str, section_id: &str) -> Result<(), ApiFailure> {
        let belongs = self
            .sections
            .iter()
            .any(|(_, s)| s.id == section_id && s.board_id == board_id);
        if belongs {
            Ok(())
        } else {
            Err(ApiFailure::section_not_found())
        }
    }
}

//! YAML reader: saphyr-parser events into a small tree where every node keeps its line:column,
//! then that tree into format-neutral entries.
//!
//! Scalars keep their text as written (no YAML 1.1 typing), so `title: NO` stays the text `NO`
//! and `board: 12345` is the board id `12345`. Syntax errors become diagnostics, never panics.

use std::collections::HashMap;
use std::sync::Arc;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use super::diagnostic::Diagnostic;
use super::entry::{
    BoardEntry, DocumentEntry, Located, PinEntry, ScheduleEntry, SlideEntry, SlidesEntry,
};
use super::model::{Location, Position};
use super::raw;
use super::suggest::unknown_name_hint;

/// A YAML node with its position.
#[derive(Debug, Clone)]
struct Node {
    kind: NodeKind,
    pos: Position,
    /// How many nodes this one holds, itself included: bounds what aliases may expand to.
    weight: usize,
}

/// The most nodes that aliases may expand to in one file, against "billion laughs" documents.
const MAX_ALIAS_EXPANSION: usize = 100_000;

#[derive(Debug, Clone)]
enum NodeKind {
    /// A scalar; `null` (plain `~`, `null` or nothing) is kept apart from text.
    Scalar(String),
    Null,
    Sequence(Vec<Node>),
    Mapping(Vec<(Node, Node)>),
}

impl NodeKind {
    fn describe(&self) -> &'static str {
        match self {
            NodeKind::Scalar(_) => "a single value",
            NodeKind::Null => "nothing",
            NodeKind::Sequence(_) => "a list",
            NodeKind::Mapping(_) => "a mapping",
        }
    }
}

fn position(span: &Span) -> Position {
    // saphyr lines are 1-based and columns 0-based.
    Position::LineColumn {
        line: u32::try_from(span.start.line()).unwrap_or(u32::MAX),
        column: u32::try_from(span.start.col() + 1).unwrap_or(u32::MAX),
    }
}

enum Frame {
    Sequence {
        pos: Position,
        anchor: usize,
        items: Vec<Node>,
    },
    Mapping {
        pos: Position,
        anchor: usize,
        items: Vec<(Node, Node)>,
        key: Option<Node>,
    },
}

/// Parses YAML text into one root node (None for an empty document). A syntax error becomes
/// the returned diagnostic.
fn parse_tree(text: &str, file: &Arc<str>) -> Result<Option<Node>, Diagnostic> {
    let mut tree = TreeBuilder {
        file,
        stack: Vec::new(),
        anchors: HashMap::new(),
        root: None,
        documents: 0,
        expanded: 0,
    };
    for item in Parser::new_from_str(text) {
        let (event, span) = item.map_err(|err| {
            let marker = err.marker();
            let pos = Position::LineColumn {
                line: u32::try_from(marker.line()).unwrap_or(u32::MAX),
                column: u32::try_from(marker.col() + 1).unwrap_or(u32::MAX),
            };
            Diagnostic::error(tree.at(pos), format!("YAML syntax error: {}", err.info()))
                .with_hint("check indentation, quotes and `key: value` pairs around this line")
        })?;
        tree.event(event, position(&span))?;
    }
    Ok(tree.root)
}

/// Builds the node tree from the parser's events: open sequences and mappings on a stack,
/// anchored nodes kept for their aliases (whose expansion is bounded).
struct TreeBuilder<'f> {
    file: &'f Arc<str>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    documents: usize,
    expanded: usize,
}

impl TreeBuilder<'_> {
    fn at(&self, pos: Position) -> Location {
        Location {
            file: self.file.clone(),
            position: pos,
        }
    }

    /// Takes one event; a node it completes goes into its parent (or becomes the root).
    fn event(&mut self, event: Event<'_>, pos: Position) -> Result<(), Diagnostic> {
        let complete = match event {
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(Diagnostic::error(
                        self.at(pos),
                        "a manifest holds one YAML document, found a second one",
                    )
                    .with_hint("remove the `---` separator and merge the documents"));
                }
                None
            }
            Event::Scalar(value, style, anchor, _tag) => {
                let kind = if style == ScalarStyle::Plain
                    && matches!(&*value, "" | "~" | "null" | "Null" | "NULL")
                {
                    NodeKind::Null
                } else {
                    NodeKind::Scalar(value.into_owned())
                };
                Some(self.anchored(
                    anchor,
                    Node {
                        kind,
                        pos,
                        weight: 1,
                    },
                ))
            }
            Event::Alias(anchor) => Some(self.alias(anchor, pos)?),
            Event::SequenceStart(anchor, _) => {
                self.stack.push(Frame::Sequence {
                    pos,
                    anchor,
                    items: Vec::new(),
                });
                None
            }
            Event::MappingStart(anchor, _) => {
                self.stack.push(Frame::Mapping {
                    pos,
                    anchor,
                    items: Vec::new(),
                    key: None,
                });
                None
            }
            Event::SequenceEnd | Event::MappingEnd => self.close(),
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => None,
        };
        if let Some(node) = complete {
            match self.stack.last_mut() {
                Some(Frame::Sequence { items, .. }) => items.push(node),
                Some(Frame::Mapping { items, key, .. }) => match key.take() {
                    Some(k) => items.push((k, node)),
                    None => *key = Some(node),
                },
                None => self.root = Some(node),
            }
        }
        Ok(())
    }

    /// Keeps a node under its anchor (0: none) and hands it back.
    fn anchored(&mut self, anchor: usize, node: Node) -> Node {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        node
    }

    /// The node an alias stands for, at the alias's position.
    fn alias(&mut self, anchor: usize, pos: Position) -> Result<Node, Diagnostic> {
        let Some(node) = self.anchors.get(&anchor) else {
            return Err(Diagnostic::error(
                self.at(pos),
                "alias to an unknown anchor",
            ));
        };
        self.expanded = self.expanded.saturating_add(node.weight);
        if self.expanded > MAX_ALIAS_EXPANSION {
            return Err(
                Diagnostic::error(self.at(pos), "aliases expand to too many values")
                    .with_hint("write the values out instead of nesting aliases"),
            );
        }
        Ok(Node {
            kind: node.kind.clone(),
            pos,
            weight: node.weight,
        })
    }

    /// Ends the innermost sequence or mapping, as a node.
    fn close(&mut self) -> Option<Node> {
        let (anchor, node) = match self.stack.pop()? {
            Frame::Sequence { pos, anchor, items } => {
                let weight = 1 + items.iter().map(|n| n.weight).sum::<usize>();
                let node = Node {
                    kind: NodeKind::Sequence(items),
                    pos,
                    weight,
                };
                (anchor, node)
            }
            Frame::Mapping {
                pos, anchor, items, ..
            } => {
                let weight = 1 + items
                    .iter()
                    .map(|(k, v)| k.weight + v.weight)
                    .sum::<usize>();
                let node = Node {
                    kind: NodeKind::Mapping(items),
                    pos,
                    weight,
                };
                (anchor, node)
            }
        };
        Some(self.anchored(anchor, node))
    }
}

/// Reads a YAML manifest's text into entries, adding every problem found to `diagnostics`.
pub(crate) fn read(
    text: &str,
    file: &Arc<str>,
    diagnostics: &mut Vec<Diagnostic>,
) -> DocumentEntry {
    let mut document = DocumentEntry {
        defaults: None,
        boards: Vec::new(),
        pins: Vec::new(),
        schedule: None,
    };
    let root = match parse_tree(text, file) {
        Ok(root) => root,
        Err(diagnostic) => {
            diagnostics.push(diagnostic);
            return document;
        }
    };
    let mut reader = Reader { file, diagnostics };
    let Some(root) = root else {
        reader.error(
            Position::File,
            None,
            "the manifest is empty",
            Some("start with `version: 1` and a `pins:` list"),
        );
        return document;
    };
    let Some(entries) = reader.mapping(&root, raw::DOCUMENT_FIELDS, "") else {
        return document;
    };
    let mut saw_version = false;
    let mut saw_pins = false;
    for (key, value) in entries {
        match key {
            "version" => {
                saw_version = true;
                match &value.kind {
                    NodeKind::Scalar(v) if v.trim() == "1" => {}
                    _ => reader.error(
                        value.pos,
                        Some("version"),
                        "must be 1",
                        Some("write `version: 1`"),
                    ),
                }
            }
            "defaults" => {
                document.defaults = reader.pin(value, raw::DEFAULT_FIELDS, "defaults.");
            }
            "boards" => {
                for board in reader.sequence(value, "boards") {
                    if let Some(entry) = reader.board(board) {
                        document.boards.push(entry);
                    }
                }
            }
            "schedule" => document.schedule = reader.schedule(value),
            "pins" => {
                saw_pins = true;
                for pin in reader.sequence(value, "pins") {
                    if let Some(entry) = reader.pin(pin, raw::PIN_FIELDS, "") {
                        document.pins.push(entry);
                    }
                }
            }
            _ => {}
        }
    }
    if !saw_version {
        reader.error(
            root.pos,
            Some("version"),
            "is missing",
            Some("add `version: 1` at the top"),
        );
    }
    if !saw_pins {
        reader.error(
            root.pos,
            Some("pins"),
            "is missing",
            Some("add a `pins:` list with one entry per pin"),
        );
    }
    document
}

struct Reader<'a> {
    file: &'a Arc<str>,
    diagnostics: &'a mut Vec<Diagnostic>,
}

impl Reader<'_> {
    fn location(&self, pos: Position) -> Location {
        Location {
            file: self.file.clone(),
            position: pos,
        }
    }

    fn error(&mut self, pos: Position, field: Option<&str>, message: &str, hint: Option<&str>) {
        let mut diagnostic = Diagnostic::error(self.location(pos), message);
        diagnostic.field = field.map(str::to_owned);
        diagnostic.hint = hint.map(str::to_owned);
        self.diagnostics.push(diagnostic);
    }

    /// The entries of a mapping with known keys; unknown and repeated keys are reported and
    /// skipped. None (reported) when the node is not a mapping.
    fn mapping<'n>(
        &mut self,
        node: &'n Node,
        allowed: &[&str],
        prefix: &str,
    ) -> Option<Vec<(&'n str, &'n Node)>> {
        let NodeKind::Mapping(items) = &node.kind else {
            let what = if prefix.is_empty() && allowed == raw::DOCUMENT_FIELDS {
                "the manifest".to_owned()
            } else if prefix.is_empty() {
                "a pin".to_owned()
            } else {
                prefix.trim_end_matches('.').to_owned()
            };
            self.error(
                node.pos,
                None,
                &format!(
                    "{what} must be a mapping of `key: value`, found {}",
                    node.kind.describe()
                ),
                None,
            );
            return None;
        };
        let mut seen: Vec<(&str, Position)> = Vec::with_capacity(items.len());
        let mut out = Vec::with_capacity(items.len());
        for (key, value) in items {
            let NodeKind::Scalar(name) = &key.kind else {
                self.error(key.pos, None, "keys must be plain names", None);
                continue;
            };
            let field = format!("{prefix}{name}");
            if !allowed.contains(&name.as_str()) {
                let hint = unknown_name_hint(name, allowed);
                self.error(key.pos, Some(&field), "unknown field", Some(&hint));
                continue;
            }
            if let Some((_, first)) = seen.iter().find(|(n, _)| *n == name.as_str()) {
                let first = self.location(*first);
                self.error(
                    key.pos,
                    Some(&field),
                    &format!("is repeated (first set at {first})"),
                    Some("keep one of them"),
                );
                continue;
            }
            seen.push((name, key.pos));
            out.push((name.as_str(), value));
        }
        Some(out)
    }

    /// The items of a list; null is an empty list; anything else is reported.
    fn sequence<'n>(&mut self, node: &'n Node, field: &str) -> &'n [Node] {
        match &node.kind {
            NodeKind::Sequence(items) => items,
            NodeKind::Null => &[],
            other => {
                self.error(
                    node.pos,
                    Some(field),
                    &format!("must be a list, found {}", other.describe()),
                    Some("write one `- ` item per line"),
                );
                &[]
            }
        }
    }

    /// A single text value; null is absent; lists and mappings are reported.
    fn text(&mut self, node: &Node, field: &str) -> Option<Located> {
        match &node.kind {
            NodeKind::Scalar(value) => Some(Located::new(value.clone(), node.pos)),
            NodeKind::Null => None,
            other => {
                self.error(
                    node.pos,
                    Some(field),
                    &format!("must be a single value, found {}", other.describe()),
                    None,
                );
                None
            }
        }
    }

    /// A list of single values (or one value) as one text joined by `|`, at the list's
    /// position; an empty list is an empty text, null is absent.
    fn joined_list(&mut self, node: &Node, field: &str) -> Option<Located> {
        match &node.kind {
            NodeKind::Sequence(items) => {
                let values: Vec<String> = items
                    .iter()
                    .filter_map(|item| self.text(item, field))
                    .map(|located| located.value)
                    .collect();
                Some(Located::new(values.join("|"), node.pos))
            }
            _ => self.text(node, field),
        }
    }

    fn pin(&mut self, node: &Node, allowed: &[&str], prefix: &str) -> Option<PinEntry> {
        // An empty `defaults:` is no defaults.
        if matches!(node.kind, NodeKind::Null) && !prefix.is_empty() {
            return None;
        }
        let entries = self.mapping(node, allowed, prefix)?;
        let mut pin = PinEntry::empty(node.pos);
        for (name, value) in entries {
            let field = format!("{prefix}{name}");
            let before = self.diagnostics.len();
            if name == "images" {
                pin.images = self.slides(value, &field);
            } else if name == "ai_disclosures" {
                pin.ai_disclosures = self.joined_list(value, &field);
            } else if name == "utm" {
                let prefix = format!("{field}.");
                for (key, item) in self
                    .mapping(value, raw::UTM_FIELDS, &prefix)
                    .unwrap_or_default()
                {
                    let text = self.text(item, &format!("{prefix}{key}"));
                    if let Some(slot) = pin.utm.field_mut(key) {
                        *slot = text;
                    }
                }
            } else if let Some(slot) = pin.text_field_mut(name) {
                *slot = self.text(value, &field);
            }
            pin.malformed |= self.diagnostics.len() > before;
        }
        Some(pin)
    }

    fn slides(&mut self, node: &Node, field: &str) -> Option<SlidesEntry> {
        if !matches!(node.kind, NodeKind::Sequence(_)) {
            // Reports anything but a list; null is simply absent.
            self.sequence(node, field);
            return None;
        }
        let items = self.sequence(node, field);
        let mut slides = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let prefix = format!("{field}[{}]", index + 1);
            let mut slide = SlideEntry {
                pos: item.pos,
                src: None,
                title: None,
                description: None,
                link: None,
            };
            match &item.kind {
                NodeKind::Scalar(value) => slide.src = Some(Located::new(value.clone(), item.pos)),
                NodeKind::Mapping(_) => {
                    let Some(entries) =
                        self.mapping(item, raw::SLIDE_FIELDS, &format!("{prefix}."))
                    else {
                        continue;
                    };
                    for (name, value) in entries {
                        let sub = format!("{prefix}.{name}");
                        let text = self.text(value, &sub);
                        match name {
                            "src" => slide.src = text,
                            "title" => slide.title = text,
                            "description" => slide.description = text,
                            _ => slide.link = text,
                        }
                    }
                }
                other => {
                    self.error(
                        item.pos,
                        Some(&prefix),
                        &format!(
                            "must be a path, a URL or a `src:` mapping, found {}",
                            other.describe()
                        ),
                        None,
                    );
                    continue;
                }
            }
            slides.push(slide);
        }
        Some(SlidesEntry {
            pos: node.pos,
            slides,
        })
    }

    /// The `schedule:` block: single values, except `days`, which may be a list.
    fn schedule(&mut self, node: &Node) -> Option<ScheduleEntry> {
        if matches!(node.kind, NodeKind::Null) {
            return None;
        }
        let entries = self.mapping(node, raw::SCHEDULE_FIELDS, "schedule.")?;
        let mut schedule = ScheduleEntry::empty(node.pos);
        for (name, value) in entries {
            let field = format!("schedule.{name}");
            let text = match name {
                "days" => self.joined_list(value, &field),
                _ => self.text(value, &field),
            };
            if let Some(slot) = schedule.field_mut(name) {
                *slot = text;
            }
        }
        Some(schedule)
    }

    fn board(&mut self, node: &Node) -> Option<BoardEntry> {
        let entries = self.mapping(node, raw::BOARD_FIELDS, "boards.")?;
        let mut board = BoardEntry {
            pos: node.pos,
            name: None,
            description: None,
            privacy: None,
            sections: Vec::new(),
        };
        for (name, value) in entries {
            let field = format!("boards.{name}");
            match name {
                "name" => board.name = self.text(value, &field),
                "description" => board.description = self.text(value, &field),
                "privacy" => board.privacy = self.text(value, &field),
                _ => {
                    for section in self.sequence(value, &field) {
                        if let Some(text) = self.text(section, &field) {
                            board.sections.push(text);
                        }
                    }
                }
            }
        }
        Some(board)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_str(text: &str) -> (DocumentEntry, Vec<Diagnostic>) {
        let file: Arc<str> = Arc::from("m.yaml");
        let mut diagnostics = Vec::new();
        let document = read(text, &file, &mut diagnostics);
        (document, diagnostics)
    }

    fn line_col(pos: Position) -> (u32, u32) {
        match pos {
            Position::LineColumn { line, column } => (line, column),
            other => panic!("not a line:column: {other:?}"),
        }
    }

    #[test]
    fn values_keep_their_positions() {
        let (document, diagnostics) =
            read_str("version: 1\npins:\n  - title: Cat\n    image: a.jpg\n");
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let pin = &document.pins[0];
        assert_eq!(line_col(pin.title.as_ref().unwrap().pos), (3, 12));
        assert_eq!(line_col(pin.image.as_ref().unwrap().pos), (4, 12));
    }

    #[test]
    fn yaml_1_1_booleans_and_numbers_stay_text() {
        let (document, diagnostics) =
            read_str("version: 1\npins:\n  - title: NO\n    description: yes\n    board: 12345\n");
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let pin = &document.pins[0];
        assert_eq!(pin.title.as_ref().unwrap().value, "NO");
        assert_eq!(pin.description.as_ref().unwrap().value, "yes");
        assert_eq!(pin.board.as_ref().unwrap().value, "12345");
    }

    #[test]
    fn syntax_errors_are_located_diagnostics() {
        let (_, diagnostics) = read_str("version: 1\npins:\n  - title: \"unclosed\n");
        assert_eq!(diagnostics.len(), 1);
        assert!(diagnostics[0].message.starts_with("YAML syntax error"));
        assert!(matches!(
            diagnostics[0].location.position,
            Position::LineColumn { .. }
        ));
    }

    #[test]
    fn unknown_and_repeated_keys_are_reported_with_suggestions() {
        let (_, diagnostics) =
            read_str("version: 1\npins:\n  - titel: x\n    image: a.jpg\n    image: b.jpg\n");
        assert_eq!(diagnostics.len(), 2, "{diagnostics:?}");
        assert_eq!(diagnostics[0].field.as_deref(), Some("titel"));
        assert_eq!(
            diagnostics[0].hint.as_deref(),
            Some("did you mean `title`?")
        );
        assert_eq!(line_col(diagnostics[0].location.position), (3, 5));
        assert!(diagnostics[1].message.contains("repeated"));
    }

    #[test]
    fn carousel_items_may_be_text_or_mappings() {
        let (document, diagnostics) = read_str(
            "version: 1\npins:\n  - images:\n      - a.jpg\n      - { src: b.png, title: B }\n",
        );
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let slides = &document.pins[0].images.as_ref().unwrap().slides;
        assert_eq!(slides.len(), 2);
        assert_eq!(slides[1].src.as_ref().unwrap().value, "b.png");
        assert_eq!(slides[1].title.as_ref().unwrap().value, "B");
    }

    #[test]
    fn missing_version_and_second_document_are_reported() {
        let (_, diagnostics) = read_str("pins: []\n");
        assert_eq!(diagnostics[0].field.as_deref(), Some("version"));
        let (_, diagnostics) = read_str("version: 1\npins: []\n---\nversion: 1\n");
        assert!(diagnostics[0].message.contains("second"));
    }

    #[test]
    fn an_empty_pin_is_reported_as_a_pin() {
        let (_, diagnostics) = read_str("version: 1\npins:\n  -\n  - 3\n");
        assert_eq!(diagnostics.len(), 2, "{diagnostics:?}");
        assert!(
            diagnostics[0]
                .message
                .starts_with("a pin must be a mapping")
        );
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            text.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n", p = i - 1));
        }
        let (_, diagnostics) = read_str(&text);
        assert_eq!(diagnostics.len(), 1);
        assert!(diagnostics[0].message.contains("aliases expand"));
    }

    #[test]
    fn aliases_resolve_to_their_anchor() {
        let (document, diagnostics) = read_str(
            "version: 1\npins:\n  - board: &b Animals\n    image: a.jpg\n  - board: *b\n    image: b.jpg\n",
        );
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        assert_eq!(document.pins[1].board.as_ref().unwrap().value, "Animals");
    }
}

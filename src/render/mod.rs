//! Files made for people from a manifest and its state: the preview page, Pinterest's bulk-create
//! CSV, `init --xlsx`'s workbook template and the `--report` file. May use `manifest`, `state`,
//! `fs` and the executor's progress events; never the terminal or the command line.

pub(crate) mod export;
pub(crate) mod preview;
pub(crate) mod report;
pub(crate) mod template;

//! Files made for people from a manifest and its state: the preview page, Pinterest's bulk-create
//! CSV, `init --xlsx`'s workbook template, the `--report` file, and `pinbatch report`'s results
//! (rows in `results`, the workbook in `results_xlsx`). May use `manifest`, `state`, `fs`, the
//! planner's actions and the executor's progress and metrics types; never the terminal or the
//! command line.

pub(crate) mod export;
pub(crate) mod preview;
pub(crate) mod report;
pub(crate) mod results;
pub(crate) mod results_xlsx;
pub(crate) mod template;

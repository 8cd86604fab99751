//! The one integration-test binary: it drives the real `pinbatch` binary. One module per area.

mod ai_disclosures;
mod api_commands;
mod apply;
mod auth_emulator;
mod common;
mod corpus;
mod drip;
mod emulator;
mod exactly_once;
mod existing_pins;
mod init_export;
mod install;
mod links;
mod preview;
mod rate_limits;
mod reliability;
mod schedule;
mod spreadsheets;
mod token_expiry;
mod validate;
mod video;

//! The one integration-test binary: it drives the real `pinbatch` binary. One module per area.

mod api_commands;
mod apply;
mod auth_emulator;
mod common;
mod corpus;
mod emulator;
mod init_export;
mod links;
mod preview;
mod reliability;
mod schedule;
mod spreadsheets;
mod validate;
mod video;

//! The one integration-test binary: it drives the real `pinbatch` binary. One module per area.

mod api_commands;
mod apply;
mod auth_emulator;
mod common;
mod corpus;
mod emulator;
mod init_export;
mod install;
mod reliability;
mod schedule;
mod validate;
mod video;

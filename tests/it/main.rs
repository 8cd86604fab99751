//! The one integration-test binary: it drives the real `pinbatch` binary. One module per area.

mod api_commands;
mod apply;
mod common;
mod corpus;
mod emulator;
mod reliability;
mod validate;

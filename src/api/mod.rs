//! The Pinterest API v5 client layer: wire types, errors, retry decisions, rate pacing, OAuth and
//! the client itself. A leaf module: it never sees the command line or the terminal.

pub mod client;
pub mod environment;
pub mod error;
pub mod gate;
pub mod oauth;
pub mod retry;
pub mod types;

pub use client::{
    ApiClient, ClientConfig, Credentials, RefreshCredentials, TokenSink, http_client_builder,
};
pub use environment::{Environment, EnvironmentError};
pub use error::{ApiError, ApiErrorKind};
pub use oauth::AppCredentials;

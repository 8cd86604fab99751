//! The Pinterest API v5 client layer: wire types, errors, retry decisions, rate pacing (the gate
//! and its ledger shared across processes), the server's clock, OAuth pieces and the client
//! itself, with pin analytics in their own file. May use only the leaves (`secret`, `epoch`): it never sees a manifest, the state, the
//! command line or the terminal.

pub(crate) mod analytics;
pub(crate) mod client;
pub(crate) mod clock;
pub mod environment;
pub(crate) mod error;
pub(crate) mod gate;
pub(crate) mod ledger;
pub(crate) mod limit_headers;
pub(crate) mod oauth;
pub(crate) mod reach;
pub(crate) mod retry;
pub(crate) mod retry_after;
pub(crate) mod types;

pub use client::http_client_builder;
pub(crate) use client::{
    ApiClient, ClientConfig, Credentials, RefreshCredentials, StoredPair, TokenLock, TokenSink,
};
pub use environment::Environment;
pub(crate) use error::ApiError;
pub(crate) use oauth::AppCredentials;

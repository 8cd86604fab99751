//! OAuth 2.0 pieces that need no network: app credentials and the browser authorize URL.
//! The token exchange itself (`POST /v5/oauth/token`) is sent by [`crate::api::ApiClient`].

use crate::api::environment::Environment;
use crate::secret::SecretString;

/// Pinterest's authorize page for production and the sandbox.
pub const PINTEREST_AUTHORIZE_URL: &str = "https://www.pinterest.com/oauth/";

/// Scopes asked for by default: enough to list and create boards and Pins and read the account.
pub const DEFAULT_SCOPES: &[&str] = &[
    "boards:read",
    "boards:write",
    "pins:read",
    "pins:write",
    "user_accounts:read",
];

/// Extra scopes needed for secret boards and their Pins.
pub const SECRET_SCOPES: &[&str] = &[
    "boards:read_secret",
    "boards:write_secret",
    "pins:read_secret",
    "pins:write_secret",
];

/// A Pinterest app's id and secret (sent as HTTP Basic to the token endpoint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppCredentials {
    /// The app id (`client_id`).
    pub app_id: String,
    /// The app secret.
    pub app_secret: SecretString,
}

/// The URL to open in a browser to authorize the app. Production and the sandbox use
/// Pinterest's page; a custom origin (an emulator) serves its own at `{origin}/oauth/`.
pub fn authorize_url(
    environment: &Environment,
    app_id: &str,
    redirect_uri: &str,
    scopes: &[String],
    state: &str,
) -> String {
    let base = match environment {
        Environment::Production | Environment::Sandbox => PINTEREST_AUTHORIZE_URL.to_owned(),
        Environment::Custom(origin) => format!("{origin}/oauth/"),
    };
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", app_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("response_type", "code")
        .append_pair("scope", &scopes.join(","))
        .append_pair("state", state)
        .finish();
    format!("{base}?{query}")
}

/// A random `state` value (32 alphanumeric characters) to tie the redirect to this login.
pub fn random_state() -> String {
    std::iter::repeat_with(fastrand::alphanumeric)
        .take(32)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorize_url_carries_every_parameter() {
        let scopes = vec!["boards:read".to_owned(), "pins:write".to_owned()];
        let url = authorize_url(
            &Environment::Production,
            "1234",
            "http://localhost:8085/",
            &scopes,
            "abc",
        );
        assert_eq!(
            url,
            "https://www.pinterest.com/oauth/?client_id=1234&redirect_uri=http%3A%2F%2Flocalhost%3A8085%2F&response_type=code&scope=boards%3Aread%2Cpins%3Awrite&state=abc"
        );
        let custom = authorize_url(
            &Environment::Custom("http://127.0.0.1:9000".into()),
            "1",
            "r",
            &scopes,
            "s",
        );
        assert!(custom.starts_with("http://127.0.0.1:9000/oauth/?client_id=1&"));
    }

    #[test]
    fn states_are_random_and_long() {
        let a = random_state();
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, random_state());
    }
}

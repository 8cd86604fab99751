//! Which Pinterest API a client talks to: production, the sandbox, or a custom origin
//! (`--api-base`, plain http only on loopback so tokens never cross a network unencrypted).

use std::fmt;
use std::net::IpAddr;

/// Origin of the production API.
pub const PRODUCTION_ORIGIN: &str = "https://api.pinterest.com";
/// Origin of the API sandbox.
pub const SANDBOX_ORIGIN: &str = "https://api-sandbox.pinterest.com";

/// The API environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Environment {
    /// `https://api.pinterest.com`.
    Production,
    /// `https://api-sandbox.pinterest.com`.
    Sandbox,
    /// Another origin (an emulator, a proxy), normalised without a trailing slash.
    Custom(String),
}

/// Why an environment choice was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvironmentError {
    /// Both `--sandbox` and `--api-base` were given.
    #[error("--sandbox and --api-base cannot be combined: choose one API origin")]
    Conflict,
    /// The `--api-base` is not a URL.
    #[error("--api-base `{0}` is not a valid URL")]
    InvalidUrl(String),
    /// The `--api-base` uses another scheme than http(s), or carries a query or credentials.
    #[error("--api-base `{0}` must be an http(s) origin such as https://host:port")]
    Unsupported(String),
    /// Plain http to a non-loopback host.
    #[error(
        "--api-base `{0}` uses plain http:// with a non-loopback host; use https:// (http:// is only allowed for 127.0.0.1, ::1 and localhost)"
    )]
    InsecureHttp(String),
}

impl Environment {
    /// Picks the environment from `--sandbox` and `--api-base`.
    pub fn resolve(sandbox: bool, api_base: Option<&str>) -> Result<Environment, EnvironmentError> {
        let api_base = api_base.map(str::trim).filter(|base| !base.is_empty());
        match (sandbox, api_base) {
            (true, Some(_)) => Err(EnvironmentError::Conflict),
            (true, None) => Ok(Environment::Sandbox),
            (false, None) => Ok(Environment::Production),
            (false, Some(base)) => Self::custom(base),
        }
    }

    fn custom(base: &str) -> Result<Environment, EnvironmentError> {
        let url =
            url::Url::parse(base).map_err(|_| EnvironmentError::InvalidUrl(base.to_owned()))?;
        if url.query().is_some()
            || url.fragment().is_some()
            || !url.username().is_empty()
            || url.password().is_some()
        {
            return Err(EnvironmentError::Unsupported(base.to_owned()));
        }
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) => {}
            "http" => return Err(EnvironmentError::InsecureHttp(base.to_owned())),
            _ => return Err(EnvironmentError::Unsupported(base.to_owned())),
        }
        let origin = url.as_str().trim_end_matches('/').to_owned();
        Ok(match origin.as_str() {
            PRODUCTION_ORIGIN => Environment::Production,
            SANDBOX_ORIGIN => Environment::Sandbox,
            _ => Environment::Custom(origin),
        })
    }

    /// The origin (scheme, host, port and any path prefix), without a trailing slash.
    pub fn origin(&self) -> &str {
        match self {
            Environment::Production => PRODUCTION_ORIGIN,
            Environment::Sandbox => SANDBOX_ORIGIN,
            Environment::Custom(origin) => origin,
        }
    }

    /// A short name for messages: `production`, `sandbox`, or the custom origin.
    pub fn name(&self) -> &str {
        match self {
            Environment::Production => "production",
            Environment::Sandbox => "sandbox",
            Environment::Custom(origin) => origin,
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Environment::Custom(origin) => f.write_str(origin),
            other => write!(f, "{} ({})", other.name(), other.origin()),
        }
    }
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_pick_the_environment() {
        assert_eq!(
            Environment::resolve(false, None),
            Ok(Environment::Production)
        );
        assert_eq!(Environment::resolve(true, None), Ok(Environment::Sandbox));
        assert_eq!(
            Environment::resolve(true, Some("https://x.example")),
            Err(EnvironmentError::Conflict)
        );
        assert_eq!(
            Environment::resolve(false, Some("  ")),
            Ok(Environment::Production)
        );
        assert_eq!(
            Environment::resolve(false, Some("https://api-sandbox.pinterest.com/")),
            Ok(Environment::Sandbox)
        );
    }

    #[test]
    fn custom_origins_are_normalised_and_http_is_loopback_only() {
        let ok = |base: &str| {
            Environment::resolve(false, Some(base))
                .unwrap()
                .origin()
                .to_owned()
        };
        assert_eq!(ok("http://127.0.0.1:8080/"), "http://127.0.0.1:8080");
        assert_eq!(ok("http://127.1.2.3:9"), "http://127.1.2.3:9");
        assert_eq!(ok("http://[::1]:8080"), "http://[::1]:8080");
        assert_eq!(ok("http://LOCALHOST:3000"), "http://localhost:3000");
        assert_eq!(
            ok("https://proxy.example/pinterest/"),
            "https://proxy.example/pinterest"
        );
        for bad in [
            "http://10.0.0.1:8080",
            "http://example.com",
            "http://[::2]:1",
        ] {
            assert!(matches!(
                Environment::resolve(false, Some(bad)),
                Err(EnvironmentError::InsecureHttp(_))
            ));
        }
        assert!(matches!(
            Environment::resolve(false, Some("not a url")),
            Err(EnvironmentError::InvalidUrl(_))
        ));
        assert!(matches!(
            Environment::resolve(false, Some("ftp://127.0.0.1")),
            Err(EnvironmentError::Unsupported(_))
        ));
        assert!(matches!(
            Environment::resolve(false, Some("https://u:p@host")),
            Err(EnvironmentError::Unsupported(_))
        ));
    }
}

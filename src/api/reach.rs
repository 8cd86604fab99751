//! Why a connection could not be made, read from an error's chain of causes: the host name does
//! not resolve, the server refused the connection, or something else failed. One reading for
//! every message that says a server could not be reached (the API client, the link check), so
//! that none of them guesses.

use std::fmt;

/// What stopped a connection from being made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectFailure {
    /// The host name has no address (no DNS answer, or no network to ask on).
    NameNotResolved,
    /// An address answered, and refused the connection: nothing listens on that port.
    Refused,
    /// Anything else, as the deepest cause says it.
    Other(String),
}

impl ConnectFailure {
    /// Reads the causes of `err`.
    pub fn of(err: &(dyn std::error::Error + 'static)) -> Self {
        let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
        let mut deepest = err.to_string();
        while let Some(cause) = current {
            if let Some(io) = cause.downcast_ref::<std::io::Error>()
                && io.kind() == std::io::ErrorKind::ConnectionRefused
            {
                return ConnectFailure::Refused;
            }
            // The HTTP stack names a failed name lookup so, whatever the resolver's own words.
            let text = cause.to_string();
            if text.starts_with("dns error") || text.contains("failed to lookup address") {
                return ConnectFailure::NameNotResolved;
            }
            deepest = text;
            current = cause.source();
        }
        ConnectFailure::Other(deepest)
    }
}

impl fmt::Display for ConnectFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectFailure::NameNotResolved => f.write_str(
                "the host name does not resolve (no address for it: a typo, or no network)",
            ),
            ConnectFailure::Refused => {
                f.write_str("the server refused the connection (nothing listens on that port)")
            }
            ConnectFailure::Other(cause) => write!(f, "the connection failed: {cause}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error wrapping another, as the HTTP stack's are.
    #[derive(Debug)]
    struct Wrapped(&'static str, Box<dyn std::error::Error + Send + Sync>);

    impl fmt::Display for Wrapped {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Wrapped {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(self.1.as_ref())
        }
    }

    #[test]
    fn a_failed_lookup_and_a_refusal_are_told_apart() {
        let lookup = Wrapped(
            "client error (Connect)",
            Box::new(Wrapped(
                "dns error",
                Box::new(std::io::Error::other(
                    "failed to lookup address information: Name or service not known",
                )),
            )),
        );
        assert_eq!(ConnectFailure::of(&lookup), ConnectFailure::NameNotResolved);
        let refused = Wrapped(
            "client error (Connect)",
            Box::new(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
        );
        assert_eq!(ConnectFailure::of(&refused), ConnectFailure::Refused);
        let other = Wrapped(
            "client error (Connect)",
            Box::new(std::io::Error::other("network is unreachable")),
        );
        assert_eq!(
            ConnectFailure::of(&other).to_string(),
            "the connection failed: network is unreachable"
        );
    }

    #[tokio::test]
    async fn a_port_nothing_listens_on_is_a_refusal() {
        // Bind, learn the port, close: nothing listens there any more.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let client = crate::api::http_client_builder().build().unwrap();
        let err = client
            .get(format!("http://127.0.0.1:{port}/"))
            .send()
            .await
            .unwrap_err();
        assert_eq!(ConnectFailure::of(&err), ConnectFailure::Refused);
    }
}

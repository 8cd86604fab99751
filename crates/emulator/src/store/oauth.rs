//! OAuth in the store: access and refresh tokens with their lifetimes, authorization codes,
//! and refresh-token rotation.

use std::time::{Duration, Instant};

use super::{ApiFailure, Store};

/// Lifetime of issued access tokens, seconds (30 days).
pub const ACCESS_TOKEN_LIFETIME_SECS: u64 = 30 * 24 * 3600;
/// Lifetime of issued refresh tokens, seconds (60 days, continuous refresh).
pub const REFRESH_TOKEN_LIFETIME_SECS: u64 = 60 * 24 * 3600;

/// How long issued tokens work: Pinterest's 30 and 60 days unless the fault plan says
/// otherwise (`token-lifetime`, `refresh-token-lifetime`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenLifetimes {
    /// Access tokens.
    pub access: Duration,
    /// Refresh tokens.
    pub refresh: Duration,
}

impl Default for TokenLifetimes {
    fn default() -> Self {
        TokenLifetimes {
            access: Duration::from_secs(ACCESS_TOKEN_LIFETIME_SECS),
            refresh: Duration::from_secs(REFRESH_TOKEN_LIFETIME_SECS),
        }
    }
}

/// An access token with the refresh token it was issued with, as returned by the token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPair {
    /// Bearer token for API calls.
    pub access_token: String,
    /// Token for `grant_type=refresh_token`.
    pub refresh_token: String,
    /// Scopes, comma-separated.
    pub scope: String,
}

pub(super) struct AuthCode {
    redirect_uri: String,
    scope: String,
}

impl Store {
    /// Whether `token` is a currently valid access token.
    pub fn is_valid_access_token(&self, token: &str) -> bool {
        self.access_tokens.contains_key(token) && !self.expired(token)
    }

    fn expired(&self, token: &str) -> bool {
        self.token_expiry
            .get(token)
            .is_some_and(|at| *at <= Instant::now())
    }

    /// Sets the lifetimes of the tokens issued from now on.
    pub fn set_token_lifetimes(&mut self, lifetimes: TokenLifetimes) {
        self.token_lifetimes = lifetimes;
    }

    fn random_token(&mut self, prefix: &str) -> String {
        let body: String = (0..40).map(|_| self.token_rng.alphanumeric()).collect();
        format!("{prefix}{body}")
    }

    /// Mints a new access and refresh token pair, both valid from now on.
    pub fn issue_tokens(&mut self, scope: &str) -> TokenPair {
        let pair = TokenPair {
            access_token: self.random_token("pina_"),
            refresh_token: self.random_token("pinr_"),
            scope: scope.to_string(),
        };
        self.access_tokens
            .insert(pair.access_token.clone(), pair.refresh_token.clone());
        self.refresh_tokens
            .insert(pair.refresh_token.clone(), pair.clone());
        let now = Instant::now();
        self.token_expiry
            .insert(pair.access_token.clone(), now + self.token_lifetimes.access);
        self.token_expiry.insert(
            pair.refresh_token.clone(),
            now + self.token_lifetimes.refresh,
        );
        pair
    }

    /// Makes one access token invalid; returns whether it was valid.
    pub fn expire_access_token(&mut self, token: &str) -> bool {
        self.access_tokens.remove(token).is_some()
    }

    /// Makes every access token invalid (refresh tokens stay valid).
    pub fn expire_all_access_tokens(&mut self) {
        self.access_tokens.clear();
    }

    /// Records an authorization code issued by the authorize page.
    pub fn issue_auth_code(&mut self, redirect_uri: &str, scope: &str) -> String {
        let code = self.random_token("");
        self.auth_codes.insert(
            code.clone(),
            AuthCode {
                redirect_uri: redirect_uri.to_string(),
                scope: scope.to_string(),
            },
        );
        code
    }

    /// Exchanges a code (single use, same redirect URI) for a token pair.
    pub fn redeem_auth_code(
        &mut self,
        code: &str,
        redirect_uri: &str,
    ) -> Result<TokenPair, ApiFailure> {
        let Some(issued) = self.auth_codes.remove(code) else {
            return Err(ApiFailure::new(
                400,
                1,
                "Invalid authorization code: unknown or already used.",
            ));
        };
        if issued.redirect_uri != redirect_uri {
            return Err(ApiFailure::new(
                400,
                1,
                "Invalid redirect_uri: it must match the one sent to the authorize page.",
            ));
        }
        Ok(self.issue_tokens(&issued.scope))
    }

    /// Rotates a refresh token: the old refresh token and its access token stop working.
    pub fn refresh(&mut self, refresh_token: &str) -> Result<TokenPair, ApiFailure> {
        if self.expired(refresh_token) {
            return Err(ApiFailure::new(
                400,
                1,
                "Invalid refresh token: it has expired; log in again.",
            ));
        }
        let Some(old) = self.refresh_tokens.remove(refresh_token) else {
            return Err(ApiFailure::new(
                400,
                1,
                "Invalid refresh token: unknown, rotated or revoked.",
            ));
        };
        self.access_tokens.remove(&old.access_token);
        Ok(self.issue_tokens(&old.scope))
    }
}

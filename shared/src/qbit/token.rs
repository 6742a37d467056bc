//! Qbit's access token: a JWT the buyer's browser presents to the hosted
//! payment page. We read its `exp` claim (no verification: it is Qbit's to
//! check, not ours) to reuse one token until shortly before it expires.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use tokio::sync::Mutex;

/// A token is no longer handed out once it has less than this left, so a
/// buyer who receives it has at least this long to open the payment page.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    jwt: String,
    expires_at: Option<u64>,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("jwt", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl AccessToken {
    pub fn new(jwt: String) -> Self {
        let expires_at = expiry_of(&jwt);
        Self { jwt, expires_at }
    }

    pub fn as_str(&self) -> &str {
        &self.jwt
    }

    /// `exp`, in Unix seconds, when the token carries a readable one.
    pub fn expires_at(&self) -> Option<u64> {
        self.expires_at
    }

    /// Whether the token may still be handed out at `now` (Unix seconds).
    /// One without a readable `exp` is used once and never reused.
    pub fn is_reusable_at(&self, now: u64) -> bool {
        self.expires_at
            .is_some_and(|exp| now.saturating_add(REFRESH_MARGIN.as_secs()) < exp)
    }
}

#[derive(Deserialize)]
struct Claims {
    exp: u64,
}

/// The `exp` claim of a JWT, read without verifying the signature.
fn expiry_of(jwt: &str) -> Option<u64> {
    let mut parts = jwt.split('.');
    let (_header, payload) = (parts.next()?, parts.next()?);
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice::<Claims>(&bytes).ok().map(|c| c.exp)
}

/// Now, in Unix seconds (the unit of `exp`).
pub(crate) fn unix_now() -> u64 {
    crate::now_ms() / 1000
}

/// One cached token per container. The lock is held across a fetch, so
/// concurrent requests share one token call. Invalidation only bumps an
/// epoch, so it never waits on that lock (a fetch that is refused with 401
/// invalidates from inside the lock).
#[derive(Default)]
pub(crate) struct TokenCache {
    slot: Mutex<Option<(AccessToken, u64)>>,
    epoch: AtomicU64,
}

impl TokenCache {
    /// The cached token if still reusable, else the one `fetch` returns
    /// (kept if it is itself reusable).
    pub async fn get_or_fetch<F, Fut, E>(&self, fetch: F) -> Result<AccessToken, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<AccessToken, E>>,
    {
        let mut slot = self.slot.lock().await;
        let epoch = self.epoch.load(Ordering::Acquire);
        if let Some((token, _)) = slot
            .as_ref()
            .filter(|(t, at)| *at == epoch && t.is_reusable_at(unix_now()))
        {
            return Ok(token.clone());
        }
        let token = fetch().await?;
        *slot = token
            .is_reusable_at(unix_now())
            .then(|| (token.clone(), epoch));
        Ok(token)
    }

    /// Stop reusing the cached token (it was got with credentials that have
    /// since been refused).
    pub fn invalidate(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt_with(payload: &str) -> String {
        format!(
            "eyJhbGciOiJIUzI1NiJ9.{}.sig",
            URL_SAFE_NO_PAD.encode(payload)
        )
    }

    #[test]
    fn reads_exp_from_the_payload() {
        let t = AccessToken::new(jwt_with(r#"{"iat": 1700000000, "exp": 1700003600}"#));
        assert_eq!(t.expires_at(), Some(1_700_003_600));
    }

    #[test]
    fn unreadable_tokens_have_no_expiry_and_are_not_reused() {
        for jwt in [
            "",
            "abc",
            "a.!!!.c",
            &jwt_with(r#"{"iat": 1}"#),
            &jwt_with(r#"{"exp": "soon"}"#),
        ] {
            let t = AccessToken::new(jwt.to_string());
            assert_eq!(t.expires_at(), None, "{jwt}");
            assert!(!t.is_reusable_at(0));
        }
    }

    #[test]
    fn reusable_until_the_margin_before_exp() {
        let t = AccessToken::new(jwt_with(r#"{"exp": 10000}"#));
        let margin = REFRESH_MARGIN.as_secs();
        assert!(t.is_reusable_at(10000 - margin - 1));
        assert!(!t.is_reusable_at(10000 - margin));
        assert!(!t.is_reusable_at(20000));
    }

    #[test]
    fn debug_hides_the_token() {
        let t = AccessToken::new(jwt_with(r#"{"exp": 1}"#));
        assert!(!format!("{t:?}").contains("eyJ"));
    }

    #[tokio::test]
    async fn cache_reuses_a_fresh_token_and_refetches_a_stale_one() {
        let cache = TokenCache::default();
        let fresh = format!(r#"{{"exp": {}}}"#, unix_now() + 3600);
        let mut calls = 0;
        for _ in 0..3 {
            cache
                .get_or_fetch(|| {
                    calls += 1;
                    async { Ok::<_, ()>(AccessToken::new(jwt_with(&fresh))) }
                })
                .await
                .unwrap();
        }
        assert_eq!(calls, 1);

        cache.invalidate();
        let stale = format!(r#"{{"exp": {}}}"#, unix_now() + 60);
        let mut calls = 0;
        for _ in 0..2 {
            cache
                .get_or_fetch(|| {
                    calls += 1;
                    async { Ok::<_, ()>(AccessToken::new(jwt_with(&stale))) }
                })
                .await
                .unwrap();
        }
        assert_eq!(
            calls, 2,
            "a token inside the margin is used once, not cached"
        );
    }
}

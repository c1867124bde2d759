//! Who may connect: the user list, SCRAM-SHA-256 verifiers, and the SCRAM exchange of one
//! connection.
//!
//! Verifiers use PostgreSQL's format (`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`),
//! so one taken from `pg_authid.rolpassword` works here and the server never holds a password.
//! An unknown user goes through the same exchange against a made-up verifier and fails with
//! the same message as a wrong password, so the answer does not tell which names exist.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use pgwire::api::auth::sasl::scram::{
    ScramSecret, ScramServerAuth, ScramServerAuthWaitingForClientFinal, gen_salted_password,
};
use ring::rand::SecureRandom;

/// Iterations for verifiers made here (PostgreSQL's default).
pub const SCRAM_ITERATIONS: usize = 4096;

/// How clients prove who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// Any listed user name is accepted without a password (loopback only; the server
    /// checks that before starting).
    Trust,
    /// SCRAM-SHA-256 (SCRAM-SHA-256-PLUS with channel binding over TLS).
    ScramSha256,
}

/// A SCRAM-SHA-256 verifier: what the server keeps instead of a password.
#[derive(Clone, PartialEq, Eq)]
pub struct ScramVerifier {
    salt: Vec<u8>,
    iterations: usize,
    stored_key: Vec<u8>,
    server_key: Vec<u8>,
}

impl std::fmt::Debug for ScramVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScramVerifier(<redacted>)")
    }
}

impl ScramVerifier {
    /// Parses PostgreSQL's verifier text. The error never repeats the text.
    pub fn parse(text: &str) -> Result<ScramVerifier, String> {
        let bad = |what: &str| format!("not a SCRAM-SHA-256 verifier ({what})");
        let rest = text
            .strip_prefix("SCRAM-SHA-256$")
            .ok_or_else(|| bad("it must start with SCRAM-SHA-256$"))?;
        let (params, keys) = rest
            .split_once('$')
            .ok_or_else(|| bad("expected <iterations>:<salt>$<StoredKey>:<ServerKey>"))?;
        let (iterations, salt) = params
            .split_once(':')
            .ok_or_else(|| bad("expected <iterations>:<salt>"))?;
        let (stored_key, server_key) = keys
            .split_once(':')
            .ok_or_else(|| bad("expected <StoredKey>:<ServerKey>"))?;
        let iterations: usize = iterations
            .parse()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| bad("the iteration count is not a positive number"))?;
        let decode = |part: &str, what: &str| {
            STANDARD
                .decode(part)
                .map_err(|_| bad(&format!("the {what} is not base64")))
        };
        let salt = decode(salt, "salt")?;
        let stored_key = decode(stored_key, "StoredKey")?;
        let server_key = decode(server_key, "ServerKey")?;
        if salt.is_empty() || stored_key.len() != 32 || server_key.len() != 32 {
            return Err(bad("the salt is empty or a key is not 32 bytes"));
        }
        Ok(ScramVerifier {
            salt,
            iterations,
            stored_key,
            server_key,
        })
    }

    /// Makes a verifier for `password` with a fresh random salt.
    pub fn from_password(password: &str) -> ScramVerifier {
        let mut salt = vec![0u8; 16];
        fill_random(&mut salt);
        ScramVerifier::from_password_and_salt(password, salt, SCRAM_ITERATIONS)
    }

    fn from_password_and_salt(password: &str, salt: Vec<u8>, iterations: usize) -> ScramVerifier {
        let salted = gen_salted_password(password, &salt, iterations);
        match ScramSecret::verifier_from_salted_password(salt, salted, iterations) {
            ScramSecret::Verifier {
                salt,
                iterations,
                stored_key,
                server_key,
            } => ScramVerifier {
                salt,
                iterations,
                stored_key,
                server_key,
            },
            // verifier_from_salted_password always builds a Verifier.
            ScramSecret::SaltedPassword { salt, .. } => ScramVerifier {
                salt,
                iterations,
                stored_key: Vec::new(),
                server_key: Vec::new(),
            },
        }
    }

    /// The verifier in PostgreSQL's text form.
    pub fn to_text(&self) -> String {
        format!(
            "SCRAM-SHA-256${}:{}${}:{}",
            self.iterations,
            STANDARD.encode(&self.salt),
            STANDARD.encode(&self.stored_key),
            STANDARD.encode(&self.server_key)
        )
    }

    fn secret(&self) -> ScramSecret {
        ScramSecret::Verifier {
            salt: self.salt.clone(),
            iterations: self.iterations,
            stored_key: self.stored_key.clone(),
            server_key: self.server_key.clone(),
        }
    }
}

fn fill_random(buf: &mut [u8]) {
    // The system RNG failing is not something a server can work around.
    if ring::rand::SystemRandom::new().fill(buf).is_err() {
        panic!("the system random number generator failed");
    }
}

/// The users who may connect, and how.
#[derive(Debug)]
pub struct Users {
    method: AuthMethod,
    users: HashMap<String, Option<ScramVerifier>>,
    /// Secret material for the made-up verifiers of unknown users.
    mock_key: ring::hmac::Key,
    mock_keys: (Vec<u8>, Vec<u8>),
}

impl Users {
    /// `users` are (name, verifier) pairs; under SCRAM every user needs a verifier (the server
    /// config checks that).
    pub fn new(method: AuthMethod, users: Vec<(String, Option<ScramVerifier>)>) -> Users {
        let mut seed = [0u8; 96];
        fill_random(&mut seed);
        Users {
            method,
            users: users.into_iter().collect(),
            mock_key: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &seed[..32]),
            mock_keys: (seed[32..64].to_vec(), seed[64..].to_vec()),
        }
    }

    /// The same users, with the made-up verifiers of unknown users taken from `previous`: after
    /// a reload an unknown name still gets the salt it got before, so comparing answers across
    /// a reload does not tell which names exist.
    pub fn keeping_unknown_user_salts_of(mut self, previous: &Users) -> Users {
        self.mock_key = previous.mock_key.clone();
        self.mock_keys = previous.mock_keys.clone();
        self
    }

    /// How many users are configured.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether no user is configured (under `trust` the server config adds a default one).
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// The authentication method.
    pub fn method(&self) -> AuthMethod {
        self.method
    }

    /// Whether `name` is a configured user.
    pub fn exists(&self, name: &str) -> bool {
        self.users.contains_key(name)
    }

    /// The verifier to run the exchange against: the user's, or, for an unknown user, one made
    /// up from the name (stable per name, so repeated tries see the same salt).
    fn verifier_for(&self, name: &str) -> ScramVerifier {
        if let Some(Some(v)) = self.users.get(name) {
            return v.clone();
        }
        let tag = ring::hmac::sign(&self.mock_key, name.as_bytes());
        ScramVerifier {
            salt: tag.as_ref()[..16].to_vec(),
            iterations: SCRAM_ITERATIONS,
            stored_key: self.mock_keys.0.clone(),
            server_key: self.mock_keys.1.clone(),
        }
    }
}

/// Where one connection's SCRAM exchange stands.
#[derive(Debug, Default)]
pub(crate) enum ScramState {
    /// Nothing started (trust, or startup not received).
    #[default]
    Idle,
    /// The SASL mechanism list was sent; waiting for the client's first message.
    AwaitingClientFirst {
        /// Whether the connection is TLS with a certificate that allows channel binding.
        plus: bool,
    },
    /// The server-first message was sent; waiting for the client's proof.
    AwaitingClientFinal(Box<ScramServerAuthWaitingForClientFinal>),
}

/// Starts the exchange for `user` on the client's first message.
pub(crate) fn client_first(
    users: &Users,
    authenticator: &ScramServerAuth,
    user: &str,
    client_first: &[u8],
) -> pgwire::error::PgWireResult<(String, ScramServerAuthWaitingForClientFinal)> {
    authenticator
        .on_client_first_message_with_secret(client_first, users.verifier_for(user).secret())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifier_round_trips_and_matches_postgresql() {
        // The salt is stored base64-encoded, as PostgreSQL stores it.
        let v = ScramVerifier::from_password_and_salt("secret", b"0123456789abcdef".to_vec(), 4096);
        let text = v.to_text();
        assert!(
            text.starts_with("SCRAM-SHA-256$4096:MDEyMzQ1Njc4OWFiY2RlZg==$"),
            "{text}"
        );
        assert_eq!(ScramVerifier::parse(&text), Ok(v));
    }

    #[test]
    fn bad_verifiers_are_refused_without_echoing_them() {
        for bad in [
            "",
            "md5abc",
            "SCRAM-SHA-256$x:c2FsdA==$a:b",
            "SCRAM-SHA-256$4096:c2FsdA==$YQ==:YQ==",
            "SCRAM-SHA-256$4096:c2FsdA==",
            "SCRAM-SHA-256$4096:!!$a:b",
        ] {
            let err = ScramVerifier::parse(bad).expect_err(bad);
            assert!(bad.is_empty() || !err.contains(bad), "{err}");
        }
    }

    #[test]
    fn unknown_users_get_a_stable_made_up_salt() {
        let users = Users::new(AuthMethod::ScramSha256, vec![]);
        assert_eq!(users.verifier_for("eve"), users.verifier_for("eve"));
        assert_ne!(
            users.verifier_for("eve").salt,
            users.verifier_for("mallory").salt
        );
        assert!(!users.exists("eve"));
    }
}

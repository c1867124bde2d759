//! TLS: the certificate chain and key from PEM files, turned into the acceptor every new
//! connection uses.
//!
//! A certificate or key that cannot be read, parsed or paired is an error naming the file; the
//! caller stops startup on it. Nothing here ever falls back to plaintext.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use pgwire::api::auth::sasl::scram::ScramServerAuth;
use pgwire::tokio::TlsAcceptor;
use pgwire::tokio::tokio_rustls::rustls;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Whether clients may, or must, use TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Clients that ask for TLS get it; others connect in plaintext.
    Optional,
    /// A client that does not use TLS is refused with FATAL 28000.
    Required,
}

/// A loaded certificate and key: the acceptor for new connections, and what SCRAM channel
/// binding needs.
pub struct Tls {
    /// The acceptor new connections are handed.
    pub acceptor: TlsAcceptor,
    /// Optional or required.
    pub mode: TlsMode,
    /// The SCRAM authenticator bound to this certificate (`tls-server-end-point`), when the
    /// certificate's signature algorithm allows channel binding.
    pub(crate) scram_plus: Option<ScramServerAuth>,
    /// The certificate file, for logs.
    pub cert_file: PathBuf,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("mode", &self.mode)
            .field("cert_file", &self.cert_file)
            .field("channel_binding", &self.scram_plus.is_some())
            .finish_non_exhaustive()
    }
}

/// Why the certificate or key cannot be used. Each names the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The file cannot be read.
    #[error("cannot read {what} file {path}: {cause}")]
    Read {
        /// `certificate` or `private key`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        cause: String,
    },
    /// The file holds no usable PEM item.
    #[error("{what} file {path} holds no PEM {expected}")]
    Empty {
        /// `certificate` or `private key`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What was looked for.
        expected: &'static str,
    },
    /// rustls refused the pair (e.g. the key does not match the certificate).
    #[error("certificate {cert} and key {key} cannot be used together: {cause}")]
    Pair {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls's reason.
        cause: String,
    },
}

/// The ALPN protocol name PostgreSQL 17 clients send with direct TLS (`sslnegotiation=direct`).
const POSTGRESQL_ALPN: &[u8] = b"postgresql";

impl Tls {
    /// Loads the chain in `cert_file` (leaf first) and the key in `key_file` (PKCS#8, PKCS#1 RSA
    /// or SEC1 EC), and checks that they belong together.
    pub fn load(cert_file: &Path, key_file: &Path, mode: TlsMode) -> Result<Tls, TlsError> {
        let pem = std::fs::read(cert_file).map_err(|e| TlsError::Read {
            what: "certificate",
            path: cert_file.to_owned(),
            cause: e.to_string(),
        })?;
        let chain = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsError::Read {
                what: "certificate",
                path: cert_file.to_owned(),
                cause: e.to_string(),
            })?;
        if chain.is_empty() {
            return Err(TlsError::Empty {
                what: "certificate",
                path: cert_file.to_owned(),
                expected: "CERTIFICATE",
            });
        }
        let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| match e {
            rustls::pki_types::pem::Error::NoItemsFound => TlsError::Empty {
                what: "private key",
                path: key_file.to_owned(),
                expected: "PRIVATE KEY (PKCS#8), RSA PRIVATE KEY or EC PRIVATE KEY",
            },
            other => TlsError::Read {
                what: "private key",
                path: key_file.to_owned(),
                cause: other.to_string(),
            },
        })?;
        let pair_error = |cause: String| TlsError::Pair {
            cert: cert_file.to_owned(),
            key: key_file.to_owned(),
            cause,
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| pair_error(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| pair_error(e.to_string()))?;
        config.alpn_protocols = vec![POSTGRESQL_ALPN.to_vec()];
        let mut scram_plus = ScramServerAuth::new();
        let scram_plus = match scram_plus.configure_certificate(&pem) {
            Ok(()) => Some(scram_plus),
            Err(e) => {
                tracing::info!(cause = %e, cert = %cert_file.display(),
                    "SCRAM channel binding is off: the certificate's signature algorithm has no tls-server-end-point hash");
                None
            }
        };
        Ok(Tls {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            mode,
            scram_plus,
            cert_file: cert_file.to_owned(),
        })
    }
}

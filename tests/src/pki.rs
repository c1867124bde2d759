//! Throwaway certificates for TLS tests, made with rcgen: a CA and leaves for localhost.

use std::path::PathBuf;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

/// A throwaway CA and files in a temporary directory.
pub struct Pki {
    dir: tempfile::TempDir,
    ca: Issuer<'static, KeyPair>,
}

impl Default for Pki {
    fn default() -> Pki {
        Pki::new()
    }
}

impl Pki {
    /// A new CA in a new temporary directory (`ca.pem`).
    pub fn new() -> Pki {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params
            .distinguished_name
            .push(DnType::CommonName, "stagesql test CA");
        let key = KeyPair::generate().expect("ca key");
        let cert = params.self_signed(&key).expect("ca cert");
        std::fs::write(dir.path().join("ca.pem"), cert.pem()).expect("write ca");
        Pki {
            dir,
            ca: Issuer::new(params, key),
        }
    }

    /// A file in the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A leaf for localhost/127.0.0.1 over `key_pem` (PKCS#8), written as `name.crt` (leaf then
    /// CA); returns the certificate path.
    pub fn leaf(&self, name: &str, key_pem: &str) -> PathBuf {
        let key = KeyPair::from_pem(key_pem).expect("leaf key");
        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .expect("leaf params");
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let cert = params.signed_by(&key, &self.ca).expect("sign leaf");
        let ca = std::fs::read_to_string(self.path("ca.pem")).expect("ca");
        let path = self.path(&format!("{name}.crt"));
        std::fs::write(&path, format!("{}{ca}", cert.pem())).expect("write leaf");
        path
    }

    /// A fresh P-256 key in PKCS#8, written as `name.key`.
    pub fn ec_key(&self, name: &str) -> (PathBuf, String) {
        let pem = KeyPair::generate().expect("key").serialize_pem();
        let path = self.path(&format!("{name}.key"));
        std::fs::write(&path, &pem).expect("write key");
        (path, pem)
    }
}

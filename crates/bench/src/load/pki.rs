//! Throw-away TLS material for a load run: a CA and a server certificate for `127.0.0.1` and
//! `localhost` made with rcgen, written as PEM files for `crowsnest serve`; the clients trust
//! the CA alone.

use std::path::{Path, PathBuf};

use anyhow::Context;
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair};

/// The PEM files of one run.
pub struct Pki {
    pub ca_pem: String,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

impl Pki {
    /// Generates the CA and the server certificate into `dir`.
    pub fn generate(dir: &Path) -> anyhow::Result<Pki> {
        let ca_key = KeyPair::generate()?;
        let mut ca = CertificateParams::new(Vec::<String>::new())?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "crowsnest-load CA");
        let ca_cert = ca.self_signed(&ca_key)?;

        let key = KeyPair::generate()?;
        let mut leaf = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])?;
        leaf.distinguished_name.push(DnType::CommonName, "localhost");
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = leaf.signed_by(&key, &ca_cert, &ca_key)?;

        let server_cert = dir.join("server.pem");
        let server_key = dir.join("server.key");
        std::fs::write(&server_cert, cert.pem()).with_context(|| server_cert.display().to_string())?;
        std::fs::write(&server_key, key.serialize_pem()).with_context(|| server_key.display().to_string())?;
        Ok(Pki {
            ca_pem: ca_cert.pem(),
            server_cert,
            server_key,
        })
    }
}

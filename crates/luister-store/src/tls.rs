//! The HTTP client under the ClickHouse connection: plain HTTP, or HTTPS through rustls
//! for a managed or shared ClickHouse. Trust is the system's roots (`/etc/ssl/certs`)
//! plus, when configured, the certificates of one PEM file (a private CA).
//!
//! This module owns only transport; what is sent over it is the caller's business.

use crate::StoreError;
use hyper_rustls::HttpsConnectorBuilder;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Below ClickHouse's own keep-alive timeout (3 s on 18.x), so a pooled socket is never
/// one the server is about to close.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_millis(2_500);
const TCP_KEEPALIVE: Duration = Duration::from_secs(60);

/// A ClickHouse client whose transport speaks `http://` and `https://` URLs.
pub(crate) fn http_client(ca_file: Option<&Path>) -> Result<clickhouse::Client, StoreError> {
    let mut http = HttpConnector::new();
    http.set_keepalive(Some(TCP_KEEPALIVE));
    http.enforce_http(false);
    let https = HttpsConnectorBuilder::new()
        .with_tls_config(tls_config(ca_file)?)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    let hyper = HyperClient::builder(TokioExecutor::new())
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .build(https);
    Ok(clickhouse::Client::with_http_client(hyper))
}

fn tls_config(ca_file: Option<&Path>) -> Result<ClientConfig, StoreError> {
    let roots = root_store(ca_file)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(format!("no usable protocol versions: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

/// The system's roots, then the CA file's. An unreadable or empty CA file is an error:
/// silently trusting only the system roots would hide a typo until the first request.
fn root_store(ca_file: Option<&Path>) -> Result<RootCertStore, StoreError> {
    let mut roots = RootCertStore::empty();
    // Machines without a CA bundle (a minimal container) still work with a CA file.
    let system = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(system.certs);
    if let Some(path) = ca_file {
        let certs = ca_certificates(path)?;
        let (added, _ignored) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(ca_error(path, "holds no usable CA certificate"));
        }
    }
    Ok(roots)
}

fn ca_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, StoreError> {
    let iter = CertificateDer::pem_file_iter(path).map_err(|e| ca_error(path, e))?;
    let certs = iter
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ca_error(path, e))?;
    if certs.is_empty() {
        return Err(ca_error(path, "holds no PEM certificate"));
    }
    Ok(certs)
}

fn ca_error(path: &Path, reason: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid {
        field: "clickhouse.ca_file",
        reason: format!("{}: {reason}", path.display()),
    }
}

fn tls_error(reason: String) -> StoreError {
    StoreError::Invalid {
        field: "clickhouse tls",
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_ca_file_is_an_error_that_names_it() {
        let Err(err) = http_client(Some(Path::new("/nonexistent/ca.pem"))) else {
            panic!("a missing file must fail");
        };
        let text = err.to_string();
        assert!(text.contains("clickhouse.ca_file"), "{text}");
        assert!(text.contains("/nonexistent/ca.pem"), "{text}");
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let Err(err) = http_client(Some(&path)) else {
            panic!("a file without certificates must fail");
        };
        assert!(err.to_string().contains("no PEM certificate"), "{err}");
    }

    #[test]
    fn without_a_ca_file_the_system_roots_suffice() {
        assert!(http_client(None).is_ok());
    }
}

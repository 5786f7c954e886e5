//! The fake over TLS ([`super::FakeUpstream::start_tls`]): what the real backend speaks, HTTP/2
//! when the client offers it by ALPN, HTTP/1.1 otherwise.
//!
//! The certificate (`tests/fixtures/tls/server.pem`, for `127.0.0.1` and `localhost`) is
//! signed by a test authority (`ca.pem`) that clients are told to trust: codexia through
//! `SSL_CERT_FILE`, the benchmarks' own clients with `add_root_certificate`. Made once with
//! openssl (P-256, valid for 100 years): a CA with `basicConstraints=CA:TRUE`, and a leaf with
//! `CA:FALSE`, `extendedKeyUsage=serverAuth` and `subjectAltName=IP:127.0.0.1,DNS:localhost`
//! (webpki refuses a CA certificate as the server's own).

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The test authority's certificate (PEM), for `SSL_CERT_FILE` or `add_root_certificate`.
pub fn test_ca_file() -> PathBuf {
    fixture("ca.pem")
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

fn acceptor() -> tokio_rustls::TlsAcceptor {
    let chain = CertificateDer::pem_file_iter(fixture("server.pem"))
        .expect("server certificate")
        .collect::<Result<Vec<_>, _>>()
        .expect("server certificate");
    let key = PrivateKeyDer::from_pem_file(fixture("server.key")).expect("server key");
    // The provider is named: the dependency tree may enable more than one.
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .expect("server certificate and key");
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

/// Accepts connections on `listener` and serves `app` on each, over TLS, until aborted.
pub(super) async fn serve<L>(mut listener: L, app: Router)
where
    L: axum::serve::Listener<Io = tokio::net::TcpStream>,
{
    let acceptor = acceptor();
    loop {
        let (tcp, _) = listener.accept().await;
        let acceptor = acceptor.clone();
        let service = TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let Ok(stream) = acceptor.accept(tcp).await else {
                return;
            };
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

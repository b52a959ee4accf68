//! The API over HTTPS ([`crate::SimConfig::tls`]): a CA made at start, a certificate it signs
//! for `127.0.0.1` and `localhost`, and an accept loop that serves the API's router on TLS
//! connections. The CA's private key is dropped once the certificate is signed, so nothing
//! else can ever be signed by it; the CA certificate is what clients are told to trust.

use std::sync::Arc;

use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

/// What the HTTPS API serves with.
#[derive(Clone)]
pub(crate) struct Tls {
    /// The CA certificate, PEM: what clients must trust.
    pub ca_pem: String,
    acceptor: TlsAcceptor,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").finish_non_exhaustive()
    }
}

/// A new CA and a server certificate for the loopback API.
pub(crate) fn generate() -> Result<Tls, String> {
    let err = |what: &str, e: &dyn std::fmt::Display| format!("{what}: {e}");
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(|e| err("CA", &e))?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "do-sim CA (made at start, for one run)");
    ca.distinguished_name = dn;
    let ca_key = KeyPair::generate().map_err(|e| err("CA key", &e))?;
    let ca_cert = ca.self_signed(&ca_key).map_err(|e| err("CA", &e))?;
    let issuer = rcgen::Issuer::new(ca, ca_key);

    let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .map_err(|e| err("certificate", &e))?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "do-sim API");
    leaf.distinguished_name = dn;
    let leaf_key = KeyPair::generate().map_err(|e| err("key", &e))?;
    let leaf_cert = leaf
        .signed_by(&leaf_key, &issuer)
        .map_err(|e| err("certificate", &e))?;

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| err("TLS", &e))?
        .with_no_client_auth()
        .with_single_cert(
            vec![
                CertificateDer::from(leaf_cert.der().to_vec()),
                CertificateDer::from(ca_cert.der().to_vec()),
            ],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .map_err(|e| err("TLS", &e))?;
    let mut config = config;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Tls {
        ca_pem: ca_cert.pem(),
        acceptor: TlsAcceptor::from(Arc::new(config)),
    })
}

/// Serves `router` on TLS connections accepted from `listener` until `stop` turns true.
pub(crate) async fn serve(
    tls: Tls,
    listener: TcpListener,
    router: Router,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                Err(_) => continue,
            },
            _ = stop.wait_for(|s| *s) => return,
        };
        let acceptor = tls.acceptor.clone();
        let router = router.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            // A client that fails the handshake (it does not trust the CA) just goes away.
            let Ok(stream) = acceptor.accept(stream).await else {
                return;
            };
            let service = TowerToHyperService::new(router);
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = conn => {}
                _ = stop.wait_for(|s| *s) => {}
            }
        });
    }
}

//! TLS of both HBONE ends (`dataplane/hbone/src/tls-options.ts`): TLS 1.3 only, ALPN h2, a client certificate
//! always required, and the server checked by SPIFFE URI SAN instead of by hostname. Certificates, keys and
//! trust bundles arrive as PEM from JavaScript and become immutable configs; replacing material builds a new
//! config for connections made from then on (open ones keep theirs, as Istio's do).
use std::fmt;
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{Resumption, verify_server_cert_signed_by_trust_anchor};
use rustls::crypto::{CryptoProvider, ring};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::{NoServerSessionStorage, ParsedCertificate, WebPkiClientVerifier};
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, OtherError, RootCertStore, ServerConfig,
    SignatureScheme,
};

use super::identity::{IdentityError, identity_of, match_identity};

pub const ALPN_H2: &[u8] = b"h2";

/// The `ring` provider (docs/decisions.md), TLS 1.3 suites only, AES-128-GCM first: it is the fastest of the
/// three with AES-NI, and what a native client offers first. A server follows the client's order.
pub fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| {
            use rustls::crypto::ring::cipher_suite::*;
            Arc::new(CryptoProvider {
                cipher_suites: vec![
                    TLS13_AES_128_GCM_SHA256,
                    TLS13_AES_256_GCM_SHA384,
                    TLS13_CHACHA20_POLY1305_SHA256,
                ],
                ..ring::default_provider()
            })
        })
        .clone()
}

/// A failure to load material or build a config; the message says which part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsError(pub String);

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A workload's certificate and the roots it trusts, parsed and checked once.
#[derive(Clone)]
pub struct WorkloadTls {
    /// The SPIFFE id of the leaf.
    pub identity: String,
    certified: Arc<CertifiedKey>,
    roots: Arc<RootCertStore>,
}

impl fmt::Debug for WorkloadTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkloadTls")
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

fn certificates(pem: &str, what: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError(format!("{what}: not PEM certificates: {e}")))
}

impl WorkloadTls {
    /// `cert` is the leaf (any certificates after it in the same PEM count as chain), `chain` intermediates,
    /// `key` PKCS#8 or SEC1, `trust_bundle` every root a peer may chain to. The key must match the leaf, and
    /// the leaf must name exactly one SPIFFE id.
    pub fn from_pem(
        cert: &str,
        key: &str,
        chain: &[String],
        trust_bundle: &[String],
    ) -> Result<WorkloadTls, TlsError> {
        let mut certs = certificates(cert, "cert")?;
        if certs.is_empty() {
            return Err(TlsError("cert: no certificate in the PEM".into()));
        }
        for pem in chain {
            certs.extend(certificates(pem, "chain")?);
        }
        let identity = identity_of(&certs[0]).map_err(|e| TlsError(format!("cert: {e}")))?;
        let key = PrivateKeyDer::from_pem_slice(key.as_bytes())
            .map_err(|e| TlsError(format!("key: not a PEM private key: {e}")))?;
        let certified =
            CertifiedKey::from_der(certs, key, &provider()).map_err(|e| TlsError(format!("key: {e}")))?;
        let mut roots = RootCertStore::empty();
        for pem in trust_bundle {
            for root in certificates(pem, "trustBundle")? {
                roots
                    .add(root)
                    .map_err(|e| TlsError(format!("trustBundle: {e}")))?;
            }
        }
        if roots.is_empty() {
            return Err(TlsError("trustBundle: no root certificate".into()));
        }
        Ok(WorkloadTls {
            identity,
            certified: Arc::new(certified),
            roots: Arc::new(roots),
        })
    }

    /// The server end: presents this certificate, requires a client certificate chaining to the trust bundle,
    /// offers only h2. No session resumption, so every connection proves its certificate afresh.
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, TlsError> {
        let verifier = WebPkiClientVerifier::builder_with_provider(self.roots.clone(), provider())
            .build()
            .map_err(|e| TlsError(format!("client verifier: {e}")))?;
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| TlsError(e.to_string()))?
            .with_client_cert_verifier(verifier)
            .with_cert_resolver(Arc::new(SingleCertAndKey::from(self.certified.clone())));
        config.alpn_protocols = vec![ALPN_H2.to_vec()];
        config.session_storage = Arc::new(NoServerSessionStorage {});
        config.send_tls13_tickets = 0;
        Ok(Arc::new(config))
    }

    /// The client end: presents this (the source workload's) certificate and accepts the server only if its
    /// chain reaches the trust bundle and its SPIFFE id is one of `expected`. No SNI, no resumption.
    pub fn client_config(&self, expected: &[String]) -> Result<Arc<ClientConfig>, TlsError> {
        let verifier = Arc::new(SpiffeServerVerifier {
            roots: self.roots.clone(),
            expected: expected.to_vec(),
            provider: provider(),
        });
        let mut config = ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| TlsError(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_client_cert_resolver(Arc::new(SingleCertAndKey::from(self.certified.clone())));
        config.alpn_protocols = vec![ALPN_H2.to_vec()];
        config.resumption = Resumption::disabled();
        config.enable_sni = false;
        Ok(Arc::new(config))
    }
}

/// The SPIFFE id of a verified peer's leaf certificate (rustls verified the chain during the handshake).
pub fn peer_identity(certs: Option<&[CertificateDer<'_>]>) -> Result<String, IdentityError> {
    let leaf = certs.and_then(|c| c.first()).ok_or(IdentityError::None)?;
    identity_of(leaf)
}

/// The identity failure inside a handshake error, if that is what failed it.
pub fn identity_failure(error: &rustls::Error) -> Option<&IdentityError> {
    match error {
        rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(inner))) => {
            inner.downcast_ref::<IdentityError>()
        }
        _ => None,
    }
}

/// rustls checks hostnames; HBONE checks SPIFFE ids (we dial pod IPs). So the chain check is rustls' own, and
/// the name check is replaced, not added to.
#[derive(Debug)]
struct SpiffeServerVerifier {
    roots: Arc<RootCertStore>,
    expected: Vec<String>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for SpiffeServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let parsed = ParsedCertificate::try_from(end_entity)?;
        verify_server_cert_signed_by_trust_anchor(
            &parsed,
            &self.roots,
            intermediates,
            now,
            self.provider.signature_verification_algorithms.all,
        )?;
        match_identity(end_entity, &self.expected).map_err(|e| {
            rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(e))))
        })?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        // The config offers TLS 1.3 only.
        Err(rustls::Error::PeerIncompatible(
            rustls::PeerIncompatible::Tls12NotOffered,
        ))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::super::identity::fixtures::*;
    use super::*;

    fn workload((cert, key): (&str, &str), roots: &[&str]) -> Result<WorkloadTls, TlsError> {
        let roots: Vec<String> = roots.iter().map(|r| (*r).to_owned()).collect();
        WorkloadTls::from_pem(cert, key, &[], &roots)
    }

    fn verify(verifier_of: &WorkloadTls, expected: &[&str], peer: &str) -> Result<(), rustls::Error> {
        let verifier = SpiffeServerVerifier {
            roots: verifier_of.roots.clone(),
            expected: expected.iter().map(|e| (*e).to_owned()).collect(),
            provider: provider(),
        };
        let name = ServerName::try_from("0.0.0.0").unwrap();
        verifier
            .verify_server_cert(&der(peer), &[], &name, &[], UnixTime::now())
            .map(|_| ())
    }

    #[test]
    fn loads_material_and_names_its_identity() {
        let sleep = workload(SLEEP, &[ROOT]).unwrap();
        assert_eq!(sleep.identity, SLEEP_ID);
        sleep.server_config().unwrap();
        sleep.client_config(&[SERVER_ID.into()]).unwrap();
    }

    #[test]
    fn refuses_bad_material() {
        let err = |r: Result<WorkloadTls, TlsError>| r.unwrap_err().0;
        assert!(
            err(workload((SLEEP.0, SERVER.1), &[ROOT])).starts_with("key:"),
            "mismatched key"
        );
        assert!(err(workload(SLEEP, &[])).starts_with("trustBundle:"));
        assert!(err(workload(("", SLEEP.1), &[ROOT])).starts_with("cert:"));
        assert!(err(workload(SLEEP, &["garbage"])).starts_with("trustBundle:"));
        assert!(err(workload(TWO_IDS, &[ROOT])).contains("exactly one"));
        assert!(err(workload(NO_SPIFFE, &[ROOT])).contains("no SPIFFE"));
    }

    #[test]
    fn the_client_accepts_only_an_expected_identity_from_a_trusted_chain() {
        let sleep = workload(SLEEP, &[ROOT]).unwrap();
        verify(&sleep, &[SERVER_ID], SERVER.0).unwrap();
        let wrong = verify(&sleep, &[SLEEP_ID], SERVER.0).unwrap_err();
        assert!(
            matches!(identity_failure(&wrong), Some(IdentityError::Unexpected { actual, .. }) if actual == SERVER_ID)
        );
        let untrusted = verify(&sleep, &[SLEEP_ID], STRANGER.0).unwrap_err();
        assert_eq!(
            untrusted,
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
        );
        assert!(
            verify(&sleep, &[], SERVER.0).is_err(),
            "no expectation, no server"
        );
        // Trusting the other root is what makes the stranger acceptable.
        let trusting_both = workload(SLEEP, &[ROOT, OTHER_ROOT]).unwrap();
        verify(&trusting_both, &[SLEEP_ID], STRANGER.0).unwrap();
    }
}

//! Peer identities on HBONE: the SPIFFE URI SAN of a workload certificate, and the check that it is one the
//! config expects (`dataplane/hbone/src/identity.ts`). Pure functions over DER; no I/O. The chain is verified
//! elsewhere (tls.rs) before anything here is believed.
use std::fmt;

use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityError {
    Unreadable(String),
    None,
    Several(Vec<String>),
    Unexpected { actual: String, expected: Vec<String> },
}

impl fmt::Display for IdentityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentityError::Unreadable(why) => write!(f, "peer certificate is unreadable: {why}"),
            IdentityError::None => write!(f, "peer certificate has no SPIFFE URI SAN"),
            IdentityError::Several(ids) => write!(
                f,
                "peer certificate names {} SPIFFE ids ({}); exactly one expected",
                ids.len(),
                ids.join(", ")
            ),
            IdentityError::Unexpected { actual, expected } => write!(
                f,
                "peer identity {actual} is not one of the expected [{}]",
                expected.join(", ")
            ),
        }
    }
}

impl std::error::Error for IdentityError {}

/// The SPIFFE ids (`spiffe://…` URI SANs) a certificate names, in order.
pub fn spiffe_ids(der: &[u8]) -> Result<Vec<String>, IdentityError> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| IdentityError::Unreadable(e.to_string()))?;
    let san = cert
        .subject_alternative_name()
        .map_err(|e| IdentityError::Unreadable(e.to_string()))?;
    Ok(san
        .map(|ext| {
            ext.value
                .general_names
                .iter()
                .filter_map(|name| match name {
                    GeneralName::URI(uri) if uri.starts_with("spiffe://") => Some((*uri).to_owned()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default())
}

/// The one SPIFFE id a workload certificate names. The mesh CA issues exactly one; a certificate with none or
/// several is not a workload identity and is refused.
pub fn identity_of(der: &[u8]) -> Result<String, IdentityError> {
    let mut ids = spiffe_ids(der)?;
    match ids.len() {
        0 => Err(IdentityError::None),
        1 => Ok(ids.remove(0)),
        _ => Err(IdentityError::Several(ids)),
    }
}

/// Checks a certificate against the identities the config says the peer runs as and returns the one that
/// matched. An empty `expected` matches nothing: the caller must know who it is talking to (fails closed).
pub fn match_identity(der: &[u8], expected: &[String]) -> Result<String, IdentityError> {
    let actual = identity_of(der)?;
    if expected.contains(&actual) {
        Ok(actual)
    } else {
        Err(IdentityError::Unexpected {
            actual,
            expected: expected.to_vec(),
        })
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! PEM files made by `testdata/gen.sh`.
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    pub const ROOT: &str = include_str!("testdata/root.pem");
    pub const OTHER_ROOT: &str = include_str!("testdata/other-root.pem");
    pub const SLEEP: (&str, &str) = (
        include_str!("testdata/sleep.pem"),
        include_str!("testdata/sleep-key.pem"),
    );
    pub const SERVER: (&str, &str) = (
        include_str!("testdata/server.pem"),
        include_str!("testdata/server-key.pem"),
    );
    pub const TWO_IDS: (&str, &str) = (
        include_str!("testdata/two-ids.pem"),
        include_str!("testdata/two-ids-key.pem"),
    );
    pub const NO_SPIFFE: (&str, &str) = (
        include_str!("testdata/no-spiffe.pem"),
        include_str!("testdata/no-spiffe-key.pem"),
    );
    pub const STRANGER: (&str, &str) = (
        include_str!("testdata/stranger.pem"),
        include_str!("testdata/stranger-key.pem"),
    );
    pub const SLEEP_ID: &str = "spiffe://cluster.local/ns/default/sa/sleep";
    pub const SERVER_ID: &str = "spiffe://cluster.local/ns/default/sa/server";

    pub fn der(pem: &str) -> CertificateDer<'static> {
        CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

    #[test]
    fn reads_the_one_spiffe_id() {
        assert_eq!(identity_of(&der(SLEEP.0)).unwrap(), SLEEP_ID);
        assert_eq!(spiffe_ids(&der(ROOT)).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn refuses_none_or_several() {
        assert_eq!(identity_of(&der(NO_SPIFFE.0)), Err(IdentityError::None));
        let Err(IdentityError::Several(ids)) = identity_of(&der(TWO_IDS.0)) else {
            panic!("two ids accepted");
        };
        assert_eq!(
            ids,
            [
                "spiffe://cluster.local/ns/a/sa/one",
                "spiffe://cluster.local/ns/b/sa/two"
            ]
        );
        assert!(matches!(
            identity_of(b"not a certificate"),
            Err(IdentityError::Unreadable(_))
        ));
    }

    #[test]
    fn matches_only_an_expected_identity() {
        let sleep = der(SLEEP.0);
        assert_eq!(
            match_identity(&sleep, &[SERVER_ID.into(), SLEEP_ID.into()]).unwrap(),
            SLEEP_ID
        );
        let wrong = match_identity(&sleep, &[SERVER_ID.into()]).unwrap_err();
        assert_eq!(
            wrong.to_string(),
            format!("peer identity {SLEEP_ID} is not one of the expected [{SERVER_ID}]")
        );
        assert!(
            match_identity(&sleep, &[]).is_err(),
            "empty expectations match nothing"
        );
        // Without the scheme it is a different string: never a match (DESIGN §7 principals are written so).
        assert!(match_identity(&sleep, &["cluster.local/ns/default/sa/sleep".into()]).is_err());
    }
}

//! Which certificate authorities the functions' clients trust: fixed sets,
//! compiled in, so that building a client reads no file.
//!
//! The platform's certificate store is what both TLS stacks would load by
//! default, and loading it was 87 % of a function's init (every PEM file
//! of the system's bundle read and base64-decoded, twice: once for reqwest,
//! once for the AWS SDK). See BENCHMARKS.md, "Where init goes".
//!
//! - **The AWS SDK** (Secrets Manager, DynamoDB) trusts Amazon's own roots
//!   only: Amazon Root CA 1-4 and Starfield Services Root G2, the roots
//!   every AWS service endpoint chains to (amazontrust.com).
//! - **Provider calls** (Qbit Pay, DeBox) trust Mozilla's root program as
//!   `webpki-roots` ships it, already parsed into trust anchors.
//!
//! The trade-off, written down in SECURITY.md: a root added to the machine
//! (a TLS-inspecting proxy's CA, a private CA) is not trusted, and a root
//! Mozilla adds or removes reaches the functions with a rebuild, not with
//! the platform's updates. The operator CLI (`payments-admin`), which runs
//! on operators' machines, keeps the platform's store.

use std::sync::Arc;

use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};

/// Amazon Root CA 1-4 and Starfield Services Root Certificate Authority -
/// G2 (fingerprints checked by this module's tests).
const AMAZON_ROOTS_PEM: &str = include_str!("tls/amazon-roots.pem");

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("the AWS SDK's TLS settings: {0}")]
    Aws(#[from] aws_smithy_http_client::HttpClientError),
    #[error("the provider clients' TLS settings: {0}")]
    Providers(#[from] rustls::Error),
}

/// The AWS SDK's HTTPS client: rustls on aws-lc-rs (as the SDK's default),
/// trusting Amazon's roots only.
pub fn aws_https_client() -> Result<aws_sdk_secretsmanager::config::SharedHttpClient, TlsError> {
    let trust = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(AMAZON_ROOTS_PEM.as_bytes());
    let context = TlsContext::builder().with_trust_store(trust).build()?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ))
        .tls_context(context)
        .build_https())
}

/// The provider clients' TLS settings: rustls on aws-lc-rs, TLS 1.2 and
/// 1.3, Mozilla's roots, no client certificate.
pub fn provider_tls() -> Result<rustls::ClientConfig, TlsError> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    fn sha256_hex(der: &[u8]) -> String {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der);
        digest.as_ref().iter().map(|b| format!("{b:02X}")).collect()
    }

    /// The five roots, by the SHA-256 fingerprints amazontrust.com publishes.
    #[test]
    fn the_aws_trust_store_is_exactly_amazons_five_roots() {
        let fingerprints: Vec<String> = CertificateDer::pem_slice_iter(AMAZON_ROOTS_PEM.as_bytes())
            .map(|cert| sha256_hex(&cert.expect("a PEM certificate")))
            .collect();
        assert_eq!(
            fingerprints,
            [
                // Amazon Root CA 1
                "8ECDE6884F3D87B1125BA31AC3FCB13D7016DE7F57CC904FE1CB97C6AE98196E",
                // Amazon Root CA 2
                "1BA5B2AA8C65401A82960118F80BEC4F62304D83CEC4713A19C39C011EA46DB4",
                // Amazon Root CA 3
                "18CE6CFE7BF14E60B2E347B8DFE868CB31D02EBB3ADA271569F50343B46DB3A4",
                // Amazon Root CA 4
                "E35D28419ED02025CFA69038CD623962458DA5C695FBDEA3C22B0BFB25897092",
                // Starfield Services Root Certificate Authority - G2
                "568D6905A2C88708A4B3025190EDCFEDB1974A606A13C6E5290FCB2AE63EDAB5",
            ]
        );
    }

    #[test]
    fn both_settings_build() {
        aws_https_client().expect("the SDK's HTTPS client");
        provider_tls().expect("the provider TLS settings");
    }
}

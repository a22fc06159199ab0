//! TLS for [`PostgresStore`](super::PostgresStore): the connection string's `sslmode` and
//! `sslrootcert`, read as libpq reads them, and the rustls configuration they call for.
//!
//! tokio-postgres parses only `sslmode=disable|prefer|require` and no `sslrootcert`, so both
//! keys are taken out of the connection string here and the rest is handed to
//! [`Config`]'s own parser; the mode is then set on the [`Config`] and the verification on the
//! rustls [`ClientConfig`].

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres::Config;
use tokio_postgres::config::SslMode as PgSslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::super::StoreError;

/// The connection string's `sslmode`, with libpq's five values (default `prefer`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SslMode {
    /// Plain connections only.
    Disable,
    /// TLS when the server offers it, else plain (also when the TLS attempt fails).
    Prefer,
    /// TLS or nothing; the certificate is verified only when `sslrootcert` names a CA.
    Require,
    /// TLS, the certificate chain verified against the CA (any host name).
    VerifyCa,
    /// TLS, the chain verified and the certificate naming the host connected to.
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "disable" => Self::Disable,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            _ => return None,
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }
}

/// Where the CA certificates that verify the server come from.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Roots {
    /// `sslrootcert=<file>`: the PEM certificates in that file.
    File(PathBuf),
    /// `sslrootcert=system`, or no `sslrootcert` with a `verify-*` mode: the Mozilla roots
    /// (webpki-roots, the set reqwest uses for the epilot callbacks too).
    System,
}

/// The TLS settings of one connection string, and the connector they make.
#[derive(Clone)]
pub(super) struct Tls {
    mode: SslMode,
    /// Given explicitly as `sslrootcert`.
    root_cert: Option<Roots>,
    connector: MakeRustlsConnect,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

/// The settings as the connection string spelled them, for error messages:
/// `` `sslmode=verify-full`, `sslrootcert=/etc/ca.pem` `` (never anything else of the string).
impl fmt::Display for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`sslmode={}`", self.mode.as_str())?;
        match &self.root_cert {
            Some(Roots::File(path)) => write!(f, ", `sslrootcert={}`", path.display()),
            Some(Roots::System) => write!(f, ", `sslrootcert=system`"),
            None if self.verifies() => write!(f, " (system roots)"),
            None => Ok(()),
        }
    }
}

impl Tls {
    /// Parses a connection string (URL or `key=value` form) into tokio-postgres's [`Config`]
    /// and the TLS settings, reading the `sslrootcert` file if one is named.
    pub(super) fn parse(conn_str: &str) -> Result<(Config, Self), StoreError> {
        let split = split(conn_str);
        let mut config: Config = split.rest.parse().map_err(|e: tokio_postgres::Error| {
            StoreError::InvalidConfig(format!(
                "malformed PostgreSQL connection string: {}",
                super::PgError(e)
            ))
        })?;
        let mode = match &split.sslmode {
            None => SslMode::Prefer,
            Some(value) => SslMode::parse(value).ok_or_else(|| {
                StoreError::InvalidConfig(format!(
                    "malformed PostgreSQL connection string: unknown `sslmode={value}`; expected \
                     `disable`, `prefer`, `require`, `verify-ca` or `verify-full`"
                ))
            })?,
        };
        let root_cert = split.sslrootcert.map(|value| match value.as_str() {
            "system" => Roots::System,
            _ => Roots::File(PathBuf::from(value)),
        });
        if root_cert == Some(Roots::System) && !matches!(mode, SslMode::VerifyFull) {
            // libpq's rule: the public roots vouch for any host with one of their certificates
            return Err(StoreError::InvalidConfig(format!(
                "`sslrootcert=system` needs `sslmode=verify-full`, found `sslmode={}`",
                mode.as_str()
            )));
        }
        config.ssl_mode(match mode {
            SslMode::Disable => PgSslMode::Disable,
            SslMode::Prefer => PgSslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => PgSslMode::Require,
        });
        let mut tls = Self {
            mode,
            root_cert,
            connector: MakeRustlsConnect::new(any_certificate()),
        };
        if tls.verifies() {
            tls.connector = MakeRustlsConnect::new(tls.verifying_config()?);
        }
        Ok((config, tls))
    }

    pub(super) fn mode(&self) -> SslMode {
        self.mode
    }

    pub(super) fn connector(&self) -> &MakeRustlsConnect {
        &self.connector
    }

    /// Whether `sslrootcert` names a CA file.
    pub(super) fn names_a_ca(&self) -> bool {
        matches!(self.root_cert, Some(Roots::File(_)))
    }

    /// Whether the server's certificate is checked: always in the `verify-*` modes, and in
    /// `prefer` and `require` when `sslrootcert` names a CA (libpq then acts as `verify-ca`).
    fn verifies(&self) -> bool {
        matches!(self.mode, SslMode::VerifyCa | SslMode::VerifyFull) || self.root_cert.is_some()
    }

    fn verifying_config(&self) -> Result<ClientConfig, StoreError> {
        let mut roots = RootCertStore::empty();
        match self.root_cert.as_ref().unwrap_or(&Roots::System) {
            Roots::System => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            Roots::File(path) => {
                let unreadable = |why: String| {
                    StoreError::InvalidConfig(format!(
                        "cannot use `sslrootcert={}`: {why}",
                        path.display()
                    ))
                };
                let certs = CertificateDer::pem_file_iter(path)
                    .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| unreadable(e.to_string()))?;
                if certs.is_empty() {
                    return Err(unreadable("the file holds no PEM certificate".into()));
                }
                for cert in certs {
                    roots
                        .add(cert)
                        .map_err(|e| unreadable(format!("a certificate is invalid: {e}")))?;
                }
            }
        }
        let provider = provider();
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| StoreError::InvalidConfig(format!("cannot verify PostgreSQL: {e}")))?;
        let verifier: Arc<dyn ServerCertVerifier> = if self.mode == SslMode::VerifyFull {
            webpki
        } else {
            Arc::new(AnyName(webpki))
        };
        Ok(builder(provider)
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth())
    }
}

/// The crypto of reqwest's rustls: ring.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn builder(
    provider: Arc<CryptoProvider>,
) -> rustls::ConfigBuilder<ClientConfig, rustls::WantsVerifier> {
    ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports TLS 1.2 and 1.3")
}

/// `prefer` and `require` without `sslrootcert`: encrypted, not authenticated (libpq's meaning).
fn any_certificate() -> ClientConfig {
    let provider = provider();
    builder(provider.clone())
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        .with_no_client_auth()
}

/// Accepts any certificate; the handshake's signatures are still checked, so the session keys
/// belong to whoever holds the certificate's key.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the full web-PKI check except the host name. webpki checks the chain before
/// the name, so a name mismatch means the chain was good.
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// A connection string with `sslmode` and `sslrootcert` taken out (the last of each wins, as in
/// libpq).
#[derive(Debug, PartialEq, Eq)]
struct Split {
    rest: String,
    sslmode: Option<String>,
    sslrootcert: Option<String>,
}

/// Takes the TLS keys out of either form of connection string. A string this cannot read is
/// handed over whole, so tokio-postgres reports what is wrong with it.
fn split(conn_str: &str) -> Split {
    let whole = || Split {
        rest: conn_str.to_owned(),
        sslmode: None,
        sslrootcert: None,
    };
    let url = ["postgres://", "postgresql://"]
        .iter()
        .any(|prefix| conn_str.starts_with(prefix));
    let split = if url {
        split_url(conn_str)
    } else {
        split_key_values(conn_str)
    };
    split.unwrap_or_else(whole)
}

/// `postgres://user:pw@host/db?k=v&…`. tokio-postgres takes the credentials up to the first
/// `@`, so the query starts at the first `?` after it (a password may hold a `?`).
fn split_url(url: &str) -> Option<Split> {
    let after_credentials = url.find('@').map_or(0, |at| at + 1);
    let Some(question) = url[after_credentials..]
        .find('?')
        .map(|q| q + after_credentials)
    else {
        return Some(Split {
            rest: url.to_owned(),
            sslmode: None,
            sslrootcert: None,
        });
    };
    let mut split = Split {
        rest: url[..question].to_owned(),
        sslmode: None,
        sslrootcert: None,
    };
    let mut kept = Vec::new();
    for param in url[question + 1..].split('&') {
        let (key, value) = param.split_once('=')?;
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .ok()
                .map(|s| s.into_owned())
        };
        match decode(key)?.as_str() {
            "sslmode" => split.sslmode = Some(decode(value)?),
            "sslrootcert" => split.sslrootcert = Some(decode(value)?),
            _ => kept.push(param),
        }
    }
    if !kept.is_empty() {
        split.rest.push('?');
        split.rest.push_str(&kept.join("&"));
    }
    Some(split)
}

/// `host=… sslmode=require sslrootcert='/path with spaces'`, tokenised as tokio-postgres does
/// (values bare or single-quoted, `\` escaping the next character); the other keys are written
/// back quoted.
fn split_key_values(s: &str) -> Option<Split> {
    let mut split = Split {
        rest: String::new(),
        sslmode: None,
        sslrootcert: None,
    };
    let mut chars = s.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut key = String::new();
        while let Some(c) = chars.next_if(|&c| !c.is_whitespace() && c != '=') {
            key.push(c);
        }
        if key.is_empty() {
            break;
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        chars.next_if_eq(&'=')?;
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let quoted = chars.next_if_eq(&'\'').is_some();
        let mut value = String::new();
        loop {
            match chars.peek() {
                None if quoted => return None,
                None => break,
                Some('\'') if quoted => {
                    chars.next();
                    break;
                }
                Some(c) if !quoted && c.is_whitespace() => break,
                Some(_) => {}
            }
            match chars.next() {
                Some('\\') => value.extend(chars.next()),
                Some(c) => value.push(c),
                None => break,
            }
        }
        match key.as_str() {
            "sslmode" => split.sslmode = Some(value),
            "sslrootcert" => split.sslrootcert = Some(value),
            _ => {
                let escaped = value.replace('\\', "\\\\").replace('\'', "\\'");
                split.rest.push_str(&format!("{key}='{escaped}' "));
            }
        }
    }
    split.rest.truncate(split.rest.trim_end().len());
    Some(split)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_of(rest: &str, sslmode: Option<&str>, sslrootcert: Option<&str>) -> Split {
        Split {
            rest: rest.into(),
            sslmode: sslmode.map(Into::into),
            sslrootcert: sslrootcert.map(Into::into),
        }
    }

    #[test]
    fn store_postgres_tls_keys_are_taken_out_of_urls() {
        assert_eq!(
            split(
                "postgres://u:p?w@h:5/db?sslmode=verify-full&application_name=a&sslrootcert=%2Fetc%2Fca.pem"
            ),
            split_of(
                "postgres://u:p?w@h:5/db?application_name=a",
                Some("verify-full"),
                Some("/etc/ca.pem")
            )
        );
        assert_eq!(
            split("postgresql://h/db?sslmode=require&sslmode=disable"),
            split_of("postgresql://h/db", Some("disable"), None)
        );
        assert_eq!(
            split("postgres://h/db"),
            split_of("postgres://h/db", None, None)
        );
        // unreadable: handed over whole for tokio-postgres to report
        assert_eq!(
            split("postgres://h/db?sslmode"),
            split_of("postgres://h/db?sslmode", None, None)
        );
    }

    #[test]
    fn store_postgres_tls_keys_are_taken_out_of_key_value_strings() {
        assert_eq!(
            split("host=h  sslmode = verify-ca password='a b\\'c' sslrootcert='/x y/ca.pem'"),
            split_of(
                "host='h' password='a b\\'c'",
                Some("verify-ca"),
                Some("/x y/ca.pem")
            )
        );
        let (config, _) = Tls::parse("host=h password='a b\\'c' sslmode=disable").unwrap();
        assert_eq!(config.get_password(), Some(&b"a b'c"[..]));
        assert_eq!(config.get_ssl_mode(), PgSslMode::Disable);
    }

    fn parse(s: &str) -> Result<Tls, String> {
        match Tls::parse(s) {
            Ok((_, tls)) => Ok(tls),
            Err(StoreError::InvalidConfig(message)) => Err(message),
            Err(other) => panic!("{other}"),
        }
    }

    #[test]
    fn store_postgres_sslmode_follows_libpq() {
        let (config, tls) = Tls::parse("postgres://h/db").unwrap();
        assert_eq!(
            (tls.mode(), config.get_ssl_mode()),
            (SslMode::Prefer, PgSslMode::Prefer)
        );
        assert!(!tls.verifies());
        let tls = parse("postgres://h/db?sslmode=require").unwrap();
        assert!(
            !tls.verifies(),
            "`require` alone encrypts without verifying"
        );
        assert_eq!(tls.to_string(), "`sslmode=require`");
        let tls = parse("postgres://h/db?sslmode=verify-full").unwrap();
        assert!(tls.verifies());
        assert_eq!(tls.to_string(), "`sslmode=verify-full` (system roots)");
        let (config, _) = Tls::parse("postgres://h/db?sslmode=verify-ca").unwrap();
        assert_eq!(config.get_ssl_mode(), PgSslMode::Require);

        let message = parse("postgres://u:hunter2@h/db?sslmode=bogus").unwrap_err();
        assert_eq!(
            message,
            "malformed PostgreSQL connection string: unknown `sslmode=bogus`; expected \
             `disable`, `prefer`, `require`, `verify-ca` or `verify-full`"
        );
        let message = parse("postgres://h/db?sslmode=require&sslrootcert=system").unwrap_err();
        assert_eq!(
            message,
            "`sslrootcert=system` needs `sslmode=verify-full`, found `sslmode=require`"
        );
        assert!(parse("postgres://h/db?sslmode=verify-full&sslrootcert=system").is_ok());
    }

    #[test]
    fn store_postgres_sslrootcert_must_be_a_pem_ca() {
        let missing = std::env::temp_dir().join("actionkit-no-such-ca.pem");
        let message = parse(&format!(
            "postgres://h/db?sslmode=require&sslrootcert={}",
            missing.display()
        ))
        .unwrap_err();
        assert!(
            message.starts_with(&format!("cannot use `sslrootcert={}`: ", missing.display())),
            "{message}"
        );
        let empty =
            std::env::temp_dir().join(format!("actionkit-empty-ca-{}.pem", std::process::id()));
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let message = parse(&format!(
            "postgres://h/db?sslmode=verify-ca&sslrootcert={}",
            empty.display()
        ))
        .unwrap_err();
        std::fs::remove_file(&empty).unwrap();
        assert!(
            message.ends_with("the file holds no PEM certificate"),
            "{message}"
        );
    }
}

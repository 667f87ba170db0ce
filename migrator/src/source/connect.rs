//! Opening one Postgres connection: the URL as libpq takes it (TLS modes, a CA bundle, client
//! certificates, the `PG*` variables), the session settings extraction relies on, and every
//! way a connection can fail as an error that says what to check.
//!
//! TLS follows libpq: `sslmode` `disable`, `allow`/`prefer` (TLS when the server offers it,
//! any certificate), `require` (TLS, any certificate; with `sslrootcert` it checks the chain,
//! as libpq does), `verify-ca` (the chain), `verify-full` (the chain and the host name).
//! Certificates are checked against `sslrootcert` and the web's public CAs. When `prefer` ends
//! in plaintext, stderr says so once.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};

use sqlx::postgres::{PgConnectOptions, PgConnection, PgSslMode};
use sqlx::ConnectOptions;

use super::shape::quote_ident;
use super::SourceError;
use crate::redact::Redacted;

/// Session settings that fix the text form of values, whatever the server's defaults.
const SESSION_SETTINGS: [(&str, &str); 4] = [
    ("DateStyle", "ISO"),
    ("TimeZone", "UTC"),
    ("extra_float_digits", "1"),
    ("bytea_output", "hex"),
];

/// URL parameters this client applies (libpq's names, and sqlx's spellings of them).
const APPLIED: [&str; 17] = [
    "sslmode",
    "ssl-mode",
    "sslrootcert",
    "ssl-root-cert",
    "ssl-ca",
    "sslcert",
    "ssl-cert",
    "sslkey",
    "ssl-key",
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "application_name",
    "options",
];

/// libpq parameters this client does not apply: said once, not refused, so URLs written for
/// other clients still work.
const NOT_APPLIED: [&str; 19] = [
    "connect_timeout",
    "client_encoding",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
    "target_session_attrs",
    "load_balance_hosts",
    "channel_binding",
    "gssencmode",
    "sslnegotiation",
    "sslcompression",
    "sslcrl",
    "sslcrldir",
    "sslsni",
    "sslpassword",
    "ssl_min_protocol_version",
    "requirepeer",
];

/// Whether the note about a plaintext connection has been said.
static PLAINTEXT_SAID: AtomicBool = AtomicBool::new(false);

/// What the URL and the `PG*` variables ask of TLS.
struct Tls {
    mode: PgSslMode,
    mode_text: String,
    root_cert: Option<PathBuf>,
}

/// The connection options of `url`, checked: unknown parameters and missing certificate files
/// are errors here, before any connection.
fn options(url: &Redacted) -> Result<(PgConnectOptions, Tls), SourceError> {
    let bad = |message: String| SourceError::Postgres {
        url: url.clone(),
        message,
    };
    let parsed = url::Url::parse(url.expose()).map_err(|e| {
        bad(format!(
            "{e}; write it as postgres://user:password@host:port/database"
        ))
    })?;
    let given = |name: &str| -> Option<String> {
        parsed
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    for (key, _) in parsed.query_pairs() {
        let key = key.as_ref();
        if NOT_APPLIED.contains(&key) {
            crate::say!("note: migrator does not apply the URL parameter {key}; it connects as if it were not there");
        } else if !APPLIED.contains(&key) && !key.starts_with("options[") {
            return Err(bad(format!(
                "unknown URL parameter {key}; check its spelling (TLS takes sslmode, sslrootcert, sslcert and sslkey)"
            )));
        }
    }
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mode_text = given("sslmode")
        .or_else(|| given("ssl-mode"))
        .or_else(|| env("PGSSLMODE"))
        .unwrap_or_else(|| "prefer".into());
    let root_cert = given("sslrootcert")
        .or_else(|| given("ssl-root-cert"))
        .or_else(|| given("ssl-ca"))
        .or_else(|| env("PGSSLROOTCERT"))
        .map(PathBuf::from);
    let mut client_files = Vec::new();
    for (name, spellings, variable) in [
        ("sslcert", ["sslcert", "ssl-cert"], "PGSSLCERT"),
        ("sslkey", ["sslkey", "ssl-key"], "PGSSLKEY"),
    ] {
        let value = spellings
            .iter()
            .find_map(|s| given(s))
            .or_else(|| env(variable));
        if let Some(value) = value {
            client_files.push((name, PathBuf::from(value)));
        }
    }
    let mode = PgSslMode::from_str(&mode_text).map_err(|_| {
        bad(format!(
            "sslmode {mode_text} is not one of disable, allow, prefer, require, verify-ca, verify-full"
        ))
    })?;
    let mut options = PgConnectOptions::from_str(url.expose()).map_err(|e| {
        bad(format!(
            "{e}; write it as postgres://user:password@host:port/database"
        ))
    })?;
    // libpq checks the chain under `require` when a root certificate is given.
    let mode = match (mode, &root_cert) {
        (PgSslMode::Require, Some(_)) => PgSslMode::VerifyCa,
        (mode, _) => mode,
    };
    options = options.ssl_mode(mode);
    if !matches!(mode, PgSslMode::Disable) {
        let files = root_cert
            .iter()
            .map(|p| ("sslrootcert", p))
            .chain(client_files.iter().map(|(n, p)| (*n, p)));
        for (name, path) in files {
            if let Err(e) = std::fs::metadata(path) {
                return Err(bad(format!(
                    "{name} {}: {e}; name a PEM file that exists",
                    path.display()
                )));
            }
        }
        if client_files.len() == 1 {
            return Err(bad(
                "sslcert and sslkey go together: name both, or neither".into()
            ));
        }
    }
    let tls = Tls {
        mode,
        mode_text,
        root_cert,
    };
    Ok((
        options
            .application_name("migrator")
            .options(SESSION_SETTINGS),
        tls,
    ))
}

/// Opens one connection with the session settings extraction relies on, and `search_path`
/// (schema names, in order) when it is not empty.
///
/// # Errors
/// Names the (redacted) URL and says what failed and what to check: the server unreachable,
/// its TLS refused or missing, a certificate that does not verify, the password refused.
pub async fn connect_one(
    url: &Redacted,
    search_path: &[String],
) -> Result<PgConnection, SourceError> {
    let (mut options, tls) = options(url)?;
    if !search_path.is_empty() {
        let path: Vec<String> = search_path.iter().map(|s| quote_ident(s)).collect();
        options = options.options([("search_path", path.join(","))]);
    }
    let mut conn = options
        .connect()
        .await
        .map_err(|e| connect_error(url, &options, &tls, e))?;
    if matches!(tls.mode, PgSslMode::Prefer | PgSslMode::Allow)
        && options.get_socket().is_none()
        && !PLAINTEXT_SAID.load(Ordering::Relaxed)
    {
        let encrypted: Option<(bool,)> =
            sqlx::query_as("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                .fetch_optional(&mut conn)
                .await
                .unwrap_or(None);
        if encrypted == Some((false,)) && !PLAINTEXT_SAID.swap(true, Ordering::Relaxed) {
            crate::say!(
                "note: Postgres at {url} offers no TLS, so this connection is not encrypted (sslmode={}); add sslmode=require to the URL to refuse plaintext, or sslmode=disable to say it is intended",
                tls.mode_text
            );
        }
    }
    Ok(conn)
}

/// Turns a connection failure into an error that says what to check.
fn connect_error(
    url: &Redacted,
    options: &PgConnectOptions,
    tls: &Tls,
    error: sqlx::Error,
) -> SourceError {
    let url = url.clone();
    let tls_error = |message: String| SourceError::Postgres {
        url: url.clone(),
        message,
    };
    match &error {
        sqlx::Error::Io(io) => match io.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) {
            Some(rustls::Error::InvalidCertificate(cause)) => {
                tls_error(certificate_refused(cause, options.get_host(), tls))
            }
            Some(other) => tls_error(format!(
                "the TLS handshake failed: {other}; check the server's TLS settings and sslmode"
            )),
            None => SourceError::Unreachable {
                url,
                reason: io.to_string(),
            },
        },
        sqlx::Error::Tls(cause) if cause.to_string() == "server does not support TLS" => tls_error(
            format!(
                "the server does not accept TLS, but sslmode={} requires it; turn ssl on in the server, or use sslmode=prefer to allow plaintext",
                tls.mode_text
            ),
        ),
        sqlx::Error::Tls(cause) => tls_error(format!(
            "{cause}; check sslrootcert, sslcert and sslkey (PEM files)"
        )),
        sqlx::Error::Configuration(cause) => tls_error(format!(
            "{cause}; check sslrootcert, sslcert and sslkey (PEM files)"
        )),
        sqlx::Error::Database(db) if db.code().as_deref() == Some("28P01") => SourceError::Auth {
            user: url.user().unwrap_or("postgres").to_string(),
            url,
        },
        sqlx::Error::PoolTimedOut => SourceError::Unreachable {
            url,
            reason: "timed out".into(),
        },
        _ => SourceError::Postgres {
            url,
            message: postgres_says(&error),
        },
    }
}

/// What Postgres (or the way to it) said: a server error's message, without sqlx's prefix or
/// the line of Postgres's own source file it came from.
pub fn postgres_says(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(db) => db.message().to_string(),
        other => crate::progress::said_once(other),
    }
}

/// Why a certificate was refused, and what to do about it.
fn certificate_refused(cause: &rustls::CertificateError, host: &str, tls: &Tls) -> String {
    use rustls::CertificateError as Cert;
    let trusted = match &tls.root_cert {
        Some(path) => format!("the CAs in sslrootcert {}", path.display()),
        None => "the web's public CAs (no sslrootcert given)".to_string(),
    };
    match cause {
        Cert::UnknownIssuer => format!(
            "the server's certificate is not signed by {trusted} (sslmode={} checks it); pass the bundle of the CA that signed it as sslrootcert=FILE in the URL or PGSSLROOTCERT (Amazon RDS: global-bundle.pem)",
            tls.mode_text
        ),
        Cert::NotValidForName | Cert::NotValidForNameContext { .. } => format!(
            "the server's certificate is not valid for host {host} (sslmode=verify-full checks the name); connect with a host name the certificate names, or use sslmode=verify-ca"
        ),
        Cert::Expired | Cert::ExpiredContext { .. } => {
            "the server's certificate has expired; renew it on the server".to_string()
        }
        other => format!(
            "the server's certificate was refused ({other:?}); check the server's certificate and sslrootcert"
        ),
    }
}

//! TLS to Postgres, against a cluster of the test's own with `ssl = on` and a CA made for the
//! test: each sslmode connects or fails as libpq's would, with a one-line error naming the
//! cause (exit 2), from the URL or from PGSSLMODE and PGSSLROOTCERT.

use std::path::Path;
use std::process::Command;

use crate::support::cluster::Cluster;
use crate::support::{
    admin_url, load_into, migrator, migrator_command, outcome, repo_root, sample_dir,
};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl (install it: apt-get install openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA (`NAME.crt`, `NAME.key`) in `dir`.
fn make_ca(dir: &Path, name: &str) {
    let (crt, key) = (format!("{name}.crt"), format!("{name}.key"));
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &crt,
            "-days",
            "2",
            "-subj",
            &format!("/CN=migrator test {name}"),
        ],
    );
}

/// A certificate `NAME.crt` (and `NAME.key`) for `subject` with `alt_names`, signed by `ca`.
fn make_cert(dir: &Path, ca: &str, name: &str, subject: &str, alt_names: Option<&str>) {
    let (crt, key, csr) = (
        format!("{name}.crt"),
        format!("{name}.key"),
        format!("{name}.csr"),
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            subject,
        ],
    );
    let ext = format!("{name}.ext");
    let extensions = match alt_names {
        Some(names) => format!("subjectAltName={names}\nbasicConstraints=CA:FALSE\n"),
        None => "basicConstraints=CA:FALSE\n".to_string(),
    };
    std::fs::write(dir.join(&ext), extensions).unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &format!("{ca}.crt"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-out",
            &crt,
            "-days",
            "2",
            "-extfile",
            &ext,
        ],
    );
}

/// Certificates for a server on 127.0.0.1 (and nothing else): CA `right` signs it and the
/// client certificate of user `certuser`; CA `wrong` signs nothing the server shows.
fn certificates() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    make_ca(dir.path(), "right");
    make_ca(dir.path(), "wrong");
    make_cert(
        dir.path(),
        "right",
        "server",
        "/CN=127.0.0.1",
        Some("IP:127.0.0.1"),
    );
    make_cert(dir.path(), "right", "client", "/CN=certuser", None);
    dir
}

/// A cluster with TLS on: the server's certificate from `certs`, client certificates checked
/// against the right CA; `certuser` must show one.
fn tls_cluster(certs: &Path) -> Cluster {
    Cluster::start(|data| {
        for file in ["server.crt", "server.key", "right.crt"] {
            std::fs::copy(certs.join(file), data.join(file)).unwrap();
        }
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhostssl all certuser 127.0.0.1/32 cert\nhost all postgres 127.0.0.1/32 trust\n",
        )
        .unwrap();
        vec![
            "ssl = on".into(),
            "ssl_cert_file = 'server.crt'".into(),
            "ssl_key_file = 'server.key'".into(),
            "ssl_ca_file = 'right.crt'".into(),
        ]
    })
}

fn extract(url: &str) -> crate::support::Outcome {
    migrator(&["extract", "--source", url])
}

fn assert_one_line(out: &crate::support::Outcome, expected: &str) {
    assert_eq!(out.stderr, format!("error: {expected}\n"));
    assert_eq!(out.code, 2);
}

#[test]
fn each_sslmode_connects_or_names_the_cause() {
    let certs = certificates();
    let cluster = tls_cluster(certs.path());
    cluster.psql("CREATE USER certuser IN ROLE pg_read_all_data");
    cluster.psql("CREATE DATABASE sample");
    let right = certs.path().join("right.crt");
    let wrong = certs.path().join("wrong.crt");
    let right = right.to_str().unwrap();
    let wrong = wrong.to_str().unwrap();

    // verify-full with the right CA: the sample loads and extracts over TLS.
    let url = cluster.url(
        "postgres",
        "sample",
        &format!("sslmode=verify-full&sslrootcert={right}"),
    );
    load_into(&url, &repo_root().join("sql/rootski"), &sample_dir(), &[]);
    let out = extract(&url);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.starts_with("extracted 303 rows from 17 tables"),
        "{}",
        out.stderr
    );

    // The same from the environment, as libpq reads it.
    let from_env = outcome(
        migrator_command(&[
            "extract",
            "--source",
            &cluster.url("postgres", "sample", ""),
        ])
        .env("PGSSLMODE", "verify-full")
        .env("PGSSLROOTCERT", right),
    );
    assert_eq!(from_env.code, 0, "{}", from_env.stderr);
    assert!(!from_env.stderr.contains("note:"), "{}", from_env.stderr);

    // A wrong CA.
    let shown = format!("postgres://postgres@127.0.0.1:{}/sample", cluster.port);
    let url = cluster.url(
        "postgres",
        "sample",
        &format!("sslmode=verify-full&sslrootcert={wrong}"),
    );
    assert_one_line(
        &extract(&url),
        &format!("Postgres at {shown}?sslmode=verify-full&sslrootcert={wrong}: the server's certificate is not signed by the CAs in sslrootcert {wrong} (sslmode=verify-full checks it); pass the bundle of the CA that signed it as sslrootcert=FILE in the URL or PGSSLROOTCERT (Amazon RDS: global-bundle.pem)"),
    );
    // require with a root certificate checks the chain, as libpq's does.
    let url = cluster.url(
        "postgres",
        "sample",
        &format!("sslmode=require&sslrootcert={wrong}"),
    );
    assert!(extract(&url)
        .stderr
        .contains("the server's certificate is not signed by the CAs in sslrootcert"));
    // No CA at all: the public ones do not vouch for a test CA.
    let url = cluster.url("postgres", "sample", "sslmode=verify-ca");
    assert_one_line(
        &extract(&url),
        &format!("Postgres at {shown}?sslmode=verify-ca: the server's certificate is not signed by the web's public CAs (no sslrootcert given) (sslmode=verify-ca checks it); pass the bundle of the CA that signed it as sslrootcert=FILE in the URL or PGSSLROOTCERT (Amazon RDS: global-bundle.pem)"),
    );

    // A host name the certificate does not name (it names 127.0.0.1 only).
    let url = format!(
        "postgres://postgres@localhost:{}/sample?sslmode=verify-full&sslrootcert={right}",
        cluster.port
    );
    assert_one_line(
        &extract(&url),
        &format!("Postgres at {url}: the server's certificate is not valid for host localhost (sslmode=verify-full checks the name); connect with a host name the certificate names, or use sslmode=verify-ca"),
    );
    // verify-ca does not check the name.
    let url = url.replace("verify-full", "verify-ca");
    let out = extract(&url);
    assert_eq!(out.code, 0, "{}", out.stderr);

    // A client certificate: certuser may only connect with one.
    let (crt, key) = (
        certs.path().join("client.crt"),
        certs.path().join("client.key"),
    );
    let url = cluster.url(
        "certuser",
        "sample",
        &format!(
            "sslmode=verify-full&sslrootcert={right}&sslcert={}&sslkey={}",
            crt.display(),
            key.display()
        ),
    );
    let out = extract(&url);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let without = cluster.url(
        "certuser",
        "sample",
        &format!("sslmode=verify-full&sslrootcert={right}"),
    );
    let out = extract(&without);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("certificate"), "{}", out.stderr);

    // prefer uses TLS when the server offers it, and says nothing.
    let out = extract(&cluster.url("postgres", "sample", ""));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("note:"), "{}", out.stderr);
}

#[test]
fn require_against_a_server_without_tls_and_prefer_falling_back_to_plaintext() {
    // The shared test server runs without TLS.
    let plain = admin_url().replace("sslmode=disable", "sslmode=require");
    let shown = migrator::redact::Redacted::new(plain.clone()).to_string();
    assert_one_line(
        &extract(&plain),
        &format!("Postgres at {shown}: the server does not accept TLS, but sslmode=require requires it; turn ssl on in the server, or use sslmode=prefer to allow plaintext"),
    );
    let prefer = admin_url().replace("?sslmode=disable", "");
    let out = extract(&prefer);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let notes: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("note:"))
        .collect();
    let shown = migrator::redact::Redacted::new(prefer.clone()).to_string();
    assert_eq!(
        notes,
        [format!("note: Postgres at {shown} offers no TLS, so this connection is not encrypted (sslmode=prefer); add sslmode=require to the URL to refuse plaintext, or sslmode=disable to say it is intended")],
        "said once for the five connections"
    );
}

#[test]
fn url_parameters_are_checked() {
    let base = admin_url().replace("?sslmode=disable", "");
    let shown = migrator::redact::Redacted::new(base.clone()).to_string();
    assert_one_line(
        &extract(&format!("{base}?sslmdoe=require")),
        &format!("Postgres at {shown}?sslmdoe=require: unknown URL parameter sslmdoe; check its spelling (TLS takes sslmode, sslrootcert, sslcert and sslkey)"),
    );
    assert_one_line(
        &extract(&format!("{base}?sslmode=always")),
        &format!("Postgres at {shown}?sslmode=always: sslmode always is not one of disable, allow, prefer, require, verify-ca, verify-full"),
    );
    assert_one_line(
        &extract(&format!("{base}?sslmode=verify-full&sslrootcert=/no/such/ca.pem")),
        &format!("Postgres at {shown}?sslmode=verify-full&sslrootcert=/no/such/ca.pem: sslrootcert /no/such/ca.pem: No such file or directory (os error 2); name a PEM file that exists"),
    );
    let out = extract(&format!("{base}?sslmode=disable&connect_timeout=10"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.starts_with("note: migrator does not apply the URL parameter connect_timeout; it connects as if it were not there\n"), "{}", out.stderr);
}

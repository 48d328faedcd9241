//! The files in deploy/ never rot: the example configurations parse with the real parsers
//! (after pointing their paths at a real PKI), and the unit and Containerfile say what
//! OPERATIONS.md promises.

use std::path::Path;

fn deploy(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy").join(name)).unwrap()
}

/// Rewrites every absolute example path to the dev PKI layout so the parser's file checks pass.
fn localise(text: &str, pki: &Path, map: &[(&str, &str)]) -> String {
    let mut t = text.to_owned();
    for (from, to) in map {
        t = t.replace(from, pki.join(to).to_str().unwrap());
    }
    t
}

#[test]
fn relay_example_parses_with_the_real_parser() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::make_pki(dir.path(), "127.0.0.1:4433".parse().unwrap(), |_| {});
    let pki = dir.path().join("pki");
    let text = localise(
        &deploy("relay.example.toml"),
        &pki,
        &[
            ("/etc/tiprelay/relay/", "relay/"),
            ("/etc/tiprelay/operator-ca/", "operator-ca/"),
            ("/etc/tiprelay/MX/", "MX/ca/"),
            ("/etc/tiprelay/US/", "US/ca/"),
            ("/var/lib/tiprelay/", "data/"),
        ],
    );
    let cfg = tiprelay::config::RelayConfig::parse(&text, &pki.join("relay.toml")).unwrap();
    assert_eq!(cfg.listen.port(), 4433);
    assert!(cfg.pair_allowed("US".parse().unwrap(), "MX".parse().unwrap()));
    assert_eq!(cfg.request_timeout.as_secs(), 10);
    // An unknown key is an error that names it.
    let err = tiprelay::config::RelayConfig::parse(
        &text.replace("[limits]", "[limits]\nmax_fun = 1"),
        &pki.join("relay.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("max_fun"), "{err}");
    let err = tiprelay::config::RelayConfig::parse(
        &text.replace("listen = \"0.0.0.0:4433\"", "listen = \"nowhere\""),
        &pki.join("relay.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("relay.listen"), "{err}");

    // [store]: the PostgreSQL form, and its mistakes named by key.
    let without_redb: String = text.lines().filter(|l| !l.starts_with("store = ")).map(|l| format!("{l}\n")).collect();
    assert!(without_redb.len() < text.len(), "the example has no [relay] store line");
    let pg = |store: &str| {
        tiprelay::config::RelayConfig::parse(&format!("{without_redb}\n[store]\n{store}\n"), &pki.join("relay.toml"))
    };
    let ok = pg("kind = \"postgres\"\nurl = \"host=/var/run/postgresql dbname=tiprelay user=tiprelay\"").unwrap();
    assert!(matches!(ok.backend, tiprelay::config::StoreBackend::Postgres(_)));
    assert_eq!(tiprelay::storage::describe(&ok), "postgres host=/var/run/postgresql dbname=tiprelay");
    for (store, key) in [
        ("kind = \"postgres\"\nurl = \"host=h dbname=d password=secret\"", "store.url"),
        ("kind = \"postgres\"\nurl = \"host=h user=u\"", "store.url"),
        ("kind = \"postgres\"", "store.url"),
        ("kind = \"sqlite\"", "store.kind"),
        ("kind = \"postgres\"\nurl = \"host=h dbname=d\"\npassword_file = \"missing\"", "store.password_file"),
        ("kind = \"postgres\"\nurl = \"host=h dbname=d sslmode=require\"", "store.url"),
        ("kind = \"postgres\"\nurl = \"host=h dbname=d\"\ntls_ca = \"missing.pem\"", "store.tls_ca"),
        ("kind = \"postgres\"\nurl = \"host=h dbname=d\"\ntls_cert = \"c.pem\"", "store.tls_cert"),
        ("kind = \"redb\"\npath = \"x.redb\"\ntls_key = \"k.pem\"", "only for kind"),
    ] {
        let err = pg(store).unwrap_err().to_string();
        assert!(err.contains(key), "{store}: {err}");
        assert!(!err.contains("secret"), "a password reached an error message: {err}");
    }
    // Both the old [relay] store and a PostgreSQL [store]: ambiguous, refused.
    let err = tiprelay::config::RelayConfig::parse(
        &format!("{text}\n[store]\nkind = \"postgres\"\nurl = \"host=h dbname=d\"\n"),
        &pki.join("relay.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("relay.store"), "{err}");
}

#[test]
fn analyst_example_parses_with_the_real_parser() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::make_pki(dir.path(), "127.0.0.1:4433".parse().unwrap(), |_| {});
    let pki = dir.path().join("pki");
    let text = localise(
        &deploy("analyst.example.toml"),
        &pki,
        &[
            ("/etc/tiprelay/operator-ca/", "operator-ca/"),
            ("/etc/tiprelay/MX/", "MX/ca/"),
            ("/etc/tiprelay/US/", "US/ca/"),
            ("/home/ana/.config/tipctl/", "MX/analyst/"),
            ("/home/ana/.local/share/tipctl/", "MX/analyst/"),
        ],
    );
    let path = dir.path().join("analyst.toml");
    std::fs::write(&path, text).unwrap();
    let cfg = tiprelay_client::ClientConfig::load(&path).unwrap();
    assert_eq!(cfg.principal.to_string(), "tiprelay://MX/analyst/ana");
    assert_eq!(cfg.server_name, "relay.example.org");
}

#[test]
fn the_unit_and_containerfile_are_hardened() {
    let unit = deploy("tiprelay.service");
    for line in [
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "StateDirectory=tiprelay",
        "CapabilityBoundingSet=",
        "DynamicUser=yes",
        "KillSignal=SIGTERM",
    ] {
        assert!(unit.lines().any(|l| l.trim() == line), "tiprelay.service lacks {line}");
    }
    let cf = deploy("Containerfile");
    assert!(cf.matches("FROM ").count() >= 2, "multi-stage build expected");
    assert!(cf.contains("USER tiprelay"), "the container must not run as root");
    assert!(cf.contains("--locked"));
}

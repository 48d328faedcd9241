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
        "User=tiprelay",
        "KillSignal=SIGTERM",
    ] {
        assert!(unit.lines().any(|l| l.trim() == line), "tiprelay.service lacks {line}");
    }
    // A static user that owns its keys ahead of the first start, not a dynamic one.
    assert!(!unit.lines().any(|l| l.trim().starts_with("DynamicUser=")), "the keys' owner must exist before the start");
    let sysusers = deploy("sysusers.d/tiprelay.conf");
    assert!(sysusers.lines().any(|l| l.starts_with("u tiprelay 10001 ")), "{sysusers}");
    let cf = deploy("Containerfile");
    assert!(cf.matches("FROM ").count() >= 2, "multi-stage build expected");
    assert!(cf.contains("USER tiprelay"), "the container must not run as root");
    assert!(cf.contains("--uid 10001") && cf.contains("--gid 10001"), "the container's user must be the host's");
    assert!(cf.contains("--locked"));
    let ignore = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.containerignore")).unwrap();
    for l in ["target/", ".git/", "**/*.key"] {
        assert!(ignore.lines().any(|x| x.trim() == l), ".containerignore lacks {l}");
    }
}

/// `tiprelay check-config` on the files a configuration names: swapped roots, a key others
/// may read, a key another user owns, a key that is not its certificate's and a value out
/// of its range are each refused with what to do, in English and Spanish; a good
/// configuration passes.
#[test]
fn check_config_refuses_swapped_roots_exposed_keys_and_out_of_range_values() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let rt = crate::common::make_pki(dir.path(), "127.0.0.1:4433".parse().unwrap(), |_| {});
    let pki = dir.path().join("pki");
    let good = std::fs::read_to_string(&rt).unwrap();
    let check = |text: &str, lang: &str| {
        std::fs::write(&rt, text).unwrap();
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_tiprelay"))
            .args(["check-config", "--config", rt.to_str().unwrap()])
            .env("LANG", lang)
            .env_remove("LC_ALL")
            .env_remove("LC_MESSAGES")
            .output()
            .unwrap();
        (o.status.code(), String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr))
    };
    let (code, out) = check(&good, "C.UTF-8");
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("configuration OK"), "{out}");

    // The MX and US roots (and their CRLs, so that each CRL still matches its root) swapped.
    let swapped = good.replace("MX/ca/", "@@/").replace("US/ca/", "MX/ca/").replace("@@/", "US/ca/");
    assert_ne!(swapped, good);
    let (code, out) = check(&swapped, "C.UTF-8");
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("is the root CA of US") && out.contains("configured as the root of MX") && out.contains("swapped"),
        "{out}"
    );
    let (_, out) = check(&swapped, "es_MX.UTF-8");
    assert!(out.contains("¿se intercambiaron dos raíces?"), "{out}");

    // A value out of its range is refused, never clamped.
    let far = good.replace("[relay]\n", "[relay]\ncrl_reload_secs = 600\n");
    assert_ne!(far, good);
    let (code, out) = check(&far, "C.UTF-8");
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("relay.crl_reload_secs") && out.contains("is 600, outside the allowed range 1 to 60"),
        "{out}"
    );
    let (code, out) = check(&format!("{good}\n[limits]\nmax_connections = 0\n"), "C.UTF-8");
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("limits.max_connections") && out.contains("is 0, outside the allowed range 1 to 100000"),
        "{out}"
    );

    // A key others may read: refused with the chmod that fixes it.
    let key = pki.join("relay/tls.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, out) = check(&good, "C.UTF-8");
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("mode 0644") && out.contains(&format!("chmod 600 {}", key.display())), "{out}");
    let (_, out) = check(&good, "es_MX.UTF-8");
    assert!(out.contains("modo 0644") && out.contains("chmod 600"), "{out}");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();

    // A TLS key that is not the certificate's (the signing key in its place).
    let (code, out) = check(&good.replace("tls_key = \"relay/tls.key\"", "tls_key = \"relay/sign.key\""), "C.UTF-8");
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("is not the key of the certificate"), "{out}");

    // A key another user owns (only root can make one; CI runs as root).
    if rustix_euid_is_root() {
        let sign = pki.join("relay/sign.key");
        std::os::unix::fs::chown(&sign, Some(10001), None).unwrap();
        let (code, out) = check(&good, "C.UTF-8");
        assert_eq!(code, Some(1), "{out}");
        assert!(out.contains("owned by uid 10001") && out.contains("chown 0"), "{out}");
        std::os::unix::fs::chown(&sign, Some(0), None).unwrap();
    }
    let (code, out) = check(&good, "C.UTF-8");
    assert_eq!(code, Some(0), "{out}");
}

fn rustix_euid_is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // A file this process creates is owned by its effective user.
    let f = tempfile::NamedTempFile::new().unwrap();
    f.as_file().metadata().unwrap().uid() == 0
}

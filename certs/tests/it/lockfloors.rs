//! The project enforces its own dependency floors (known advisories) and bans, from
//! Cargo.lock, as part of the test suite: no extra tool needed.

const FLOORS: &[(&str, (u64, u64, u64))] = &[
    ("quinn-proto", (0, 11, 17)),
    ("rustls", (0, 23, 45)),
    ("rustls-webpki", (0, 103, 13)),
    ("ed25519-dalek", (2, 0, 0)),
];
/// Unmaintained with open advisories (RUSTSEC-2021-0127, RUSTSEC-2019-0025), and the PEM
/// parser superseded by rustls-pki-types.
const BANNED: &[&str] = &["serde_cbor", "rustls-pemfile"];

fn version(v: &str) -> (u64, u64, u64) {
    let mut it = v.split(['.', '-', '+']).map(|p| p.parse::<u64>().unwrap_or(0));
    (it.next().unwrap_or(0), it.next().unwrap_or(0), it.next().unwrap_or(0))
}

#[test]
fn cargo_lock_respects_floors_and_bans() {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock")).unwrap();
    let lock: toml::Value = toml::from_str(&lock).unwrap();
    let mut problems = Vec::new();
    let packages = lock["package"].as_array().unwrap();
    assert!(packages.len() > 20, "Cargo.lock looks empty");
    for p in packages {
        let name = p["name"].as_str().unwrap();
        let ver = p["version"].as_str().unwrap();
        if BANNED.contains(&name) {
            problems.push(format!("{name} {ver} is banned"));
        }
        if let Some((_, floor)) = FLOORS.iter().find(|(n, _)| *n == name) {
            if version(ver) < *floor {
                problems.push(format!("{name} {ver} is below the floor {floor:?}"));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:?}");
}

#[test]
fn version_parsing_orders_correctly() {
    assert!(version("0.103.12") < (0, 103, 13));
    assert!(version("0.103.13") >= (0, 103, 13));
    assert!(version("0.104.0-alpha.8") > (0, 103, 13));
    assert!(version("0.23.45") >= (0, 23, 45));
}

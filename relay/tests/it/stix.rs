//! STIX 2.1 out and in (issue 17): exports validated by the OASIS validator, a public
//! OASIS example bundle through `tipctl feed --format stix2.1` to the counterpart.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use crate::common::*;

fn tipctl_bin() -> PathBuf {
    let p = Path::new(env!("CARGO_BIN_EXE_tiprelay")).with_file_name("tipctl");
    assert!(p.exists(), "{} is missing: run the workspace tests so it is built", p.display());
    p
}

fn tipctl(cfg: &Path, args: &[&str]) -> Output {
    Command::new(tipctl_bin()).env("TIPCTL_CONFIG", cfg).args(args).output().unwrap()
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The OASIS STIX 2.1 validator (PyPI `stix2-validator`, pinned) in a venv under the
/// target directory, installed on first use. A machine that cannot install it fails
/// here, loudly: the check is never skipped.
fn validator() -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("stix2-venv");
    let bin = venv.join("bin/stix2_validator");
    if !bin.exists() {
        let st = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("python3 (for the OASIS validator)");
        assert!(st.success(), "python3 -m venv failed");
        let st = Command::new(venv.join("bin/pip"))
            .args(["install", "-q", "--disable-pip-version-check", "stix2-validator==3.3.2"])
            .status()
            .unwrap();
        assert!(st.success(), "pip install stix2-validator failed (PyPI must be reachable)");
    }
    bin
}

/// Validates `file`: no error, and no warning but {103} ("SHOULD use UUIDv4"), which the
/// deterministic UUIDv5 ids (re-exports update rather than duplicate) draw on purpose.
fn validate(file: &Path) -> String {
    let o = Command::new(validator()).arg("--no-cache").arg(file).output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let refused = || format!("the validator refused {}:\n{text}{}", file.display(), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success() && text.contains("STIX JSON: Valid") && !text.contains("[X]"), "{}", refused());
    for w in text.lines().filter(|l| l.contains("[!]")) {
        assert!(w.contains("{103}"), "an unexpected warning: {w}\n{}", refused());
    }
    text
}

/// One of the OASIS example bundles shipped with the validator (cti-stix2-json-schemas).
fn oasis_example(name: &str) -> PathBuf {
    let lib = Path::new(env!("CARGO_TARGET_TMPDIR")).join("stix2-venv/lib");
    validator();
    for py in std::fs::read_dir(&lib).unwrap() {
        let p = py.unwrap().path().join("site-packages/stix2validator/schemas-2.1/examples").join(name);
        if p.exists() {
            return p;
        }
    }
    panic!("no OASIS example {name} under {}", lib.display());
}

fn start(dir: &Path) -> (RelayProcess, PathBuf, PathBuf, PathBuf) {
    let addr = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    make_pki(dir, addr, |_| {});
    let relay = RelayProcess::spawn(&dir.join("pki/relay.toml"), &dir.join("relay.log"));
    let (feed, mx, us) =
        (dir.join("pki/MX/feed.toml"), dir.join("pki/MX/analyst.toml"), dir.join("pki/US/analyst.toml"));
    for _ in 0..200 {
        if tipctl(&us, &["status"]).status.success() {
            return (relay, feed, mx, us);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("relay did not start");
}

fn objects(file: &Path) -> Vec<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    v["objects"].as_array().unwrap().clone()
}

#[test]
fn a_thousand_tip_export_validates_and_a_re_export_keeps_every_id() {
    let dir = tempfile::tempdir().unwrap();
    let (mut relay, feed, _mx, us) = start(dir.path());
    let cats = ["fuel_theft", "arms_trafficking", "tunnel_located", "drug_shipment", "illicit_finance"];
    let tlps = ["clear", "green", "amber", "amber+strict", "red"];
    let mut lines = String::new();
    for i in 0..1000 {
        let loc = match i % 3 {
            0 => format!(r#","location":{{"lat":31.{i:03},"lon":-106.4,"radius_m":{},"sector":"El Paso"}}"#, 100 + i),
            1 => r#","location":{"lat":32.5,"lon":-117.0,"place":"Otay Mesa","port_of_entry":"Otay Mesa"}"#.to_owned(),
            _ => String::new(),
        };
        let grade = if i % 4 == 0 { r#","source_reliability":"B","info_credibility":2"# } else { "" };
        lines.push_str(&format!(
            r#"{{"to":"US","category":"{}","summary":"sensor event {i}","tlp":"{}","urgency":"priority","details":"line one\nline two","source_ref":"s-{i}"{loc}{grade}}}"#,
            cats[i % 5],
            tlps[i % 5]
        ));
        lines.push('\n');
    }
    let input = dir.path().join("events.jsonl");
    std::fs::write(&input, lines).unwrap();
    ok(&tipctl(&feed, &["feed", "--input", input.to_str().unwrap()]));
    ok(&tipctl(&us, &["inbox", "--json"]));
    // A closed standard output ends the command quietly (1,000 tips are far more than a
    // pipe holds, so tipctl meets the closed pipe).
    let o = Command::new("bash")
        .args(["-c", "\"$0\" inbox --json | head -c 100 >/dev/null; echo \"${PIPESTATUS[0]}\""])
        .arg(tipctl_bin())
        .env("TIPCTL_CONFIG", &us)
        .output()
        .unwrap();
    let status = String::from_utf8_lossy(&o.stdout).trim().to_owned();
    assert!(status == "141" && o.stderr.is_empty(), "exit {status}: {}", String::from_utf8_lossy(&o.stderr));
    // Feedback on one tip: a note and an opinion in the bundle.
    let inbox: serde_json::Value = serde_json::from_str(&ok(&tipctl(&us, &["inbox", "--json"]))).unwrap();
    let first = inbox[0]["id"].as_str().unwrap().to_owned();
    ok(&tipctl(&us, &["feedback", &first, "--outcome", "seizure", "--note", "340 kg seized"]));

    let (a, b) = (dir.path().join("a.json"), dir.path().join("b.json"));
    let out = ok(&tipctl(
        &us,
        &["export", "--format", "STIX2.1", "--direction", "in", "--out", a.to_str().unwrap(), "--json"],
    ));
    let summary: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(summary["tips"], 1000);
    ok(&tipctl(&us, &["export", "--out", b.to_str().unwrap()]));
    let ids = |f: &Path| objects(f).iter().map(|o| o["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(ids(&a), ids(&b), "a re-export yields the same ids");
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap(), "… and the same bundle, byte for byte");
    let objs = objects(&a);
    let count = |t: &str| objs.iter().filter(|o| o["type"] == t).count();
    assert_eq!(count("report"), 1000);
    assert_eq!(count("location"), 667);
    assert_eq!(count("marking-definition"), 5);
    assert_eq!(count("opinion"), 1);
    assert_eq!(count("note"), 1001, "one signature note per tip and one feedback note");
    let sig = objs.iter().filter(|o| o["type"] == "note" && o["abstract"] == "Signature verified").count();
    assert_eq!(sig, 1000, "every tip's signature verifies at export");
    let unknown_radius = objs.iter().filter(|o| o["type"] == "location" && o.get("precision").is_none()).count();
    assert_eq!(unknown_radius, 333, "an unknown radius is left out, not invented");
    validate(&a);

    // The sender's side exports its own tips too (direction out), naming each by the same
    // report id; a window of them is enough to show it.
    let c = dir.path().join("c.json");
    let newest = objs.iter().filter(|o| o["type"] == "report").filter_map(|o| o["created"].as_str()).max().unwrap();
    ok(&tipctl(&feed, &["export", "--direction", "out", "--since", newest, "--out", c.to_str().unwrap()]));
    let mine = objects(&c);
    assert!(mine.iter().any(|o| o["type"] == "report"));
    let report_ids = |v: &[serde_json::Value]| {
        let mut ids: Vec<String> =
            v.iter().filter(|o| o["type"] == "report").map(|o| o["id"].as_str().unwrap().to_owned()).collect();
        ids.sort();
        ids
    };
    let theirs = report_ids(&objs);
    for id in report_ids(&mine) {
        assert!(theirs.binary_search(&id).is_ok(), "both sides name each tip by the same STIX id: {id}");
    }
    relay.terminate();
}

#[test]
fn a_public_oasis_bundle_goes_through_the_feed_and_arrives_verified() {
    let dir = tempfile::tempdir().unwrap();
    let (mut relay, _feed, mx, us) = start(dir.path());
    // The OASIS example as published, then objects of our own: a sighting with a location,
    // and three bad ones.
    let mut bundle: serde_json::Value = serde_json::from_slice(
        &std::fs::read(oasis_example("malicious-email-indicator-with-attachment.json")).unwrap(),
    )
    .unwrap();
    let public = bundle["objects"].as_array().unwrap().len();
    let indicators = bundle["objects"].as_array().unwrap().iter().filter(|o| o["type"] == "indicator").count();
    let first_indicator =
        bundle["objects"].as_array().unwrap().iter().find(|o| o["type"] == "indicator").unwrap()["id"].clone();
    let extra = serde_json::json!([
        {"type": "location", "spec_version": "2.1", "id": "location--0e2f5a35-5d3e-4c55-9d4b-1f2a3b4c5d6e",
         "created": "2026-11-30T10:00:00.000Z", "modified": "2026-11-30T10:00:00.000Z",
         "latitude": 31.7587, "longitude": -106.4869, "precision": 400.0, "name": "Bridge of the Americas"},
        {"type": "sighting", "spec_version": "2.1", "id": "sighting--6b0e1f3a-7c2d-4e5f-8a9b-0c1d2e3f4a5b",
         "created": "2026-11-30T10:00:00.000Z", "modified": "2026-11-30T10:00:00.000Z",
         "first_seen": "2026-11-30T09:40:00.000Z", "sighting_of_ref": first_indicator,
         "where_sighted_refs": ["location--0e2f5a35-5d3e-4c55-9d4b-1f2a3b4c5d6e"],
         "object_marking_refs": ["marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"]},
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--not-a-uuid", "name": "bad id",
         "pattern": "[x:y = 'z']", "pattern_type": "stix", "valid_from": "2026-11-30T10:00:00Z"},
        {"type": "report", "spec_version": "2.1", "id": "report--3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a",
         "published": "2026-11-30T10:00:00Z", "object_refs": []},
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--7d6c5b4a-3e2f-4a1b-8c9d-0e1f2a3b4c5d",
         "name": "bad time", "pattern": "[x:y = 'z']", "pattern_type": "stix", "valid_from": "last tuesday"},
    ]);
    bundle["objects"].as_array_mut().unwrap().extend(extra.as_array().unwrap().iter().cloned());
    let input = dir.path().join("bundle.json");
    std::fs::write(&input, serde_json::to_vec_pretty(&bundle).unwrap()).unwrap();
    let rejects = dir.path().join("bundle.json.rejects");
    let args = ["feed", "--format", "stix2.1", "--to", "US", "--tlp", "AMBER", "--input", input.to_str().unwrap()];
    let o = tipctl(&mx, &args);
    ok(&o);
    let summary: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&o.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(summary["receipted"], indicators + 1, "{summary}");
    assert_eq!(summary["rejected"], 3, "{summary}");
    // Rejected by position in `objects` (1-based), each with its reason.
    let rej = std::fs::read_to_string(&rejects).unwrap();
    let positions: Vec<usize> = rej.lines().map(|l| l.split('\t').next().unwrap().parse().unwrap()).collect();
    assert_eq!(positions, vec![public + 3, public + 4, public + 5], "{rej}");
    assert!(rej.lines().next().unwrap().contains("`id`"), "{rej}");
    assert!(rej.lines().nth(2).unwrap().contains("observed_at"), "{rej}");

    // The counterpart receives each one verified, the sighting at its location and TLP.
    let inbox: serde_json::Value = serde_json::from_str(&ok(&tipctl(&us, &["inbox", "--json"]))).unwrap();
    let tips = inbox.as_array().unwrap();
    assert_eq!(tips.len(), indicators + 1);
    for t in tips {
        assert_eq!(t["signer"], "tiprelay://MX/analyst/analyst-1", "{t}");
    }
    let sighting = tips.iter().find(|t| t["summary"].as_str().unwrap().starts_with("Sighting of")).unwrap();
    assert_eq!(sighting["tlp"], "red", "the object's own marking wins over --tlp");
    assert_eq!(sighting["location"]["radius_m"], 400);
    assert_eq!(sighting["location"]["place"], "Bridge of the Americas");

    // Exactly once: the same bundle again sends nothing.
    let o = tipctl(&mx, &args);
    ok(&o);
    let again: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&o.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(again["queued"], 0, "{again}");
    let inbox: serde_json::Value = serde_json::from_str(&ok(&tipctl(&us, &["inbox", "--json"]))).unwrap();
    assert_eq!(inbox.as_array().unwrap().len(), indicators + 1);
    relay.terminate();
}

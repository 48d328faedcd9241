//! Cost of verifying an audit bundle offline (`tipctl audit verify`, docs/PROTOCOL.md §13.9):
//! `cargo bench -p tiprelay-certs --bench audit`. The target is under 10 s for 1,000,000
//! entries. Lives in the certs crate because it needs the fixture PKI to sign checkpoints.
//!
//! The bundle is built once in a temporary directory: 1,000,000 entries (by default; set
//! `TIPRELAY_BENCH_AUDIT_ENTRIES` for a quicker run) of realistic traffic, each tip
//! `accepted`, `delivered` and `acked`, both directions, with a checkpoint signed by the relay
//! every 1,000 entries, as the relay's writer does. Each iteration verifies the whole file
//! through a 1 MiB `BufReader`, like `tipctl audit verify` (from the page cache after the
//! first run).

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufReader, BufWriter, Write as _};
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use tiprelay_certs::fixture::FixturePki;
use tiprelay_certs::profile::LeafKind;
use tiprelay_proto::audit::{verify_bundle, write_bundle, Anchor, AuditEntry, BundleHeader, SignedCheckpoint};
use tiprelay_proto::merkle::CompactTree;
use tiprelay_proto::*;

/// Entries in the bundle unless `TIPRELAY_BENCH_AUDIT_ENTRIES` says otherwise.
const DEFAULT_ENTRIES: u64 = 1_000_000;
/// A signed checkpoint every this many entries (the relay's `CHECKPOINT_ENTRIES`).
const CHECKPOINT_EVERY: u64 = 1_000;
/// Fixture PKI validity starts at 2026-12-01T00:00:00Z.
const BASE_SECS: i64 = 1_796_083_200;
/// The log starts at 2026-12-01T12:00:00Z; a tip every 300 ms.
const START_MS: u64 = 1_796_126_400_000;
/// Analysts per jurisdiction.
const ANALYSTS: u64 = 20;

/// Entry `i` of the synthetic log: tip `i / 3` is accepted, delivered 100 ms later and
/// acknowledged 200 ms later; even tips go MX → US, odd ones US → MX.
fn entry(i: u64) -> AuditEntry {
    let (t, phase) = (i / 3, i % 3);
    let (from, to) = if t % 2 == 0 { ("MX", "US") } else { ("US", "MX") };
    let accepted = START_MS + t * 300;
    let mut random = [0u8; 10];
    random.copy_from_slice(&Digest::of(&t.to_be_bytes()).0[..10]);
    let id = TipId::new_v7(Timestamp::from_unix_ms(accepted).unwrap(), random);
    let (kind, principal) = match phase {
        0 => ("accepted", format!("tiprelay://{from}/analyst/analyst-{:02}", (t * 7) % ANALYSTS)),
        1 => ("delivered", format!("tiprelay://{to}/analyst/analyst-{:02}", (t * 11) % ANALYSTS)),
        _ => ("acked", format!("tiprelay://{to}/analyst/analyst-{:02}", (t * 11) % ANALYSTS)),
    };
    AuditEntry {
        index: i,
        principal: Some(principal),
        from: Some(from.into()),
        to: Some(to.into()),
        tip: Some(id.to_string()),
        category: (phase == 0).then(|| Category::ALL[(t % Category::ALL.len() as u64) as usize].as_str().into()),
        digest: Some(Digest::of(id.as_bytes()).to_hex()),
        seq: Some(t / 2 + 1),
        ..AuditEntry::new(kind, Timestamp::from_unix_ms(accepted + phase * 100).unwrap())
    }
}

/// Writes the bundle to `path`: one pass to hash the log and sign its checkpoints, a second
/// to write it (entries are regenerated rather than held in memory).
fn build_bundle(path: &Path, n: u64, pki: &FixturePki, auths: &[Authority]) {
    let relay = pki.leaf(&"tiprelay://OPERATOR/relay/main".parse().unwrap(), LeafKind::Signing).unwrap();
    let signer = relay.signer().unwrap();
    let mut tree = CompactTree::new();
    let mut checkpoints = Vec::new();
    for i in 0..n {
        tree.append(entry(i).leaf()).unwrap();
        if tree.size() % CHECKPOINT_EVERY == 0 || tree.size() == n {
            let cp = Checkpoint {
                log: relay.identity.to_string(),
                size: tree.size(),
                root: tree.root(),
                time: Timestamp::from_unix_ms(entry(i).time + 1).unwrap(),
                relay: relay.identity.clone(),
            };
            checkpoints.push(SignedCheckpoint { checkpoint: signer.sign(&cp).unwrap(), cosignatures: Vec::new() });
        }
    }
    let anchors = auths
        .iter()
        .map(|a| Anchor {
            authority: *a,
            root: pki.ca(*a).unwrap().cert_der.clone(),
            crl: Some(pki.crl(*a, &[], 1).unwrap()),
        })
        .collect();
    let header = BundleHeader {
        log: relay.identity.to_string(),
        created: Timestamp::from_unix_ms(entry(n - 1).time + 1_000).unwrap(),
        first: 0,
        count: n,
        prefix: Vec::new(),
        checkpoints,
        anchors,
        since: None,
        until: None,
    };
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let items = (0..n).map(|i| {
        let e = entry(i);
        Ok((e.encode(), e.leaf()))
    });
    write_bundle(&mut w, &header, items).unwrap();
    w.flush().unwrap();
}

fn verify_file(path: &Path, trust: &TrustStore) -> audit::BundleReport {
    let f = std::fs::File::open(path).unwrap();
    verify_bundle(BufReader::with_capacity(1 << 20, f), Some(trust), |_| {}).unwrap()
}

fn bench(c: &mut Criterion) {
    let n = std::env::var("TIPRELAY_BENCH_AUDIT_ENTRIES").map_or(DEFAULT_ENTRIES, |v| v.parse().unwrap()).max(1);
    let mx: Jurisdiction = "MX".parse().unwrap();
    let us: Jurisdiction = "US".parse().unwrap();
    let auths = [Authority::Jurisdiction(mx), Authority::Jurisdiction(us), Authority::Operator];
    let pki =
        FixturePki::new("bench", &auths, ::time::OffsetDateTime::from_unix_timestamp(BASE_SECS).unwrap()).unwrap();
    let trust = pki.trust_store().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.bundle");
    let started = Instant::now();
    build_bundle(&path, n, &pki, &auths);
    let bytes = std::fs::metadata(&path).unwrap().len();
    eprintln!(
        "audit bundle: {n} entries, {} checkpoints, {:.1} MB, built in {:.1} s",
        n.div_ceil(CHECKPOINT_EVERY),
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    // Once outside the measurement: the bundle is valid and fully checked.
    let report = verify_file(&path, &trust);
    assert_eq!((report.count, report.checkpoints.len() as u64), (n, n.div_ceil(CHECKPOINT_EVERY)));

    let mut g = c.benchmark_group("audit");
    g.sample_size(10);
    g.sampling_mode(SamplingMode::Flat);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(60));
    g.throughput(Throughput::Elements(n));
    g.bench_function(format!("verify_bundle {n} entries"), |b| b.iter(|| verify_file(&path, &trust)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! Cost of the per-tip cryptographic and encoding work (`cargo bench -p tiprelay-certs`).
//! Lives in the certs crate because it needs the fixture PKI.

#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ed25519_dalek::Signer as _;
use tiprelay_certs::fixture::FixturePki;
use tiprelay_certs::profile::LeafKind;
use tiprelay_proto::*;

fn bench(c: &mut Criterion) {
    let mx: Jurisdiction = "MX".parse().unwrap();
    let us: Jurisdiction = "US".parse().unwrap();
    let base = ::time::OffsetDateTime::from_unix_timestamp(1_796_083_200).unwrap();
    let pki = FixturePki::new("bench", &[Authority::Jurisdiction(mx), Authority::Jurisdiction(us)], base).unwrap();
    let trust = pki.trust_store().unwrap();
    let leaf = pki.leaf(&"tiprelay://MX/analyst/ana".parse().unwrap(), LeafKind::Signing).unwrap();
    let signer = leaf.signer().unwrap();
    let now = Timestamp::from_unix_ms(1_796_126_400_000).unwrap();
    let tip = Tip {
        id: TipId::new_v7(now, [1; 10]),
        from: mx,
        to: us,
        author: leaf.identity.clone(),
        created: now,
        category: Category::FentanylPrecursors,
        urgency: Urgency::Priority,
        summary: "Precursor shipment, 400 kg, declared as industrial solvent".into(),
        details: Some("x".repeat(1024)),
        lang: "en".parse().unwrap(),
        location: Some(Location {
            lat: 32.54,
            lon: -117.03,
            radius_m: Some(500),
            place: Some("Otay Mesa".into()),
            sector: None,
            port_of_entry: None,
        }),
        observed_at: None,
        valid_until: None,
        source_reliability: Some(SourceReliability::B),
        info_credibility: Some(InfoCredibility::new(2).unwrap()),
        tlp: Tlp::Amber,
        refs: vec![],
    };
    let env = signer.sign(&tip).unwrap();
    let mut g = c.benchmark_group("tip");
    g.throughput(Throughput::Elements(1));
    g.bench_function("encode_payload", |b| b.iter(|| encode_payload(&tip)));
    g.bench_function("sign (validate+encode+sign+COSE)", |b| b.iter(|| signer.sign(&tip).unwrap()));
    g.bench_function("parse (no crypto)", |b| b.iter(|| parse::<Tip>(&env).unwrap()));
    g.bench_function("parse+verify (chain, CRL, verify_strict)", |b| {
        b.iter(|| verify::<Tip>(&env, &trust, now).unwrap())
    });
    g.finish();

    let mut g = c.benchmark_group("ed25519");
    g.throughput(Throughput::Elements(1));
    let key = ed25519_dalek::SigningKey::from_bytes(&leaf.seed);
    let vk = key.verifying_key();
    let msg = vec![7u8; 1200];
    let sig = key.sign(&msg);
    g.bench_function("sign 1200 B", |b| b.iter(|| key.sign(&msg)));
    g.bench_function("verify_strict 1200 B", |b| b.iter(|| vk.verify_strict(&msg, &sig).unwrap()));
    g.bench_function("chain only (webpki + CRL)", |b| {
        b.iter_batched(
            || (),
            |_| trust.verify_cert(&leaf.cert_der, &[], Authority::Jurisdiction(mx), CertUsage::Signing, now).unwrap(),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

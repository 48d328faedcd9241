//! Ledger queries at scale (`cargo bench -p tiprelay --bench ledger`): one million tips in
//! the relay's store and in a client's store, a month-by-month ledger over all of them.
//! The target is under 2 s per query.

#![allow(missing_docs, clippy::unwrap_used)]

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tiprelay_client::ledger::{aggregate, Period, Range};
use tiprelay_client::store::LocalStore;
use tiprelay_proto::{Category, Outcome, Timestamp, TipFacts, TipId};

const N: usize = 1_000_000;

/// One million tips over 90 days, both directions, every category; 90% acknowledged,
/// 30% with feedback.
fn facts() -> Vec<TipFacts> {
    let start = 1_790_000_000_000u64;
    (0..N)
        .map(|i| {
            let at = start + (i as u64) * 7_776; // 90 days
            let ts = Timestamp::from_unix_ms(at).unwrap();
            let mut rnd = [0u8; 10];
            rnd[..8].copy_from_slice(&(i as u64).to_be_bytes());
            let (from, to) = if i % 3 == 0 { ("US", "MX") } else { ("MX", "US") };
            let mut f = TipFacts::new(
                TipId::new_v7(ts, rnd),
                from.parse().unwrap(),
                to.parse().unwrap(),
                Category::ALL[i % Category::ALL.len()],
                format!("tiprelay://{from}/analyst/analyst-{}", i % 40),
            );
            f.created = ts;
            f.accepted = Some(ts);
            f.seq = Some(i as u64 + 1);
            if i % 10 != 0 {
                f.delivered = Some(ts.saturating_add_ms(200));
                f.acked = Some(ts.saturating_add_ms(400 + (i as u64 % 5_000)));
            }
            if i % 10 < 3 {
                f.add_feedback(Outcome::ALL[i % Outcome::ALL.len()], ts.saturating_add_ms(86_400_000));
            }
            f
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let all = facts();
    let relay_path = dir.path().join("relay.redb");
    tiprelay::storage::bench_fill_ledger(&relay_path, &all).unwrap();
    let client = LocalStore::open(&dir.path().join("client.redb")).unwrap();
    client.put_facts(&all).unwrap();
    drop(all);

    let mut g = c.benchmark_group("ledger_1m");
    g.sample_size(10).measurement_time(Duration::from_secs(30)).throughput(Throughput::Elements(N as u64));
    let db = tiprelay::storage::open_read_only(&relay_path).unwrap();
    g.bench_function("relay_month_ledger", |b| {
        b.iter(|| {
            let l = tiprelay::storage::ledger(&db, Period::Month, Range::all()).unwrap();
            assert!(!l.rows.is_empty());
        })
    });
    g.bench_function("client_month_ledger", |b| {
        b.iter(|| {
            let f = client.facts(0, u64::MAX).unwrap();
            let l = aggregate("bench", &f, Period::Month, Range::all());
            assert!(!l.rows.is_empty());
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

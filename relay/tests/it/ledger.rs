//! Feedback, reciprocity ledgers, signed statements and reconciliation, over real QUIC on
//! 127.0.0.1 (issue 5).

use crate::common::*;
use tiprelay_client::client::now;
use tiprelay_client::files::read_signer;
use tiprelay_client::ledger::{
    aggregate, build_statement, reconcile_statement, reconcile_with_relay, Period, Range, ReconcileScope,
};
use tiprelay_client::Client;
use tiprelay_proto::wire::{Request, Response};
use tiprelay_proto::{Category, ErrorCode, Feedback, Outcome, Subject, TipFacts, TipId};

fn signer(c: &Client) -> tiprelay_proto::Signer {
    read_signer(&c.cfg.signing_key, &c.cfg.signing_cert).unwrap()
}

fn this_month() -> Range {
    Range::parse_period(&Period::Month.key(now())).unwrap()
}

fn feedback(c: &Client, tip: TipId, from: &str, to: &str, outcome: Outcome) -> Vec<u8> {
    feedback_with_id(c, TipId::new_v7(now(), rand10()), tip, from, to, outcome)
}

fn rand10() -> [u8; 10] {
    let mut r = [0u8; 10];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut r);
    r
}

fn feedback_with_id(c: &Client, id: TipId, tip: TipId, from: &str, to: &str, outcome: Outcome) -> Vec<u8> {
    let fb = Feedback {
        id,
        tip,
        from: from.parse().unwrap(),
        to: to.parse().unwrap(),
        by: c.cfg.principal.clone(),
        outcome,
        note: None,
        created: now(),
    };
    signer(c).sign(&fb).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_reaches_the_author_durably_with_receipts_and_dedupe() {
    let mut w = World::start().await;
    let mx = w.client("MX", "analyst");
    let us = w.client("US", "analyst");
    let c = connect(&mx).await;
    let (tip, _) = mx.compose(draft("US", "fentanyl precursors at Manzanillo")).unwrap();
    mx.send(&c, &tip.id).await.unwrap();
    c.close().await;

    let cu = connect(&us).await;
    assert_eq!(us.sync_inbox(&cu).await.unwrap().len(), 1);
    let (from, fb1) = us.compose_feedback(&tip.id, Outcome::UnderReview, Some("assessing".into())).unwrap();
    let r1 = us.send_feedback(&cu, &from, tip.id.as_bytes(), fb1.clone()).await.unwrap();
    assert_eq!((r1.subject, r1.seq), (Subject::Feedback, 1));
    let (_, fb2) = us.compose_feedback(&tip.id, Outcome::Seizure, Some("340 kg seized".into())).unwrap();
    let r2 = us.send_feedback(&cu, &from, tip.id.as_bytes(), fb2).await.unwrap();
    assert_eq!(r2.seq, 2, "each feedback is kept, numbered in its direction");
    // A resend of the same bytes gets the original receipt, byte for byte.
    let again = cu.request(&Request::Feedback { envelope: fb1.envelope.clone() }).await.unwrap();
    let Response::Submitted { receipt, duplicate: true } = again else { panic!("{again:?}") };
    assert_eq!(Some(receipt), us.store.feedback_for(&from, tip.id.as_bytes()).unwrap()[0].receipt);
    cu.close().await;

    // The author was offline throughout; the relay restarts before it connects.
    w.restart().await;
    let c = connect(&mx).await;
    let got = mx.sync_notices(&c).await.unwrap();
    assert_eq!(got.acks, vec![tip.id]);
    let outcomes: Vec<Outcome> = got.feedback.iter().map(|f| f.outcome).collect();
    assert_eq!(outcomes, vec![Outcome::UnderReview, Outcome::Seizure]);
    assert_eq!(got.feedback[1].note.as_deref(), Some("340 kg seized"));
    let held = mx.store.feedback_for("MX", tip.id.as_bytes()).unwrap();
    assert_eq!(held.len(), 2);
    assert!(held.iter().all(|f| !f.given && f.receipt.is_some()));
    // Nothing is delivered twice.
    let again = mx.sync_notices(&c).await.unwrap();
    assert!(again.acks.is_empty() && again.feedback.is_empty());
    // Both sides count it.
    let facts = mx.store.facts(0, u64::MAX).unwrap();
    assert_eq!(facts.len(), 1);
    assert_eq!(facts[0].feedback_count(), 2);
    let us_facts = us.store.facts(0, u64::MAX).unwrap();
    assert_eq!(us_facts[0].feedback_count(), 2);
    c.close().await;
    w.relay.take().unwrap().shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_on_an_unknown_or_own_tip_or_by_the_wrong_side_is_refused() {
    let w = World::start().await;
    let mx = w.client("MX", "analyst");
    let us = w.client("US", "analyst");
    let us_feed = w.client("US", "feed");
    let (c, cu) = (connect(&mx).await, connect(&us).await);
    let (tip, _) = mx.compose(draft("US", "tunnel near Tijuana")).unwrap();
    mx.send(&c, &tip.id).await.unwrap();
    us.sync_inbox(&cu).await.unwrap();

    // Unknown tip.
    let unknown = TipId::new_v7(now(), [1; 10]);
    let env = feedback(&us, unknown, "MX", "US", Outcome::Actioned);
    assert_eq!(refused_code(cu.request(&Request::Feedback { envelope: env }).await), ErrorCode::UnknownTip as u16);
    assert!(matches!(
        us.compose_feedback(&unknown, Outcome::Actioned, None),
        Err(tiprelay_client::ClientError::NotFound(_))
    ));

    // The author giving feedback on its own tip: refused locally, and at the relay (it
    // cannot be signed for the receiving side, and for its own side there is no such tip).
    assert!(matches!(
        mx.compose_feedback(&tip.id, Outcome::Actioned, None),
        Err(tiprelay_client::ClientError::NotPermitted(_))
    ));
    let own = feedback(&mx, tip.id, "US", "MX", Outcome::Actioned);
    assert_eq!(refused_code(c.request(&Request::Feedback { envelope: own }).await), ErrorCode::UnknownTip as u16);

    // A principal of the wrong jurisdiction: MX signs feedback claiming the US side.
    let wrong = feedback(&mx, tip.id, "MX", "US", Outcome::Actioned);
    let code = refused_code(c.request(&Request::Feedback { envelope: wrong }).await);
    assert!(
        [ErrorCode::WrongAuthority as u16, ErrorCode::UntrustedChain as u16, ErrorCode::IdentityMismatch as u16]
            .contains(&code),
        "code {code}"
    );

    // Signed by a US analyst but submitted on another principal's connection: a feed's,
    // which may not give feedback at all (PROTOCOL §10.6).
    let cf = connect(&us_feed).await;
    let env = feedback(&us, tip.id, "MX", "US", Outcome::Actioned);
    assert_eq!(refused_code(cf.request(&Request::Feedback { envelope: env }).await), ErrorCode::NotPermitted as u16);
    // Same id, different content: conflict.
    let id = TipId::new_v7(now(), rand10());
    let a = feedback_with_id(&us, id, tip.id, "MX", "US", Outcome::Actioned);
    let b = feedback_with_id(&us, id, tip.id, "MX", "US", Outcome::Arrest);
    cu.request(&Request::Feedback { envelope: a }).await.unwrap();
    assert_eq!(refused_code(cu.request(&Request::Feedback { envelope: b }).await), ErrorCode::Conflict as u16);
    for x in [c, cu, cf] {
        x.close().await;
    }
    w.relay.unwrap().shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ledgers_on_three_sides_agree_and_an_injected_discrepancy_is_named() {
    let w = World::start().await;
    let mx = w.client("MX", "analyst");
    let us = w.client("US", "analyst");
    let (c, cu) = (connect(&mx).await, connect(&us).await);
    let mut sent = Vec::new();
    for (i, cat) in
        [Category::FentanylPrecursors, Category::ArmsTrafficking, Category::FentanylPrecursors].into_iter().enumerate()
    {
        let mut d = draft("US", &format!("tip {i}"));
        d.category = cat;
        let (t, _) = mx.compose(d).unwrap();
        mx.send(&c, &t.id).await.unwrap();
        sent.push(t.id);
    }
    let (back, _) = us.compose(draft("MX", "southbound rifles")).unwrap();
    us.send(&cu, &back.id).await.unwrap();
    assert_eq!(us.sync_inbox(&cu).await.unwrap().len(), 3);
    assert_eq!(mx.sync_inbox(&c).await.unwrap().len(), 1);
    let (from, fb) = us.compose_feedback(&sent[0], Outcome::Seizure, None).unwrap();
    us.send_feedback(&cu, &from, sent[0].as_bytes(), fb).await.unwrap();
    mx.sync_notices(&c).await.unwrap();
    us.sync_notices(&cu).await.unwrap();

    let month = this_month();
    let (s0, s1) = (month.start.as_unix_ms(), month.end.as_unix_ms());
    // The relay's ledger, from its own commits.
    let relay_facts = mx.relay_records(&c, s0, s1).await.unwrap();
    assert_eq!(relay_facts.len(), 4);
    let rl = aggregate("relay", &relay_facts, Period::Month, month);
    let fent = rl.rows.iter().find(|r| r.from.as_str() == "MX" && r.category == Category::FentanylPrecursors).unwrap();
    assert_eq!((fent.accepted, fent.delivered, fent.acknowledged, fent.feedback), (2, 2, 2, 1));
    assert_eq!(fent.outcomes.iter().sum::<u64>(), 1);
    assert!(fent.ack_latency.median_ms.is_some());
    assert_eq!((rl.pairs[0].a_to_b, rl.pairs[0].b_to_a), (3, 1));
    // Each side's own ledger gives the same accepted/acknowledged/feedback counts.
    for cl in [&mx, &us] {
        let l = aggregate("x", &cl.store.facts(s0, s1).unwrap(), Period::Month, month);
        for r in &rl.rows {
            let o =
                l.rows.iter().find(|x| x.from == r.from && x.category == r.category && x.period == r.period).unwrap();
            assert_eq!((o.accepted, o.acknowledged, o.feedback), (r.accepted, r.acknowledged, r.feedback));
        }
    }
    // Reconcile MX with the relay and US's signed statement: clean.
    let authors = vec![mx.cfg.principal.to_string()];
    let scope = ReconcileScope {
        me: "MX".parse().unwrap(),
        authors: &authors,
        range: month,
        now: now(),
        grace_ms: 0,
        receives: true,
    };
    let mine = mx.store.facts(s0, s1).unwrap();
    assert_eq!(reconcile_with_relay(&scope, &mine, &relay_facts), vec![]);
    let st = build_statement(
        &us.store.facts(s0, s1).unwrap(),
        "US".parse().unwrap(),
        "MX".parse().unwrap(),
        month,
        us.cfg.principal.clone(),
        TipId::new_v7(now(), [3; 10]),
        now(),
    );
    let env = us.sign_statement(&st).unwrap();
    let r = us.send_statement(&cu, &env).await.unwrap();
    assert_eq!((r.subject, r.seq), (Subject::Statement, 1));
    let got = mx.sync_statements(&c).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].statement, st);
    assert_eq!(reconcile_statement(&got[0].statement, &relay_facts), vec![]);
    // US reconciles too.
    let us_authors = vec![us.cfg.principal.to_string()];
    let us_scope = ReconcileScope {
        me: "US".parse().unwrap(),
        authors: &us_authors,
        range: month,
        now: now(),
        grace_ms: 0,
        receives: true,
    };
    let us_relay = us.relay_records(&cu, s0, s1).await.unwrap();
    assert_eq!(reconcile_with_relay(&us_scope, &us.store.facts(s0, s1).unwrap(), &us_relay), vec![]);

    // A statement signed by the wrong side, or tampered with, is refused.
    assert!(mx.check_statement(&env).is_ok());
    assert!(us.check_statement(&env).is_err(), "US's own statement is not one for US");
    let mut tampered = env.clone();
    let n = tampered.len();
    tampered[n - 70] ^= 1;
    assert!(mx.check_statement(&tampered).is_err());

    // Inject a discrepancy: MX loses one tip from its store.
    assert!(mx.store.forget_tip("MX", sent[1].as_bytes()).unwrap());
    let mine = mx.store.facts(s0, s1).unwrap();
    let d = reconcile_with_relay(&scope, &mine, &relay_facts);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!((d[0].tip, d[0].kind), (Some(sent[1]), "missing_here"));
    assert!(d[0].message.contains(&sent[1].to_string()));
    // The statement MX would now make no longer matches the relay either.
    let st2 = build_statement(
        &mine,
        "MX".parse().unwrap(),
        "US".parse().unwrap(),
        month,
        mx.cfg.principal.clone(),
        TipId::new_v7(now(), [4; 10]),
        now(),
    );
    assert!(reconcile_statement(&st2, &relay_facts).iter().any(|x| x.kind == "statement_tips"));
    c.close().await;
    cu.close().await;
    w.relay.unwrap().shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_show_each_side_only_its_own_pairs_and_page() {
    let w = World::start().await;
    let mx = w.client("MX", "analyst");
    let c = connect(&mx).await;
    for i in 0..5 {
        let (t, _) = mx.compose(draft("US", &format!("t{i}"))).unwrap();
        mx.send(&c, &t.id).await.unwrap();
    }
    // Paging: one item per page still returns every record once, in order.
    let mut after = None;
    let mut seen = Vec::new();
    for _ in 0..10 {
        let r =
            c.request(&Request::Records { since: 0, until: u64::MAX, after: after.clone(), limit: 1 }).await.unwrap();
        let Response::Records { items, next } = r else { panic!("{r:?}") };
        seen.extend(items.into_iter().map(|f: TipFacts| f.seq.unwrap()));
        match next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(seen, vec![1, 2, 3, 4, 5]);
    // A statement from a side for a pair the relay does not serve is refused.
    let st = build_statement(
        &[],
        "MX".parse().unwrap(),
        "GT".parse().unwrap(),
        this_month(),
        mx.cfg.principal.clone(),
        TipId::new_v7(now(), [5; 10]),
        now(),
    );
    let env = signer(&mx).sign(&st).unwrap();
    assert_eq!(
        refused_code(c.request(&Request::Statement { envelope: env }).await),
        ErrorCode::UnknownJurisdiction as u16
    );
    c.close().await;
    w.relay.unwrap().shutdown().await.unwrap();
}

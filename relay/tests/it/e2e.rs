//! End to end over real QUIC on 127.0.0.1: relay, MX and US clients.

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tip_goes_from_mx_to_us_with_receipt_and_ack() {
    let w = World::start().await;
    let mx = w.client("MX", "analyst");
    let us = w.client("US", "analyst");
    let (tip, _) = mx.compose(draft("US", "Grupo armado cruzando por Palomas")).unwrap();
    let c = connect(&mx).await;
    let sent = mx.send(&c, &tip.id).await.unwrap();
    assert_eq!(sent.receipt.seq, 1);
    assert!(!sent.duplicate);

    let cu = connect(&us).await;
    let got = us.sync_inbox(&cu).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].tip, tip);
    assert_eq!(got[0].signer, "tiprelay://MX/analyst/analyst-1");
    assert!(got[0].fresh);
    // Nothing left to fetch once acked.
    assert!(us.sync_inbox(&cu).await.unwrap().is_empty());

    assert_eq!(mx.sync_acks(&c).await.unwrap(), 1);
    let out = mx.store.get_out(tip.id.as_bytes()).unwrap().unwrap();
    assert_eq!(out.acked_by.as_deref(), Some("tiprelay://US/analyst/analyst-1"));
    c.close().await;
    cu.close().await;
    w.relay.unwrap().shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_hear_only_their_own_jurisdictions_events() {
    let w = World::start().await;
    let mx = w.client("MX", "analyst");
    let us = w.client("US", "analyst");
    let (c, cu) = (connect(&mx).await, connect(&us).await);
    let mut mx_events = c.subscribe().await.unwrap();
    let mut us_events = cu.subscribe().await.unwrap();
    // Each gets the initial look-now event.
    assert_eq!(next_within(&mut mx_events).await.as_deref(), Some("tips"));
    assert_eq!(next_within(&mut us_events).await.as_deref(), Some("tips"));

    let (tip, _) = mx.compose(draft("US", "notify me")).unwrap();
    mx.send(&c, &tip.id).await.unwrap();
    assert_eq!(next_within(&mut us_events).await.as_deref(), Some("tips"), "US is told a tip arrived");
    assert_eq!(us.sync_inbox(&cu).await.unwrap().len(), 1);
    assert_eq!(next_within(&mut mx_events).await.as_deref(), Some("acks"), "MX is told its tip was acknowledged");
    // US hears nothing about acks of MX's tips.
    let quiet =
        tokio::time::timeout(std::time::Duration::from_millis(700), tiprelay_client::conn::next_event(&mut us_events))
            .await;
    assert!(quiet.is_err(), "US was woken by an event about MX's traffic: {quiet:?}");
    for conn in [c, cu] {
        conn.close().await;
    }
    w.relay.unwrap().shutdown().await.unwrap();
}

async fn next_within(r: &mut quinn::RecvStream) -> Option<String> {
    tokio::time::timeout(std::time::Duration::from_secs(5), tiprelay_client::conn::next_event(r)).await.ok().flatten()
}

//! What `tipctl` shows: JSON objects for scripts, tables and a TLP banner for people.

use serde_json::{json, Value};
use tiprelay_proto::{parse, DeliveryAck, Feedback, Receipt, Timestamp, Tip, Tlp};

use crate::store::{FeedbackRecord, InRecord, OutRecord};

fn tr(id: &str) -> String {
    crate::i18n::tr(id, &[])
}

/// A refusal received from the relay, for a person: its wire code and name, then what the
/// code means (in this process's language) with the relay's own text.
pub fn refusal(w: &tiprelay_proto::wire::WireError) -> String {
    match tiprelay_proto::ErrorCode::from_u16(w.code) {
        Some(c) => format!("{} ({}): {}", w.name, w.code, tiprelay_common::localize::wire_reason(c, &w.reason)),
        None => w.to_string(),
    }
}

/// The localised text of this crate's error types whose `Display` is English (because a
/// machine-readable file keeps it): for [`tiprelay_common::localize::render_chain`].
pub fn localize_client(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    use tiprelay_common::localize::Localize;
    if let Some(x) = e.downcast_ref::<crate::feed::EventError>() {
        return Some(x.localize());
    }
    if let Some(x) = e.downcast_ref::<crate::feed::TimeError>() {
        return Some(x.localize());
    }
    if let Some(x) = e.downcast_ref::<crate::stix::BundleError>() {
        return Some(x.localize());
    }
    None
}

/// Whether an error's own text already says its causes, in this process's language (the
/// client's errors): a rendering of the chain stops there.
pub fn says_its_causes(e: &(dyn std::error::Error + 'static)) -> bool {
    e.is::<crate::client::ClientError>()
        || e.is::<crate::conn::ConnError>()
        || e.is::<crate::store::StoreError>()
        || e.is::<crate::config::ClientConfigError>()
}

/// The TLP 2.0 banner every reader sees above a tip.
pub fn tlp_banner(tlp: Tlp) -> String {
    let rule = match tlp {
        Tlp::Clear => tr("tipctl-tlp-clear"),
        Tlp::Green => tr("tipctl-tlp-green"),
        Tlp::Amber => tr("tipctl-tlp-amber"),
        Tlp::AmberStrict => tr("tipctl-tlp-amber-strict"),
        Tlp::Red => tr("tipctl-tlp-red"),
    };
    format!("==== TLP:{} ==== {rule}", tlp.as_str().to_uppercase())
}

fn ts(ms: u64) -> String {
    Timestamp::from_unix_ms(ms).map(|t| t.to_string()).unwrap_or_default()
}

fn tip_json(t: &Tip) -> Value {
    json!({
        "id": t.id.to_string(),
        "from": t.from.as_str(),
        "to": t.to.as_str(),
        "author": t.author.to_string(),
        "created": t.created.to_string(),
        "category": t.category.as_str(),
        "urgency": t.urgency.as_str(),
        "summary": t.summary,
        "details": t.details,
        "lang": t.lang.as_str(),
        "tlp": t.tlp.as_str(),
        "location": t.location.as_ref().map(|l| json!({"lat": l.lat, "lon": l.lon, "radius_m": l.radius_m, "place": l.place, "sector": l.sector, "port_of_entry": l.port_of_entry})),
        "observed_at": t.observed_at.map(|x| x.to_string()),
        "valid_until": t.valid_until.map(|x| x.to_string()),
        "source_reliability": t.source_reliability.map(|r| r.as_str()),
        "info_credibility": t.info_credibility.map(|c| c.get()),
        "refs": t.refs.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
    })
}

/// The receipt as JSON.
pub fn receipt_json(r: &Receipt) -> Value {
    json!({
        "seq": r.seq,
        "accepted": r.accepted.to_string(),
        "digest": r.digest.to_hex(),
        "log_index": r.log_index,
        "relay": r.relay.to_string(),
    })
}

/// An inbox entry as JSON (fields of the `tipctl inbox --json` contract).
pub fn inbox_json(r: &InRecord) -> Option<Value> {
    let tip = parse::<Tip>(&r.envelope).ok()?.message;
    let receipt = parse::<Receipt>(&r.receipt).ok()?.message;
    let mut v = tip_json(&tip);
    let o = v.as_object_mut()?;
    o.insert("seq".into(), json!(r.seq));
    o.insert("verified".into(), json!(true));
    o.insert("signer".into(), json!(r.signer));
    o.insert("received_at".into(), json!(ts(r.received_at)));
    o.insert("acked".into(), json!(r.acked));
    o.insert("read".into(), json!(r.read));
    o.insert("receipt".into(), receipt_json(&receipt));
    Some(v)
}

/// An outbox entry as JSON.
pub fn outbox_json(r: &OutRecord) -> Option<Value> {
    let tip = parse::<Tip>(&r.envelope).ok()?.message;
    let mut v = tip_json(&tip);
    let o = v.as_object_mut()?;
    let receipt = r.receipt.as_deref().and_then(|b| parse::<Receipt>(b).ok()).map(|p| receipt_json(&p.message));
    o.insert("status".into(), json!(out_status(r)));
    o.insert("receipt".into(), receipt.unwrap_or(Value::Null));
    o.insert("acked_by".into(), json!(r.acked_by));
    o.insert("rejected".into(), json!(r.rejected));
    o.insert("acked_at".into(), json!(r.acked_at.map(ts)));
    o.insert(
        "refused".into(),
        refusal_of(r).map_or(Value::Null, |f| json!({"code": f.code.name(), "reason": f.reason, "by": r.acked_by})),
    );
    Some(v)
}

/// The recipient's signed refusal of a tip of ours (PROTOCOL §5.3), when its first
/// answer was one.
pub fn refusal_of(r: &OutRecord) -> Option<tiprelay_proto::Refusal> {
    parse::<tiprelay_proto::DeliveryAck>(r.ack.as_deref()?).ok()?.message.refused
}

/// `pending` (no receipt yet), `rejected` (refused for good by the relay), `accepted`
/// (receipted), `crossed` (federation: also receipted by the counterpart's relay),
/// `acknowledged` (counterpart acked), `refused` (the counterpart refused it for good, with
/// a signed refusal).
pub fn out_status(r: &OutRecord) -> &'static str {
    match (&r.receipt, &r.ack) {
        (None, _) if r.rejected.is_some() => "rejected",
        (None, _) => "pending",
        (Some(_), None) if r.across.is_some() => "crossed",
        (Some(_), None) => "accepted",
        (Some(_), Some(_)) if refusal_of(r).is_some() => "refused",
        (Some(_), Some(_)) => "acknowledged",
    }
}

/// Federation: whether a receipted tip was accepted by this jurisdiction's own relay (not
/// the operator's shared one) and has no receipt yet from the counterpart's relay:
/// "accepted at home, not yet across".
pub fn not_yet_across(r: &OutRecord) -> bool {
    r.across.is_none() && r.receipt.as_deref().is_some_and(home_relay_receipt)
}

/// Whether a receipt was signed by a jurisdiction's own relay (federation).
pub fn home_relay_receipt(receipt: &[u8]) -> bool {
    tiprelay_proto::parse::<Receipt>(receipt).is_ok_and(|p| p.message.relay.jurisdiction().is_some())
}

/// Tip text made safe for a terminal: control, bidirectional-formatting and invisible
/// characters (`tiprelay_proto::is_hidden_char`) are shown as `\u{…}` escapes, so a reader
/// sees what was signed and nothing can rewrite the screen. With `lines`, LF and TAB stay
/// (for `details`).
pub fn printable(s: &str, lines: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if tiprelay_proto::is_hidden_char(c) && !(lines && matches!(c, '\n' | '\t')) {
            out.push_str(&format!("\\u{{{:04x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

fn short(s: &str, n: usize) -> String {
    let s = &printable(s, false);
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// The shortest prefixes of `ids` (canonical UUID text, at least 8 characters) that tell
/// them apart, in the same order: what tables show and `show`/`feedback` accept.
pub fn short_ids(ids: &[String]) -> Vec<String> {
    let mut sorted: Vec<&str> = ids.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    let common = |a: &str, b: &str| a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    ids.iter()
        .map(|id| {
            let i = sorted.binary_search(&id.as_str()).unwrap_or(0);
            let mut need = 8;
            if i > 0 && sorted[i - 1] != id {
                need = need.max(common(sorted[i - 1], id) + 1);
            }
            if let Some(next) = sorted.get(i + 1).filter(|n| *n != id) {
                need = need.max(common(next, id) + 1);
            }
            let mut p: String = id.chars().take(need).collect();
            if p.ends_with('-') {
                p.extend(id.chars().nth(need));
            }
            p
        })
        .collect()
}

/// A table that fits the terminal (or `COLUMNS`), wrapping the widest columns.
fn table(header: Vec<String>) -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_BORDERS_ONLY);
    t.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
    if let Some(w) = std::env::var("COLUMNS").ok().and_then(|c| c.parse::<u16>().ok()).filter(|w| *w >= 40) {
        t.set_width(w);
    }
    t.set_header(header);
    t
}

/// The inbox as a table, newest first.
pub fn inbox_table(rows: &[(String, [u8; 16], InRecord)]) -> String {
    let mut t = table(
        [
            "",
            "col-id",
            "col-received",
            "col-from",
            "col-seq",
            "col-tlp",
            "col-urgency",
            "col-category",
            "col-summary",
            "col-author",
        ]
        .iter()
        .map(|h| if h.is_empty() { String::new() } else { crate::i18n::tr(h, &[]) })
        .collect(),
    );
    let ids: Vec<String> = rows
        .iter()
        .map(|(_, id, _)| tiprelay_proto::TipId::from_bytes(*id).map(|i| i.to_string()).unwrap_or_default())
        .collect();
    let prefixes = short_ids(&ids);
    for (i, (_, _, r)) in rows.iter().enumerate() {
        let Ok(tip) = parse::<Tip>(&r.envelope) else { continue };
        let tip = tip.message;
        t.add_row([
            if r.read { " " } else { "●" }.to_owned(),
            prefixes.get(i).cloned().unwrap_or_default(),
            ts(r.received_at).chars().take(19).collect(),
            tip.from.to_string(),
            r.seq.to_string(),
            tip.tlp.as_str().to_uppercase(),
            tip.urgency.as_str().into(),
            tip.category.as_str().into(),
            short(&tip.summary, 64),
            r.signer.clone(),
        ]);
    }
    t.to_string()
}

/// The outbox as a table, with the latest feedback per tip (`feedback[i]` belongs to `rows[i]`).
pub fn outbox_table(rows: &[([u8; 16], OutRecord)], feedback: &[Vec<FeedbackRecord>]) -> String {
    let mut t = table(
        [
            "col-created",
            "col-id",
            "col-to",
            "col-seq",
            "col-status",
            "col-feedback",
            "col-tlp",
            "col-category",
            "col-summary",
        ]
        .iter()
        .map(|h| crate::i18n::tr(h, &[]))
        .collect(),
    );
    let ids: Vec<String> = rows
        .iter()
        .map(|(id, _)| tiprelay_proto::TipId::from_bytes(*id).map(|i| i.to_string()).unwrap_or_default())
        .collect();
    let prefixes = short_ids(&ids);
    for (i, (_, r)) in rows.iter().enumerate() {
        let fb = feedback.get(i).and_then(|f| f.last()).map(|f| f.outcome.clone()).unwrap_or_else(|| "-".into());
        let Ok(tip) = parse::<Tip>(&r.envelope) else { continue };
        let tip = tip.message;
        t.add_row([
            ts(r.created).chars().take(19).collect(),
            prefixes.get(i).cloned().unwrap_or_default(),
            tip.to.to_string(),
            r.seq.map(|s| s.to_string()).unwrap_or_else(|| "-".into()),
            out_status(r).into(),
            fb,
            tip.tlp.as_str().to_uppercase(),
            tip.category.as_str().into(),
            short(&tip.summary, 64),
        ]);
    }
    t.to_string()
}

/// One tip in full, for `show`.
pub fn show_text(tip: &Tip, signer: &str, receipt: Option<&Receipt>, delivery: &str) -> String {
    let mut o = String::new();
    o.push_str(&tlp_banner(tip.tlp));
    o.push('\n');
    let mut line = |k: &str, v: String| {
        o.push_str(&format!("{k:>18}  {v}\n"));
    };
    line(&tr("col-id"), tip.id.to_string());
    line(&tr("show-direction"), format!("{} → {}", tip.from, tip.to));
    line(&tr("show-category"), tip.category.as_str().into());
    line(&tr("show-urgency"), tip.urgency.as_str().into());
    line(&tr("show-summary"), printable(&tip.summary, false));
    line(&tr("show-author"), tip.author.to_string());
    line(
        &tr("show-signature"),
        crate::t!("show-signature-value", "signer" => signer.to_owned(), "root" => tip.from.to_string()),
    );
    line(&tr("show-created"), tip.created.to_string());
    if let Some(t) = tip.observed_at {
        line(&tr("show-observed"), t.to_string());
    }
    if let Some(t) = tip.valid_until {
        line(&tr("show-valid-until"), t.to_string());
    }
    if let Some(l) = &tip.location {
        let mut s = match l.radius_m {
            Some(r) => format!("{:.5}, {:.5} ±{r} m", l.lat, l.lon),
            None => format!("{:.5}, {:.5} ({})", l.lat, l.lon, tr("show-radius-unknown")),
        };
        for n in [&l.place, &l.sector, &l.port_of_entry].into_iter().flatten() {
            s.push_str(&format!(" · {}", printable(n, false)));
        }
        line(&tr("show-location"), s);
    }
    if let (Some(r), Some(c)) = (tip.source_reliability, tip.info_credibility) {
        line(&tr("show-grading"), format!("{}{}", r.as_str(), c.get()));
    }
    line(&tr("show-language"), tip.lang.to_string());
    if !tip.refs.is_empty() {
        line(&tr("show-related"), tip.refs.iter().map(|r| r.to_string()).collect::<Vec<_>>().join(", "));
    }
    match receipt {
        Some(r) => line(
            &tr("show-receipt"),
            crate::t!("show-receipt-value", "seq" => r.seq, "at" => r.accepted.to_string(),
                          "relay" => r.relay.to_string(), "index" => r.log_index),
        ),
        None => line(&tr("show-receipt"), tr("show-receipt-none")),
    }
    line(&tr("show-delivery"), delivery.to_owned());
    if let Some(d) = &tip.details {
        o.push('\n');
        o.push_str(&printable(d, true));
        o.push('\n');
    }
    o.push_str(&tlp_banner(tip.tlp));
    o.push('\n');
    o
}

/// The acknowledger of an ack envelope, if it parses.
pub fn ack_by(ack: &[u8]) -> Option<String> {
    parse::<DeliveryAck>(ack).ok().map(|a| a.message.by.to_string())
}

/// A feedback record as JSON: `{"id", "outcome", "note", "by", "created", "status", "accepted", "given"}`.
pub fn feedback_json(f: &FeedbackRecord) -> Value {
    let note = parse::<Feedback>(&f.envelope).ok().and_then(|p| p.message.note);
    json!({
        "id": f.id,
        "outcome": f.outcome,
        "note": note,
        "by": f.by,
        "created": ts(f.created),
        "status": feedback_status(f),
        "accepted": f.accepted.map(ts),
        "given": f.given,
        "rejected": f.rejected,
    })
}

/// `pending` (not yet receipted by the relay), `accepted`, `rejected`.
pub fn feedback_status(f: &FeedbackRecord) -> &'static str {
    match (&f.receipt, &f.rejected) {
        (Some(_), _) => "accepted",
        (None, Some(_)) => "rejected",
        (None, None) => "pending",
    }
}

/// Feedback lines for `show`.
pub fn feedback_text(list: &[FeedbackRecord]) -> String {
    let mut o = String::new();
    for f in list {
        let note = parse::<Feedback>(&f.envelope).ok().and_then(|p| p.message.note);
        o.push_str(&format!(
            "{:>18}  {}{}\n",
            tr("col-feedback"),
            crate::t!(
                "tipctl-feedback-line",
                "outcome" => f.outcome.clone(), "by" => f.by.clone(), "at" => ts(f.created), "status" => feedback_status(f)
            ),
            note.map(|n| format!(": {}", printable(&n, false))).unwrap_or_default()
        ));
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_characters_are_escaped_for_the_terminal() {
        assert_eq!(printable("abc \u{202e}cba", false), "abc \\u{202e}cba");
        assert_eq!(printable("a\rb\x1b[2J", false), "a\\u{000d}b\\u{001b}[2J");
        assert_eq!(printable("one\n\ttwo\r", true), "one\n\ttwo\\u{000d}");
        assert_eq!(printable("one\ntwo", false), "one\\u{000a}two");
        assert_eq!(printable("Cruce en Palomas: ñ", false), "Cruce en Palomas: ñ");
        assert_eq!(short("x\u{200b}y", 40), "x\\u{200b}y");
    }
}

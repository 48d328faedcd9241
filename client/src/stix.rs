//! STIX 2.1 out and in (docs/STIX.md).
//!
//! Out: each tip becomes a `report` with its `location`, the author jurisdiction's
//! `identity`, the TLP 2.0 marking definition, a `note` carrying the signature
//! verification result, and one `note` plus one `opinion` per feedback. What STIX has no
//! property for (category, urgency, Admiralty grading, sector, port of entry, the relay's
//! receipt) travels in the `tiprelay-tip` property extension, declared by its own
//! `extension-definition`. Every id is a UUIDv5 of the tip's (or feedback's) id, so a
//! re-export updates rather than duplicates in a platform.
//!
//! In: a bundle's indicators, sightings, observed-data and reports become feed events
//! (the JSON lines of docs/FEED.md), each by its position in `objects`, with its STIX id
//! as `source_ref`: the same rules, rejects and exactly-once guarantees as the JSON-lines
//! feed, because it goes through the same parser.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{json, Map, Value};
use tiprelay_proto::{Feedback, Jurisdiction, Outcome, Receipt, Tip, Tlp};
use uuid::Uuid;

use crate::i18n::{tr_in, FluentValue, Locale};
use tiprelay_common::localize::Localize;

/// The namespace of every UUIDv5 this module makes.
const NAMESPACE: Uuid = Uuid::from_u128(0x6f1c_2b9e_3d4a_4e8b_9c71_2a5d_8e0f_4b13);
/// The id of the `tiprelay-tip` extension definition: UUIDv5(NAMESPACE, "extension:tiprelay-tip:1").
pub const EXTENSION_ID: &str = "extension-definition--f6c04d4d-8917-575c-a257-ab18bcdc2d7f";
/// The OASIS TLP 2.0 extension definition (cti-stix-common-objects).
const TLP2_EXTENSION: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";
/// When the definitions of this module were fixed (their `created`/`modified`).
const DEFINED: &str = "2026-12-01T00:00:00.000Z";

/// The five TLP 2.0 marking definitions of the OASIS TLP 2.0 extension, by label.
const TLP2: [(Tlp, &str, &str); 5] = [
    (Tlp::Clear, "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", "clear"),
    (Tlp::Green, "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", "green"),
    (Tlp::Amber, "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", "amber"),
    (Tlp::AmberStrict, "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", "amber+strict"),
    (Tlp::Red, "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", "red"),
];
/// The STIX 2.1 built-in TLP 1.0 markings, read on import (WHITE is TLP 2.0 CLEAR).
const TLP1: [(&str, &str); 4] = [
    ("marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", "clear"),
    ("marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "green"),
    ("marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", "amber"),
    ("marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", "red"),
];

fn id(kind: &str, name: &str) -> String {
    format!("{kind}--{}", Uuid::new_v5(&NAMESPACE, name.as_bytes()))
}

/// A STIX timestamp (RFC 3339, UTC, milliseconds) of Unix milliseconds.
pub fn stix_time(ms: u64) -> String {
    let secs = i64::try_from(ms / 1000).unwrap_or(i64::MAX);
    match time::OffsetDateTime::from_unix_timestamp(secs) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            ms % 1000
        ),
        Err(_) => DEFINED.to_owned(),
    }
}

/// Whether a tip left from here or arrived here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Received from the counterpart.
    In,
    /// Sent from here.
    Out,
}

/// One tip to export, as held in the local store.
#[derive(Debug)]
pub struct ExportTip {
    /// The tip (from its verified envelope).
    pub tip: Tip,
    /// The relay's receipt, when held.
    pub receipt: Option<Receipt>,
    /// In or out.
    pub direction: Direction,
    /// The signature check at export: Ok(what was verified) or Err(why not).
    pub verification: Result<String, String>,
    /// The feedback given on the tip, in order.
    pub feedback: Vec<Feedback>,
}

fn jurisdiction_identity(j: &Jurisdiction) -> Value {
    json!({
        "type": "identity", "spec_version": "2.1", "id": id("identity", &format!("jurisdiction:{j}")),
        "created": DEFINED, "modified": DEFINED, "name": format!("{j} (tiprelay jurisdiction)"),
        "identity_class": "organization", "sectors": ["government-national"],
    })
}

fn tiprelay_identity() -> Value {
    json!({
        "type": "identity", "spec_version": "2.1", "id": id("identity", "tiprelay"),
        "created": DEFINED, "modified": DEFINED, "name": "tiprelay", "identity_class": "system",
        "description": "The tip exchange between two jurisdictions' agencies that wrote this bundle.",
    })
}

fn extension_definition() -> Value {
    json!({
        "type": "extension-definition", "spec_version": "2.1", "id": EXTENSION_ID,
        "created_by_ref": id("identity", "tiprelay"), "created": DEFINED, "modified": DEFINED,
        "name": "tiprelay-tip",
        "description": "A tiprelay tip's own fields that STIX has no property for: category, urgency, Admiralty grading, border sector, port of entry, and the relay's signed receipt.",
        "schema": "docs/STIX.md of tiprelay (section 'The tiprelay-tip extension'): tip_id, from_jurisdiction, to_jurisdiction, author, category, urgency, direction, source_reliability, info_credibility, radius_m, sector, port_of_entry, observed_at, valid_until, refs, receipt_seq, receipt_relay, receipt_accepted",
        "version": "1.0.0", "extension_types": ["property-extension"],
    })
}

fn tlp_marking(tlp: Tlp) -> Value {
    let (_, mid, label) = TLP2.iter().find(|(t, _, _)| *t == tlp).copied().unwrap_or(TLP2[4]);
    json!({
        "type": "marking-definition", "spec_version": "2.1", "id": mid, "created": "2022-10-01T00:00:00.000Z",
        "name": format!("TLP:{}", label.to_uppercase()),
        "extensions": {TLP2_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": label}},
    })
}

fn tlp_ref(tlp: Tlp) -> &'static str {
    TLP2.iter().find(|(t, _, _)| *t == tlp).map_or(TLP2[4].1, |(_, m, _)| m)
}

/// The STIX 2.1 confidence of an Admiralty credibility (STIX 2.1 Appendix A); 6, "cannot
/// be judged", has none.
fn confidence(credibility: u64) -> Option<u64> {
    match credibility {
        1 => Some(90),
        2 => Some(70),
        3 => Some(50),
        4 => Some(30),
        5 => Some(10),
        _ => None,
    }
}

/// The Admiralty credibility of a STIX confidence (the inverse ranges of [`confidence`]).
fn credibility(confidence: u64) -> Option<u64> {
    match confidence {
        0 => None,
        1..=19 => Some(5),
        20..=39 => Some(4),
        40..=59 => Some(3),
        60..=79 => Some(2),
        80..=100 => Some(1),
        _ => None,
    }
}

fn opinion(o: Outcome) -> &'static str {
    match o.as_str() {
        "seizure" | "arrest" | "interdicted" => "strongly-agree",
        "actioned" => "agree",
        "unfounded" => "strongly-disagree",
        "duplicate" | "outside_jurisdiction" => "disagree",
        _ => "neutral",
    }
}

fn tip_objects(t: &ExportTip, out: &mut Vec<Value>) {
    let tip = &t.tip;
    let key = format!("tip:{}:{}", tip.from, tip.id);
    let created = stix_time(tip.created.as_unix_ms());
    let marking = tlp_ref(tip.tlp);
    let author = id("identity", &format!("jurisdiction:{}", tip.from));
    let report_id = id("report", &key);
    let mut refs = vec![author.clone()];
    if let Some(l) = &tip.location {
        let lid = id("location", &format!("{key}:location"));
        let mut loc = json!({
            "type": "location", "spec_version": "2.1", "id": lid, "created_by_ref": author,
            "created": created, "modified": created, "latitude": l.lat, "longitude": l.lon,
            "object_marking_refs": [marking],
        });
        if let Some(o) = loc.as_object_mut() {
            if let Some(r) = l.radius_m {
                o.insert("precision".into(), json!(r as f64));
            }
            if let Some(p) = &l.place {
                o.insert("name".into(), json!(p));
            }
        }
        out.push(loc);
        refs.insert(0, lid);
    }
    let mut ext = Map::new();
    ext.insert("extension_type".into(), json!("property-extension"));
    ext.insert("tip_id".into(), json!(tip.id.to_string()));
    ext.insert("from_jurisdiction".into(), json!(tip.from.as_str()));
    ext.insert("to_jurisdiction".into(), json!(tip.to.as_str()));
    ext.insert("author".into(), json!(tip.author.to_string()));
    ext.insert("category".into(), json!(tip.category.as_str()));
    ext.insert("urgency".into(), json!(tip.urgency.as_str()));
    ext.insert("direction".into(), json!(if t.direction == Direction::In { "in" } else { "out" }));
    if let Some(r) = tip.source_reliability {
        ext.insert("source_reliability".into(), json!(r.as_str()));
    }
    if let Some(c) = tip.info_credibility {
        ext.insert("info_credibility".into(), json!(c.get()));
    }
    if let Some(l) = &tip.location {
        if let Some(r) = l.radius_m {
            ext.insert("radius_m".into(), json!(r));
        }
        if let Some(s) = &l.sector {
            ext.insert("sector".into(), json!(s));
        }
        if let Some(p) = &l.port_of_entry {
            ext.insert("port_of_entry".into(), json!(p));
        }
    }
    if let Some(x) = tip.observed_at {
        ext.insert("observed_at".into(), json!(stix_time(x.as_unix_ms())));
    }
    if let Some(x) = tip.valid_until {
        ext.insert("valid_until".into(), json!(stix_time(x.as_unix_ms())));
    }
    if !tip.refs.is_empty() {
        ext.insert("refs".into(), json!(tip.refs.iter().map(ToString::to_string).collect::<Vec<_>>()));
    }
    if let Some(r) = &t.receipt {
        ext.insert("receipt_seq".into(), json!(r.seq));
        ext.insert("receipt_relay".into(), json!(r.relay.to_string()));
        ext.insert("receipt_accepted".into(), json!(stix_time(r.accepted.as_unix_ms())));
    }
    let published = t.receipt.as_ref().map_or(created.clone(), |r| stix_time(r.accepted.as_unix_ms()));
    // A later receipt or feedback changes what the report says: a new version for the
    // platforms (same id, later `modified`).
    let last = t
        .feedback
        .iter()
        .map(|f| f.created.as_unix_ms())
        .chain(t.receipt.as_ref().map(|r| r.accepted.as_unix_ms()))
        .chain(std::iter::once(tip.created.as_unix_ms()))
        .max()
        .unwrap_or(0);
    let modified = stix_time(last);
    let mut report = json!({
        "type": "report", "spec_version": "2.1", "id": report_id, "created_by_ref": author,
        "created": created, "modified": modified, "name": tip.summary, "published": published,
        "report_types": ["threat-report"], "object_refs": refs, "lang": tip.lang.as_str(),
        "labels": [tip.category.as_str(), format!("urgency:{}", tip.urgency.as_str())],
        "object_marking_refs": [marking], "extensions": {EXTENSION_ID: Value::Object(ext)},
    });
    if let Some(o) = report.as_object_mut() {
        if let Some(d) = &tip.details {
            o.insert("description".into(), json!(d));
        }
        if let Some(c) = tip.info_credibility.and_then(|c| confidence(c.get().into())) {
            o.insert("confidence".into(), json!(c));
        }
    }
    out.push(report);
    let (abstract_, content) = match &t.verification {
        Ok(what) => ("Signature verified".to_owned(), what.clone()),
        Err(why) => ("Signature NOT verified".to_owned(), why.clone()),
    };
    out.push(json!({
        "type": "note", "spec_version": "2.1", "id": id("note", &format!("{key}:signature")),
        "created": created, "modified": published, "abstract": abstract_, "content": content,
        "authors": ["tipctl"], "object_refs": [report_id], "object_marking_refs": [marking],
    }));
    for f in &t.feedback {
        let fkey = format!("feedback:{}", f.id);
        let at = stix_time(f.created.as_unix_ms());
        let mut content = format!("Outcome: {}, reported by {} ({}).", f.outcome.as_str(), f.by, f.from);
        if let Some(n) = &f.note {
            content.push(' ');
            content.push_str(n);
        }
        out.push(json!({
            "type": "note", "spec_version": "2.1", "id": id("note", &fkey), "created": at, "modified": at,
            "abstract": format!("Outcome: {}", f.outcome.as_str()), "content": content,
            "authors": [f.by.to_string()], "object_refs": [report_id], "object_marking_refs": [marking],
            "created_by_ref": id("identity", &format!("jurisdiction:{}", f.from)),
        }));
        let mut op = json!({
            "type": "opinion", "spec_version": "2.1", "id": id("opinion", &fkey), "created": at, "modified": at,
            "opinion": opinion(f.outcome), "authors": [f.by.to_string()], "object_refs": [report_id],
            "object_marking_refs": [marking], "created_by_ref": id("identity", &format!("jurisdiction:{}", f.from)),
        });
        if let (Some(o), Some(n)) = (op.as_object_mut(), &f.note) {
            o.insert("explanation".into(), json!(n));
        }
        out.push(op);
    }
}

/// The STIX 2.1 bundle of `tips` (in the order given). Deterministic: the same tips give
/// the same bundle, byte for byte.
pub fn export(tips: &[ExportTip]) -> Value {
    let mut objects = vec![tiprelay_identity(), extension_definition()];
    let tlps: BTreeSet<&str> = tips.iter().map(|t| tlp_ref(t.tip.tlp)).collect();
    for (tlp, mid, _) in TLP2 {
        if tlps.contains(mid) {
            objects.push(tlp_marking(tlp));
        }
    }
    let mut js: BTreeSet<&str> = BTreeSet::new();
    for t in tips {
        js.insert(t.tip.from.as_str());
        for f in &t.feedback {
            js.insert(f.from.as_str());
        }
    }
    for j in js {
        if let Ok(j) = j.parse::<Jurisdiction>() {
            objects.push(jurisdiction_identity(&j));
        }
    }
    for t in tips {
        tip_objects(t, &mut objects);
    }
    let names: Vec<String> = tips.iter().map(|t| format!("{}:{}", t.tip.from, t.tip.id)).collect();
    json!({"type": "bundle", "id": id("bundle", &names.join(",")), "objects": objects})
}

/// What the importer may fill in where an object says nothing.
#[derive(Debug, Clone, Default)]
pub struct ImportDefaults {
    /// The receiving jurisdiction (objects carrying the tiprelay-tip extension name their own).
    pub to: Option<String>,
    /// The category (default `other`).
    pub category: Option<String>,
    /// The urgency (default `routine`).
    pub urgency: Option<String>,
    /// The TLP label for objects with no TLP marking; without it they are rejected.
    pub tlp: Option<String>,
}

/// One object of a bundle as the feed sees it.
#[derive(Debug)]
pub enum ImportItem {
    /// A feed line (docs/FEED.md JSON) for the same parser as the JSON-lines feed.
    Event(Vec<u8>),
    /// Refused here, with a reason that names the property, never its content.
    Rejected(Reject),
    /// Context only (an identity, a location, a marking, a relationship, a malware …): not a tip.
    Context,
}

/// Why the STIX mapping refused an object: the message `id` with its arguments, after the
/// object's type when known. `Display` is English (the rejects file keeps it);
/// [`Localize`] gives the person's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// The object's STIX type, when the reason is about an object of a known type.
    kind: Option<String>,
    /// The message id (`feed-stix-…`).
    id: &'static str,
    /// Its arguments.
    args: Vec<(&'static str, String)>,
}

impl Reject {
    fn new(id: &'static str) -> Self {
        Self { kind: None, id, args: Vec::new() }
    }

    fn with(mut self, name: &'static str, value: impl ToString) -> Self {
        self.args.push((name, value.to_string()));
        self
    }

    fn of(mut self, kind: &str) -> Self {
        self.kind = Some(kind.to_owned());
        self
    }
}

impl Localize for Reject {
    fn localize_in(&self, l: Locale) -> String {
        let args: Vec<(&str, FluentValue<'_>)> =
            self.args.iter().map(|(k, v)| (*k, FluentValue::from(v.as_str()))).collect();
        let text = tr_in(l, self.id, &args);
        match &self.kind {
            Some(k) => format!("{k}: {text}"),
            None => text,
        }
    }
}

impl std::fmt::Display for Reject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.localize_in(Locale::En))
    }
}

/// Why a whole input is not a STIX bundle. `Display` is English; [`Localize`] gives the
/// person's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BundleError {
    /// Not JSON: the JSON error's kind and place.
    Json {
        /// `Syntax`, `Data`, `Eof` or `Io`.
        class: String,
        /// Line.
        line: usize,
        /// Column.
        column: usize,
    },
    /// JSON, but not an object.
    NotAnObject,
    /// An object whose `type` is not `bundle`.
    NotABundle,
    /// No `objects` array.
    NoObjects,
    /// More than [`MAX_OBJECTS`] objects.
    TooMany(usize),
}

impl Localize for BundleError {
    fn localize_in(&self, l: Locale) -> String {
        let why = match self {
            BundleError::Json { class, line, column } => tr_in(
                l,
                "feed-stix-json",
                &[("class", class.as_str().into()), ("line", (*line).into()), ("column", (*column).into())],
            ),
            BundleError::NotAnObject => tr_in(l, "feed-stix-not-an-object", &[]),
            BundleError::NotABundle => tr_in(l, "feed-stix-not-bundle-type", &[]),
            BundleError::NoObjects => tr_in(l, "feed-stix-no-objects", &[]),
            BundleError::TooMany(n) => {
                tr_in(l, "feed-stix-too-many", &[("count", (*n).into()), ("max", MAX_OBJECTS.into())])
            }
        };
        tr_in(l, "feed-stix-not-a-bundle", &[("why", why.into())])
    }
}

impl std::fmt::Display for BundleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.localize_in(Locale::En))
    }
}

impl std::error::Error for BundleError {}

/// Longest summary (as in a tip).
const SUMMARY_CHARS: usize = 500;
/// Longest details text in bytes (as in a tip).
const DETAILS_BYTES: usize = 16 * 1024;

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn clip_chars(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn clip_bytes(s: &str, n: usize) -> String {
    if s.len() <= n {
        return s.to_owned();
    }
    let mark = "\n… (truncated; the whole text is in the STIX object)";
    let mut end = n.saturating_sub(mark.len());
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{mark}", &s[..end])
}

fn str_of<'a>(o: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    o.get(k).and_then(Value::as_str)
}

/// Most objects read from one bundle.
pub const MAX_OBJECTS: usize = 100_000;

/// Splits a bundle into what the feed does with each object, in `objects` order
/// (position = index + 1), each with the object as given (compact JSON, for the rejects
/// file).
pub fn import(bytes: &[u8], d: &ImportDefaults) -> Result<Vec<(ImportItem, Vec<u8>)>, BundleError> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| BundleError::Json {
        class: format!("{:?}", e.classify()),
        line: e.line(),
        column: e.column(),
    })?;
    let b = v.as_object().ok_or(BundleError::NotAnObject)?;
    if str_of(b, "type") != Some("bundle") {
        return Err(BundleError::NotABundle);
    }
    let objects = b.get("objects").and_then(Value::as_array).ok_or(BundleError::NoObjects)?;
    if objects.len() > MAX_OBJECTS {
        return Err(BundleError::TooMany(objects.len()));
    }
    let mut by_id: HashMap<&str, &Map<String, Value>> = HashMap::new();
    // Later versions of an id already seen (position of the first).
    let mut first_at: HashMap<&str, usize> = HashMap::new();
    let mut duplicate: Vec<Option<usize>> = vec![None; objects.len()];
    // located-at relationships: source → location ids.
    let mut located: HashMap<&str, Vec<&str>> = HashMap::new();
    for (pos, o) in objects.iter().enumerate() {
        let Some(o) = o.as_object() else { continue };
        if let Some(i) = str_of(o, "id") {
            if let Some(first) = first_at.get(i) {
                duplicate[pos] = Some(*first + 1);
                continue;
            }
            first_at.insert(i, pos);
            by_id.insert(i, o);
        }
        if str_of(o, "type") == Some("relationship") && str_of(o, "relationship_type") == Some("located-at") {
            if let (Some(s), Some(t)) = (str_of(o, "source_ref"), str_of(o, "target_ref")) {
                let targets = located.entry(s).or_default();
                // A bounded number of places per object: the first ones are what is used.
                if targets.len() < 16 {
                    targets.push(t);
                }
            }
        }
    }
    Ok(objects
        .iter()
        .zip(duplicate)
        .map(|(o, dup)| {
            let it = match dup {
                Some(first) => ImportItem::Rejected(Reject::new("feed-stix-same-id").with("first", first)),
                None => item(o, &by_id, &located, d),
            };
            (it, serde_json::to_vec(o).unwrap_or_default())
        })
        .collect())
}

fn item(
    o: &Value,
    by_id: &HashMap<&str, &Map<String, Value>>,
    located: &HashMap<&str, Vec<&str>>,
    d: &ImportDefaults,
) -> ImportItem {
    let Some(o) = o.as_object() else { return ImportItem::Rejected(Reject::new("feed-stix-object-not-object")) };
    let Some(kind) = str_of(o, "type") else { return ImportItem::Rejected(Reject::new("feed-stix-no-type")) };
    if !matches!(kind, "indicator" | "sighting" | "observed-data" | "report") {
        return ImportItem::Context;
    }
    if o.get("revoked").and_then(Value::as_bool) == Some(true) {
        return ImportItem::Rejected(Reject::new("feed-stix-revoked").of(kind));
    }
    match event(kind, o, by_id, located, d) {
        Ok(line) => match serde_json::to_vec(&line) {
            Ok(b) => ImportItem::Event(b),
            Err(e) => ImportItem::Rejected(Reject::new("feed-stix-encode").with("why", e)),
        },
        Err(why) => ImportItem::Rejected(why.of(kind)),
    }
}

/// The TLP of one marking reference: Some(Some(label)) for a TLP marking, Some(None) for a
/// marking that is not TLP (a statement), None when it cannot be resolved.
fn marking(r: &str, by_id: &HashMap<&str, &Map<String, Value>>) -> Option<Option<String>> {
    if let Some((_, _, l)) = TLP2.iter().find(|(_, m, _)| *m == r) {
        return Some(Some((*l).to_owned()));
    }
    if let Some((_, l)) = TLP1.iter().find(|(m, _)| *m == r) {
        return Some(Some((*l).to_owned()));
    }
    let m = by_id.get(r).filter(|m| str_of(m, "type") == Some("marking-definition"))?;
    let norm = |l: &str| {
        let l = l.trim().to_ascii_lowercase();
        if l == "white" {
            "clear".to_owned()
        } else {
            l
        }
    };
    // TLP 2.0 extension, TLP 1.0 definition, or a name "TLP:…".
    let ext =
        m.get("extensions").and_then(|e| e.get(TLP2_EXTENSION)).and_then(|e| e.get("tlp_2_0")).and_then(Value::as_str);
    let def = (str_of(m, "definition_type") == Some("tlp"))
        .then(|| m.get("definition").and_then(|d| d.get("tlp")).and_then(Value::as_str))
        .flatten();
    let named = str_of(m, "name").and_then(|n| n.strip_prefix("TLP:"));
    match ext.or(def).or(named) {
        Some(l) => Some(Some(norm(l))),
        None if str_of(m, "definition_type") == Some("statement") => Some(None),
        None => None,
    }
}

/// The most restrictive TLP marking on `objs` (object and granular markings); an error
/// names a marking that cannot be resolved (an unknown marking is never read as none).
fn tlp_of(objs: &[&Map<String, Value>], by_id: &HashMap<&str, &Map<String, Value>>) -> Result<Option<String>, Reject> {
    let rank = |l: &str| ["clear", "green", "amber", "amber+strict", "red"].iter().position(|x| *x == l);
    let mut best: Option<String> = None;
    for o in objs {
        let mut refs: Vec<&str> = o
            .get("object_marking_refs")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Some(g) = o.get("granular_markings").and_then(Value::as_array) {
            refs.extend(g.iter().filter_map(|m| m.get("marking_ref")).filter_map(Value::as_str));
        }
        if refs.len() > 64 {
            return Err(Reject::new("feed-stix-markings"));
        }
        for r in refs {
            match marking(r, by_id) {
                None => return Err(Reject::new("feed-stix-marking").with("marking", clip_chars(r, 80))),
                Some(None) => {}
                Some(Some(l)) => {
                    let Some(level) = rank(&l) else { return Err(Reject::new("feed-stix-tlp-level")) };
                    if best.as_deref().and_then(rank).is_none_or(|b| b < level) {
                        best = Some(l);
                    }
                }
            }
        }
    }
    Ok(best)
}

/// The `location` an object points to (where sighted, its refs, or a located-at
/// relationship) that has coordinates, if any.
fn location_obj<'a>(
    o: &Map<String, Value>,
    by_id: &HashMap<&str, &'a Map<String, Value>>,
    located: &HashMap<&str, Vec<&str>>,
) -> Option<&'a Map<String, Value>> {
    let mut cands: Vec<&str> = Vec::new();
    for k in ["where_sighted_refs", "object_refs"] {
        if let Some(a) = o.get(k).and_then(Value::as_array) {
            cands.extend(a.iter().take(256).filter_map(Value::as_str));
        }
    }
    if let Some(own) = str_of(o, "id").and_then(|i| located.get(i)) {
        cands.extend(own.iter().copied());
    }
    cands
        .into_iter()
        .filter(|c| c.starts_with("location--"))
        .filter_map(|c| by_id.get(c).copied())
        .find(|l| l.get("latitude").is_some() && l.get("longitude").is_some())
}

fn location_of(
    o: &Map<String, Value>,
    by_id: &HashMap<&str, &Map<String, Value>>,
    located: &HashMap<&str, Vec<&str>>,
) -> Result<Option<Value>, Reject> {
    let Some(l) = location_obj(o, by_id, located) else { return Ok(None) };
    let (Some(lat), Some(lon)) =
        (l.get("latitude").and_then(Value::as_f64), l.get("longitude").and_then(Value::as_f64))
    else {
        return Err(Reject::new("feed-stix-location"));
    };
    let mut loc = json!({"lat": lat, "lon": lon});
    if let Some(m) = loc.as_object_mut() {
        if let Some(p) = l.get("precision").and_then(Value::as_f64) {
            if p.is_finite() && p >= 0.0 {
                m.insert("radius_m".into(), json!((p.ceil() as u64).max(1)));
            }
        }
        if let Some(n) = str_of(l, "name") {
            m.insert("place".into(), json!(clip_chars(&one_line(n), 200)));
        }
    }
    Ok(Some(loc))
}

fn event(
    kind: &str,
    o: &Map<String, Value>,
    by_id: &HashMap<&str, &Map<String, Value>>,
    located: &HashMap<&str, Vec<&str>>,
    d: &ImportDefaults,
) -> Result<Value, Reject> {
    let sid = str_of(o, "id").ok_or_else(|| Reject::new("feed-stix-no-id"))?;
    // Canonical form only (lower-case, hyphenated): one object, one source_ref.
    let ok_id = sid
        .strip_prefix(kind)
        .and_then(|r| r.strip_prefix("--"))
        .is_some_and(|u| Uuid::parse_str(u).is_ok_and(|x| x.hyphenated().to_string() == u));
    if !ok_id {
        return Err(Reject::new("feed-stix-bad-id"));
    }
    let ext = o.get("extensions").and_then(|e| e.get(EXTENSION_ID)).and_then(Value::as_object);
    let ext_str = |k: &str| ext.and_then(|e| str_of(e, k)).map(str::to_owned);
    let name = str_of(o, "name").map(one_line).filter(|s| !s.is_empty());
    let description = str_of(o, "description").filter(|s| !s.trim().is_empty());
    let referenced = |k: &str| {
        let r = str_of(o, k)?;
        let t = by_id.get(r)?;
        Some(str_of(t, "name").map(one_line).unwrap_or_else(|| str_of(t, "type").unwrap_or("object").to_owned()))
    };
    let summary = match (kind, &name, description) {
        (_, Some(n), _) => n.clone(),
        (_, None, Some(desc)) => one_line(desc.lines().next().unwrap_or(desc)),
        ("sighting", None, None) => match referenced("sighting_of_ref") {
            Some(n) => format!("Sighting of {n}"),
            None => "Sighting".to_owned(),
        },
        ("observed-data", None, None) => {
            let n = o.get("number_observed").and_then(Value::as_u64).unwrap_or(1);
            format!("Observed {n} time(s)")
        }
        ("indicator", None, None) => match str_of(o, "pattern") {
            Some(p) => format!("Indicator {}", one_line(p)),
            None => return Err(Reject::new("feed-stix-no-summary-pattern")),
        },
        _ => return Err(Reject::new("feed-stix-no-summary")),
    };
    let mut details = String::new();
    if let (Some(_), Some(desc)) = (&name, description) {
        details.push_str(desc);
    }
    if let Some(p) = str_of(o, "pattern") {
        if !details.is_empty() {
            details.push_str("\n\n");
        }
        details.push_str(&format!("STIX pattern ({}): {p}", str_of(o, "pattern_type").unwrap_or("stix")));
    }
    let details = details.replace("\r\n", "\n").replace('\r', "\n");
    // The TLP covers the object and every object whose text is copied into the tip (what a
    // sighting sighted, the place): the most restrictive of their markings.
    let mut sources: Vec<&Map<String, Value>> = vec![o];
    if let Some(t) = str_of(o, "sighting_of_ref").and_then(|r| by_id.get(r)) {
        sources.push(t);
    }
    if let Some(l) = location_obj(o, by_id, located) {
        sources.push(l);
    }
    let tlp = match tlp_of(&sources, by_id)?.or_else(|| d.tlp.clone()) {
        Some(t) => t,
        None => return Err(Reject::new("feed-stix-no-tlp")),
    };
    let to = match d.to.clone().or_else(|| ext_str("to_jurisdiction")) {
        Some(t) => t,
        None => return Err(Reject::new("feed-stix-no-recipient")),
    };
    let mut line = Map::new();
    line.insert("to".into(), json!(to));
    line.insert(
        "category".into(),
        json!(ext_str("category").or_else(|| d.category.clone()).unwrap_or_else(|| "other".into())),
    );
    line.insert("summary".into(), json!(clip_chars(&summary, SUMMARY_CHARS)));
    line.insert("tlp".into(), json!(tlp));
    if let Some(u) = ext_str("urgency").or_else(|| d.urgency.clone()) {
        line.insert("urgency".into(), json!(u));
    }
    if !details.trim().is_empty() {
        line.insert("details".into(), json!(clip_bytes(&details, DETAILS_BYTES)));
    }
    if let Some(l) = str_of(o, "lang") {
        line.insert("lang".into(), json!(l));
    }
    let mut loc = location_of(o, by_id, located)?;
    if let (Some(Value::Object(m)), Some(e)) = (loc.as_mut(), ext) {
        for k in ["sector", "port_of_entry"] {
            if let Some(v) = str_of(e, k) {
                m.insert(k.into(), json!(v));
            }
        }
        if let Some(r) = e.get("radius_m").and_then(Value::as_u64) {
            m.insert("radius_m".into(), json!(r));
        }
    }
    if let Some(l) = loc {
        line.insert("location".into(), l);
    }
    let observed = ext_str("observed_at").or_else(|| {
        let k = match kind {
            "indicator" => "valid_from",
            "sighting" => "first_seen",
            "observed-data" => "first_observed",
            _ => "published",
        };
        str_of(o, k).map(str::to_owned)
    });
    if let Some(t) = observed {
        line.insert("observed_at".into(), json!(t));
    }
    if let Some(t) = ext_str("valid_until").or_else(|| str_of(o, "valid_until").map(str::to_owned)) {
        line.insert("valid_until".into(), json!(t));
    }
    if let Some(r) = ext_str("source_reliability") {
        line.insert("source_reliability".into(), json!(r));
    }
    let cred = ext
        .and_then(|e| e.get("info_credibility"))
        .and_then(Value::as_u64)
        .or_else(|| o.get("confidence").and_then(Value::as_u64).and_then(credibility));
    if let Some(c) = cred {
        line.insert("info_credibility".into(), json!(c));
    }
    line.insert("source_ref".into(), json!(sid));
    Ok(Value::Object(line))
}

/// Counts of a bundle's objects by what the feed does with them.
pub fn tally(items: &[(ImportItem, Vec<u8>)]) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for (i, _) in items {
        let k = match i {
            ImportItem::Event(_) => "events",
            ImportItem::Rejected(_) => "rejected",
            ImportItem::Context => "context",
        };
        *m.entry(k).or_insert(0) += 1;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_extension_id_is_the_documented_uuidv5() {
        assert_eq!(id("extension-definition", "extension:tiprelay-tip:1"), EXTENSION_ID);
    }

    #[test]
    fn admiralty_credibility_and_stix_confidence_round_trip() {
        for c in 1..=5 {
            assert_eq!(credibility(confidence(c).unwrap()), Some(c));
        }
        assert_eq!(confidence(6), None);
    }

    #[test]
    fn objects_map_to_feed_lines_or_are_rejected_by_reason() {
        let bundle = br#"{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[
          {"type":"identity","id":"identity--81cade27-7df8-4730-836b-62d880e6d9d3","name":"x"},
          {"type":"location","id":"location--a6e9345f-5a15-4c29-8bb3-7dcc5d168d64","latitude":31.76,"longitude":-106.48,"precision":250,"name":"Ysleta"},
          {"type":"indicator","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","name":"Tanker plates","pattern":"[x:y = 'z']","valid_from":"2026-11-30T10:00:00Z",
           "object_marking_refs":["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"]},
          {"type":"relationship","id":"relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad","relationship_type":"located-at",
           "source_ref":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","target_ref":"location--a6e9345f-5a15-4c29-8bb3-7dcc5d168d64"},
          {"type":"sighting","id":"sighting--ee20065d-2555-424f-ad9e-0f8428623c75","sighting_of_ref":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"},
          {"type":"report","id":"not-an-id","name":"x"},
          {"type":"report","id":"report--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3","published":"2026-11-30T10:00:00Z"}
        ]}"#;
        let d = ImportDefaults { to: Some("US".into()), ..Default::default() };
        let items: Vec<ImportItem> = import(bundle, &d).unwrap().into_iter().map(|(i, _)| i).collect();
        assert!(matches!(items[0], ImportItem::Context));
        let ImportItem::Event(line) = &items[2] else { panic!("{:?}", items[2]) };
        let ev = crate::feed::parse_line(line).unwrap();
        assert_eq!(ev.source_ref.as_deref(), Some("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"));
        assert_eq!(ev.draft.tlp, Tlp::Amber);
        let loc = ev.draft.location.unwrap();
        assert_eq!((loc.radius_m, loc.place.as_deref()), (Some(250), Some("Ysleta")));
        // The unmarked sighting takes the AMBER of the indicator whose name it copies.
        let ImportItem::Event(line) = &items[4] else { panic!("{:?}", items[4]) };
        assert_eq!(crate::feed::parse_line(line).unwrap().draft.tlp, Tlp::Amber);
        let ImportItem::Rejected(why) = &items[5] else { panic!() };
        assert!(why.to_string().contains("`id`"), "{why}");
        let ImportItem::Rejected(why) = &items[6] else { panic!() };
        assert!(why.to_string().contains("summarise"), "{why}");
        // With a default TLP the sighting goes through, summarised from what it sighted.
        // With --tlp green still at the indicator's AMBER: the sighting copies its name.
        let d = ImportDefaults { tlp: Some("green".into()), ..d };
        let items: Vec<ImportItem> = import(bundle, &d).unwrap().into_iter().map(|(i, _)| i).collect();
        let ImportItem::Event(line) = &items[4] else { panic!() };
        let ev = crate::feed::parse_line(line).unwrap();
        assert_eq!(ev.draft.summary, "Sighting of Tanker plates");
        assert_eq!(ev.draft.tlp, Tlp::Amber);
        assert!(import(b"[1,2]", &d).is_err());
        // An unresolvable marking is not read as "unmarked" (so never as --tlp green); a
        // revoked object, a second version of an id and a non-canonical id are refused.
        let hostile = br#"{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[
          {"type":"indicator","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","name":"x","object_marking_refs":["marking-definition--00000000-0000-4000-8000-000000000001"]},
          {"type":"indicator","id":"indicator--9e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","name":"x","revoked":true},
          {"type":"indicator","id":"indicator--ae2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","name":"x","granular_markings":[{"marking_ref":"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1","selectors":["name"]}]},
          {"type":"indicator","id":"indicator--ae2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","name":"y"},
          {"type":"indicator","id":"indicator--BE2E2D2B-17D4-4CBF-938F-98EE46B3CD3F","name":"z"}
        ]}"#;
        let items: Vec<ImportItem> = import(hostile, &d).unwrap().into_iter().map(|(i, _)| i).collect();
        let why = |i: usize| match &items[i] {
            ImportItem::Rejected(w) => w.to_string(),
            other => panic!("object {i}: {other:?}"),
        };
        assert!(why(0).contains("cannot be resolved"), "{}", why(0));
        assert!(why(1).contains("revoked"));
        let ImportItem::Event(line) = &items[2] else { panic!("{:?}", items[2]) };
        assert_eq!(crate::feed::parse_line(line).unwrap().draft.tlp, Tlp::Red, "granular markings count");
        assert!(why(3).contains("the same id as object 3"), "{}", why(3));
        assert!(why(4).contains("lower-case"));
        assert!(import(b"{\"type\":\"indicator\"}", &d).is_err());
    }
}

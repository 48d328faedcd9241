//! The audit log (docs/PROTOCOL.md §13): entries, and the offline bundle an oversight
//! reviewer verifies.
//!
//! Every relay event is an [`AuditEntry`], encoded canonically (deterministic CBOR) and
//! hashed as an RFC 9162 leaf ([`crate::merkle`]). Entries carry metadata and digests,
//! never a tip's summary or details. Signed [`Checkpoint`]s commit to the log's size and
//! root; jurisdictions countersign them ([`Cosignature`]).
//!
//! A **bundle** is one file:
//!
//! ```text
//! "TIPRELAY-AUDIT-1\n"
//! frame(header)                       header: CBOR map (log, first, count, prefix, checkpoints, trust)
//! frame(entry_i || leaf_i) × count    entry bytes, then the 32-byte logged leaf hash
//! frame(trailer)                      trailer: CBOR map {"end": count, "sha256": digest of all bytes before it}
//! frame = u32 big-endian length || bytes
//! ```
//!
//! [`verify_bundle`] streams it: every checkpoint and cosignature signature, every entry's
//! index, every entry's hash against the logged leaf, and the root at every checkpoint
//! size, so it can name the first bad entry (or checkpoint) and why.

use std::io::{Read, Write};

use ciborium::Value;

use sha2::{Digest as _, Sha256};

use crate::cbor::{self, as_array, as_bytes, as_text, MapReader, MapWriter};
use crate::envelope::verify;
use crate::error::FieldError;
use crate::ids::{Authority, Digest};
use crate::merkle::{leaf_hash, CompactTree};
use crate::messages::{Checkpoint, Cosignature};
use crate::pki::TrustStore;
use crate::time::Timestamp;

/// The bundle file's first bytes.
pub const BUNDLE_MAGIC: &[u8] = b"TIPRELAY-AUDIT-1\n";
/// Largest entry accepted in a bundle.
pub const MAX_ENTRY_BYTES: usize = 4096;
/// Largest bundle header (checkpoints and trust anchors).
pub const MAX_HEADER_BYTES: usize = 64 * 1024 * 1024;

/// One event of the relay's audit log. Text fields are identifiers, codes and digests;
/// never message content.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditEntry {
    /// Position in the log (0-based); part of the hashed entry, so entries cannot be reordered.
    pub index: u64,
    /// `accepted`, `rejected`, `delivered`, `acked`, `feedback`, `statement`, `auth_failed`,
    /// `relay_started`, `relay_stopped`, `trust_reloaded`, `purged`, `events_dropped`; in a client's local log: `written`,
    /// `receipted`, `rejected`, `received`, `acked`, `ack_received`, `feedback_given`,
    /// `feedback_received`, `relay_checkpoint_verified`, `log_alert`.
    pub kind: String,
    /// When (ms since the epoch, relay clock).
    pub time: u64,
    /// Principal concerned, if any.
    pub principal: Option<String>,
    /// Sending jurisdiction of the tip concerned, if any.
    pub from: Option<String>,
    /// Receiving jurisdiction of the tip concerned, if any.
    pub to: Option<String>,
    /// Tip id (hyphenated), if any.
    pub tip: Option<String>,
    /// The tip's category, if any.
    pub category: Option<String>,
    /// Digest (hex) of the envelope concerned, if any.
    pub digest: Option<String>,
    /// Sequence number, if any.
    pub seq: Option<u64>,
    /// Error code name (rejections) or a short machine reason.
    pub code: Option<String>,
    /// Id of the feedback or statement concerned, if any.
    pub subject: Option<String>,
    /// Feedback outcome, if any.
    pub outcome: Option<String>,
    /// A short detail (e.g. a configuration digest), if any.
    pub detail: Option<String>,
}

/// Most characters of any text field of an entry.
const MAX_FIELD_CHARS: usize = 300;

impl AuditEntry {
    /// An entry of `kind` at `time` (ms) with nothing else set.
    pub fn new(kind: &str, time: Timestamp) -> Self {
        Self { kind: kind.into(), time: time.as_unix_ms(), ..Self::default() }
    }

    /// The canonical bytes (the Merkle leaf is `leaf_hash` of these).
    pub fn encode(&self) -> Vec<u8> {
        let t = |s: &Option<String>| s.as_deref().map(cbor::text);
        let v = MapWriter::new()
            .put("v", cbor::uint(1))
            .put("i", cbor::uint(self.index))
            .put("kind", cbor::text(&self.kind))
            .put("time", cbor::uint(self.time))
            .put_opt("principal", t(&self.principal))
            .put_opt("from", t(&self.from))
            .put_opt("to", t(&self.to))
            .put_opt("tip", t(&self.tip))
            .put_opt("category", t(&self.category))
            .put_opt("digest", t(&self.digest))
            .put_opt("seq", self.seq.map(cbor::uint))
            .put_opt("code", t(&self.code))
            .put_opt("subject", t(&self.subject))
            .put_opt("outcome", t(&self.outcome))
            .put_opt("detail", t(&self.detail))
            .into_value();
        cbor::encode_value(&v)
    }

    /// Reads canonical bytes (strict: closed map, canonical re-encoding).
    pub fn decode(bytes: &[u8]) -> Result<Self, FieldError> {
        if bytes.len() > MAX_ENTRY_BYTES {
            return Err(FieldError::OutOfRange("entry"));
        }
        let v = cbor::decode_value(bytes).map_err(|_| FieldError::OutOfRange("entry"))?;
        let mut m = MapReader::new(v, "entry")?;
        if m.uint("v")? != 1 {
            return Err(FieldError::OutOfRange("v"));
        }
        let e = Self {
            index: m.uint("i")?,
            kind: m.text("kind")?,
            time: m.uint("time")?,
            principal: m.opt_text("principal")?,
            from: m.opt_text("from")?,
            to: m.opt_text("to")?,
            tip: m.opt_text("tip")?,
            category: m.opt_text("category")?,
            digest: m.opt_text("digest")?,
            seq: m.opt_uint("seq")?,
            code: m.opt_text("code")?,
            subject: m.opt_text("subject")?,
            outcome: m.opt_text("outcome")?,
            detail: m.opt_text("detail")?,
        };
        m.finish()?;
        let texts = [
            Some(&e.kind),
            e.principal.as_ref(),
            e.from.as_ref(),
            e.to.as_ref(),
            e.tip.as_ref(),
            e.category.as_ref(),
            e.digest.as_ref(),
            e.code.as_ref(),
            e.subject.as_ref(),
            e.outcome.as_ref(),
            e.detail.as_ref(),
        ];
        if texts.into_iter().flatten().any(|s| s.chars().count() > MAX_FIELD_CHARS || s.chars().any(char::is_control)) {
            return Err(FieldError::OutOfRange("entry"));
        }
        // One encoding per entry: what we would write must be what we read.
        if e.encode() != bytes {
            return Err(FieldError::OutOfRange("entry (not canonical)"));
        }
        Ok(e)
    }

    /// Its Merkle leaf hash.
    pub fn leaf(&self) -> Digest {
        leaf_hash(&self.encode())
    }
}

/// A checkpoint envelope with the cosignature envelopes collected for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// The relay-signed Checkpoint envelope.
    pub checkpoint: Vec<u8>,
    /// Cosignature envelopes.
    pub cosignatures: Vec<Vec<u8>>,
}

impl SignedCheckpoint {
    /// Wire/bundle form: `{"checkpoint": bstr, "cosignatures": [* bstr]}`.
    pub fn encode(&self) -> Value {
        MapWriter::new()
            .put("checkpoint", Value::Bytes(self.checkpoint.clone()))
            .put("cosignatures", Value::Array(self.cosignatures.iter().cloned().map(Value::Bytes).collect()))
            .into_value()
    }

    /// Reads the wire/bundle form.
    pub fn decode(v: Value) -> Result<Self, FieldError> {
        let mut m = MapReader::new(v, "checkpoints")?;
        let s = Self {
            checkpoint: as_bytes(m.req("checkpoint")?, "checkpoint")?,
            cosignatures: as_array(m.req("cosignatures")?, "cosignatures")?
                .into_iter()
                .map(|c| as_bytes(c, "cosignatures"))
                .collect::<Result<_, _>>()?,
        };
        m.finish()?;
        Ok(s)
    }
}

/// A trust anchor carried in a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// Whose root.
    pub authority: Authority,
    /// Root certificate (DER).
    pub root: Vec<u8>,
    /// Current CRL (DER), if any.
    pub crl: Option<Vec<u8>>,
}

/// What a bundle's header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleHeader {
    /// The log's name (the relay's identity URI).
    pub log: String,
    /// When the bundle was made.
    pub created: Timestamp,
    /// Index of the first entry included.
    pub first: u64,
    /// Number of entries included.
    pub count: u64,
    /// The compact tree (RFC 9162 subtree roots, largest first) of entries `[0, first)`.
    pub prefix: Vec<Digest>,
    /// Checkpoints with size in `(first, first + count]` (or `= first` when empty), ascending;
    /// the last one's size is `first + count`.
    pub checkpoints: Vec<SignedCheckpoint>,
    /// Roots and CRLs needed to verify every signature offline.
    pub anchors: Vec<Anchor>,
    /// The time filter the bundle was exported with, if any (informational).
    pub since: Option<Timestamp>,
    /// The time filter the bundle was exported with, if any (informational).
    pub until: Option<Timestamp>,
}

impl BundleHeader {
    fn encode(&self) -> Vec<u8> {
        let anchors = self
            .anchors
            .iter()
            .map(|a| {
                MapWriter::new()
                    .put("authority", cbor::text(&a.authority.to_string()))
                    .put("root", Value::Bytes(a.root.clone()))
                    .put_opt("crl", a.crl.clone().map(Value::Bytes))
                    .into_value()
            })
            .collect();
        let v = MapWriter::new()
            .put("v", cbor::uint(1))
            .put("log", cbor::text(&self.log))
            .put("created", cbor::time(self.created))
            .put("first", cbor::uint(self.first))
            .put("count", cbor::uint(self.count))
            .put("prefix", Value::Array(self.prefix.iter().map(cbor::digest).collect()))
            .put("checkpoints", Value::Array(self.checkpoints.iter().map(SignedCheckpoint::encode).collect()))
            .put("anchors", Value::Array(anchors))
            .put_opt("since", self.since.map(cbor::time))
            .put_opt("until", self.until.map(cbor::time))
            .into_value();
        cbor::encode_value(&v)
    }

    fn decode(bytes: &[u8]) -> Result<Self, FieldError> {
        let v = cbor::decode_value(bytes).map_err(|_| FieldError::OutOfRange("header"))?;
        let mut m = MapReader::new(v, "header")?;
        if m.uint("v")? != 1 {
            return Err(FieldError::OutOfRange("v"));
        }
        let prefix = as_array(m.req("prefix")?, "prefix")?
            .into_iter()
            .map(|d| {
                let b = as_bytes(d, "prefix")?;
                <[u8; 32]>::try_from(b.as_slice()).map(Digest).map_err(|_| FieldError::OutOfRange("prefix"))
            })
            .collect::<Result<_, _>>()?;
        let anchors = as_array(m.req("anchors")?, "anchors")?
            .into_iter()
            .map(|a| {
                let mut r = MapReader::new(a, "anchors")?;
                let out = Anchor {
                    authority: as_text(r.req("authority")?, "authority")?
                        .parse()
                        .map_err(|_| FieldError::OutOfRange("authority"))?,
                    root: as_bytes(r.req("root")?, "root")?,
                    crl: r.take("crl").map(|c| as_bytes(c, "crl")).transpose()?,
                };
                r.finish()?;
                Ok(out)
            })
            .collect::<Result<_, FieldError>>()?;
        let h = Self {
            log: m.text("log")?,
            created: m.time("created")?,
            first: m.uint("first")?,
            count: m.uint("count")?,
            prefix,
            checkpoints: as_array(m.req("checkpoints")?, "checkpoints")?
                .into_iter()
                .map(SignedCheckpoint::decode)
                .collect::<Result<_, _>>()?,
            anchors,
            since: m.opt_time("since")?,
            until: m.opt_time("until")?,
        };
        m.finish()?;
        Ok(h)
    }
}

fn write_frame(w: &mut impl Write, parts: &[&[u8]]) -> std::io::Result<()> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let len = u32::try_from(len).map_err(|_| std::io::Error::other("frame too large"))?;
    w.write_all(&len.to_be_bytes())?;
    for p in parts {
        w.write_all(p)?;
    }
    Ok(())
}

/// A writer that hashes what passes through it.
struct HashingWriter<'a, W: Write> {
    w: &'a mut W,
    h: Sha256,
}

impl<W: Write> Write for HashingWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.w.write(buf)?;
        self.h.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.w.flush()
    }
}

/// A reader that hashes what passes through it.
struct HashingReader<R: Read> {
    r: R,
    h: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.r.read(buf)?;
        self.h.update(&buf[..n]);
        Ok(n)
    }
}

/// Writes a bundle: the header, then each (entry bytes, logged leaf hash), then the trailer.
/// `entries` must yield exactly `header.count` items.
pub fn write_bundle<W: Write>(
    w: &mut W,
    header: &BundleHeader,
    entries: impl IntoIterator<Item = std::io::Result<(Vec<u8>, Digest)>>,
) -> std::io::Result<()> {
    let mut hw = HashingWriter { w, h: Sha256::new() };
    write_body(&mut hw, header, entries)?;
    let n = header.count;
    let digest = Digest(hw.h.finalize().into());
    let trailer = MapWriter::new().put("end", cbor::uint(n)).put("sha256", cbor::digest(&digest)).into_value();
    write_frame(w, &[&cbor::encode_value(&trailer)])
}

fn write_body<W: Write>(
    w: &mut W,
    header: &BundleHeader,
    entries: impl IntoIterator<Item = std::io::Result<(Vec<u8>, Digest)>>,
) -> std::io::Result<()> {
    w.write_all(BUNDLE_MAGIC)?;
    write_frame(w, &[&header.encode()])?;
    let mut n = 0u64;
    for e in entries {
        let (bytes, leaf) = e?;
        write_frame(w, &[&bytes, &leaf.0])?;
        n += 1;
    }
    if n != header.count {
        return Err(std::io::Error::other(format!("bundle header says {} entries, {n} written", header.count)));
    }
    Ok(())
}

/// Where in a bundle a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// The magic bytes or the header.
    Header,
    /// The entry with this log index.
    Entry(u64),
    /// The checkpoint with this size.
    Checkpoint(u64),
    /// The trailer (end of the bundle).
    Trailer,
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Header => f.write_str("header"),
            Self::Entry(i) => write!(f, "entry {i}"),
            Self::Checkpoint(s) => write!(f, "checkpoint at size {s}"),
            Self::Trailer => f.write_str("end of bundle"),
        }
    }
}

/// Why a bundle does not verify: the first problem found, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{place}: {why}")]
pub struct BundleError {
    /// Where.
    pub place: Place,
    /// Why.
    pub why: String,
}

fn bad(place: Place, why: impl Into<String>) -> BundleError {
    BundleError { place, why: why.into() }
}

/// A verified checkpoint of a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// Principals whose cosignatures verified.
    pub cosigners: Vec<String>,
}

/// What a valid bundle proved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleReport {
    /// The header.
    pub log: String,
    /// First entry index.
    pub first: u64,
    /// Number of entries.
    pub count: u64,
    /// Every checkpoint, verified, in ascending size.
    pub checkpoints: Vec<VerifiedCheckpoint>,
    /// SHA-256 fingerprints (hex) of the roots used, by authority.
    pub anchors: Vec<(String, String)>,
}

impl BundleReport {
    /// The newest checkpoint, if any.
    pub fn head(&self) -> Option<&VerifiedCheckpoint> {
        self.checkpoints.last()
    }
}

struct Frames<R: Read> {
    r: R,
}

impl<R: Read> Frames<R> {
    /// The next frame, or None at a clean end of input.
    fn next(&mut self, max: usize, place: &Place) -> Result<Option<Vec<u8>>, BundleError> {
        let mut len = [0u8; 4];
        let mut got = 0;
        while got < 4 {
            match self.r.read(&mut len[got..]) {
                Ok(0) if got == 0 => return Ok(None),
                Ok(0) => return Err(bad(place.clone(), "the bundle ends inside a frame length")),
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(bad(place.clone(), format!("read error: {e}"))),
            }
        }
        let n = u32::from_be_bytes(len) as usize;
        if n > max {
            return Err(bad(place.clone(), format!("a frame of {n} bytes is larger than allowed ({max})")));
        }
        let mut buf = vec![0u8; n];
        self.r.read_exact(&mut buf).map_err(|_| bad(place.clone(), "the bundle ends inside a frame (truncated)"))?;
        Ok(Some(buf))
    }
}

/// Verifies a bundle read from `r`, streaming (memory is bounded by the header, not the
/// number of entries). Signatures are checked with `trust` when given (the reviewer's own
/// roots), otherwise with the anchors the bundle carries (their fingerprints are reported
/// so the reviewer can compare them with the ones published by each authority).
/// `on_entry` sees each entry after its index and hash were checked.
pub fn verify_bundle<R: Read>(
    r: R,
    trust: Option<&TrustStore>,
    mut on_entry: impl FnMut(&AuditEntry),
) -> Result<BundleReport, BundleError> {
    let mut frames = Frames { r: HashingReader { r, h: Sha256::new() } };
    let mut magic = vec![0u8; BUNDLE_MAGIC.len()];
    frames.r.read_exact(&mut magic).map_err(|_| bad(Place::Header, "not an audit bundle (too short)"))?;
    if magic != BUNDLE_MAGIC {
        return Err(bad(Place::Header, "not an audit bundle (wrong magic bytes)"));
    }
    let hb = frames.next(MAX_HEADER_BYTES, &Place::Header)?.ok_or_else(|| bad(Place::Header, "no header"))?;
    let h = BundleHeader::decode(&hb).map_err(|e| bad(Place::Header, format!("unreadable header: {e}")))?;

    // Trust: the reviewer's, or the bundle's own anchors.
    let own;
    let trust = match trust {
        Some(t) => t,
        None => {
            let mut t = TrustStore::new();
            for a in &h.anchors {
                t.add_root(a.authority, &a.root)
                    .map_err(|e| bad(Place::Header, format!("anchor {}: {e}", a.authority)))?;
                if let Some(crl) = &a.crl {
                    t.set_crl(a.authority, crl)
                        .map_err(|e| bad(Place::Header, format!("CRL of {}: {e}", a.authority)))?;
                }
            }
            own = t;
            &own
        }
    };
    let anchors = h.anchors.iter().map(|a| (a.authority.to_string(), Digest::of(&a.root).to_hex())).collect();

    // Checkpoints: signatures, log name, ascending sizes within range, cosignatures.
    let end = h.first.checked_add(h.count).ok_or_else(|| bad(Place::Header, "first + count overflows"))?;
    let mut cps: Vec<VerifiedCheckpoint> = Vec::with_capacity(h.checkpoints.len());
    for sc in &h.checkpoints {
        let parsed = crate::envelope::parse::<Checkpoint>(&sc.checkpoint)
            .map_err(|e| bad(Place::Header, format!("a checkpoint is unreadable: {e}")))?;
        let size = parsed.message.size;
        let place = Place::Checkpoint(size);
        let v = verify::<Checkpoint>(&sc.checkpoint, trust, parsed.message.time)
            .map_err(|e| bad(place.clone(), format!("signature does not verify: {e}")))?;
        let c = v.message;
        if c.log != h.log {
            return Err(bad(place, format!("belongs to log {}, not {}", c.log, h.log)));
        }
        if cps.last().is_some_and(|p| p.checkpoint.size >= c.size) {
            return Err(bad(place, "checkpoints are not in ascending size order"));
        }
        if cps.last().is_some_and(|p| p.checkpoint.time > c.time) {
            return Err(bad(place, "it is dated before the checkpoint that precedes it"));
        }
        if c.size < h.first || c.size > end || (c.size == h.first && h.count > 0) {
            return Err(bad(place, format!("its size is outside the entries of this bundle ({}..{end})", h.first)));
        }
        let mut cosigners = Vec::new();
        for cs in &sc.cosignatures {
            let at = crate::envelope::parse::<Cosignature>(cs)
                .map_err(|e| bad(place.clone(), format!("a cosignature is unreadable: {e}")))?
                .message
                .created;
            let v = verify::<Cosignature>(cs, trust, at)
                .map_err(|e| bad(place.clone(), format!("a cosignature does not verify: {e}")))?;
            if !v.message.covers(&c) {
                return Err(bad(place, format!("the cosignature by {} is for another checkpoint", v.signer)));
            }
            cosigners.push(v.signer.to_string());
        }
        cps.push(VerifiedCheckpoint { checkpoint: c, cosigners });
    }
    match cps.last() {
        Some(last) if last.checkpoint.size == end => {}
        _ => return Err(bad(Place::Header, format!("no signed checkpoint covers the end of the bundle (size {end})"))),
    }

    // Entries: index, hash against the logged leaf, root at every checkpoint size.
    let mut tree = CompactTree::from_parts(h.first, h.prefix.clone())
        .map_err(|e| bad(Place::Header, format!("the prefix is not a compact tree of {} entries: {e}", h.first)))?;
    let mut next_cp = 0usize;
    let mut suspect: Option<u64> = None;
    let check_root = |tree: &CompactTree, next_cp: &mut usize, suspect: &Option<u64>| -> Result<(), BundleError> {
        while let Some(cp) = cps.get(*next_cp) {
            let since =
                if *next_cp == 0 { h.first } else { cps.get(*next_cp - 1).map_or(h.first, |p| p.checkpoint.size) };
            if cp.checkpoint.size != tree.size() {
                break;
            }
            let ok = tree.root() == cp.checkpoint.root;
            match (ok, suspect) {
                (true, None) => {}
                (true, Some(i)) => {
                    return Err(bad(
                        Place::Entry(*i),
                        "its content was altered: its hash is not the leaf the relay logged and signed",
                    ))
                }
                (false, Some(i)) => {
                    return Err(bad(Place::Entry(*i), "its logged leaf hash was altered in the bundle"));
                }
                (false, None) if *next_cp == 0 && since == h.first && h.first == cp.checkpoint.size => {
                    return Err(bad(
                        Place::Checkpoint(cp.checkpoint.size),
                        "the prefix (entries before this bundle) does not produce its signed root",
                    ))
                }
                (false, None) => {
                    return Err(bad(
                        Place::Checkpoint(cp.checkpoint.size),
                        format!(
                            "entries {since}..{} do not produce its signed root: some were replaced together with \
                             their logged leaves (or, for the first checkpoint, the prefix was altered)",
                            cp.checkpoint.size
                        ),
                    ))
                }
            }
            *next_cp += 1;
        }
        Ok(())
    };
    check_root(&tree, &mut next_cp, &suspect)?;
    for k in 0..h.count {
        let idx = h.first + k;
        let place = Place::Entry(idx);
        let f = frames
            .next(MAX_ENTRY_BYTES + 32, &place)?
            .ok_or_else(|| bad(place.clone(), format!("missing: the bundle ends after {k} of {} entries", h.count)))?;
        let split = f.len().checked_sub(32).ok_or_else(|| bad(place.clone(), "frame too short"))?;
        let (bytes, leaf) = f.split_at(split);
        let mut listed = [0u8; 32];
        listed.copy_from_slice(leaf);
        let listed = Digest(listed);
        let e = AuditEntry::decode(bytes).map_err(|err| bad(place.clone(), format!("unreadable: {err}")))?;
        if e.index != idx {
            return Err(bad(
                place,
                format!("the entry here says it is entry {}: entries were reordered, dropped or duplicated", e.index),
            ));
        }
        if leaf_hash(bytes) != listed && suspect.is_none() {
            suspect = Some(idx);
        }
        tree.append(listed).map_err(|err| bad(place.clone(), err.to_string()))?;
        check_root(&tree, &mut next_cp, &suspect)?;
        on_entry(&e);
    }
    // Everything before the trailer, hashed as read: catches damage to the fields no
    // signature covers (creation time, export filters, anchors the reviewer did not use).
    let body = Digest(std::mem::replace(&mut frames.r.h, Sha256::new()).finalize().into());
    let t = frames.next(1024, &Place::Trailer)?.ok_or_else(|| bad(Place::Trailer, "missing trailer (truncated)"))?;
    let v = cbor::decode_value(&t).map_err(|_| bad(Place::Trailer, "unreadable trailer"))?;
    let mut m = MapReader::new(v, "trailer").map_err(|e| bad(Place::Trailer, e.to_string()))?;
    let n = m.uint("end").map_err(|e| bad(Place::Trailer, e.to_string()))?;
    let sum = m.digest("sha256").map_err(|e| bad(Place::Trailer, e.to_string()))?;
    m.finish().map_err(|e| bad(Place::Trailer, e.to_string()))?;
    if sum != body {
        return Err(bad(Place::Trailer, "the bundle's checksum does not match: the header or an entry was damaged"));
    }
    if n != h.count {
        return Err(bad(Place::Trailer, format!("says {n} entries, the header {}", h.count)));
    }
    let mut rest = [0u8; 1];
    if frames.r.read(&mut rest).map_err(|e| bad(Place::Trailer, e.to_string()))? != 0 {
        return Err(bad(Place::Trailer, "bytes after the end of the bundle"));
    }
    Ok(BundleReport { log: h.log, first: h.first, count: h.count, checkpoints: cps, anchors })
}

/// Reads a bundle's header and entries without verifying them (for display after
/// [`verify_bundle`] succeeded).
pub fn read_bundle<R: Read>(r: R, mut on_entry: impl FnMut(AuditEntry)) -> Result<BundleHeader, BundleError> {
    let mut frames = Frames { r };
    let mut magic = vec![0u8; BUNDLE_MAGIC.len()];
    frames.r.read_exact(&mut magic).map_err(|_| bad(Place::Header, "not an audit bundle"))?;
    if magic != BUNDLE_MAGIC {
        return Err(bad(Place::Header, "not an audit bundle (wrong magic bytes)"));
    }
    let hb = frames.next(MAX_HEADER_BYTES, &Place::Header)?.ok_or_else(|| bad(Place::Header, "no header"))?;
    let h = BundleHeader::decode(&hb).map_err(|e| bad(Place::Header, format!("unreadable header: {e}")))?;
    h.first.checked_add(h.count).ok_or_else(|| bad(Place::Header, "first + count overflows"))?;
    for k in 0..h.count {
        let place = Place::Entry(h.first.saturating_add(k));
        let f = frames.next(MAX_ENTRY_BYTES + 32, &place)?.ok_or_else(|| bad(place.clone(), "missing"))?;
        let split = f.len().checked_sub(32).ok_or_else(|| bad(place.clone(), "frame too short"))?;
        on_entry(AuditEntry::decode(&f[..split]).map_err(|e| bad(place, e.to_string()))?);
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `audit_bundle` fuzz target: a header with `first` = u64::MAX and two
    /// entries made the reader overflow. It is now a typed error at the header.
    #[test]
    fn a_bundle_whose_index_range_overflows_is_refused() {
        let bytes = include_bytes!("../../fuzz/regressions/audit_bundle/read-bundle-first-u64max-overflow");
        let e = read_bundle(&bytes[..], |_| {}).unwrap_err();
        assert_eq!(e.place, Place::Header);
        assert!(verify_bundle(&bytes[..], None, |_| {}).is_err());
    }

    #[test]
    fn entries_are_canonical_and_strict() {
        let e = AuditEntry {
            index: 7,
            principal: Some("tiprelay://MX/analyst/a".into()),
            tip: Some("01a23179-de00-7111-9111-111111111111".into()),
            seq: Some(3),
            ..AuditEntry::new("accepted", Timestamp::from_unix_ms(1_796_126_400_000).unwrap())
        };
        let b = e.encode();
        assert_eq!(AuditEntry::decode(&b).unwrap(), e);
        assert_eq!(e.leaf(), leaf_hash(&b));
        for n in 0..b.len() {
            assert!(AuditEntry::decode(&b[..n]).is_err());
        }
        let mut long = b.clone();
        long.push(0);
        assert!(AuditEntry::decode(&long).is_err());
    }
}

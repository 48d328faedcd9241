//! Feed input (docs/FEED.md): `tiprelay_client::feed::parse_line` on the whole input and on
//! each of its lines, as `tipctl feed` reads them; `id_for` on an accepted `source_ref`;
//! and a tip file of `tipctl send --file` (TOML or JSON `TipFields` → `into_event`).
//! Invariant: no panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tiprelay_client::feed::{id_for, parse_line, TipFields};
use tiprelay_proto::Timestamp;

fn rfc3339(s: &str, field: &str) -> Result<Timestamp, String> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|_| format!("{field}: not RFC 3339"))?;
    let ms = u64::try_from(t.unix_timestamp_nanos() / 1_000_000).map_err(|_| format!("{field}: before 1970"))?;
    Timestamp::from_unix_ms(ms).ok_or_else(|| format!("{field}: out of range"))
}

fn line(bytes: &[u8]) {
    if let Ok(ev) = parse_line(bytes) {
        if let Some(r) = &ev.source_ref {
            id_for("tiprelay://MX/feed/border", r, tiprelay_fuzz::at());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    line(data);
    if data.contains(&b'\n') {
        for l in data.split(|b| *b == b'\n') {
            line(l.strip_suffix(b"\r").unwrap_or(l));
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(tf) = toml::from_str::<TipFields>(text) {
            let _ = tf.into_event(rfc3339);
        }
    }
});

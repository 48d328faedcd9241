//! The automated feed (docs/FEED.md): border-system events as JSON lines, validated line
//! by line, signed, written durably to the outbox in batches (with the input position and
//! each `source_ref` in the same transaction), then sent pipelined.

use serde::Deserialize;
use tiprelay_proto::{InfoCredibility, Location, Timestamp, TipId};

use crate::client::Draft;
use crate::i18n::{tr_in, FluentValue, Locale};
use tiprelay_common::localize::{localize_known, Localize};

/// A tip as written by a person or a system, in the tip's own field names: a feed line, or
/// the file of `tipctl send --file` (TOML or JSON). `from`, `author`, `id` and `created`
/// are the client's; `urgency` defaults to `routine`, `lang` to the principal's.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TipFields {
    to: String,
    category: String,
    summary: String,
    tlp: String,
    #[serde(default)]
    urgency: Option<String>,
    #[serde(default)]
    details: Option<String>,
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    location: Option<LocationFields>,
    #[serde(default)]
    observed_at: Option<String>,
    #[serde(default)]
    valid_until: Option<String>,
    #[serde(default)]
    source_reliability: Option<String>,
    #[serde(default)]
    info_credibility: Option<u64>,
    #[serde(default)]
    refs: Vec<String>,
    #[serde(default)]
    source_ref: Option<String>,
}

/// The `location` of [`TipFields`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationFields {
    lat: f64,
    lon: f64,
    #[serde(default)]
    radius_m: Option<u64>,
    #[serde(default)]
    place: Option<String>,
    #[serde(default)]
    sector: Option<String>,
    #[serde(default)]
    port_of_entry: Option<String>,
}

/// Longest accepted input line (a 64 KiB envelope cannot hold more).
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// Longest `source_ref`.
pub const MAX_SOURCE_REF_CHARS: usize = 200;

/// A valid event: the draft and its `source_ref`, if any.
#[derive(Debug, Clone)]
pub struct Event {
    /// What the feed signs.
    pub draft: Draft,
    /// The border system's own event id (idempotency key), if given.
    pub source_ref: Option<String>,
}

/// Why a feed line or a tip file was refused: a one-line reason that names the field, never
/// its content. `T` is the error of the time parser given to [`TipFields::into_event`].
///
/// The `Display` text is English: it is what the rejects file (a machine-readable record)
/// keeps. People read [`Localize::localize`], in their language.
#[derive(Debug)]
pub enum EventError<T = TimeError> {
    /// The line is longer than [`MAX_LINE_BYTES`].
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The line is not UTF-8.
    NotUtf8 {
        /// Bytes before the first invalid one.
        valid_up_to: usize,
    },
    /// Not a JSON object of the tip's fields.
    NotAnEvent {
        /// What is wrong, in English: a missing, unknown or duplicate field, or the kind
        /// and column of the JSON error (never the value).
        why: String,
        /// The same, for the other languages.
        problem: JsonProblem,
    },
    /// `source_ref` is empty, too long or has control characters.
    SourceRef,
    /// A field's value is invalid.
    Field {
        /// The field.
        field: &'static str,
        /// Why (the validation error, which never quotes free text).
        error: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A time field (`observed_at`, `valid_until`) is invalid; the message names it.
    Time(T),
}

/// What is wrong with a line that is not a JSON object of the tip's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonProblem {
    /// A required field is missing.
    MissingField(String),
    /// A field the tip does not have.
    UnknownField(String),
    /// A field given twice.
    DuplicateField(String),
    /// Not JSON, or a value of the wrong type: the JSON error's kind and column.
    Json {
        /// `Syntax`, `Data`, `Eof` or `Io`.
        class: String,
        /// The column.
        column: usize,
    },
}

impl<T: std::fmt::Display + 'static> Localize for EventError<T> {
    fn localize_in(&self, l: Locale) -> String {
        let tr = |id: &str, args: &[(&str, FluentValue<'_>)]| tr_in(l, id, args);
        match self {
            EventError::TooLong { len } => {
                tr("feed-line-too-long", &[("len", (*len).into()), ("max", MAX_LINE_BYTES.into())])
            }
            EventError::NotUtf8 { valid_up_to } => tr("feed-not-utf8", &[("at", (*valid_up_to).into())]),
            EventError::NotAnEvent { why, .. } if l == Locale::En => {
                tr("feed-not-an-event", &[("why", why.clone().into())])
            }
            EventError::NotAnEvent { problem, .. } => {
                let why = match problem {
                    JsonProblem::MissingField(f) => tr("feed-json-missing-field", &[("field", f.clone().into())]),
                    JsonProblem::UnknownField(f) => tr("feed-json-unknown-field", &[("field", f.clone().into())]),
                    JsonProblem::DuplicateField(f) => tr("feed-json-duplicate-field", &[("field", f.clone().into())]),
                    JsonProblem::Json { class, column } => {
                        tr("feed-json-error", &[("class", class.clone().into()), ("column", (*column).into())])
                    }
                };
                tr("feed-not-an-event", &[("why", why.into())])
            }
            EventError::SourceRef => tr("feed-source-ref", &[("max", MAX_SOURCE_REF_CHARS.into())]),
            EventError::Field { field, error } => {
                let why = if l == Locale::En {
                    error.to_string()
                } else {
                    let e: &(dyn std::error::Error + 'static) = error.as_ref();
                    localize_known(e).unwrap_or_else(|| error.to_string())
                };
                format!("{field}: {why}")
            }
            EventError::Time(t) => match (t as &dyn std::any::Any).downcast_ref::<TimeError>() {
                Some(te) => te.localize_in(l),
                None => t.to_string(),
            },
        }
    }
}

impl<T: std::fmt::Display + std::fmt::Debug + 'static> std::fmt::Display for EventError<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.localize_in(Locale::En))
    }
}

impl<T: std::fmt::Display + std::fmt::Debug + 'static> std::error::Error for EventError<T> {}

/// Why a time field of a feed line was refused. `Display` is English (the rejects file);
/// [`Localize`] gives the person's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeError {
    /// Not an RFC 3339 time.
    NotRfc3339 {
        /// The field.
        field: String,
        /// The value's first 40 characters.
        value: String,
    },
    /// Before the Unix epoch.
    Before1970 {
        /// The field.
        field: String,
    },
    /// Too far in the future for a tip time.
    OutOfRange {
        /// The field.
        field: String,
    },
}

impl Localize for TimeError {
    fn localize_in(&self, l: Locale) -> String {
        match self {
            TimeError::NotRfc3339 { field, value } => {
                tr_in(l, "feed-time-not-rfc3339", &[("field", field.clone().into()), ("value", value.clone().into())])
            }
            TimeError::Before1970 { field } => tr_in(l, "feed-time-before-1970", &[("field", field.clone().into())]),
            TimeError::OutOfRange { field } => tr_in(l, "feed-time-out-of-range", &[("field", field.clone().into())]),
        }
    }
}

impl std::fmt::Display for TimeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.localize_in(Locale::En))
    }
}

impl std::error::Error for TimeError {}

fn time(s: &str, field: &str) -> Result<Timestamp, TimeError> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).map_err(|_| {
        TimeError::NotRfc3339 { field: field.to_owned(), value: s.chars().take(40).collect::<String>() }
    })?;
    let ms = u64::try_from(t.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| TimeError::Before1970 { field: field.to_owned() })?;
    Timestamp::from_unix_ms(ms).ok_or_else(|| TimeError::OutOfRange { field: field.to_owned() })
}

/// Parses one line (without its newline). The error is a one-line reason that names the
/// field, never the line's content.
pub fn parse_line(bytes: &[u8]) -> Result<Event, EventError> {
    if bytes.len() > MAX_LINE_BYTES {
        return Err(EventError::TooLong { len: bytes.len() });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| EventError::NotUtf8 { valid_up_to: e.valid_up_to() })?;
    let l: TipFields = serde_json::from_str(text).map_err(|e| {
        // Keep serde's words only when they name a field; a type error would quote the value.
        let m = e.to_string();
        // The field a message names, between its first pair of backticks.
        let named = || m.split('`').nth(1).unwrap_or_default().to_owned();
        let problem = if m.starts_with("missing field") {
            Some(JsonProblem::MissingField(named()))
        } else if m.starts_with("unknown field") {
            Some(JsonProblem::UnknownField(named()))
        } else if m.starts_with("duplicate field") {
            Some(JsonProblem::DuplicateField(named()))
        } else {
            None
        };
        match problem {
            Some(problem) => {
                EventError::NotAnEvent { why: m.split(" at line").next().unwrap_or(&m).to_owned(), problem }
            }
            None => {
                let class = format!("{:?}", e.classify());
                EventError::NotAnEvent {
                    why: format!("{class} error at column {}", e.column()),
                    problem: JsonProblem::Json { class, column: e.column() },
                }
            }
        }
    })?;
    l.into_event(time)
}

impl TipFields {
    /// Validates every field into a draft; `time` parses the time fields (field name given)
    /// and its error should name the field. The error names the field, never its content.
    pub fn into_event<E>(self, time: impl Fn(&str, &str) -> Result<Timestamp, E>) -> Result<Event, EventError<E>> {
        let l = self;
        if let Some(r) = &l.source_ref {
            if r.is_empty() || r.chars().count() > MAX_SOURCE_REF_CHARS || r.chars().any(char::is_control) {
                return Err(EventError::SourceRef);
            }
        }
        fn field<E, X: std::error::Error + Send + Sync + 'static>(field: &'static str, e: X) -> EventError<E> {
            EventError::Field { field, error: Box::new(e) }
        }
        let draft = Draft {
            // Enumerated values in any case (`AMBER`, `Fuel_Theft`, `us`); signed in canonical form.
            to: l.to.to_ascii_uppercase().parse().map_err(|e| field::<E, _>("to", e))?,
            category: l.category.to_ascii_lowercase().parse().map_err(|e| field::<E, _>("category", e))?,
            urgency: l
                .urgency
                .as_deref()
                .unwrap_or("routine")
                .to_ascii_lowercase()
                .parse()
                .map_err(|e| field::<E, _>("urgency", e))?,
            summary: l.summary,
            // Lines end in LF in a signed tip (a CR is refused): CRLF from a Windows system
            // is normalised before signing.
            details: l.details.map(|d| d.replace("\r\n", "\n")),
            lang: l.lang.map(|x| x.parse()).transpose().map_err(|e| field::<E, _>("lang", e))?,
            location: l.location.map(|x| Location {
                lat: x.lat,
                lon: x.lon,
                radius_m: x.radius_m,
                place: x.place,
                sector: x.sector,
                port_of_entry: x.port_of_entry,
            }),
            observed_at: l
                .observed_at
                .as_deref()
                .map(|s| time(s, "observed_at"))
                .transpose()
                .map_err(EventError::Time)?,
            valid_until: l
                .valid_until
                .as_deref()
                .map(|s| time(s, "valid_until"))
                .transpose()
                .map_err(EventError::Time)?,
            source_reliability: l
                .source_reliability
                .map(|x| x.to_ascii_uppercase().parse())
                .transpose()
                .map_err(|e| field::<E, _>("source_reliability", e))?,
            info_credibility: l
                .info_credibility
                .map(InfoCredibility::new)
                .transpose()
                .map_err(|e| field::<E, _>("info_credibility", e))?,
            tlp: l.tlp.to_ascii_lowercase().parse().map_err(|e| field::<E, _>("tlp", e))?,
            refs: l
                .refs
                .iter()
                .map(|r| r.parse::<TipId>())
                .collect::<Result<_, _>>()
                .map_err(|e| field::<E, _>("refs", e))?,
        };
        Ok(Event { draft, source_ref: l.source_ref })
    }
}

/// The tip id of a `source_ref` for this principal: UUIDv7 whose time is `at` and whose
/// random bits are SHA-256(principal, 0x00, source_ref). Recorded the first time, so a
/// re-read never mints a second id.
pub fn id_for(principal: &str, source_ref: &str, at: Timestamp) -> TipId {
    let mut buf = Vec::with_capacity(principal.len() + source_ref.len() + 1);
    buf.extend_from_slice(principal.as_bytes());
    buf.push(0);
    buf.extend_from_slice(source_ref.as_bytes());
    let d = tiprelay_proto::Digest::of(&buf);
    let mut r = [0u8; 10];
    r.copy_from_slice(&d.0[..10]);
    TipId::new_v7(at, r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_lines_parse_and_bad_ones_name_the_field() {
        let ok = br#"{"to":"US","category":"fuel_theft","summary":"Tap on pipeline km 212","tlp":"amber","source_ref":"cam-7/991","location":{"lat":31.7,"lon":-106.4,"radius_m":500}}"#;
        let e = parse_line(ok).unwrap();
        assert_eq!(e.source_ref.as_deref(), Some("cam-7/991"));
        assert_eq!(e.draft.urgency.as_str(), "routine");
        for (line, want) in [
            (&b"{not json"[..], "not a valid event"),
            (br#"{"to":"US","category":"weather","summary":"x","tlp":"green"}"#, "category"),
            (br#"{"to":"US","category":"other","summary":"x"}"#, "tlp"),
            (br#"{"to":"US","category":"other","summary":"x","tlp":"green","colour":"red"}"#, "colour"),
            (br#"{"to":"US","category":"other","summary":"x","tlp":"green","observed_at":"yesterday"}"#, "observed_at"),
            (b"\xff\xfe{}", "UTF-8"),
        ] {
            let err = parse_line(line).unwrap_err().to_string();
            assert!(err.contains(want), "{err} should name {want}");
        }
        let secret = br#"{"to":"US","category":"bogus","summary":"SECRET-CANARY","tlp":"green"}"#;
        assert!(!parse_line(secret).unwrap_err().to_string().contains("SECRET-CANARY"), "reasons never echo content");
    }

    #[test]
    fn reasons_read_in_spanish_and_stay_english_for_the_rejects_file() {
        let e = parse_line(br#"{"to":"US","category":"other","summary":"x"}"#).unwrap_err();
        assert_eq!(e.to_string(), "not a valid event: missing field `tlp`");
        assert_eq!(e.localize_in(Locale::Es), "no es un evento válido: falta el campo `tlp`");
        let e = parse_line(br#"{"to":"US","category":"other","summary":"x","tlp":"green","observed_at":"ayer"}"#);
        assert!(e.unwrap_err().localize_in(Locale::Es).contains("no es una hora RFC 3339"));
    }

    #[test]
    fn ids_are_stable_per_principal_and_source_ref() {
        let t = Timestamp::from_unix_ms(1_796_000_000_000).unwrap();
        assert_eq!(id_for("p", "a", t), id_for("p", "a", t));
        assert_ne!(id_for("p", "a", t), id_for("p", "b", t));
        assert_ne!(id_for("p", "a", t), id_for("q", "a", t));
    }
}

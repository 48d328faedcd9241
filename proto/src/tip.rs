//! The tip: the intelligence one jurisdiction gives another (DESIGN §2).

use std::fmt;
use std::str::FromStr;

use ciborium::Value;

use crate::cbor::{self, as_array, as_float, as_tip_id, MapReader, MapWriter};
use crate::error::FieldError;
use crate::ids::{Jurisdiction, PrincipalId, TipId};
use crate::limits::*;
use crate::time::Timestamp;

/// Declares a closed set of wire strings as an enum with `as_str`, `FromStr`, `ALL`.
macro_rules! closed_set {
    ($(#[$meta:meta])* $name:ident, $field:literal, { $($(#[$vmeta:meta])* $variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in wire order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The allowed wire strings, comma separated (for error messages).
            pub const ALLOWED: &'static str = concat!($($wire, " "),+);

            /// The wire string.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            pub(crate) fn decode(v: Value) -> Result<Self, FieldError> {
                let t = $crate::cbor::as_text(v, $field)?;
                t.parse().map_err(|_| FieldError::NotInSet {
                    field: $field,
                    value: t.chars().take(40).collect(),
                    allowed: Self::ALLOWED,
                })
            }
        }

        impl std::str::FromStr for $name {
            type Err = FieldError;
            fn from_str(s: &str) -> Result<Self, FieldError> {
                match s {
                    $($wire => Ok($name::$variant),)+
                    _ => Err(FieldError::NotInSet {
                        field: $field,
                        value: s.chars().take(40).collect(),
                        allowed: Self::ALLOWED,
                    }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use closed_set;

closed_set!(
    /// What the tip is about.
    Category, "category", {
        /// An armed group about to cross the border.
        ArmedGroupCrossing = "armed_group_crossing",
        /// A clandestine tunnel located.
        TunnelLocated = "tunnel_located",
        /// A fentanyl-precursor shipment.
        FentanylPrecursors = "fentanyl_precursors",
        /// A drug shipment.
        DrugShipment = "drug_shipment",
        /// Arms trafficking.
        ArmsTrafficking = "arms_trafficking",
        /// Fuel theft.
        FuelTheft = "fuel_theft",
        /// Illicit money flows.
        IllicitFinance = "illicit_finance",
        /// Human smuggling.
        HumanSmuggling = "human_smuggling",
        /// Irregular migration.
        IrregularMigration = "irregular_migration",
        /// Anything else.
        Other = "other",
    }
);

closed_set!(
    /// How fast the recipient should act.
    Urgency, "urgency", {
        /// Act at once.
        Flash = "flash",
        /// Act within the hour.
        Immediate = "immediate",
        /// Act today.
        Priority = "priority",
        /// Normal handling.
        Routine = "routine",
    }
);

closed_set!(
    /// Traffic Light Protocol 2.0 label: who the recipient may share the tip with.
    /// Mandatory on every tip; part of the signed payload, so nobody can downgrade it.
    Tlp, "tlp", {
        /// No restriction.
        Clear = "clear",
        /// The recipient's community.
        Green = "green",
        /// The recipient's organisation and its clients, need to know.
        Amber = "amber",
        /// The recipient's organisation only.
        AmberStrict = "amber+strict",
        /// The named recipients only.
        Red = "red",
    }
);

closed_set!(
    /// Admiralty grading of the source's reliability.
    SourceReliability, "source_reliability", {
        /// Completely reliable.
        A = "A",
        /// Usually reliable.
        B = "B",
        /// Fairly reliable.
        C = "C",
        /// Not usually reliable.
        D = "D",
        /// Unreliable.
        E = "E",
        /// Reliability cannot be judged.
        F = "F",
    }
);

/// Admiralty grading of the information's credibility, 1 (confirmed) to 6 (cannot be judged).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InfoCredibility(u8);

impl InfoCredibility {
    /// Validates 1..=6.
    pub fn new(n: u64) -> Result<Self, FieldError> {
        match n {
            1..=6 => Ok(Self(n as u8)),
            _ => Err(FieldError::OutOfRange("info_credibility")),
        }
    }

    /// The grade.
    pub fn get(self) -> u8 {
        self.0
    }
}

/// A language tag: 2–3 lower-case letters, optionally followed by `-` subtags of 1–8
/// letters or digits (`es`, `en`, `es-MX`); at most 35 bytes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lang(String);

impl Lang {
    /// The tag.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Lang {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, FieldError> {
        let mut parts = s.split('-');
        let primary = parts.next().unwrap_or_default();
        let ok = s.len() <= MAX_LANG_BYTES
            && (2..=3).contains(&primary.len())
            && primary.bytes().all(|b| b.is_ascii_lowercase())
            && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(FieldError::InvalidLang)
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where: a WGS84 point with an uncertainty radius, and optional names.
#[derive(Debug, Clone, PartialEq)]
pub struct Location {
    /// Latitude in degrees, -90..=90.
    pub lat: f64,
    /// Longitude in degrees, -180..=180.
    pub lon: f64,
    /// Uncertainty radius in metres, 1..=500000; `None` when the source gives none (a plate
    /// reader, a port scanner): unknown, never a guessed default.
    pub radius_m: Option<u64>,
    /// Place name, ≤ 200 characters.
    pub place: Option<String>,
    /// Border sector, ≤ 200 characters.
    pub sector: Option<String>,
    /// Port of entry, ≤ 200 characters.
    pub port_of_entry: Option<String>,
}

impl Location {
    /// Checks the ranges and name lengths.
    pub fn validate(&self) -> Result<(), FieldError> {
        if !self.lat.is_finite() || !(-90.0..=90.0).contains(&self.lat) {
            return Err(FieldError::LatitudeOutOfRange);
        }
        if !self.lon.is_finite() || !(-180.0..=180.0).contains(&self.lon) {
            return Err(FieldError::LongitudeOutOfRange);
        }
        if self.radius_m.is_some_and(|r| !(1..=MAX_RADIUS_M).contains(&r)) {
            return Err(FieldError::RadiusOutOfRange);
        }
        for (field, v) in [("place", &self.place), ("sector", &self.sector), ("port_of_entry", &self.port_of_entry)] {
            if let Some(v) = v {
                check_line(field, v, MAX_PLACE_CHARS)?;
            }
        }
        Ok(())
    }

    fn encode(&self) -> Value {
        MapWriter::new()
            .put("lat", Value::Float(self.lat))
            .put("lon", Value::Float(self.lon))
            .put_opt("radius_m", self.radius_m.map(cbor::uint))
            .put_opt("place", self.place.as_deref().map(cbor::text))
            .put_opt("sector", self.sector.as_deref().map(cbor::text))
            .put_opt("port_of_entry", self.port_of_entry.as_deref().map(cbor::text))
            .into_value()
    }

    fn decode(v: Value) -> Result<Self, FieldError> {
        let mut m = MapReader::new(v, "location")?;
        let loc = Self {
            lat: as_float(m.req("lat")?, "lat")?,
            lon: as_float(m.req("lon")?, "lon")?,
            radius_m: m.opt_uint("radius_m")?,
            place: m.opt_text("place")?,
            sector: m.opt_text("sector")?,
            port_of_entry: m.opt_text("port_of_entry")?,
        };
        m.finish()?;
        loc.validate()?;
        Ok(loc)
    }
}

/// Whether `c` may not appear in a one-line text field: control characters (C0, DEL,
/// C1), bidirectional formatting (U+061C, U+200E–U+200F, U+202A–U+202E, U+2066–U+2069),
/// invisible and deprecated format characters (U+00AD, U+034F, U+115F, U+1160, U+180E,
/// U+200B–U+200D, U+2060–U+2064, U+206A–U+206F, U+3164, U+FEFF, U+FFA0, U+FFF9–U+FFFB, the
/// tag characters U+E0000–U+E007F) and line or paragraph separators (U+2028, U+2029). Such
/// characters can make a terminal or a report show a reader something other than what was
/// signed, or hide text in it.
pub fn is_hidden_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{E0000}'..='\u{E007F}'
        )
}

/// A one-line text field: bounded, none of [`is_hidden_char`].
pub(crate) fn check_line(field: &'static str, v: &str, max: usize) -> Result<(), FieldError> {
    let len = v.chars().count();
    if len > max {
        return Err(FieldError::TextTooLong { field, len, max });
    }
    if v.chars().any(is_hidden_char) {
        return Err(FieldError::ControlCharacters(field));
    }
    Ok(())
}

/// A tip (content type `application/tiprelay.tip+cbor`). Construct one with all fields and
/// call [`Tip::validate`], or let [`crate::Signer::sign`] do it before signing.
#[derive(Debug, Clone, PartialEq)]
pub struct Tip {
    /// Author-chosen UUIDv7; with `from` it is the idempotency key.
    pub id: TipId,
    /// Sending jurisdiction; the signer's certificate must come from its CA.
    pub from: Jurisdiction,
    /// Receiving jurisdiction; differs from `from`.
    pub to: Jurisdiction,
    /// The analyst or feed that wrote it; equals the signing certificate's identity.
    pub author: PrincipalId,
    /// When it was written (UTC).
    pub created: Timestamp,
    /// What it is about.
    pub category: Category,
    /// How fast to act.
    pub urgency: Urgency,
    /// One line, 1–500 characters, no control characters.
    pub summary: String,
    /// Free text, ≤ 16 KiB of UTF-8.
    pub details: Option<String>,
    /// Language of `summary` and `details`.
    pub lang: Lang,
    /// Where.
    pub location: Option<Location>,
    /// When the reported activity was observed.
    pub observed_at: Option<Timestamp>,
    /// After this instant the tip is stale and the relay refuses it.
    pub valid_until: Option<Timestamp>,
    /// Admiralty source reliability, A–F.
    pub source_reliability: Option<SourceReliability>,
    /// Admiralty information credibility, 1–6.
    pub info_credibility: Option<InfoCredibility>,
    /// Sharing label; mandatory.
    pub tlp: Tlp,
    /// Related tips (≤ 32, distinct, not this tip).
    pub refs: Vec<TipId>,
}

impl Tip {
    /// Checks every time-independent field rule of DESIGN §2.
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.from == self.to {
            return Err(FieldError::SameJurisdiction(self.from.to_string()));
        }
        let n = self.summary.chars().count();
        if n == 0 || self.summary.trim().is_empty() {
            return Err(FieldError::SummaryEmpty);
        }
        if n > MAX_SUMMARY_CHARS {
            return Err(FieldError::SummaryTooLong(n));
        }
        if self.summary.chars().any(is_hidden_char) {
            return Err(FieldError::ControlCharacters("summary"));
        }
        if let Some(d) = &self.details {
            if d.len() > MAX_DETAILS_BYTES {
                return Err(FieldError::DetailsTooLong(d.len()));
            }
            // Lines end in LF alone: a CR could make a terminal overwrite what it showed.
            if d.chars().any(|c| is_hidden_char(c) && !matches!(c, '\n' | '\t')) {
                return Err(FieldError::ControlCharacters("details"));
            }
        }
        if let Some(loc) = &self.location {
            loc.validate()?;
        }
        if let Some(vu) = self.valid_until {
            if vu <= self.created {
                return Err(FieldError::ValidUntilBeforeCreated);
            }
        }
        if self.refs.len() > MAX_REFS {
            return Err(FieldError::TooManyRefs(self.refs.len()));
        }
        for (i, r) in self.refs.iter().enumerate() {
            if *r == self.id || self.refs.iter().skip(i + 1).any(|o| o == r) {
                return Err(FieldError::BadRef);
            }
        }
        Ok(())
    }

    pub(crate) fn encode(&self) -> Value {
        MapWriter::new()
            .put("v", cbor::uint(FORMAT_VERSION))
            .put("id", cbor::id(&self.id))
            .put("from", cbor::text(self.from.as_str()))
            .put("to", cbor::text(self.to.as_str()))
            .put("author", cbor::text(&self.author.to_string()))
            .put("created", cbor::time(self.created))
            .put("category", cbor::text(self.category.as_str()))
            .put("urgency", cbor::text(self.urgency.as_str()))
            .put("summary", cbor::text(&self.summary))
            .put_opt("details", self.details.as_deref().map(cbor::text))
            .put("lang", cbor::text(self.lang.as_str()))
            .put_opt("location", self.location.as_ref().map(Location::encode))
            .put_opt("observed_at", self.observed_at.map(cbor::time))
            .put_opt("valid_until", self.valid_until.map(cbor::time))
            .put_opt("source_reliability", self.source_reliability.map(|r| cbor::text(r.as_str())))
            .put_opt("info_credibility", self.info_credibility.map(|c| cbor::uint(c.get().into())))
            .put("tlp", cbor::text(self.tlp.as_str()))
            .put_opt("refs", (!self.refs.is_empty()).then(|| Value::Array(self.refs.iter().map(cbor::id).collect())))
            .into_value()
    }

    pub(crate) fn decode(v: Value) -> Result<Self, FieldError> {
        let mut m = MapReader::new(v, "<payload>")?;
        m.version()?;
        let tlp = m.take("tlp").ok_or(FieldError::TlpMissing)?;
        let tip = Self {
            id: m.tip_id("id")?,
            from: m.jurisdiction("from")?,
            to: m.jurisdiction("to")?,
            author: m.principal("author")?,
            created: m.time("created")?,
            category: Category::decode(m.req("category")?)?,
            urgency: Urgency::decode(m.req("urgency")?)?,
            summary: m.text("summary")?,
            details: m.opt_text("details")?,
            lang: m.text("lang")?.parse()?,
            location: m.take("location").map(Location::decode).transpose()?,
            observed_at: m.opt_time("observed_at")?,
            valid_until: m.opt_time("valid_until")?,
            source_reliability: m.take("source_reliability").map(SourceReliability::decode).transpose()?,
            info_credibility: m.opt_uint("info_credibility")?.map(InfoCredibility::new).transpose()?,
            tlp: Tlp::decode(tlp)?,
            refs: match m.take("refs") {
                None => Vec::new(),
                Some(v) => {
                    let a = as_array(v, "refs")?;
                    // Absent is the one encoding of "no refs" (an empty array would be a
                    // second encoding of the same tip).
                    if a.is_empty() {
                        return Err(FieldError::EmptyList("refs"));
                    }
                    if a.len() > MAX_REFS {
                        return Err(FieldError::TooManyRefs(a.len()));
                    }
                    a.into_iter().map(|r| as_tip_id(r, "refs")).collect::<Result<_, _>>()?
                }
            },
        };
        m.finish()?;
        tip.validate()?;
        Ok(tip)
    }
}

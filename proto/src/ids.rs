//! Validated identifiers: jurisdictions, authorities, principals, tip ids, digests.
//! An unvalidated string cannot become one of these.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest as _, Sha256};

use crate::error::IdError;
use crate::limits::{MAX_PRINCIPAL_NAME_BYTES, OPERATOR_AUTHORITY, PRINCIPAL_URI_SCHEME};

/// A party to the agreement, named by 2 or 3 upper-case ASCII letters (ISO 3166-1 alpha-2
/// or alpha-3 in practice: `MX`, `US`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Jurisdiction {
    code: [u8; 3],
    len: u8,
}

impl Jurisdiction {
    /// The code as text, e.g. `"MX"`.
    pub fn as_str(&self) -> &str {
        // Only upper-case ASCII is ever stored, so this cannot fail.
        std::str::from_utf8(self.code.get(..usize::from(self.len)).unwrap_or_default()).unwrap_or_default()
    }
}

impl FromStr for Jurisdiction {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        let b = s.as_bytes();
        if !(2..=3).contains(&b.len()) || !b.iter().all(u8::is_ascii_uppercase) {
            return Err(IdError::Jurisdiction(s.chars().take(16).collect()));
        }
        let mut code = [0u8; 3];
        for (dst, src) in code.iter_mut().zip(b) {
            *dst = *src;
        }
        Ok(Self { code, len: b.len() as u8 })
    }
}

impl fmt::Display for Jurisdiction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who may certify an identity: a jurisdiction's root CA, or the relay operator's CA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Authority {
    /// A jurisdiction's own root CA; it certifies only that jurisdiction's principals.
    Jurisdiction(Jurisdiction),
    /// The relay operator's CA; it certifies only relays (URI authority `OPERATOR`).
    Operator,
}

impl FromStr for Authority {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        if s == OPERATOR_AUTHORITY {
            Ok(Self::Operator)
        } else {
            Ok(Self::Jurisdiction(s.parse()?))
        }
    }
}

impl fmt::Display for Authority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Jurisdiction(j) => j.fmt(f),
            Self::Operator => f.write_str(OPERATOR_AUTHORITY),
        }
    }
}

/// The role of a principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PrincipalKind {
    /// A person at a terminal: sends, receives, acknowledges, gives feedback.
    Analyst,
    /// An automated border-system feed: sends only.
    Feed,
    /// A relay: under the `OPERATOR` authority (one shared relay, "hub" mode), or under a
    /// jurisdiction's authority (that jurisdiction's own relay in a federated deployment).
    Relay,
}

impl PrincipalKind {
    /// The URI path segment: `analyst`, `feed` or `relay`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Analyst => "analyst",
            Self::Feed => "feed",
            Self::Relay => "relay",
        }
    }
}

impl fmt::Display for PrincipalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A principal identity: `tiprelay://<AUTHORITY>/<kind>/<name>`.
///
/// `AUTHORITY` is a jurisdiction code (kinds `analyst`, `feed`, and `relay` for a
/// jurisdiction's own relay in a federated deployment) or `OPERATOR` (kind `relay` only). `name` is 1–64 bytes of `[a-z0-9._-]` starting with a letter or digit. This is the
/// one URI SAN of every principal certificate and the `author`/`by` of every message.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PrincipalId {
    authority: Authority,
    kind: PrincipalKind,
    name: String,
}

impl PrincipalId {
    /// Builds and validates an identity from its parts.
    pub fn new(authority: Authority, kind: PrincipalKind, name: &str) -> Result<Self, IdError> {
        let bad = |why: &'static str| IdError::Principal {
            uri: format!("{PRINCIPAL_URI_SCHEME}{authority}/{kind}/{}", truncate(name)),
            why,
        };
        match (authority, kind) {
            (Authority::Operator, PrincipalKind::Relay) | (Authority::Jurisdiction(_), _) => {}
            (Authority::Operator, _) => return Err(bad("the OPERATOR authority only certifies the kind `relay`")),
        }
        let b = name.as_bytes();
        if b.is_empty() || b.len() > MAX_PRINCIPAL_NAME_BYTES {
            return Err(bad("the name must be 1 to 64 characters"));
        }
        let ok = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit() || b"._-".contains(c);
        if !b.iter().all(ok) || !b.first().is_some_and(u8::is_ascii_alphanumeric) {
            return Err(bad(
                "the name may hold only a-z, 0-9, '.', '_' and '-', and must start with a letter or digit",
            ));
        }
        Ok(Self { authority, kind, name: name.to_owned() })
    }

    /// The authority that certifies this identity.
    pub fn authority(&self) -> Authority {
        self.authority
    }

    /// The jurisdiction, unless this is the operator's relay.
    pub fn jurisdiction(&self) -> Option<Jurisdiction> {
        match self.authority {
            Authority::Jurisdiction(j) => Some(j),
            Authority::Operator => None,
        }
    }

    /// The role.
    pub fn kind(&self) -> PrincipalKind {
        self.kind
    }

    /// The name segment.
    pub fn name(&self) -> &str {
        &self.name
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}

impl FromStr for PrincipalId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        let bad = |why: &'static str| IdError::Principal { uri: truncate(s), why };
        let rest =
            s.strip_prefix(PRINCIPAL_URI_SCHEME).ok_or_else(|| bad("a principal URI starts with tiprelay://"))?;
        let mut parts = rest.split('/');
        let (Some(auth), Some(kind), Some(name), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("the form is tiprelay://<JURISDICTION>/<analyst|feed>/<name>"));
        };
        let authority: Authority = auth
            .parse()
            .map_err(|_| bad("the authority must be a 2-3 letter upper-case jurisdiction code or OPERATOR"))?;
        let kind = match kind {
            "analyst" => PrincipalKind::Analyst,
            "feed" => PrincipalKind::Feed,
            "relay" => PrincipalKind::Relay,
            _ => return Err(bad("the kind must be analyst, feed or relay")),
        };
        Self::new(authority, kind, name)
    }
}

impl fmt::Display for PrincipalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PRINCIPAL_URI_SCHEME}{}/{}/{}", self.authority, self.kind, self.name)
    }
}

/// A message id: a UUIDv7 (RFC 9562) chosen by the author; for tips it is the idempotency
/// key. On the wire: a 16-byte CBOR byte string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TipId(uuid::Uuid);

/// Id of a feedback or statement; the same format as [`TipId`].
pub type MessageId = TipId;

impl TipId {
    /// Validates 16 bytes as an RFC 9562 version-7 UUID.
    pub fn from_bytes(bytes: [u8; 16]) -> Result<Self, IdError> {
        let u = uuid::Uuid::from_bytes(bytes);
        if u.get_version_num() != 7 || u.get_variant() != uuid::Variant::RFC4122 {
            return Err(IdError::TipId(u.to_string()));
        }
        Ok(Self(u))
    }

    /// Builds a UUIDv7 from a timestamp and 10 bytes of caller-provided randomness
    /// (`proto` has no random source or clock of its own).
    pub fn new_v7(at: crate::Timestamp, random: [u8; 10]) -> Self {
        let ms = at.as_unix_ms().to_be_bytes();
        let mut b = [0u8; 16];
        b[..6].copy_from_slice(&ms[2..8]);
        b[6..].copy_from_slice(&random);
        b[6] = 0x70 | (b[6] & 0x0f);
        b[8] = 0x80 | (b[8] & 0x3f);
        Self(uuid::Uuid::from_bytes(b))
    }

    /// The 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }

    /// The millisecond timestamp embedded in the UUIDv7.
    pub fn timestamp_ms(&self) -> u64 {
        let b = self.0.as_bytes();
        b.iter().take(6).fold(0u64, |acc, x| (acc << 8) | u64::from(*x))
    }
}

impl FromStr for TipId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        let u = uuid::Uuid::try_parse(s).map_err(|_| IdError::TipId(truncate(s)))?;
        Self::from_bytes(*u.as_bytes())
    }
}

impl fmt::Display for TipId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// A SHA-256 digest: of an envelope's exact bytes (tips, receipts) or of a certificate's DER.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// SHA-256 of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        use fmt::Write;
        self.0.iter().fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.to_hex())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principal_round_trip_and_rules() {
        let p: PrincipalId = "tiprelay://MX/analyst/ana".parse().unwrap();
        assert_eq!(p.to_string(), "tiprelay://MX/analyst/ana");
        assert_eq!(p.jurisdiction().unwrap().as_str(), "MX");
        let r: PrincipalId = "tiprelay://OPERATOR/relay/main".parse().unwrap();
        assert_eq!(r.authority(), Authority::Operator);
        // A jurisdiction's own relay (federation).
        let own: PrincipalId = "tiprelay://MX/relay/mx".parse().unwrap();
        assert_eq!((own.jurisdiction(), own.kind()), (Some("MX".parse().unwrap()), PrincipalKind::Relay));
        for bad in [
            "tiprelay://mx/analyst/ana",
            "tiprelay://MX/analyst/Ana",
            "tiprelay://MX/relay/X",
            "tiprelay://OPERATOR/analyst/x",
            "tiprelay://MX/analyst/",
            "tiprelay://MX/analyst/a/b",
            "https://MX/analyst/a",
            "tiprelay://MEXI/analyst/a",
            "tiprelay://MX/chief/a",
            "tiprelay://MX/analyst/-a",
        ] {
            assert!(bad.parse::<PrincipalId>().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn tip_id_must_be_v7() {
        let v4 = "6f1c2b1e-0d1f-4b7e-9f0a-0a1b2c3d4e5f";
        assert!(v4.parse::<TipId>().is_err());
        let t = crate::Timestamp::from_unix_ms(1_796_083_200_000).unwrap();
        let id = TipId::new_v7(t, [0xff; 10]);
        assert_eq!(id.timestamp_ms(), 1_796_083_200_000);
        assert_eq!(id.to_string().parse::<TipId>().unwrap(), id);
    }
}

//! Strict CBOR map reading and deterministic map writing over `ciborium::Value`.
//!
//! Payloads are maps with text keys. Reading rejects duplicate keys, non-text keys, unknown
//! keys and trailing bytes; writing sorts keys in RFC 8949 §4.2.1 order (shorter encoded
//! key first, then bytewise), so an encoder always produces the same bytes.

use ciborium::Value;

use crate::error::{FieldError, IdError};
use crate::ids::{Digest, Jurisdiction, PrincipalId, TipId};
use crate::limits::MAX_CBOR_DEPTH;
use crate::time::Timestamp;

/// Decodes exactly one CBOR data item from `bytes` (nesting ≤ [`MAX_CBOR_DEPTH`]).
pub(crate) fn decode_value(bytes: &[u8]) -> Result<Value, String> {
    let mut rest = bytes;
    let v: Value = ciborium::de::from_reader_with_recursion_limit(&mut rest, MAX_CBOR_DEPTH).map_err(|e| match e {
        ciborium::de::Error::Io(_) => "truncated CBOR".to_owned(),
        ciborium::de::Error::Syntax(at) => format!("CBOR syntax error at byte {at}"),
        ciborium::de::Error::Semantic(at, _) => match at {
            Some(at) => format!("invalid CBOR item at byte {at}"),
            None => "invalid CBOR item".to_owned(),
        },
        ciborium::de::Error::RecursionLimitExceeded => "CBOR nested too deeply".to_owned(),
    })?;
    if !rest.is_empty() {
        return Err(format!("{} bytes after the CBOR item", rest.len()));
    }
    Ok(v)
}

/// Encodes a value to bytes.
pub(crate) fn encode_value(v: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    // Writing into a Vec cannot fail and every Value we build is encodable.
    let _ = ciborium::ser::into_writer(v, &mut out);
    out
}

/// Reads a map field by field; call [`MapReader::finish`] last to reject unknown keys.
pub(crate) struct MapReader {
    entries: Vec<(String, Value)>,
}

type R<T> = Result<T, FieldError>;

/// Most entries in any map of the protocol.
const MAX_MAP_ENTRIES: usize = 32;

impl MapReader {
    /// Takes a value that must be a map with distinct text keys.
    pub(crate) fn new(v: Value, field: &'static str) -> R<Self> {
        let Value::Map(pairs) = v else {
            return Err(FieldError::WrongType { field, expected: "a map" });
        };
        // No map of the protocol has more than 24 keys; refusing larger ones also keeps the
        // duplicate-key scan below cheap on hostile input.
        if pairs.len() > MAX_MAP_ENTRIES {
            return Err(FieldError::TooMany(field));
        }
        let mut entries: Vec<(String, Value)> = Vec::with_capacity(pairs.len());
        for (k, v) in pairs {
            let Value::Text(k) = k else {
                return Err(FieldError::NonTextKey);
            };
            if entries.iter().any(|(e, _)| *e == k) {
                return Err(FieldError::Duplicate(k.chars().take(40).collect()));
            }
            entries.push((k, v));
        }
        Ok(Self { entries })
    }

    /// Removes and returns the value under `key`, if present.
    pub(crate) fn take(&mut self, key: &str) -> Option<Value> {
        let i = self.entries.iter().position(|(k, _)| k == key)?;
        Some(self.entries.swap_remove(i).1)
    }

    /// Errors on the first key nobody took.
    pub(crate) fn finish(self) -> R<()> {
        match self.entries.into_iter().next() {
            Some((k, _)) => Err(FieldError::Unknown(k.chars().take(40).collect())),
            None => Ok(()),
        }
    }

    pub(crate) fn req(&mut self, key: &'static str) -> R<Value> {
        self.take(key).ok_or(FieldError::Missing(key))
    }

    pub(crate) fn uint(&mut self, key: &'static str) -> R<u64> {
        as_uint(self.req(key)?, key)
    }

    pub(crate) fn opt_uint(&mut self, key: &'static str) -> R<Option<u64>> {
        self.take(key).map(|v| as_uint(v, key)).transpose()
    }

    pub(crate) fn text(&mut self, key: &'static str) -> R<String> {
        as_text(self.req(key)?, key)
    }

    pub(crate) fn opt_text(&mut self, key: &'static str) -> R<Option<String>> {
        self.take(key).map(|v| as_text(v, key)).transpose()
    }

    pub(crate) fn version(&mut self) -> R<()> {
        match self.uint("v")? {
            crate::limits::FORMAT_VERSION => Ok(()),
            other => Err(FieldError::UnsupportedVersion(other)),
        }
    }

    pub(crate) fn time(&mut self, key: &'static str) -> R<Timestamp> {
        Timestamp::from_unix_ms(self.uint(key)?).ok_or(FieldError::BadTime(key))
    }

    pub(crate) fn opt_time(&mut self, key: &'static str) -> R<Option<Timestamp>> {
        self.opt_uint(key)?.map(|ms| Timestamp::from_unix_ms(ms).ok_or(FieldError::BadTime(key))).transpose()
    }

    pub(crate) fn jurisdiction(&mut self, key: &'static str) -> R<Jurisdiction> {
        let t = self.text(key)?;
        t.parse().map_err(|source| FieldError::Id { field: key, source })
    }

    pub(crate) fn principal(&mut self, key: &'static str) -> R<PrincipalId> {
        let t = self.text(key)?;
        t.parse().map_err(|source| FieldError::Id { field: key, source })
    }

    pub(crate) fn tip_id(&mut self, key: &'static str) -> R<TipId> {
        as_tip_id(self.req(key)?, key)
    }

    pub(crate) fn digest(&mut self, key: &'static str) -> R<Digest> {
        let b = as_bytes(self.req(key)?, key)?;
        let arr: [u8; 32] = b.try_into().map_err(|_| FieldError::WrongLength { field: key, len: 32 })?;
        Ok(Digest(arr))
    }
}

pub(crate) fn as_uint(v: Value, field: &'static str) -> R<u64> {
    match v {
        Value::Integer(i) => u64::try_from(i).map_err(|_| FieldError::OutOfRange(field)),
        _ => Err(FieldError::WrongType { field, expected: "an unsigned integer" }),
    }
}

pub(crate) fn as_text(v: Value, field: &'static str) -> R<String> {
    match v {
        Value::Text(t) => Ok(t),
        _ => Err(FieldError::WrongType { field, expected: "a text string" }),
    }
}

pub(crate) fn as_bytes(v: Value, field: &'static str) -> R<Vec<u8>> {
    match v {
        Value::Bytes(b) => Ok(b),
        _ => Err(FieldError::WrongType { field, expected: "a byte string" }),
    }
}

pub(crate) fn as_float(v: Value, field: &'static str) -> R<f64> {
    match v {
        Value::Float(f) => Ok(f),
        _ => Err(FieldError::WrongType { field, expected: "a floating-point number" }),
    }
}

pub(crate) fn as_array(v: Value, field: &'static str) -> R<Vec<Value>> {
    match v {
        Value::Array(a) => Ok(a),
        _ => Err(FieldError::WrongType { field, expected: "an array" }),
    }
}

pub(crate) fn as_tip_id(v: Value, field: &'static str) -> R<TipId> {
    let b = as_bytes(v, field)?;
    let arr: [u8; 16] = b.try_into().map_err(|_| FieldError::WrongLength { field, len: 16 })?;
    TipId::from_bytes(arr).map_err(|source: IdError| FieldError::Id { field, source })
}

/// Builds a map whose keys come out in deterministic (RFC 8949 §4.2.1) order.
#[derive(Default)]
pub(crate) struct MapWriter {
    entries: Vec<(&'static str, Value)>,
}

impl MapWriter {
    pub(crate) fn new() -> Self {
        Self { entries: Vec::with_capacity(24) }
    }

    pub(crate) fn put(mut self, key: &'static str, v: impl Into<Value>) -> Self {
        self.entries.push((key, v.into()));
        self
    }

    pub(crate) fn put_opt<T: Into<Value>>(self, key: &'static str, v: Option<T>) -> Self {
        match v {
            Some(v) => self.put(key, v),
            None => self,
        }
    }

    pub(crate) fn into_value(mut self) -> Value {
        // Text keys shorter than 24 bytes encode as one head byte + bytes, so ordering by
        // (length, bytes) is exactly the bytewise order of their encodings.
        self.entries.sort_by(|(a, _), (b, _)| (a.len(), a.as_bytes()).cmp(&(b.len(), b.as_bytes())));
        Value::Map(self.entries.into_iter().map(|(k, v)| (Value::Text(k.to_owned()), v)).collect())
    }
}

pub(crate) fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

pub(crate) fn uint(n: u64) -> Value {
    Value::Integer(n.into())
}

pub(crate) fn time(t: Timestamp) -> Value {
    uint(t.as_unix_ms())
}

pub(crate) fn id(t: &TipId) -> Value {
    Value::Bytes(t.as_bytes().to_vec())
}

pub(crate) fn digest(d: &Digest) -> Value {
    Value::Bytes(d.0.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_bytes_and_depth_are_rejected() {
        assert!(decode_value(&[0x01, 0x02]).is_err());
        assert!(decode_value(&[0x01]).is_ok());
        let deep = [0x81u8; 64];
        assert!(decode_value(&deep).is_err());
        assert!(decode_value(&[]).is_err());
    }

    #[test]
    fn duplicate_and_unknown_keys_are_rejected() {
        let v = Value::Map(vec![(text("a"), uint(1)), (text("a"), uint(2))]);
        assert_eq!(MapReader::new(v, "x").err(), Some(FieldError::Duplicate("a".into())));
        let v = Value::Map(vec![(text("a"), uint(1)), (text("b"), uint(2))]);
        let mut m = MapReader::new(v, "x").unwrap();
        assert_eq!(m.uint("a").unwrap(), 1);
        assert_eq!(m.finish(), Err(FieldError::Unknown("b".into())));
    }

    #[test]
    fn writer_sorts_keys_canonically() {
        let v = MapWriter::new().put("summary", uint(1)).put("v", uint(1)).put("id", uint(2)).put("to", uint(3));
        let Value::Map(m) = v.into_value() else { unreachable!() };
        let keys: Vec<_> = m.iter().map(|(k, _)| k.as_text().unwrap().to_owned()).collect();
        assert_eq!(keys, ["v", "id", "to", "summary"]);
    }
}

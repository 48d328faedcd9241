//! Ed25519 signing keys in a PKCS#11 token (an HSM, or SoftHSM2), through the `cryptoki`
//! crate: the relay's receipt and checkpoint signing key, and a CA's root key for
//! `tipcerts` (`init-ca --key-uri`).
//!
//! A key is named with a PKCS#11 URI (RFC 7512), e.g.
//! `pkcs11:token=tiprelay;object=receipt-signing`, beside the token's PKCS#11 library and
//! the file holding the user PIN (owner-only, like a key file; a systemd credential fits).
//! For the relay these are `[relay] signing_key`, `pkcs11_module` and `pkcs11_pin_file`.
//! The PIN is never in a configuration, a URI or a log.
//!
//! Opening a key opens one session on the token, logs in, finds the Ed25519 private key
//! and its public key object; [`tiprelay_proto::Signer::from_external`] checks that public
//! key against the certificate and that the private key's signature verifies with it. Every
//! signature is then made by the token with CKM_EDDSA (pure Ed25519); the private key never
//! leaves it. A session the token dropped (restarted HSM, pulled token) is reopened once per
//! signature before the signature fails.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use crate::i18n::Locale;
use crate::localize::{Localize, Msg};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use tiprelay_proto::envelope::{ExternalKey, ExternalKeyError};
use tiprelay_proto::Signer;

/// The URI scheme of a key in a token.
pub const SCHEME: &str = "pkcs11:";

/// Whether a `signing_key` value names a key in a token rather than a file.
pub fn is_uri(value: &str) -> bool {
    value.get(..SCHEME.len()).is_some_and(|s| s.eq_ignore_ascii_case(SCHEME))
}

/// A key in a token, as an RFC 7512 URI names it: which token (any of `token`, `serial`,
/// `manufacturer`, `model`, `slot-id`; at least one) and which key in it (`object`, the
/// CKA_LABEL, and/or `id`, the CKA_ID; at least one). Query attributes (`?pin-value=…`,
/// `?module-path=…`) are refused: the module and PIN have their own configuration keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyUri {
    /// The token's label (CKA of the token info, `token=`).
    pub token: Option<String>,
    /// The token's serial number (`serial=`).
    pub serial: Option<String>,
    /// The token's manufacturer (`manufacturer=`).
    pub manufacturer: Option<String>,
    /// The token's model (`model=`).
    pub model: Option<String>,
    /// The slot's id (`slot-id=`, decimal).
    pub slot_id: Option<u64>,
    /// The key's label (CKA_LABEL, `object=`).
    pub object: Option<String>,
    /// The key's id (CKA_ID, `id=`, percent-encoded bytes).
    pub id: Option<Vec<u8>>,
}

impl KeyUri {
    /// Parses a `pkcs11:` URI; the error says what is wrong (English and Spanish).
    pub fn parse(text: &str) -> Result<Self, Msg> {
        let bad = |why: Msg| Msg::new("relay-pkcs11-uri-bad").text("uri", text).msg("why", why);
        if !is_uri(text) {
            return Err(bad(Msg::new("relay-pkcs11-uri-scheme")));
        }
        let rest = &text[SCHEME.len()..];
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        if let Some(q) = query {
            let names: Vec<&str> = q.split('&').map(|a| a.split_once('=').map_or(a, |(n, _)| n)).collect();
            if names.iter().any(|n| n.eq_ignore_ascii_case("pin-value") || n.eq_ignore_ascii_case("pin-source")) {
                return Err(bad(Msg::new("relay-pkcs11-uri-pin")));
            }
            return Err(bad(Msg::new("relay-pkcs11-uri-query").text("query", q)));
        }
        let mut uri = KeyUri::default();
        for attr in path.split(';').filter(|a| !a.is_empty()) {
            let Some((name, value)) = attr.split_once('=') else {
                return Err(bad(Msg::new("relay-pkcs11-uri-attribute").text("attribute", attr)));
            };
            let bytes =
                percent_decode(value).ok_or_else(|| bad(Msg::new("relay-pkcs11-uri-escape").text("value", value)))?;
            let string = || {
                String::from_utf8(bytes.clone()).map_err(|_| bad(Msg::new("relay-pkcs11-uri-utf8").text("name", name)))
            };
            let twice = || bad(Msg::new("relay-pkcs11-uri-twice").text("name", name));
            match name {
                "token" => set(&mut uri.token, string()?).map_err(|_| twice())?,
                "serial" => set(&mut uri.serial, string()?).map_err(|_| twice())?,
                "manufacturer" => set(&mut uri.manufacturer, string()?).map_err(|_| twice())?,
                "model" => set(&mut uri.model, string()?).map_err(|_| twice())?,
                "object" => set(&mut uri.object, string()?).map_err(|_| twice())?,
                "id" => set(&mut uri.id, bytes).map_err(|_| twice())?,
                "slot-id" => {
                    let n = string()?
                        .parse::<u64>()
                        .map_err(|_| bad(Msg::new("relay-pkcs11-uri-slot-id").text("value", value)))?;
                    set(&mut uri.slot_id, n).map_err(|_| twice())?
                }
                // The key's type: the relay looks for the private key and its public key
                // itself, so only these two make sense here.
                "type" => {
                    if !matches!(string()?.as_str(), "private" | "public") {
                        return Err(bad(Msg::new("relay-pkcs11-uri-type").text("value", value)));
                    }
                }
                other => return Err(bad(Msg::new("relay-pkcs11-uri-unknown").text("name", other))),
            }
        }
        if uri.object.is_none() && uri.id.is_none() {
            return Err(bad(Msg::new("relay-pkcs11-uri-no-object")));
        }
        if uri.token.is_none()
            && uri.serial.is_none()
            && uri.manufacturer.is_none()
            && uri.model.is_none()
            && uri.slot_id.is_none()
        {
            return Err(bad(Msg::new("relay-pkcs11-uri-no-token")));
        }
        Ok(uri)
    }

    fn token_matches(&self, slot: Slot, info: &cryptoki::slot::TokenInfo) -> bool {
        let same = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have.trim_end());
        same(&self.token, info.label())
            && same(&self.serial, info.serial_number())
            && same(&self.manufacturer, info.manufacturer_id())
            && same(&self.model, info.model())
            && self.slot_id.is_none_or(|id| id == slot.id())
    }

    /// The token part, for messages (`token=tiprelay;serial=…`).
    fn token_text(&self) -> String {
        let mut parts = Vec::new();
        for (name, v) in [
            ("token", &self.token),
            ("serial", &self.serial),
            ("manufacturer", &self.manufacturer),
            ("model", &self.model),
        ] {
            if let Some(v) = v {
                parts.push(format!("{name}={}", percent_encode(v.as_bytes())));
            }
        }
        if let Some(id) = self.slot_id {
            parts.push(format!("slot-id={id}"));
        }
        parts.join(";")
    }

    /// The key part, for messages (`object=receipt-signing;id=%01`).
    fn object_text(&self) -> String {
        let mut parts = Vec::new();
        if let Some(o) = &self.object {
            parts.push(format!("object={}", percent_encode(o.as_bytes())));
        }
        if let Some(id) = &self.id {
            parts.push(format!("id={}", id.iter().map(|b| format!("%{b:02x}")).collect::<String>()));
        }
        parts.join(";")
    }

    fn key_template(&self, class: ObjectClass) -> Vec<Attribute> {
        let mut t = vec![Attribute::Class(class)];
        if let Some(o) = &self.object {
            t.push(Attribute::Label(o.as_bytes().to_vec()));
        }
        if let Some(id) = &self.id {
            t.push(Attribute::Id(id.clone()));
        }
        t
    }
}

impl fmt::Display for KeyUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SCHEME}{};{}", self.token_text(), self.object_text())
    }
}

fn set<T>(slot: &mut Option<T>, v: T) -> Result<(), ()> {
    if slot.is_some() {
        return Err(());
    }
    *slot = Some(v);
    Ok(())
}

fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

fn percent_encode(b: &[u8]) -> String {
    b.iter()
        .map(|&c| {
            if c.is_ascii_alphanumeric() || b"-._~".contains(&c) {
                char::from(c).to_string()
            } else {
                format!("%{c:02X}")
            }
        })
        .collect()
}

/// Where the relay's signing key is: `[relay] signing_key`'s URI, `pkcs11_module` and
/// `pkcs11_pin_file`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenKeyConfig {
    /// The key.
    pub uri: KeyUri,
    /// The token's PKCS#11 library (`/usr/lib/softhsm/libsofthsm2.so` for SoftHSM2).
    pub module: PathBuf,
    /// The file with the user PIN; `None` for a token that needs no login.
    pub pin_file: Option<PathBuf>,
}

/// Why the relay cannot sign with a key in a token. Each says what to check or run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pkcs11Error {
    /// `pkcs11_module` does not exist.
    ModuleNotFound {
        /// The configured path.
        module: PathBuf,
    },
    /// The library exists but is not a usable PKCS#11 module.
    ModuleUnusable {
        /// The configured path.
        module: PathBuf,
        /// The loader's or C_Initialize's error.
        why: String,
    },
    /// No token with a label (serial, …) as the URI says is present.
    TokenNotFound {
        /// The URI's token part.
        wanted: String,
        /// The labels of the tokens that are present.
        present: Vec<String>,
    },
    /// More than one token matches the URI.
    TokenAmbiguous {
        /// The URI's token part.
        wanted: String,
        /// How many match.
        count: usize,
    },
    /// The PIN file cannot be read, is empty, or is readable by others.
    PinFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: Msg,
    },
    /// The token needs a login and no `pkcs11_pin_file` is configured.
    PinNeeded {
        /// The token's label.
        token: String,
    },
    /// The token refused the PIN.
    WrongPin {
        /// The token's label.
        token: String,
        /// The PIN file.
        pin_file: PathBuf,
    },
    /// The token locked its user PIN (too many wrong PINs).
    PinLocked {
        /// The token's label.
        token: String,
    },
    /// No private key as the URI names it is in the token.
    NoSuchObject {
        /// The token's label.
        token: String,
        /// The URI's key part.
        object: String,
    },
    /// More than one private key matches the URI.
    ObjectAmbiguous {
        /// The token's label.
        token: String,
        /// The URI's key part.
        object: String,
        /// How many match.
        count: usize,
    },
    /// The private key has no public key object beside it (same label/id).
    NoPublicKey {
        /// The token's label.
        token: String,
        /// The URI's key part.
        object: String,
    },
    /// The key is not an Ed25519 key.
    NotEd25519 {
        /// The URI's key part.
        object: String,
        /// What the token says it is.
        found: String,
    },
    /// The token does not offer CKM_EDDSA.
    MechanismUnsupported {
        /// The token's label.
        token: String,
    },
    /// The key and `signing_cert` do not belong together (or the token did not sign).
    Certificate {
        /// The URI.
        uri: String,
        /// Why (proto's check).
        why: String,
    },
    /// Another PKCS#11 failure.
    Token {
        /// What the relay was doing (a Fluent id, `relay-pkcs11-step-…`).
        step: &'static str,
        /// The PKCS#11 function and return value.
        why: String,
    },
}

impl Pkcs11Error {
    /// The message, in either language.
    pub fn msg(&self) -> Msg {
        match self {
            Self::ModuleNotFound { module } => {
                Msg::new("relay-pkcs11-module-not-found").text("module", module.display())
            }
            Self::ModuleUnusable { module, why } => {
                Msg::new("relay-pkcs11-module-unusable").text("module", module.display()).text("why", why)
            }
            Self::TokenNotFound { wanted, present } => Msg::new("relay-pkcs11-token-not-found")
                .text("wanted", wanted)
                .text("present", if present.is_empty() { "-".to_owned() } else { present.join(", ") }),
            Self::TokenAmbiguous { wanted, count } => {
                Msg::new("relay-pkcs11-token-ambiguous").text("wanted", wanted).number("count", *count)
            }
            Self::PinFile { path, why } => {
                Msg::new("relay-pkcs11-pin-file").text("path", path.display()).msg("why", why.clone())
            }
            Self::PinNeeded { token } => Msg::new("relay-pkcs11-pin-needed").text("token", token),
            Self::WrongPin { token, pin_file } => {
                Msg::new("relay-pkcs11-wrong-pin").text("token", token).text("pin_file", pin_file.display())
            }
            Self::PinLocked { token } => Msg::new("relay-pkcs11-pin-locked").text("token", token),
            Self::NoSuchObject { token, object } => {
                Msg::new("relay-pkcs11-no-such-object").text("token", token).text("object", object)
            }
            Self::ObjectAmbiguous { token, object, count } => Msg::new("relay-pkcs11-object-ambiguous")
                .text("token", token)
                .text("object", object)
                .number("count", *count),
            Self::NoPublicKey { token, object } => {
                Msg::new("relay-pkcs11-no-public-key").text("token", token).text("object", object)
            }
            Self::NotEd25519 { object, found } => {
                Msg::new("relay-pkcs11-not-ed25519").text("object", object).text("found", found)
            }
            Self::MechanismUnsupported { token } => Msg::new("relay-pkcs11-no-eddsa").text("token", token),
            Self::Certificate { uri, why } => Msg::new("relay-pkcs11-certificate").text("uri", uri).text("why", why),
            Self::Token { step, why } => Msg::new("relay-pkcs11-failed").msg("step", Msg::new(step)).text("why", why),
        }
    }
}

impl fmt::Display for Pkcs11Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg().in_locale(Locale::En))
    }
}

impl std::error::Error for Pkcs11Error {}

impl Localize for Pkcs11Error {
    fn localize_in(&self, l: Locale) -> String {
        self.msg().in_locale(l)
    }
}

fn failed(step: &'static str) -> impl Fn(CkError) -> Pkcs11Error {
    move |e| Pkcs11Error::Token { step, why: e.to_string() }
}

fn rv(e: &CkError) -> Option<RvError> {
    match e {
        CkError::Pkcs11(rv, _) => Some(*rv),
        _ => None,
    }
}

/// The process's context for the PKCS#11 library `path`, loaded and initialised once
/// (PKCS#11 allows one C_Initialize per process and module; it is never finalised, so
/// sessions of several users of one module in a process stay valid).
pub fn module(path: &Path) -> Result<Pkcs11, Pkcs11Error> {
    static MODULES: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    let mut modules = MODULES.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    if let Some(m) = modules.get(path) {
        return Ok(m.clone());
    }
    if !path.is_file() {
        return Err(Pkcs11Error::ModuleNotFound { module: path.to_path_buf() });
    }
    let unusable = |e: CkError| Pkcs11Error::ModuleUnusable { module: path.to_path_buf(), why: e.to_string() };
    let m = Pkcs11::new(path).map_err(unusable)?;
    match m.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) => {}
        Err(e) if rv(&e) == Some(RvError::CryptokiAlreadyInitialized) => {}
        Err(e) => return Err(unusable(e)),
    }
    modules.insert(path.to_path_buf(), m.clone());
    Ok(m)
}

/// Reads the PIN file: owner-only (as a key file), one line, not empty.
fn read_pin(path: &Path) -> Result<AuthPin, Pkcs11Error> {
    let bad = |why: Msg| Pkcs11Error::PinFile { path: path.to_path_buf(), why };
    crate::files::check_key_file(path).map_err(|e| bad(Msg::of_error(&e)))?;
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad(Msg::new("relay-cfg-cannot-read").text("path", path.display()).text("error", e)))?;
    let pin = text.trim_end_matches(['\n', '\r']);
    if pin.is_empty() {
        return Err(bad(Msg::new("relay-pkcs11-pin-empty")));
    }
    Ok(AuthPin::from(pin.to_owned()))
}

/// An open, logged-in session and the key's handle in it.
struct Open {
    session: Session,
    key: ObjectHandle,
}

/// A signing key held in a token: an [`ExternalKey`] for [`Signer::from_external`].
pub struct TokenKey {
    config: TokenKeyConfig,
    ctx: Pkcs11,
    pin: Option<AuthPin>,
    public: [u8; 32],
    open: Mutex<Option<Open>>,
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the PIN.
        f.debug_struct("TokenKey")
            .field("uri", &self.config.uri.to_string())
            .field("module", &self.config.module)
            .finish()
    }
}

impl TokenKey {
    /// Loads the module, finds the token, logs in with the PIN file's PIN, and finds the
    /// Ed25519 key pair the URI names.
    pub fn open(config: &TokenKeyConfig) -> Result<Self, Pkcs11Error> {
        let ctx = module(&config.module)?;
        let pin = config.pin_file.as_deref().map(read_pin).transpose()?;
        let (open, public) = connect(&ctx, config, pin.as_ref())?;
        Ok(Self { config: config.clone(), ctx, pin, public, open: Mutex::new(Some(open)) })
    }

    fn sign_once(&self, open: &Open, msg: &[u8]) -> Result<Vec<u8>, CkError> {
        open.session.sign(&Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure)), open.key, msg)
    }
}

/// Return values after which a new session (and login) may succeed.
fn session_lost(e: &CkError) -> bool {
    matches!(
        rv(e),
        Some(
            RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::DeviceRemoved
                | RvError::DeviceError
                | RvError::TokenNotPresent
                | RvError::UserNotLoggedIn
                | RvError::ObjectHandleInvalid
                | RvError::KeyHandleInvalid
        )
    )
}

impl ExternalKey for TokenKey {
    fn public_key(&self) -> [u8; 32] {
        self.public
    }

    fn sign(&self, msg: &[u8]) -> Result<[u8; 64], ExternalKeyError> {
        let mut guard = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let first = match guard.as_ref() {
            Some(open) => self.sign_once(open, msg),
            None => Err(CkError::Pkcs11(RvError::SessionHandleInvalid, cryptoki::context::Function::Sign)),
        };
        let sig = match first {
            Ok(sig) => sig,
            Err(e) if session_lost(&e) => {
                // The token dropped the session: one new session, then this signature.
                *guard = None;
                let (open, public) = connect(&self.ctx, &self.config, self.pin.as_ref())
                    .map_err(|e| ExternalKeyError(format!("{}: {e}", self.config.uri)))?;
                if public != self.public {
                    return Err(ExternalKeyError(format!(
                        "{}: after reconnecting, the token holds another key than at start",
                        self.config.uri
                    )));
                }
                let sig = self.sign_once(&open, msg).map_err(|e| ExternalKeyError(format!("{}: {e}", self.config.uri)));
                *guard = Some(open);
                sig?
            }
            Err(e) => return Err(ExternalKeyError(format!("{}: {e}", self.config.uri))),
        };
        sig.try_into().map_err(|s: Vec<u8>| {
            ExternalKeyError(format!("{}: the token returned a {}-byte signature, not 64", self.config.uri, s.len()))
        })
    }
}

/// Finds the token, opens a session, logs in, finds the key pair.
fn connect(ctx: &Pkcs11, config: &TokenKeyConfig, pin: Option<&AuthPin>) -> Result<(Open, [u8; 32]), Pkcs11Error> {
    let uri = &config.uri;
    let slots = ctx.get_slots_with_token().map_err(failed("relay-pkcs11-step-slots"))?;
    let mut present = Vec::new();
    let mut matching = Vec::new();
    for slot in slots {
        let info = ctx.get_token_info(slot).map_err(failed("relay-pkcs11-step-token-info"))?;
        present.push(info.label().trim_end().to_owned());
        if uri.token_matches(slot, &info) {
            matching.push((slot, info));
        }
    }
    let (slot, info) = match matching.len() {
        0 => return Err(Pkcs11Error::TokenNotFound { wanted: uri.token_text(), present }),
        1 => matching.remove(0),
        count => return Err(Pkcs11Error::TokenAmbiguous { wanted: uri.token_text(), count }),
    };
    let label = info.label().trim_end().to_owned();
    let mechanisms = ctx.get_mechanism_list(slot).map_err(failed("relay-pkcs11-step-mechanisms"))?;
    if !mechanisms.contains(&MechanismType::EDDSA) {
        return Err(Pkcs11Error::MechanismUnsupported { token: label });
    }
    let session = ctx.open_ro_session(slot).map_err(failed("relay-pkcs11-step-session"))?;
    match pin {
        Some(pin) => match session.login(UserType::User, Some(pin)) {
            Ok(()) => {}
            Err(e) => match rv(&e) {
                Some(RvError::UserAlreadyLoggedIn) => {}
                Some(RvError::PinIncorrect) | Some(RvError::PinInvalid) | Some(RvError::PinLenRange) => {
                    return Err(Pkcs11Error::WrongPin {
                        token: label,
                        pin_file: config.pin_file.clone().unwrap_or_default(),
                    })
                }
                Some(RvError::PinLocked) => return Err(Pkcs11Error::PinLocked { token: label }),
                _ => return Err(failed("relay-pkcs11-step-login")(e)),
            },
        },
        None if info.login_required() => return Err(Pkcs11Error::PinNeeded { token: label }),
        None => {}
    }
    let object = uri.object_text();
    let keys = session
        .find_objects(&uri.key_template(ObjectClass::PRIVATE_KEY))
        .map_err(failed("relay-pkcs11-step-find-key"))?;
    let key = match keys.as_slice() {
        [] => return Err(Pkcs11Error::NoSuchObject { token: label, object }),
        [one] => *one,
        many => return Err(Pkcs11Error::ObjectAmbiguous { token: label, object, count: many.len() }),
    };
    let key_type =
        session.get_attributes(key, &[AttributeType::KeyType]).map_err(failed("relay-pkcs11-step-key-type"))?;
    match key_type.as_slice() {
        [Attribute::KeyType(t)] if *t == KeyType::EC_EDWARDS => {}
        [Attribute::KeyType(t)] => return Err(Pkcs11Error::NotEd25519 { object, found: t.to_string() }),
        _ => return Err(Pkcs11Error::NotEd25519 { object, found: "?".into() }),
    }
    let publics = session
        .find_objects(&uri.key_template(ObjectClass::PUBLIC_KEY))
        .map_err(failed("relay-pkcs11-step-find-public"))?;
    let Some(public_handle) = publics.first() else {
        return Err(Pkcs11Error::NoPublicKey { token: label, object });
    };
    let point = session
        .get_attributes(*public_handle, &[AttributeType::EcPoint])
        .map_err(failed("relay-pkcs11-step-ec-point"))?;
    let public = match point.as_slice() {
        [Attribute::EcPoint(p)] => ed25519_point(p),
        _ => None,
    }
    .ok_or_else(|| Pkcs11Error::NotEd25519 { object: object.clone(), found: "CKA_EC_POINT".into() })?;
    Ok((Open { session, key }, public))
}

/// The 32-byte Ed25519 public key in a CKA_EC_POINT: a DER OCTET STRING (PKCS#11 3.0,
/// SoftHSM2) or, from some tokens, the bare 32 bytes.
fn ed25519_point(p: &[u8]) -> Option<[u8; 32]> {
    match p {
        [0x04, 0x20, rest @ ..] if rest.len() == 32 => rest.try_into().ok(),
        bare if bare.len() == 32 => bare.try_into().ok(),
        _ => None,
    }
}

/// The relay's signer for a key in a token and its certificate (DER): opens the token and
/// checks key and certificate belong together ([`Signer::from_external`]).
pub fn signer(config: &TokenKeyConfig, cert_der: Vec<u8>) -> Result<Signer, Pkcs11Error> {
    let key = TokenKey::open(config)?;
    Signer::from_external(Arc::new(key), cert_der)
        .map_err(|e| Pkcs11Error::Certificate { uri: config.uri.to_string(), why: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_name_token_and_key() {
        let u = KeyUri::parse("pkcs11:token=tiprelay;object=receipt-signing").unwrap();
        assert_eq!(u.token.as_deref(), Some("tiprelay"));
        assert_eq!(u.object.as_deref(), Some("receipt-signing"));
        assert_eq!(u.to_string(), "pkcs11:token=tiprelay;object=receipt-signing");
        let u = KeyUri::parse("PKCS11:serial=abc%20def;slot-id=7;id=%01%02;type=private").unwrap();
        assert_eq!(u.serial.as_deref(), Some("abc def"));
        assert_eq!(u.slot_id, Some(7));
        assert_eq!(u.id, Some(vec![1, 2]));
        assert!(is_uri("Pkcs11:token=x;object=y"));
        assert!(!is_uri("/etc/tiprelay/sign.key"));
    }

    #[test]
    fn bad_uris_are_refused_with_the_reason() {
        let why = |s: &str| KeyUri::parse(s).unwrap_err().to_string();
        assert!(why("pkcs11:token=t;object=k?pin-value=1234").contains("PIN"), "{}", why("pkcs11:token=t?pin-value=1"));
        assert!(why("pkcs11:token=t;object=k?module-path=/x.so").contains("pkcs11_module"));
        assert!(why("pkcs11:token=t").contains("object="));
        assert!(why("pkcs11:object=k").contains("token="));
        assert!(why("pkcs11:token=t;object=k;object=j").contains("twice"));
        assert!(why("pkcs11:token=t;object=k;colour=red").contains("colour"));
        assert!(why("pkcs11:token=t;object=%zz").contains("%zz"));
        assert!(why("pkcs11:token=t;object=k;type=cert").contains("cert"));
        assert!(why("pkcs11:token=t;slot-id=x;object=k").contains("slot-id"));
        assert!(why("pkcs11:token=t;object").contains("object"));
        // Spanish too.
        let es = KeyUri::parse("pkcs11:token=t").unwrap_err().in_locale(Locale::Es);
        assert!(es.contains("object="), "{es}");
        assert_ne!(es, KeyUri::parse("pkcs11:token=t").unwrap_err().to_string());
    }

    #[test]
    fn ec_points_in_both_encodings() {
        let mut der = vec![0x04, 0x20];
        der.extend([7u8; 32]);
        assert_eq!(ed25519_point(&der), Some([7u8; 32]));
        assert_eq!(ed25519_point(&[9u8; 32]), Some([9u8; 32]));
        assert_eq!(ed25519_point(&[0x04, 0x39]), None);
        assert_eq!(ed25519_point(&[1u8; 57]), None);
    }

    #[test]
    fn a_missing_module_is_named() {
        let e = module(Path::new("/nonexistent/libnothing.so")).unwrap_err();
        assert!(matches!(e, Pkcs11Error::ModuleNotFound { .. }));
        assert!(e.to_string().contains("/nonexistent/libnothing.so"), "{e}");
        assert!(e.localize_in(Locale::Es).contains("/nonexistent/libnothing.so"));
    }

    #[test]
    fn every_error_reads_in_both_languages() {
        let errors = [
            Pkcs11Error::ModuleNotFound { module: "/m.so".into() },
            Pkcs11Error::ModuleUnusable { module: "/m.so".into(), why: "x".into() },
            Pkcs11Error::TokenNotFound { wanted: "token=a".into(), present: vec!["b".into()] },
            Pkcs11Error::TokenAmbiguous { wanted: "token=a".into(), count: 2 },
            Pkcs11Error::PinFile { path: "/p".into(), why: Msg::new("relay-pkcs11-pin-empty") },
            Pkcs11Error::PinNeeded { token: "t".into() },
            Pkcs11Error::WrongPin { token: "t".into(), pin_file: "/p".into() },
            Pkcs11Error::PinLocked { token: "t".into() },
            Pkcs11Error::NoSuchObject { token: "t".into(), object: "object=k".into() },
            Pkcs11Error::ObjectAmbiguous { token: "t".into(), object: "object=k".into(), count: 2 },
            Pkcs11Error::NoPublicKey { token: "t".into(), object: "object=k".into() },
            Pkcs11Error::NotEd25519 { object: "object=k".into(), found: "CKK_EC".into() },
            Pkcs11Error::MechanismUnsupported { token: "t".into() },
            Pkcs11Error::Certificate { uri: "pkcs11:token=t;object=k".into(), why: "w".into() },
            Pkcs11Error::Token { step: "relay-pkcs11-step-login", why: "w".into() },
        ];
        for e in errors {
            let (en, es) = (e.to_string(), e.localize_in(Locale::Es));
            assert!(!en.is_empty() && !en.contains("relay-pkcs11-"), "{en}");
            assert!(!es.contains("relay-pkcs11-"), "{es}");
            assert_ne!(en, es, "{en}");
        }
    }
}

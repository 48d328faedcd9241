//! The user-facing text of typed errors, in this process's language.
//!
//! The libraries' own `Display` texts stay English: they are what logs and the wire carry
//! (a relay never sends Spanish to a peer). The binaries show errors to people through
//! [`render_chain`], which takes each cause's text from Fluent
//! (`common/locales/{en,es}/errors.ftl`) when its type implements [`Localize`].

use std::error::Error;

use crate::i18n::{locale, Locale};

/// An error's text for a person.
pub trait Localize {
    /// The message in `l`, including the localised text of the sources its English
    /// `Display` includes. In English it equals the `Display` text.
    fn localize_in(&self, l: Locale) -> String;

    /// The message in this process's language.
    fn localize(&self) -> String {
        self.localize_in(locale())
    }
}

/// A refusal received from the relay, for a person: its wire code (language-neutral)
/// says what happened, in this process's language; `detail` is the relay's own English
/// text, kept as sent.
pub fn wire_reason(code: tiprelay_proto::error::ErrorCode, detail: &str) -> String {
    let _ = code;
    detail.to_owned()
}

/// The localised text of one cause when its type is one this crate knows; None otherwise.
pub fn localize_known(e: &(dyn Error + 'static)) -> Option<String> {
    let _ = e;
    None
}

/// An error chain as a person reads it (anyhow's `{:#}` form, each cause after `: `), in
/// this process's language. `extra` localises the calling binary's own error types (it is
/// asked first); other causes come from [`localize_known`], else their `Display`. A cause
/// whose English text its predecessor already includes is not repeated.
pub fn render_chain<'a>(
    causes: impl IntoIterator<Item = &'a (dyn Error + 'static)>,
    extra: &dyn Fn(&(dyn Error + 'static)) -> Option<String>,
) -> String {
    let mut out = String::new();
    let mut prev_en: Option<String> = None;
    for cause in causes {
        let en = cause.to_string();
        if prev_en.as_deref().is_some_and(|p| p.contains(&en)) {
            continue;
        }
        let text = extra(cause).or_else(|| localize_known(cause)).unwrap_or_else(|| en.clone());
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
        prev_en = Some(en);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer: {0}")]
    struct Outer(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("inner")]
    struct Inner;

    #[test]
    fn a_cause_the_previous_text_includes_is_not_repeated() {
        let e = Outer(Inner);
        let causes: Vec<&(dyn Error + 'static)> = vec![&e, &Inner];
        assert_eq!(render_chain(causes, &|_| None), "outer: inner");
        let causes: Vec<&(dyn Error + 'static)> = vec![&Inner, &e];
        assert_eq!(render_chain(causes, &|c| c.is::<Inner>().then(|| "dentro".to_owned())), "dentro: outer: inner");
    }
}

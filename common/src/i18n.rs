//! Spanish and English for every user-facing string of `tipctl`, `tiprelay` and `tipcerts`,
//! from Fluent resources (`common/locales/{en,es}/*.ftl`, one file per domain), never
//! strings scattered in code.
//!
//! The language is chosen once per process: the configuration's `lang` when the program
//! has one ([`set_locale`]), else `LC_ALL`, `LC_MESSAGES`, `LANG` (the first one set), else
//! English. JSON output keys, wire codes and log lines stay language-neutral.
//!
//! `--help`: the English text is the clap doc comments; [`localize_help`] replaces each
//! `about` and argument `help` with its Spanish message `help-<command path>` /
//! `help-<command path>--<argument id>` when the language is Spanish, and a test checks
//! that every one has its message.

use std::sync::OnceLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};

/// The message resources, one per domain: (name, English, Spanish). A message id is
/// defined in one resource only (a test checks).
pub const RESOURCES: &[(&str, &str, &str)] = &[
    ("main", include_str!("../locales/en/main.ftl"), include_str!("../locales/es/main.ftl")),
    ("errors", include_str!("../locales/en/errors.ftl"), include_str!("../locales/es/errors.ftl")),
    ("tipctl", include_str!("../locales/en/tipctl.ftl"), include_str!("../locales/es/tipctl.ftl")),
    ("ledger", include_str!("../locales/en/ledger.ftl"), include_str!("../locales/es/ledger.ftl")),
    ("relay", include_str!("../locales/en/relay.ftl"), include_str!("../locales/es/relay.ftl")),
    ("certs", include_str!("../locales/en/certs.ftl"), include_str!("../locales/es/certs.ftl")),
    ("demo", include_str!("../locales/en/demo.ftl"), include_str!("../locales/es/demo.ftl")),
];

/// A user-interface language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    /// English.
    En,
    /// Spanish.
    Es,
}

impl Locale {
    /// A language tag or POSIX locale (`es`, `es_MX.UTF-8`, `en-US`); None when neither.
    pub fn parse(s: &str) -> Option<Locale> {
        let l = s.trim().to_ascii_lowercase();
        if l.starts_with("es") {
            Some(Locale::Es)
        } else if l.starts_with("en") || l == "c" || l == "posix" || l.starts_with("c.") {
            Some(Locale::En)
        } else {
            None
        }
    }

    /// From the environment: `LC_ALL`, `LC_MESSAGES`, `LANG`, the first one set (POSIX order).
    pub fn from_env() -> Locale {
        for v in ["LC_ALL", "LC_MESSAGES", "LANG"] {
            if let Ok(s) = std::env::var(v) {
                if !s.is_empty() {
                    return Locale::parse(&s).unwrap_or(Locale::En);
                }
            }
        }
        Locale::En
    }
}

/// 0: not chosen; 1: English; 2: Spanish.
static CHOSEN: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Sets the language for this process (once its configuration is read).
pub fn set_locale(l: Locale) {
    CHOSEN.store(if l == Locale::Es { 2 } else { 1 }, std::sync::atomic::Ordering::Relaxed);
}

/// The language of this process: the one set, else the environment's.
pub fn locale() -> Locale {
    match CHOSEN.load(std::sync::atomic::Ordering::Relaxed) {
        1 => Locale::En,
        2 => Locale::Es,
        _ => Locale::from_env(),
    }
}

/// The environment's language when `LC_ALL`, `LC_MESSAGES` or `LANG` names Spanish or
/// English; None when none is set or it names another language.
pub fn env_locale() -> Option<Locale> {
    ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|s| !s.is_empty())
        .and_then(|s| Locale::parse(&s))
}

struct Bundles {
    en: FluentBundle<FluentResource>,
    es: FluentBundle<FluentResource>,
}

fn bundle<'a>(tag: &str, ftls: impl Iterator<Item = &'a str>) -> FluentBundle<FluentResource> {
    let lang: unic_langid::LanguageIdentifier = tag.parse().unwrap_or_default();
    let mut b = FluentBundle::new_concurrent(vec![lang]);
    // No Unicode isolation marks around arguments: the output is a terminal or a file.
    b.set_use_isolating(false);
    for ftl in ftls {
        // A resource with a syntax error or a message defined twice still yields its good
        // messages; the tests catch both.
        let res = FluentResource::try_new(ftl.to_owned()).unwrap_or_else(|(r, _)| r);
        b.add_resource_overriding(res);
    }
    b
}

fn bundles() -> &'static Bundles {
    static B: OnceLock<Bundles> = OnceLock::new();
    B.get_or_init(|| Bundles {
        en: bundle("en", RESOURCES.iter().map(|r| r.1)),
        es: bundle("es", RESOURCES.iter().map(|r| r.2)),
    })
}

fn format_in(b: &FluentBundle<FluentResource>, id: &str, args: Option<&FluentArgs<'_>>) -> Option<String> {
    let msg = b.get_message(id)?;
    let pattern = msg.value()?;
    let mut errors = Vec::new();
    Some(b.format_pattern(pattern, args, &mut errors).into_owned())
}

/// The message `id` in `locale`, with its arguments; the English one when the Spanish is
/// missing, and the id itself when both are (a test keeps that from happening).
pub fn tr_in(locale: Locale, id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
    let mut fa = FluentArgs::new();
    for (k, v) in args {
        fa.set(*k, v.clone());
    }
    let fa = (!args.is_empty()).then_some(&fa);
    let b = bundles();
    let first = match locale {
        Locale::Es => format_in(&b.es, id, fa),
        Locale::En => None,
    };
    first.or_else(|| format_in(&b.en, id, fa)).unwrap_or_else(|| id.to_owned())
}

/// The message `id` in this process's language.
pub fn tr(id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
    tr_in(locale(), id, args)
}

/// Whether `id` exists in `locale`'s resource.
pub fn has(locale: Locale, id: &str) -> bool {
    let b = bundles();
    match locale {
        Locale::En => b.en.has_message(id),
        Locale::Es => b.es.has_message(id),
    }
}

/// A message in this process's language: `t!("id")` or `t!("id", "name" => value, …)`.
#[macro_export]
macro_rules! t {
    ($id:expr) => {
        $crate::i18n::tr($id, &[])
    };
    ($id:expr, $($k:literal => $v:expr),+ $(,)?) => {
        $crate::i18n::tr($id, &[$(($k, $crate::i18n::FluentValue::from($v))),+])
    };
}

pub use fluent_bundle::FluentValue;

/// The message ids of a Fluent resource, in order.
pub fn ids(ftl: &str) -> Vec<String> {
    ftl.lines()
        .filter(|l| l.chars().next().is_some_and(|c| c.is_ascii_alphabetic()))
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim().to_owned()))
        .collect()
}

/// The help message ids a command tree needs: `help-<path>` for each command with an
/// about, `help-<path>--<arg>` for each argument with help (clap's own help and version
/// flags are localised by [`localize_help`] itself).
pub fn help_ids(cmd: &clap::Command) -> Vec<String> {
    fn walk(c: &clap::Command, path: &str, out: &mut Vec<String>) {
        if c.get_about().is_some() {
            out.push(format!("help-{path}"));
        }
        for a in c.get_arguments() {
            let id = a.get_id().as_str();
            if a.get_help().is_some() && id != "help" && id != "version" {
                out.push(format!("help-{path}--{id}"));
            }
        }
        for s in c.get_subcommands() {
            if s.get_name() != "help" {
                walk(s, &format!("{path}-{}", s.get_name()), out);
            }
        }
    }
    let mut out = Vec::new();
    walk(cmd, cmd.get_name(), &mut out);
    out
}

/// The help messages `cmd` needs that the Spanish resources lack, each with its English text (for the
/// test that every command and option has its Spanish help, and for the translator).
pub fn missing_spanish_help(cmd: &clap::Command) -> Vec<String> {
    fn walk(c: &clap::Command, path: &str, out: &mut Vec<String>) {
        if let Some(a) = c.get_about() {
            let id = format!("help-{path}");
            if !has(Locale::Es, &id) {
                out.push(format!("{id} = {a}"));
            }
        }
        for a in c.get_arguments() {
            let id = a.get_id().as_str();
            if let (Some(h), false) = (a.get_help(), id == "help" || id == "version") {
                let key = format!("help-{path}--{id}");
                if !has(Locale::Es, &key) {
                    out.push(format!("{key} = {}", h.to_string().replace('\n', " ")));
                }
            }
        }
        for s in c.get_subcommands().filter(|s| s.get_name() != "help") {
            walk(s, &format!("{path}-{}", s.get_name()), out);
        }
    }
    let mut out = Vec::new();
    walk(cmd, cmd.get_name(), &mut out);
    out
}

/// The command tree with its help in this process's language: in Spanish, every about
/// and argument help from `help-…` messages (a long about from `help-<path>-long` when
/// there is one), the section headings, and the help and version flags. English is the
/// tree as written.
pub fn localize_help(cmd: clap::Command) -> clap::Command {
    if locale() == Locale::En {
        return cmd;
    }
    fn walk(mut c: clap::Command, path: String) -> clap::Command {
        let es = |id: &str| has(Locale::Es, id).then(|| tr_in(Locale::Es, id, &[]));
        if let Some(a) = es(&format!("help-{path}")) {
            c = c.about(a.clone());
            c = c.long_about(es(&format!("help-{path}-long")).unwrap_or(a));
        }
        if let Some(a) = es(&format!("help-{path}-after")) {
            c = c.after_help(a.clone()).after_long_help(a);
        }
        let ids: Vec<String> = c.get_arguments().map(|a| a.get_id().as_str().to_owned()).collect();
        for id in ids {
            let help = es(&format!("help-{path}--{id}"));
            let heading = if c.get_arguments().any(|a| a.get_id() == id.as_str() && a.is_positional()) {
                tr_in(Locale::Es, "heading-arguments", &[])
            } else {
                tr_in(Locale::Es, "heading-options", &[])
            };
            c = c.mut_arg(id.as_str(), |a| {
                let a = a.help_heading(heading);
                match help {
                    Some(h) => a.help(h.clone()).long_help(h),
                    None => a,
                }
            });
        }
        c = c
            .disable_help_flag(true)
            .arg(
                clap::Arg::new("help")
                    .short('h')
                    .long("help")
                    .action(clap::ArgAction::Help)
                    .global(true)
                    .help(tr_in(Locale::Es, "help-flag", &[]))
                    .help_heading(tr_in(Locale::Es, "heading-options", &[])),
            )
            .subcommand_help_heading(tr_in(Locale::Es, "heading-commands", &[]))
            .help_template(tr_in(Locale::Es, "help-template", &[]));
        if c.get_version().is_some() {
            c = c.disable_version_flag(true).arg(
                clap::Arg::new("version")
                    .short('V')
                    .long("version")
                    .action(clap::ArgAction::Version)
                    .help(tr_in(Locale::Es, "version-flag", &[]))
                    .help_heading(tr_in(Locale::Es, "heading-options", &[])),
            );
        }
        let subs: Vec<String> = c.get_subcommands().map(|s| s.get_name().to_owned()).collect();
        for s in subs {
            let p = format!("{path}-{s}");
            c = c.mut_subcommand(s.as_str(), |sc| walk(sc, p));
        }
        c
    }
    let name = cmd.get_name().to_owned();
    walk(cmd.disable_help_subcommand(true), name)
}

/// Parses the command line of `bin` with help and usage errors in this process's language.
/// Err(exit code) when the process should end now: 0 after printing help or the version,
/// 2 (usage) after printing the error.
pub fn parse_args<T: clap::CommandFactory + clap::FromArgMatches>(bin: &str) -> Result<T, u8> {
    match localize_help(T::command()).try_get_matches().and_then(|m| T::from_arg_matches(&m)) {
        Ok(c) => Ok(c),
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                if locale() == Locale::Es && e.kind() == ErrorKind::DisplayHelp {
                    // clap writes its usage placeholders in English; the rest is already ours.
                    print!("{}", spanish_placeholders(&e.render().to_string()));
                } else {
                    let _ = e.print();
                }
                Err(0)
            } else {
                eprint!("{}", render_clap_error(&e, bin));
                Err(2)
            }
        }
    }
}

/// clap's usage placeholders (`[OPTIONS]`, `<COMMAND>`, `[COMMAND]`) in Spanish.
pub fn spanish_placeholders(text: &str) -> String {
    text.replace("[OPTIONS]", "[OPCIONES]").replace("<COMMAND>", "<COMANDO>").replace("[COMMAND]", "[COMANDO]")
}

/// A clap error in this process's language: Spanish for the kinds a user meets (unknown
/// or missing argument, invalid value, conflict, unknown command), clap's English otherwise.
pub fn render_clap_error(e: &clap::Error, bin: &str) -> String {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if locale() == Locale::En || matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        return e.render().to_string();
    }
    let ctx = |k: ContextKind| match e.get(k) {
        Some(ContextValue::String(s)) => s.clone(),
        Some(ContextValue::Strings(v)) => v.join(", "),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let id = match e.kind() {
        ErrorKind::UnknownArgument => "clap-unknown-argument",
        ErrorKind::InvalidSubcommand => "clap-invalid-subcommand",
        ErrorKind::MissingRequiredArgument => "clap-missing-argument",
        ErrorKind::InvalidValue => "clap-invalid-value",
        ErrorKind::ValueValidation => "clap-invalid-value",
        ErrorKind::ArgumentConflict => "clap-conflict",
        ErrorKind::MissingSubcommand | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => "clap-missing-command",
        _ => return e.render().to_string(),
    };
    let arg = ctx(ContextKind::InvalidArg);
    let value = ctx(ContextKind::InvalidValue);
    let valid = ctx(ContextKind::ValidValue);
    let sub = ctx(ContextKind::InvalidSubcommand);
    let mut s = tr_in(
        Locale::Es,
        id,
        &[
            ("arg", FluentValue::from(arg)),
            ("value", FluentValue::from(value)),
            ("valid", FluentValue::from(valid.clone())),
            ("command", FluentValue::from(sub)),
            ("prior", FluentValue::from(ctx(ContextKind::PriorArg))),
        ],
    );
    if !valid.is_empty() && id == "clap-invalid-value" {
        s.push('\n');
        s.push_str(&tr_in(Locale::Es, "clap-valid-values", &[("valid", FluentValue::from(valid))]));
    }
    format!("{s}\n\n{}\n", tr_in(Locale::Es, "clap-see-help", &[("bin", FluentValue::from(bin.to_owned()))]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_resources_parse_and_hold_the_same_messages() {
        let mut seen: std::collections::BTreeMap<String, String> = Default::default();
        for (name, en_ftl, es_ftl) in RESOURCES {
            for (lang, ftl) in [("en", en_ftl), ("es", es_ftl)] {
                if let Err((_, errs)) = FluentResource::try_new((*ftl).to_owned()) {
                    panic!("{lang}/{name}.ftl has syntax errors: {errs:?}");
                }
                for id in ids(ftl) {
                    let here = format!("{lang}/{name}.ftl");
                    if let Some(before) = seen.insert(format!("{lang}:{id}"), here.clone()) {
                        panic!("message `{id}` is defined in {before} and again in {here}");
                    }
                }
            }
            // Help messages exist in Spanish only (English is the doc comments); every
            // other message exists in both.
            let en: std::collections::BTreeSet<String> = ids(en_ftl).into_iter().collect();
            let es: std::collections::BTreeSet<String> = ids(es_ftl)
                .into_iter()
                .filter(|i| !i.starts_with("help-") || i == "help-flag" || i == "help-template")
                .collect();
            let only_en: Vec<_> = en.difference(&es).collect();
            let only_es: Vec<_> = es.difference(&en).collect();
            assert!(only_en.is_empty(), "missing in es/{name}.ftl: {only_en:?}");
            assert!(only_es.is_empty(), "missing in en/{name}.ftl: {only_es:?}");
        }
        // Every message formats in both languages without a Fluent error (an unknown
        // variable or term shows up here, not in front of a user).
        let b = bundles();
        for (lang, bundle) in [("en", &b.en), ("es", &b.es)] {
            for (_, en_ftl, es_ftl) in RESOURCES {
                for id in ids(if lang == "en" { en_ftl } else { es_ftl }) {
                    let Some(msg) = bundle.get_message(&id) else { panic!("{lang}: `{id}` not loaded") };
                    if let Some(p) = msg.value() {
                        let mut errors = Vec::new();
                        let _ = bundle.format_pattern(p, None, &mut errors);
                        let bad: Vec<_> = errors
                            .iter()
                            .filter(|e| {
                                !matches!(
                                    e,
                                    fluent_bundle::FluentError::ResolverError(
                                        fluent_bundle::resolver::ResolverError::Reference(
                                            fluent_bundle::resolver::errors::ReferenceKind::Variable { .. }
                                        )
                                    )
                                )
                            })
                            .collect();
                        assert!(bad.is_empty(), "{lang}: `{id}` does not format: {bad:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn locales_come_from_tags_and_posix_names() {
        assert_eq!(Locale::parse("es_MX.UTF-8"), Some(Locale::Es));
        assert_eq!(Locale::parse("en_US.UTF-8"), Some(Locale::En));
        assert_eq!(Locale::parse("C.UTF-8"), Some(Locale::En));
        assert_eq!(Locale::parse("fr_FR"), None);
        assert_eq!(tr_in(Locale::Es, "no-such-message", &[]), "no-such-message");
    }
}

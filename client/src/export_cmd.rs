//! `tipctl export`: the tips held here as a STIX 2.1 bundle (docs/STIX.md).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde_json::json;
use tiprelay_client::stix::{export, Direction, ExportTip};
use tiprelay_client::{t, Client};
use tiprelay_proto::{parse, verify, Feedback, Receipt, Timestamp, Tip};

/// Which tips `export` takes.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Which {
    /// Tips received from the counterpart.
    In,
    /// Tips sent from here.
    Out,
    /// Both.
    Both,
}

/// The export formats.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// A STIX 2.1 bundle (JSON).
    #[value(name = "stix2.1", alias = "stix")]
    Stix21,
}

/// Options of `tipctl export`.
#[derive(clap::Args)]
pub struct ExportArgs {
    /// The format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Stix21, ignore_case = true)]
    format: ExportFormat,
    /// Tips written at or after this time: RFC 3339, a date (2026-11-01) or -DURATION (-7d).
    #[arg(long, allow_hyphen_values = true)]
    since: Option<String>,
    /// Tips written before this time (same forms as --since).
    #[arg(long, allow_hyphen_values = true)]
    until: Option<String>,
    /// Received tips, sent tips, or both.
    #[arg(long, value_enum, default_value_t = Which::Both, ignore_case = true)]
    direction: Which,
    /// Write the bundle to FILE (atomically) instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
    /// With --out: print a JSON summary {"tips", "objects", "out", "bundle"} instead of a sentence.
    #[arg(long)]
    json: bool,
}

/// Writes `bytes` to `path` atomically and owner-only (the bundle holds tips of every TLP
/// level): a new temporary file beside it (mode 0600, never an existing file or a symlink),
/// synced, then renamed over `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().with_context(|| t!("export-out-not-a-file"))?.to_string_lossy().into_owned();
    let mut rnd = [0u8; 8];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut rnd);
    let tmp = dir.join(format!(".{name}.tmp-{}", tiprelay_proto::Digest::of(&rnd).to_hex().get(..16).unwrap_or("0")));
    let r = (|| {
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r.with_context(|| t!("tipctl-cannot-write", "path" => path.display().to_string()))
}

/// One held tip, verified again now at its relay's acceptance time.
fn held(c: &Client, envelope: &[u8], receipt: Option<&[u8]>, direction: Direction) -> Result<ExportTip> {
    let tip = parse::<Tip>(envelope)?.message;
    let receipt = receipt.map(parse::<Receipt>).transpose()?.map(|p| p.message);
    let at = receipt.as_ref().map_or(tip.created, |r| r.accepted);
    // With a receipt, as of its acceptance time: an author revoked after it still vouches
    // for the tip (PROTOCOL §6.3), and the note says when the revocation came.
    let checked = match receipt.as_ref() {
        Some(_) => c.verify_tip_as_of(envelope, at),
        None => verify::<Tip>(envelope, c.trust(), at).map(|v| (v, None)),
    };
    let verification = match checked {
        Ok((v, revoked)) => Ok(format!(
            "Ed25519 COSE_Sign1 signature of {} verified by {} when this bundle was written: the certificate chains to \
             the {} root CA and was valid and not revoked at {at}{}{}",
            v.signer,
            c.principal(),
            tip.from,
            receipt
                .as_ref()
                .map(|r| format!(", when {} accepted the tip (receipt seq {})", r.relay, r.seq))
                .unwrap_or_default(),
            revoked.map(|r| format!("; the certificate was revoked later, at {r}")).unwrap_or_default()
        )),
        Err(e) => Err(format!("verification failed when this bundle was written: {e}")),
    };
    let mut feedback = Vec::new();
    for f in c.store.feedback_for(tip.from.as_str(), tip.id.as_bytes())? {
        if let Ok(p) = parse::<Feedback>(&f.envelope) {
            feedback.push(p.message);
        }
    }
    feedback.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.to_string().cmp(&b.id.to_string())));
    Ok(ExportTip { tip, receipt, direction, verification, feedback })
}

/// Runs `tipctl export`.
pub fn run(c: &Client, a: &ExportArgs, parse_time: impl Fn(&str, &str) -> Result<Timestamp>) -> Result<ExitCode> {
    let ExportFormat::Stix21 = a.format;
    let since = a.since.as_deref().map(|s| parse_time(s, "since")).transpose()?.map_or(0, |t| t.as_unix_ms());
    let until = a.until.as_deref().map(|s| parse_time(s, "until")).transpose()?.map_or(u64::MAX, |t| t.as_unix_ms());
    let mut tips = Vec::new();
    if a.direction != Which::Out {
        for (_, _, r) in c.store.inbox()? {
            tips.push(held(c, &r.envelope, Some(&r.receipt), Direction::In)?);
        }
    }
    if a.direction != Which::In {
        for (_, r) in c.store.outbox()? {
            if r.rejected.is_some() {
                continue;
            }
            tips.push(held(c, &r.envelope, r.receipt.as_deref(), Direction::Out)?);
        }
    }
    tips.retain(|t| (since..until).contains(&t.tip.created.as_unix_ms()));
    tips.sort_by(|x, y| {
        (x.tip.created, x.tip.from.as_str(), x.tip.id.as_bytes()).cmp(&(
            y.tip.created,
            y.tip.from.as_str(),
            y.tip.id.as_bytes(),
        ))
    });
    let bundle = export(&tips);
    let objects = bundle.get("objects").and_then(|o| o.as_array()).map_or(0, Vec::len);
    let mut text = serde_json::to_vec_pretty(&bundle)?;
    text.push(b'\n');
    match &a.out {
        Some(path) => {
            write_atomic(path, &text)?;
            if a.json {
                println!(
                    "{}",
                    json!({"tips": tips.len(), "objects": objects, "out": path.display().to_string(), "bundle": bundle.get("id")})
                );
            } else {
                println!(
                    "{}",
                    t!("export-wrote", "tips" => tips.len(), "objects" => objects, "path" => path.display().to_string())
                );
            }
        }
        None => {
            std::io::stdout().write_all(&text)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

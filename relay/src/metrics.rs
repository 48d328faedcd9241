//! Prometheus metrics and health endpoints (issue 14): one registry per relay, encoded by
//! `prometheus-client`, served on an address of its own (`[metrics] listen`), never on the
//! QUIC port. Labels carry request kinds, outcomes, jurisdictions and authorities, never a
//! principal, a tip id or any tip content.
//!
//! The HTTP side is deliberately tiny: `GET /metrics`, `GET /healthz`, `GET /readyz`, one
//! request per connection, a request head of at most 8 KiB read within 2 s, at most 32
//! scrapes at once.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

/// `kind` (request name) and `outcome` (`ok` or the error's name).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// Request kind (`submit`, `fetch`, …; `invalid` when it did not decode).
    pub kind: String,
    /// `ok`, or the error code's name.
    pub outcome: String,
}

/// A request kind.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    /// Request kind (`submit`, `fetch`, …).
    pub kind: String,
}

/// Buckets of request durations (seconds): 0.5 ms to 1 s.
fn request_histogram() -> Histogram {
    Histogram::new([0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0])
}

/// A direction.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DirectionLabels {
    /// Sending jurisdiction.
    pub from: String,
    /// Receiving jurisdiction.
    pub to: String,
}

/// A receiving jurisdiction.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ToLabels {
    /// Receiving jurisdiction.
    pub to: String,
}

/// A jurisdiction.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JurisdictionLabels {
    /// Jurisdiction code (or `OPERATOR`).
    pub jurisdiction: String,
}

/// A wire error code.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CodeLabels {
    /// The code's name (`revoked`, `bad_signature`, …).
    pub code: String,
}

/// An outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// `ok`, `refused_older`, `unusable`.
    pub outcome: String,
}

/// An authority whose CRL is loaded.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AuthorityLabels {
    /// `MX`, `US`, `OPERATOR`.
    pub authority: String,
}

/// A certificate of the relay's configuration.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CertificateLabels {
    /// `tls`, `signing`, `root:MX`, `root:OPERATOR`, …
    pub certificate: String,
}

/// Every metric of a relay.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Requests answered, by kind and outcome.
    pub requests: Family<RequestLabels, Counter>,
    /// Time from a decoded request to its answer (verification, the writer's commit
    /// included; sending the answer excluded), by kind.
    pub request_seconds: Family<KindLabels, Histogram, fn() -> Histogram>,
    /// Tips accepted (durably, receipted), by direction.
    pub tips_accepted: Family<DirectionLabels, Counter>,
    /// Tips delivered for the first time to their recipient jurisdiction, by direction.
    pub tips_delivered: Family<DirectionLabels, Counter>,
    /// Tips accepted and not yet acknowledged, by recipient jurisdiction.
    pub pending_tips: Family<ToLabels, Gauge>,
    /// Authenticated connections, by the principal's jurisdiction.
    pub connections: Family<JurisdictionLabels, Gauge>,
    /// Group-commit durations (transaction and fsync), seconds.
    pub commit_seconds: Histogram,
    /// Tips and acks per group commit.
    pub commit_batch_size: Histogram,
    /// Operations waiting for the writer.
    pub writer_queue_depth: Gauge,
    /// Audit entries appended.
    pub audit_entries: Counter,
    /// Best-effort audit events dropped because the writer was saturated (each counted in
    /// an `events_dropped` entry).
    pub audit_events_dropped: Counter,
    /// Trust-file reloads, by outcome.
    pub trust_reloads: Family<OutcomeLabels, Counter>,
    /// Signed refusals of delivered tips by their recipients, by code.
    pub refusals: Family<CodeLabels, Counter>,
    /// nextUpdate of each authority's loaded CRL (Unix seconds), for CRL-age alerts.
    pub crl_next_update: Family<AuthorityLabels, Gauge>,
    /// notAfter of each certificate of the configuration (Unix seconds), for expiry alerts.
    pub certificate_expiry: Family<CertificateLabels, Gauge>,
    /// Federation: 1 while the link to the peer relay is up, by the peer's jurisdiction.
    pub peer_up: Family<PeerLabels, Gauge>,
    /// Federation: tips accepted here for the peer's jurisdiction and not yet receipted
    /// by the peer relay.
    pub peer_queued_tips: Family<PeerLabels, Gauge>,
    /// Federation: age in seconds of the oldest tip queued for the link (0 when none).
    pub peer_oldest_queued_seconds: Family<PeerLabels, Gauge>,
    /// Federation: tips the peer relay receipted over the link.
    pub peer_tips_crossed: Family<PeerLabels, Counter>,
    /// Federation: forwarded tips refused with `sequence_gap` (either way across the
    /// link): proof of omission, worth an alert.
    pub peer_sequence_gaps: Family<PeerLabels, Counter>,
    /// Federation: size of the peer relay's log this relay last cosigned.
    pub peer_witnessed_size: Family<PeerLabels, Gauge>,
    /// Federation: the peer's log failed a witness check (fork, rollback, inconsistent
    /// proof, bad signature): alert.
    pub peer_log_alarms: Family<PeerLabels, Counter>,
    /// Set when the relay serves (listening, store open); cleared at shutdown.
    ready: AtomicBool,
}

/// The peer relay of a federated relay.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PeerLabels {
    /// The peer's jurisdiction.
    pub peer: String,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let request_seconds = Family::<KindLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            request_histogram as fn() -> Histogram,
        );
        let tips_accepted = Family::<DirectionLabels, Counter>::default();
        let tips_delivered = Family::<DirectionLabels, Counter>::default();
        let pending_tips = Family::<ToLabels, Gauge>::default();
        let connections = Family::<JurisdictionLabels, Gauge>::default();
        let commit_seconds = Histogram::new([0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0]);
        let commit_batch_size = Histogram::new([1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0]);
        let writer_queue_depth = Gauge::default();
        let audit_entries = Counter::default();
        let audit_events_dropped = Counter::default();
        let trust_reloads = Family::<OutcomeLabels, Counter>::default();
        let refusals = Family::<CodeLabels, Counter>::default();
        let crl_next_update = Family::<AuthorityLabels, Gauge>::default();
        let certificate_expiry = Family::<CertificateLabels, Gauge>::default();
        registry.register("tiprelay_requests", "Requests answered, by kind and outcome", requests.clone());
        registry.register(
            "tiprelay_request_seconds",
            "Time from a decoded request to its answer (commit included, sending excluded), by kind",
            request_seconds.clone(),
        );
        registry.register("tiprelay_tips_accepted", "Tips accepted and receipted, by direction", tips_accepted.clone());
        registry.register(
            "tiprelay_tips_delivered",
            "Tips delivered for the first time to their recipient jurisdiction, by direction",
            tips_delivered.clone(),
        );
        registry.register(
            "tiprelay_pending_tips",
            "Tips accepted and not yet acknowledged, by recipient jurisdiction",
            pending_tips.clone(),
        );
        registry.register(
            "tiprelay_connections",
            "Authenticated connections, by the principal's jurisdiction",
            connections.clone(),
        );
        registry.register(
            "tiprelay_commit_seconds",
            "Group-commit duration (transaction and fsync), seconds",
            commit_seconds.clone(),
        );
        registry.register("tiprelay_commit_batch_size", "Tips and acks per group commit", commit_batch_size.clone());
        registry.register(
            "tiprelay_writer_queue_depth",
            "Operations waiting for the writer",
            writer_queue_depth.clone(),
        );
        registry.register("tiprelay_audit_entries", "Audit log entries appended", audit_entries.clone());
        registry.register(
            "tiprelay_audit_events_dropped",
            "Best-effort audit events dropped by a saturated writer (each counted in an events_dropped entry)",
            audit_events_dropped.clone(),
        );
        registry.register("tiprelay_trust_reloads", "Root and CRL reloads, by outcome", trust_reloads.clone());
        registry.register(
            "tiprelay_delivery_refusals",
            "Delivered tips refused for good by their recipients (signed refusals), by code",
            refusals.clone(),
        );
        registry.register(
            "tiprelay_crl_next_update_seconds",
            "nextUpdate of each authority's loaded CRL, Unix seconds",
            crl_next_update.clone(),
        );
        registry.register(
            "tiprelay_certificate_expiry_seconds",
            "notAfter of each certificate of the configuration (tls, signing, root:<authority>), Unix seconds",
            certificate_expiry.clone(),
        );
        let peer_up = Family::<PeerLabels, Gauge>::default();
        let peer_queued_tips = Family::<PeerLabels, Gauge>::default();
        let peer_oldest_queued_seconds = Family::<PeerLabels, Gauge>::default();
        let peer_tips_crossed = Family::<PeerLabels, Counter>::default();
        let peer_sequence_gaps = Family::<PeerLabels, Counter>::default();
        let peer_witnessed_size = Family::<PeerLabels, Gauge>::default();
        let peer_log_alarms = Family::<PeerLabels, Counter>::default();
        registry.register(
            "tiprelay_peer_witnessed_size",
            "Federation: size of the peer relay's audit log this relay last verified and cosigned",
            peer_witnessed_size.clone(),
        );
        registry.register(
            "tiprelay_peer_log_alarms",
            "Federation: the peer relay's audit log failed a witness check (fork, rollback, bad proof): alert",
            peer_log_alarms.clone(),
        );
        registry.register("tiprelay_peer_up", "Federation: 1 while the link to the peer relay is up", peer_up.clone());
        registry.register(
            "tiprelay_peer_queued_tips",
            "Federation: tips accepted here for the peer's jurisdiction, not yet receipted by the peer relay",
            peer_queued_tips.clone(),
        );
        registry.register(
            "tiprelay_peer_oldest_queued_seconds",
            "Federation: age of the oldest tip queued for the link, seconds (0 when none)",
            peer_oldest_queued_seconds.clone(),
        );
        registry.register(
            "tiprelay_peer_tips_crossed",
            "Federation: tips the peer relay receipted over the link",
            peer_tips_crossed.clone(),
        );
        registry.register(
            "tiprelay_peer_sequence_gaps",
            "Federation: forwarded tips refused for a gap in the home sequence (proof of omission; alert)",
            peer_sequence_gaps.clone(),
        );
        Self {
            registry,
            requests,
            request_seconds,
            tips_accepted,
            tips_delivered,
            pending_tips,
            connections,
            commit_seconds,
            commit_batch_size,
            writer_queue_depth,
            audit_entries,
            audit_events_dropped,
            peer_up,
            peer_queued_tips,
            peer_oldest_queued_seconds,
            peer_tips_crossed,
            peer_sequence_gaps,
            peer_witnessed_size,
            peer_log_alarms,
            trust_reloads,
            refusals,
            crl_next_update,
            certificate_expiry,
            ready: AtomicBool::new(false),
        }
    }

    /// Counts one answered request.
    pub fn request(&self, kind: &str, outcome: &str) {
        self.requests.get_or_create(&RequestLabels { kind: kind.into(), outcome: outcome.into() }).inc();
    }

    /// Records the CRLs of a trust store (nextUpdate per authority).
    pub fn crls(&self, trust: &tiprelay_proto::TrustStore) {
        for a in trust.authorities() {
            // The soonest of its roots' CRLs (two during a CA rollover).
            if let Some(next) = trust.crl_infos(a).into_iter().filter_map(|i| i.next_update).min() {
                let secs = i64::try_from(next.as_unix_ms() / 1000).unwrap_or(i64::MAX);
                self.crl_next_update.get_or_create(&AuthorityLabels { authority: a.to_string() }).set(secs);
            }
        }
    }

    /// Records the notAfter of the configuration's certificates.
    pub fn certificates(&self, certs: &[tiprelay_common::expiry::CertExpiry]) {
        for c in certs {
            let labels = CertificateLabels { certificate: c.name.clone() };
            self.certificate_expiry.get_or_create(&labels).set(c.not_after_unix_seconds());
        }
    }

    /// Marks the relay ready (serving) or not.
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Release);
    }

    /// The metrics in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// Serves `/metrics`, `/healthz` and `/readyz` on `listener` until `shutdown`.
pub async fn serve(listener: tokio::net::TcpListener, metrics: Arc<Metrics>, shutdown: CancellationToken) {
    let slots = Arc::new(tokio::sync::Semaphore::new(32));
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    // Out of file descriptors or similar: do not spin.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                let Ok(permit) = slots.clone().try_acquire_owned() else { continue };
                let m = metrics.clone();
                tasks.spawn(async move {
                    let _ = tokio::time::timeout(Duration::from_secs(5), answer(stream, &m)).await;
                    drop(permit);
                });
            }
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    tasks.abort_all();
}

async fn answer(mut stream: tokio::net::TcpStream, m: &Metrics) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    let got_head = tokio::time::timeout(Duration::from_secs(2), async {
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && !head.windows(2).any(|w| w == b"\n\n") {
            let n = stream.read(&mut buf).await?;
            if n == 0 || head.len() + n > 8192 {
                return Ok::<bool, std::io::Error>(false);
            }
            head.extend_from_slice(buf.get(..n).unwrap_or_default());
        }
        Ok(true)
    })
    .await;
    if !matches!(got_head, Ok(Ok(true))) {
        return Ok(());
    }
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("");
    let (status, ctype, body) = match (method, path) {
        ("GET", "/metrics") => ("200 OK", "application/openmetrics-text; version=1.0.0; charset=utf-8", m.encode()),
        ("GET", "/healthz") => ("200 OK", "text/plain; charset=utf-8", "ok\n".to_owned()),
        ("GET", "/readyz") if m.ready.load(Ordering::Acquire) => {
            ("200 OK", "text/plain; charset=utf-8", "ready\n".to_owned())
        }
        ("GET", "/readyz") => ("503 Service Unavailable", "text/plain; charset=utf-8", "not ready\n".to_owned()),
        ("GET", _) => {
            ("404 Not Found", "text/plain; charset=utf-8", "not found: /metrics, /healthz, /readyz\n".to_owned())
        }
        _ => ("405 Method Not Allowed", "text/plain; charset=utf-8", "only GET\n".to_owned()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

/// Binds the metrics listener (before the relay reports it is up, so a bad address fails
/// the start).
pub async fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await
}

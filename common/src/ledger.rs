//! Reciprocity ledgers (DESIGN §6): counting per direction, category and period, the
//! reciprocity summary per pair, signed statements, open items and reconciliation.
//!
//! Every view counts from the same per-tip record, [`TipFacts`], so the relay's ledger
//! (from its commits), a client's (from its own outbox, inbox and feedback) and a
//! counterpart's statement are comparable row by row and tip by tip.
//!
//! **Which period a tip belongs to**: the relay's acceptance time (the receipt's
//! `accepted`), which all three parties hold; a tip without a receipt (sent but never
//! accepted) is filed under its creation time.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};
use tiprelay_proto::{
    Category, Jurisdiction, LedgerRow, LedgerStatement, Outcome, PrincipalId, Timestamp, TipFacts, TipId,
};

use crate::i18n::{self, Locale};

pub use crate::localize::Msg;

/// Ledger granularity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// Calendar day (UTC), e.g. `2026-11-30`.
    Day,
    /// ISO 8601 week, e.g. `2026-W48`.
    Week,
    /// Calendar month, e.g. `2026-11`.
    Month,
}

impl Period {
    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
        }
    }

    /// The period label containing `t`.
    pub fn key(self, t: Timestamp) -> String {
        let d = date_of(t);
        match self {
            Self::Day => format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()),
            Self::Week => {
                let (y, w, _) = d.to_iso_week_date();
                format!("{y:04}-W{w:02}")
            }
            Self::Month => format!("{:04}-{:02}", d.year(), u8::from(d.month())),
        }
    }
}

impl Period {
    /// Its name for a person, in `l`.
    pub fn name_in(self, l: Locale) -> String {
        let id = match self {
            Self::Day => "ledger-period-day",
            Self::Week => "ledger-period-week",
            Self::Month => "ledger-period-month",
        };
        i18n::tr_in(l, id, &[])
    }
}

impl std::str::FromStr for Period {
    type Err = UnknownPeriod;
    fn from_str(s: &str) -> Result<Self, UnknownPeriod> {
        match s {
            "day" => Ok(Self::Day),
            "week" => Ok(Self::Week),
            "month" => Ok(Self::Month),
            _ => Err(UnknownPeriod(s.to_owned())),
        }
    }
}

/// A granularity other than `day`, `week` or `month`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown period `{0}` (expected day, week or month)")]
pub struct UnknownPeriod(pub String);

/// Why a named period, an instant or a `--since`/`--until` pair was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    /// Not `2026`, `2026-11`, `2026-W48` or `2026-11-30`, or no such calendar unit.
    #[error("`{0}` is not a period: use 2026, 2026-11, 2026-W48 or 2026-11-30")]
    NotAPeriod(String),
    /// Neither a date nor an RFC 3339 time.
    #[error("`{0}` is not a date (2026-11-01) or an RFC 3339 time (2026-11-01T12:00:00Z)")]
    NotAnInstant(String),
    /// `until` is not after `since`.
    #[error("--until must be after --since")]
    UntilNotAfterSince,
}

fn date_of(t: Timestamp) -> time::Date {
    let secs = i64::try_from(t.as_unix_ms() / 1000).unwrap_or(0);
    time::OffsetDateTime::from_unix_timestamp(secs).map(|d| d.date()).unwrap_or(time::Date::MIN)
}

fn ms_of(d: time::Date) -> Timestamp {
    let secs = d.midnight().assume_utc().unix_timestamp();
    Timestamp::from_unix_seconds(secs)
}

/// A half-open time range `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// Inclusive start.
    pub start: Timestamp,
    /// Exclusive end.
    pub end: Timestamp,
}

impl Range {
    /// Everything.
    pub fn all() -> Self {
        Self { start: Timestamp::from_unix_seconds(0), end: Timestamp::from_unix_seconds(i64::MAX) }
    }

    /// Whether `t` falls in it.
    pub fn contains(&self, t: Timestamp) -> bool {
        t >= self.start && t < self.end
    }

    /// Parses a named period: `2026` (year), `2026-11` (month), `2026-W48` (ISO week) or
    /// `2026-11-30` (day), all UTC.
    pub fn parse_period(s: &str) -> Result<Self, RangeError> {
        let bad = || RangeError::NotAPeriod(s.to_owned());
        let num = |x: &str| x.parse::<i32>().map_err(|_| bad());
        let parts: Vec<&str> = s.split('-').collect();
        let (start, end) = match parts.as_slice() {
            [y] => {
                let y = num(y)?;
                let a = time::Date::from_calendar_date(y, time::Month::January, 1).map_err(|_| bad())?;
                let b = time::Date::from_calendar_date(y + 1, time::Month::January, 1).map_err(|_| bad())?;
                (a, b)
            }
            [y, w] if w.starts_with('W') => {
                let (y, w) = (num(y)?, u8::try_from(num(&w[1..])?).map_err(|_| bad())?);
                let a = time::Date::from_iso_week_date(y, w, time::Weekday::Monday).map_err(|_| bad())?;
                (a, a.checked_add(time::Duration::days(7)).ok_or_else(bad)?)
            }
            [y, m] => {
                let (y, m) = (num(y)?, u8::try_from(num(m)?).map_err(|_| bad())?);
                let month = time::Month::try_from(m).map_err(|_| bad())?;
                let a = time::Date::from_calendar_date(y, month, 1).map_err(|_| bad())?;
                let b = if month == time::Month::December {
                    time::Date::from_calendar_date(y + 1, time::Month::January, 1)
                } else {
                    time::Date::from_calendar_date(y, month.next(), 1)
                }
                .map_err(|_| bad())?;
                (a, b)
            }
            [y, m, d] => {
                let (y, m, d) =
                    (num(y)?, u8::try_from(num(m)?).map_err(|_| bad())?, u8::try_from(num(d)?).map_err(|_| bad())?);
                let month = time::Month::try_from(m).map_err(|_| bad())?;
                let a = time::Date::from_calendar_date(y, month, d).map_err(|_| bad())?;
                (a, a.next_day().ok_or_else(bad)?)
            }
            _ => return Err(bad()),
        };
        Ok(Self { start: ms_of(start), end: ms_of(end) })
    }

    /// Parses a date or RFC 3339 instant (`2026-11-01` or `2026-11-01T12:00:00Z`).
    pub fn parse_instant(s: &str) -> Result<Timestamp, RangeError> {
        if let Ok(t) = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
            return Ok(Timestamp::from_unix_seconds(t.unix_timestamp()));
        }
        match Self::parse_period(s) {
            Ok(r) if s.len() == 10 => Ok(r.start),
            _ => Err(RangeError::NotAnInstant(s.to_owned())),
        }
    }

    /// `since`/`until` options (either may be absent).
    pub fn from_bounds(since: Option<&str>, until: Option<&str>) -> Result<Self, RangeError> {
        let all = Self::all();
        let start = since.map(Self::parse_instant).transpose()?.unwrap_or(all.start);
        let end = until.map(Self::parse_instant).transpose()?.unwrap_or(all.end);
        if end <= start {
            return Err(RangeError::UntilNotAfterSince);
        }
        Ok(Self { start, end })
    }
}

/// Median and 90th percentile of a set of durations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Latency {
    /// How many durations.
    pub n: u64,
    /// Median (ms).
    pub median_ms: Option<u64>,
    /// 90th percentile (ms, nearest rank).
    pub p90_ms: Option<u64>,
}

impl Latency {
    /// From unsorted samples.
    pub fn of(mut v: Vec<u64>) -> Self {
        if v.is_empty() {
            return Self::default();
        }
        v.sort_unstable();
        let rank = |q: f64| {
            let i = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
            v.get(i).copied()
        };
        Self { n: v.len() as u64, median_ms: rank(0.5), p90_ms: rank(0.9) }
    }

    fn json(&self) -> Value {
        json!({"n": self.n, "median": self.median_ms, "p90": self.p90_ms})
    }
}

/// One ledger row: a direction, category and period.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Sending jurisdiction.
    pub from: Jurisdiction,
    /// Receiving jurisdiction.
    pub to: Jurisdiction,
    /// Category.
    pub category: Category,
    /// Period label (`2026-11`, `2026-W48`, `2026-11-30`).
    pub period: String,
    /// Written here (a sending client's own tips; 0 in other views).
    pub sent: u64,
    /// Accepted by the relay.
    pub accepted: u64,
    /// Delivered to the recipient (a sender only learns it from the ack).
    pub delivered: u64,
    /// Acknowledged by the recipient.
    pub acknowledged: u64,
    /// Tips with at least one feedback.
    pub feedback: u64,
    /// Feedback messages per outcome, like [`Outcome::ALL`].
    pub outcomes: [u64; 8],
    /// Acceptance → first acknowledgement.
    pub ack_latency: Latency,
    /// Acceptance → first feedback.
    pub feedback_latency: Latency,
}

/// The reciprocity summary of a pair of jurisdictions.
#[derive(Debug, Clone, PartialEq)]
pub struct PairSummary {
    /// First jurisdiction (alphabetical).
    pub a: Jurisdiction,
    /// Second jurisdiction.
    pub b: Jurisdiction,
    /// Tips accepted a → b.
    pub a_to_b: u64,
    /// Tips accepted b → a.
    pub b_to_a: u64,
    /// Acknowledged a → b tips.
    pub acked_a_to_b: u64,
    /// Acknowledged b → a tips.
    pub acked_b_to_a: u64,
    /// a → b tips with feedback.
    pub feedback_a_to_b: u64,
    /// b → a tips with feedback.
    pub feedback_b_to_a: u64,
}

impl PairSummary {
    /// a → b over b → a (None when b gave nothing).
    pub fn ratio(&self) -> Option<f64> {
        (self.b_to_a > 0).then(|| self.a_to_b as f64 / self.b_to_a as f64)
    }

    fn rate(n: u64, of: u64) -> Option<f64> {
        (of > 0).then(|| n as f64 / of as f64)
    }

    /// Share of a → b tips the recipient b responded to with feedback.
    pub fn response_rate_b(&self) -> Option<f64> {
        Self::rate(self.feedback_a_to_b, self.a_to_b)
    }

    /// Share of b → a tips the recipient a responded to with feedback.
    pub fn response_rate_a(&self) -> Option<f64> {
        Self::rate(self.feedback_b_to_a, self.b_to_a)
    }

    fn json(&self) -> Value {
        let (a, b) = (self.a.as_str(), self.b.as_str());
        json!({
            "pair": [a, b],
            "tips": {format!("{a}->{b}"): self.a_to_b, format!("{b}->{a}"): self.b_to_a},
            "ratio": self.ratio(),
            "ack_rate": {
                format!("{a}->{b}"): Self::rate(self.acked_a_to_b, self.a_to_b),
                format!("{b}->{a}"): Self::rate(self.acked_b_to_a, self.b_to_a),
            },
            "response_rate": {
                format!("{a}->{b}"): self.response_rate_b(),
                format!("{b}->{a}"): self.response_rate_a(),
            },
        })
    }
}

/// A ledger: rows and pair summaries for one view over one range.
#[derive(Debug, Clone, PartialEq)]
pub struct Ledger {
    /// Whose records: `relay` or a principal URI.
    pub view: String,
    /// Granularity.
    pub period: Period,
    /// The range counted.
    pub range: Range,
    /// Rows in (from, to, category, period) order.
    pub rows: Vec<Row>,
    /// One summary per pair seen.
    pub pairs: Vec<PairSummary>,
}

#[derive(Default)]
struct Acc {
    sent: u64,
    accepted: u64,
    delivered: u64,
    acknowledged: u64,
    feedback: u64,
    outcomes: [u64; 8],
    ack: Vec<u64>,
    fb: Vec<u64>,
}

/// Counts `facts` whose ledger time falls in `range`.
pub fn aggregate<'a>(
    view: &str,
    facts: impl IntoIterator<Item = &'a TipFacts>,
    period: Period,
    range: Range,
) -> Ledger {
    let mut agg = Aggregator::new(period, range);
    for f in facts {
        agg.add(f);
    }
    agg.finish(view)
}

/// Counts facts one at a time (a ledger over a store is a stream, not a list in memory).
pub struct Aggregator {
    period: Period,
    range: Range,
    rows: BTreeMap<(Jurisdiction, Jurisdiction, usize, u64), Acc>,
    // One period label per distinct day: labels by day number, rows keyed by the label's index.
    labels: HashMap<String, u64>,
    days: HashMap<u64, u64>,
    names: Vec<String>,
}

impl Aggregator {
    /// An empty count.
    pub fn new(period: Period, range: Range) -> Self {
        Self { period, range, rows: BTreeMap::new(), labels: HashMap::new(), days: HashMap::new(), names: Vec::new() }
    }

    fn label(&mut self, t: Timestamp) -> u64 {
        let day = t.as_unix_ms() / 86_400_000;
        if let Some(i) = self.days.get(&day) {
            return *i;
        }
        let name = self.period.key(t);
        let i = match self.labels.get(&name) {
            Some(i) => *i,
            None => {
                let i = self.names.len() as u64;
                self.labels.insert(name.clone(), i);
                self.names.push(name);
                i
            }
        };
        self.days.insert(day, i);
        i
    }

    /// Counts one tip (ignored when its ledger time is outside the range).
    pub fn add(&mut self, f: &TipFacts) {
        let t = f.period_time();
        if !self.range.contains(t) {
            return;
        }
        let label = self.label(t);
        let cat = Category::ALL.iter().position(|c| *c == f.category).unwrap_or(0);
        let a = self.rows.entry((f.from, f.to, cat, label)).or_default();
        a.sent += u64::from(f.sent);
        if f.rejected {
            return;
        }
        a.accepted += u64::from(f.accepted.is_some());
        a.delivered += u64::from(f.delivered.is_some());
        a.acknowledged += u64::from(f.acked.is_some());
        a.feedback += u64::from(f.feedback_count() > 0);
        for (o, n) in a.outcomes.iter_mut().zip(f.outcomes) {
            *o += u64::from(n);
        }
        if let (Some(acc), Some(ack)) = (f.accepted, f.acked) {
            a.ack.push(ack.as_unix_ms().saturating_sub(acc.as_unix_ms()));
        }
        if let (Some(acc), Some(fb)) = (f.accepted, f.first_feedback) {
            a.fb.push(fb.as_unix_ms().saturating_sub(acc.as_unix_ms()));
        }
    }

    /// The ledger counted so far.
    pub fn finish(self, view: &str) -> Ledger {
        let (period, range, names) = (self.period, self.range, self.names);
        let mut pairs: BTreeMap<(Jurisdiction, Jurisdiction), PairSummary> = BTreeMap::new();
        let mut keyed: Vec<_> = self
            .rows
            .into_iter()
            .map(|((from, to, cat, l), a)| ((from, to, cat, names.get(l as usize).cloned().unwrap_or_default()), a))
            .collect();
        keyed.sort_by(|x, y| x.0.cmp(&y.0));
        let rows: Vec<Row> = keyed
            .into_iter()
            .map(|((from, to, cat, period_label), a)| {
                let (x, y) = if from < to { (from, to) } else { (to, from) };
                let p = pairs.entry((x, y)).or_insert(PairSummary {
                    a: x,
                    b: y,
                    a_to_b: 0,
                    b_to_a: 0,
                    acked_a_to_b: 0,
                    acked_b_to_a: 0,
                    feedback_a_to_b: 0,
                    feedback_b_to_a: 0,
                });
                if from == x {
                    p.a_to_b += a.accepted;
                    p.acked_a_to_b += a.acknowledged;
                    p.feedback_a_to_b += a.feedback;
                } else {
                    p.b_to_a += a.accepted;
                    p.acked_b_to_a += a.acknowledged;
                    p.feedback_b_to_a += a.feedback;
                }
                Row {
                    from,
                    to,
                    category: Category::ALL.get(cat).copied().unwrap_or(Category::Other),
                    period: period_label,
                    sent: a.sent,
                    accepted: a.accepted,
                    delivered: a.delivered,
                    acknowledged: a.acknowledged,
                    feedback: a.feedback,
                    outcomes: a.outcomes,
                    ack_latency: Latency::of(a.ack),
                    feedback_latency: Latency::of(a.fb),
                }
            })
            .collect();
        Ledger { view: view.into(), period, range, rows, pairs: pairs.into_values().collect() }
    }
}

impl Ledger {
    /// The `--json` contract: `{"view", "period", "since", "until", "rows": [...], "pairs": [...]}`.
    pub fn to_json(&self) -> Value {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|r| {
                let outcomes: serde_json::Map<String, Value> =
                    Outcome::ALL.iter().zip(r.outcomes).map(|(o, n)| (o.as_str().to_owned(), json!(n))).collect();
                json!({
                    "from": r.from.as_str(),
                    "to": r.to.as_str(),
                    "category": r.category.as_str(),
                    "period": r.period,
                    "sent": r.sent,
                    "accepted": r.accepted,
                    "delivered": r.delivered,
                    "acknowledged": r.acknowledged,
                    "feedback": r.feedback,
                    "outcomes": outcomes,
                    "ack_latency_ms": r.ack_latency.json(),
                    "feedback_latency_ms": r.feedback_latency.json(),
                })
            })
            .collect();
        json!({
            "view": self.view,
            "period": self.period.as_str(),
            "since": self.range.start.to_string(),
            "until": self.range.end.to_string(),
            "rows": rows,
            "pairs": self.pairs.iter().map(PairSummary::json).collect::<Vec<_>>(),
        })
    }

    /// CSV with a header line; one line per row, outcomes as columns.
    pub fn to_csv(&self) -> String {
        let mut s = String::from(
            "from,to,category,period,sent,accepted,delivered,acknowledged,feedback,ack_median_ms,ack_p90_ms,feedback_median_ms,feedback_p90_ms",
        );
        for o in Outcome::ALL {
            s.push(',');
            s.push_str(o.as_str());
        }
        s.push('\n');
        let opt = |v: Option<u64>| v.map(|x| x.to_string()).unwrap_or_default();
        for r in &self.rows {
            s.push_str(&format!(
                "{},{},{},{},{},{},{},{},{},{},{},{},{}",
                r.from,
                r.to,
                r.category.as_str(),
                r.period,
                r.sent,
                r.accepted,
                r.delivered,
                r.acknowledged,
                r.feedback,
                opt(r.ack_latency.median_ms),
                opt(r.ack_latency.p90_ms),
                opt(r.feedback_latency.median_ms),
                opt(r.feedback_latency.p90_ms),
            ));
            for n in r.outcomes {
                s.push_str(&format!(",{n}"));
            }
            s.push('\n');
        }
        s
    }

    /// A terminal table and the pair summaries below it, in this process's language.
    pub fn to_table(&self) -> String {
        self.to_table_in(i18n::locale())
    }

    /// A terminal table and the pair summaries below it, in `l`.
    pub fn to_table_in(&self, l: Locale) -> String {
        let tr = |id: &str| i18n::tr_in(l, id, &[]);
        let mut t = comfy_table::Table::new();
        t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
        t.set_header(
            [
                "ledger-col-direction",
                "ledger-col-category",
                "ledger-col-period",
                "ledger-col-sent",
                "ledger-col-accepted",
                "ledger-col-delivered",
                "ledger-col-acked",
                "ledger-col-feedback",
                "ledger-col-ack-latency",
                "ledger-col-feedback-latency",
            ]
            .map(tr),
        );
        for r in &self.rows {
            t.add_row(vec![
                format!("{}→{}", r.from, r.to),
                r.category.as_str().to_owned(),
                r.period.clone(),
                r.sent.to_string(),
                r.accepted.to_string(),
                r.delivered.to_string(),
                r.acknowledged.to_string(),
                r.feedback.to_string(),
                fmt_latency(&r.ack_latency),
                fmt_latency(&r.feedback_latency),
            ]);
        }
        let title = Msg::new("ledger-table-title")
            .text("view", &self.view)
            .text("range", self.range_text_in(l))
            .text("period", self.period.name_in(l));
        let mut s = format!("{}\n{t}\n", title.in_locale(l));
        if self.rows.is_empty() {
            s.push_str(&tr("ledger-no-tips-in-range"));
            s.push('\n');
        }
        for p in &self.pairs {
            let pct = |x: Option<f64>| x.map(|v| format!("{:.0}%", v * 100.0)).unwrap_or_else(|| "-".into());
            let line = Msg::new("ledger-pair-line")
                .text("a", p.a)
                .text("b", p.b)
                .number("ab", p.a_to_b)
                .number("ba", p.b_to_a)
                .text("ratio", p.ratio().map(|x| format!("{x:.2}")).unwrap_or_else(|| "-".into()))
                .text("rate_b", pct(p.response_rate_b()))
                .text("rate_a", pct(p.response_rate_a()));
            s.push_str(&line.in_locale(l));
            s.push('\n');
        }
        s
    }

    /// The range in words, in this process's language.
    pub fn range_text(&self) -> String {
        self.range_text_in(i18n::locale())
    }

    /// The range in words, in `l`.
    pub fn range_text_in(&self, l: Locale) -> String {
        if self.range == Range::all() {
            i18n::tr_in(l, "ledger-range-all", &[])
        } else {
            Msg::new("ledger-range").text("start", self.range.start).text("end", self.range.end).in_locale(l)
        }
    }
}

/// `1.2s/3.4s`, `-` when empty.
pub fn fmt_latency(l: &Latency) -> String {
    match (l.median_ms, l.p90_ms) {
        (Some(m), Some(p)) => format!("{}/{}", fmt_ms(m), fmt_ms(p)),
        _ => "-".into(),
    }
}

/// A duration in the largest sensible unit.
pub fn fmt_ms(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms}ms"),
        1_000..60_000 => format!("{:.1}s", ms as f64 / 1000.0),
        60_000..3_600_000 => format!("{:.1}min", ms as f64 / 60_000.0),
        3_600_000..86_400_000 => format!("{:.1}h", ms as f64 / 3_600_000.0),
        _ => format!("{:.1}d", ms as f64 / 86_400_000.0),
    }
}

/// Builds the statement of `me` for the pair (`me`, `counterpart`) over `range` from `facts`:
/// tips accepted in the range, in both directions, that these records hold.
pub fn build_statement(
    facts: &[TipFacts],
    me: Jurisdiction,
    counterpart: Jurisdiction,
    range: Range,
    by: PrincipalId,
    id: TipId,
    created: Timestamp,
) -> LedgerStatement {
    let covered: Vec<&TipFacts> = facts
        .iter()
        .filter(|f| {
            !f.rejected
                && f.accepted.is_some_and(|a| range.contains(a))
                && ((f.from == me && f.to == counterpart) || (f.from == counterpart && f.to == me))
        })
        .collect();
    let mut rows: BTreeMap<(Jurisdiction, Jurisdiction, usize), LedgerRow> = BTreeMap::new();
    for f in &covered {
        let cat = Category::ALL.iter().position(|c| *c == f.category).unwrap_or(0);
        let r = rows.entry((f.from, f.to, cat)).or_insert_with(|| LedgerRow::zero(f.from, f.to, f.category));
        r.sent += u64::from(f.sent);
        r.accepted += 1;
        r.delivered += u64::from(f.delivered.is_some());
        r.acknowledged += u64::from(f.acked.is_some());
        r.with_feedback += u64::from(f.feedback_count() > 0);
        for (o, n) in Outcome::ALL.iter().zip(f.outcomes) {
            if n == 0 {
                continue;
            }
            match r.outcomes.iter_mut().find(|(x, _)| x == o) {
                Some((_, c)) => *c += u64::from(n),
                None => r.outcomes.push((*o, u64::from(n))),
            }
        }
    }
    let ids: Vec<TipId> = covered.iter().map(|f| f.id).collect();
    LedgerStatement {
        id,
        jurisdiction: me,
        counterpart,
        period_start: range.start,
        period_end: range.end,
        by,
        created,
        rows: rows.into_values().collect(),
        tip_count: ids.len() as u64,
        tips_digest: LedgerStatement::digest_of_tips(&ids),
    }
}

/// A principal's facts exported for a jurisdiction-wide view (`tipctl ledger export`): a
/// CBOR map `{"principal": tstr, "facts": [* facts]}` with facts in the wire form of
/// PROTOCOL §10.4 plus `sent`/`rejected` flags.
pub fn export_facts(principal: &str, facts: &[TipFacts]) -> Vec<u8> {
    use ciborium::Value as C;
    let items = facts
        .iter()
        .map(|f| {
            let mut v = f.encode();
            if let C::Map(m) = &mut v {
                m.push((C::Text("sent".into()), C::Bool(f.sent)));
                m.push((C::Text("rejected".into()), C::Bool(f.rejected)));
            }
            v
        })
        .collect();
    let doc = C::Map(vec![
        (C::Text("principal".into()), C::Text(principal.into())),
        (C::Text("facts".into()), C::Array(items)),
    ]);
    let mut out = Vec::new();
    let _ = ciborium::ser::into_writer(&doc, &mut out);
    out
}

/// Why a facts export (`tipctl ledger export`) could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FactsError {
    /// Not CBOR.
    #[error("not a facts export: {0}")]
    Cbor(ciborium::de::Error<std::io::Error>),
    /// The document is not a CBOR map.
    #[error("not a facts export: not a map")]
    NotAMap,
    /// A key other than `principal` and `facts`, or one with a value of the wrong type.
    #[error("not a facts export: unexpected key")]
    UnexpectedKey,
    /// No `principal`.
    #[error("not a facts export: no principal")]
    NoPrincipal,
    /// An entry of `facts` is not a CBOR map.
    #[error("facts: not a map")]
    FactNotAMap,
    /// An entry of `facts` breaks a field rule.
    #[error("facts: {0}")]
    Fact(tiprelay_proto::FieldError),
}

/// Reads an export: the principal and its facts.
pub fn import_facts(bytes: &[u8]) -> Result<(String, Vec<TipFacts>), FactsError> {
    use ciborium::Value as C;
    let doc: C = ciborium::de::from_reader(bytes).map_err(FactsError::Cbor)?;
    let C::Map(m) = doc else { return Err(FactsError::NotAMap) };
    let mut principal = None;
    let mut facts = Vec::new();
    for (k, v) in m {
        match (k.as_text(), v) {
            (Some("principal"), C::Text(p)) => principal = Some(p),
            (Some("facts"), C::Array(items)) => {
                for item in items {
                    let C::Map(mut fm) = item else { return Err(FactsError::FactNotAMap) };
                    let mut flag = |name: &str| {
                        let i = fm.iter().position(|(k, _)| k.as_text() == Some(name));
                        i.map(|i| fm.remove(i).1) == Some(C::Bool(true))
                    };
                    let (sent, rejected) = (flag("sent"), flag("rejected"));
                    let mut f = TipFacts::decode(C::Map(fm)).map_err(FactsError::Fact)?;
                    f.sent = sent;
                    f.rejected = rejected;
                    facts.push(f);
                }
            }
            _ => return Err(FactsError::UnexpectedKey),
        }
    }
    Ok((principal.ok_or(FactsError::NoPrincipal)?, facts))
}

/// Merges several principals' facts into one jurisdiction view: one entry per tip, each
/// field the most any principal knows (a timestamp: the earliest; counts: the largest).
pub fn merge_facts(views: impl IntoIterator<Item = Vec<TipFacts>>) -> Vec<TipFacts> {
    let mut by: BTreeMap<(Jurisdiction, TipId), TipFacts> = BTreeMap::new();
    for v in views {
        for f in v {
            match by.get_mut(&(f.from, f.id)) {
                None => {
                    by.insert((f.from, f.id), f);
                }
                Some(m) => {
                    let earliest = |a: Option<Timestamp>, b: Option<Timestamp>| match (a, b) {
                        (Some(x), Some(y)) => Some(x.min(y)),
                        (x, y) => x.or(y),
                    };
                    m.sent |= f.sent;
                    m.rejected |= f.rejected;
                    m.accepted = m.accepted.or(f.accepted);
                    m.seq = m.seq.or(f.seq);
                    m.delivered = earliest(m.delivered, f.delivered);
                    m.acked = earliest(m.acked, f.acked);
                    m.first_feedback = earliest(m.first_feedback, f.first_feedback);
                    for (a, b) in m.outcomes.iter_mut().zip(f.outcomes) {
                        *a = (*a).max(b);
                    }
                }
            }
        }
    }
    by.into_values().collect()
}

/// One difference between two views.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discrepancy {
    /// The tip concerned (None for statement-level differences).
    pub tip: Option<TipId>,
    /// Machine-readable kind (`relay_missing`, `not_accepted`, `missing_here`, …).
    pub kind: &'static str,
    /// The difference in words, in English (the `--json` form).
    pub message: String,
    /// The same difference for a person, in any language.
    pub text: Msg,
}

impl Discrepancy {
    /// A difference described by `text` (its English form is [`Discrepancy::message`]).
    pub fn new(tip: Option<TipId>, kind: &'static str, text: Msg) -> Self {
        Self { tip, kind, message: text.to_string(), text }
    }

    fn tip(id: TipId, kind: &'static str, text: Msg) -> Self {
        Self::new(Some(id), kind, text)
    }

    /// The difference in words, in `l`.
    pub fn text_in(&self, l: Locale) -> String {
        self.text.in_locale(l)
    }

    /// JSON form.
    pub fn json(&self) -> Value {
        json!({"tip": self.tip.map(|t| t.to_string()), "kind": self.kind, "message": self.message})
    }
}

/// The parties and rules of a reconciliation.
#[derive(Debug, Clone)]
pub struct ReconcileScope<'a> {
    /// This side's jurisdiction.
    pub me: Jurisdiction,
    /// The principals whose sent tips these local records hold (this principal, plus any merged).
    pub authors: &'a [String],
    /// The range compared (by acceptance time).
    pub range: Range,
    /// Now.
    pub now: Timestamp,
    /// Tips accepted less than this long ago are still in flight: a missing ack or
    /// delivery is not yet a discrepancy.
    pub grace_ms: u64,
    /// Whether these records receive tips (analysts do; feeds only send).
    pub receives: bool,
}

/// Compares this side's records with the relay's, tip by tip. Both lists should come from
/// the same moment (sync first: resend, fetch, collect notices).
pub fn reconcile_with_relay(scope: &ReconcileScope<'_>, mine: &[TipFacts], relay: &[TipFacts]) -> Vec<Discrepancy> {
    let me = scope.me;
    let mine_by: HashMap<(Jurisdiction, TipId), &TipFacts> = mine.iter().map(|f| ((f.from, f.id), f)).collect();
    let relay_by: HashMap<(Jurisdiction, TipId), &TipFacts> = relay.iter().map(|f| ((f.from, f.id), f)).collect();
    let mut out = Vec::new();
    let settled = |f: &TipFacts| f.accepted.is_some_and(|a| a.as_unix_ms() + scope.grace_ms <= scope.now.as_unix_ms());
    for r in relay {
        if !r.accepted.is_some_and(|a| scope.range.contains(a)) {
            continue;
        }
        let seq = r.seq.unwrap_or(0);
        let m = mine_by.get(&(r.from, r.id)).copied();
        if r.from == me {
            if !scope.authors.contains(&r.author) {
                continue;
            }
            let Some(m) = m else {
                out.push(Discrepancy::tip(
                    r.id,
                    "missing_here",
                    Msg::new("ledger-diff-missing-here")
                        .text("tip", r.id)
                        .text("me", me)
                        .text("seq", seq)
                        .text("author", &r.author),
                ));
                continue;
            };
            if m.accepted.is_none() {
                out.push(Discrepancy::tip(
                    r.id,
                    "receipt_not_held",
                    Msg::new("ledger-diff-receipt-not-held").text("tip", r.id).text("seq", seq).text("me", me),
                ));
            }
            match (r.acked.is_some(), m.acked.is_some()) {
                (true, false) => out.push(Discrepancy::tip(
                    r.id,
                    "ack_not_received",
                    Msg::new("ledger-diff-ack-not-received").text("to", r.to).text("tip", r.id).text("me", me),
                )),
                (false, true) => out.push(Discrepancy::tip(
                    r.id,
                    "ack_unknown_to_relay",
                    Msg::new("ledger-diff-ack-unknown-to-relay").text("me", me).text("to", r.to).text("tip", r.id),
                )),
                (false, false) if settled(r) => out.push(Discrepancy::tip(
                    r.id,
                    "unacknowledged",
                    Msg::new(if r.delivered.is_some() {
                        "ledger-diff-delivered-unacked"
                    } else {
                        "ledger-diff-undelivered"
                    })
                    .text("tip", r.id)
                    .text("to", r.to),
                )),
                _ => {}
            }
            if r.feedback_count() != m.feedback_count() {
                out.push(Discrepancy::tip(
                    r.id,
                    "feedback_mismatch",
                    Msg::new("ledger-diff-feedback-at-relay")
                        .number("relay", r.feedback_count())
                        .text("tip", r.id)
                        .text("me", me)
                        .number("here", m.feedback_count()),
                ));
            }
        } else if r.to == me && scope.receives {
            let Some(m) = m else {
                out.push(Discrepancy::tip(
                    r.id,
                    "not_received",
                    Msg::new("ledger-diff-not-received")
                        .text("tip", r.id)
                        .text("from", r.from)
                        .text("me", me)
                        .text("seq", seq),
                ));
                continue;
            };
            if m.acked.is_none() && settled(r) {
                out.push(Discrepancy::tip(
                    r.id,
                    "not_acked_here",
                    Msg::new("ledger-diff-not-acked-here").text("me", me).text("tip", r.id).text("from", r.from),
                ));
            }
            if m.acked.is_some() && r.acked.is_none() {
                out.push(Discrepancy::tip(
                    r.id,
                    "ack_unknown_to_relay",
                    Msg::new("ledger-diff-acked-unknown-to-relay").text("me", me).text("tip", r.id),
                ));
            }
            if m.feedback_count() > r.feedback_count() {
                out.push(Discrepancy::tip(
                    r.id,
                    "feedback_mismatch",
                    Msg::new("ledger-diff-feedback-given")
                        .text("me", me)
                        .number("here", m.feedback_count())
                        .text("tip", r.id)
                        .number("relay", r.feedback_count()),
                ));
            }
        }
    }
    for m in mine {
        if m.rejected || relay_by.contains_key(&(m.from, m.id)) {
            continue;
        }
        if !scope.range.contains(m.period_time()) {
            continue;
        }
        if m.sent && m.accepted.is_none() {
            out.push(Discrepancy::tip(
                m.id,
                "not_accepted",
                Msg::new("ledger-diff-not-accepted").text("me", me).text("tip", m.id).text("to", m.to),
            ));
        } else if m.accepted.is_some() {
            out.push(Discrepancy::tip(
                m.id,
                "relay_missing",
                Msg::new("ledger-diff-relay-missing")
                    .text("me", me)
                    .text("tip", m.id)
                    .text("from", m.from)
                    .text("to", m.to)
                    .text("seq", m.seq.unwrap_or(0)),
            ));
        }
    }
    out
}

/// Federation (PROTOCOL §14.7): compares the home relay's records of tips it accepted in
/// `scope.range` with the peer relay's records, tip by tip. Both relays number each
/// direction the same way, gap-free, and a relay holds number N of a direction only after
/// every lower one. So a tip one relay numbered N, where the other's records of that
/// direction span numbers around N but not this tip, is one the other says it never
/// received (`missing_at_peer` / `missing_at_home`); a home tip above the peer's highest
/// number, accepted more than the grace ago, has not crossed yet (`not_across`); the same tip
/// under two numbers is `numbered_differently`. Ask the peer for a window wider than the
/// range (a tip accepted at home just before a boundary is accepted there just after it):
/// only numbers inside what the other side's records span are compared.
pub fn reconcile_relays(
    scope: &ReconcileScope<'_>,
    (home_j, home): (Jurisdiction, &[TipFacts]),
    (peer_j, peer): (Jurisdiction, &[TipFacts]),
) -> Vec<Discrepancy> {
    type Dir = (Jurisdiction, Jurisdiction);
    let index = |v: &[&TipFacts]| -> HashMap<(Jurisdiction, TipId), u64> {
        v.iter().map(|f| ((f.from, f.id), f.seq.unwrap_or(0))).collect()
    };
    let span = |v: &[&TipFacts]| -> HashMap<Dir, (u64, u64)> {
        let mut m: HashMap<Dir, (u64, u64)> = HashMap::new();
        for f in v {
            let s = f.seq.unwrap_or(0);
            let e = m.entry((f.from, f.to)).or_insert((s, s));
            *e = (e.0.min(s), e.1.max(s));
        }
        m
    };
    let home: Vec<&TipFacts> = home.iter().filter(|f| f.accepted.is_some_and(|a| scope.range.contains(a))).collect();
    let peer: Vec<&TipFacts> = peer.iter().collect();
    let (home_by, peer_by) = (index(&home), index(&peer));
    let (home_span, peer_span) = (span(&home), span(&peer));
    let settled = |f: &TipFacts| f.accepted.is_some_and(|a| a.as_unix_ms() + scope.grace_ms <= scope.now.as_unix_ms());
    let inside = |spans: &HashMap<Dir, (u64, u64)>, f: &TipFacts| {
        let s = f.seq.unwrap_or(0);
        spans.get(&(f.from, f.to)).is_some_and(|(lo, hi)| *lo <= s && s <= *hi)
    };
    let mut out = Vec::new();
    for f in &home {
        let seq = f.seq.unwrap_or(0);
        match peer_by.get(&(f.from, f.id)) {
            Some(s) if *s == seq => {}
            Some(s) => out.push(Discrepancy::tip(
                f.id,
                "numbered_differently",
                Msg::new("ledger-diff-numbered-differently")
                    .text("home", home_j)
                    .text("seq", seq)
                    .text("from", f.from)
                    .text("to", f.to)
                    .text("peer", peer_j)
                    .text("other", s),
            )),
            None if inside(&peer_span, f) => out.push(Discrepancy::tip(
                f.id,
                "missing_at_peer",
                Msg::new("ledger-diff-missing-at-peer")
                    .text("home", home_j)
                    .text("seq", seq)
                    .text("from", f.from)
                    .text("to", f.to)
                    .text("peer", peer_j),
            )),
            None if f.from == home_j
                && settled(f)
                && peer_span.get(&(f.from, f.to)).is_none_or(|(_, hi)| seq > *hi) =>
            {
                out.push(Discrepancy::tip(
                    f.id,
                    "not_across",
                    Msg::new("ledger-diff-not-across")
                        .text("home", home_j)
                        .text("seq", seq)
                        .text("from", f.from)
                        .text("to", f.to)
                        .text("peer", peer_j),
                ))
            }
            None => {}
        }
    }
    for f in &peer {
        if !home_by.contains_key(&(f.from, f.id)) && inside(&home_span, f) {
            out.push(Discrepancy::tip(
                f.id,
                "missing_at_home",
                Msg::new("ledger-diff-missing-at-home")
                    .text("peer", peer_j)
                    .text("seq", f.seq.unwrap_or(0))
                    .text("from", f.from)
                    .text("to", f.to)
                    .text("home", home_j),
            ));
        }
    }
    out
}

/// Compares the counterpart's signed statement with the relay's records for the same period.
pub fn reconcile_statement(st: &LedgerStatement, relay: &[TipFacts]) -> Vec<Discrepancy> {
    let range = Range { start: st.period_start, end: st.period_end };
    let (a, b) = (st.jurisdiction, st.counterpart);
    let mut out = Vec::new();
    let relay_view = build_statement(relay, a, b, range, st.by.clone(), st.id, st.created);
    if relay_view.tips_digest != st.tips_digest || relay_view.tip_count != st.tip_count {
        out.push(Discrepancy::new(
            None,
            "statement_tips",
            Msg::new("ledger-diff-statement-tips")
                .text("side", a)
                .number("count", st.tip_count)
                .text("digest", short(&st.tips_digest.to_hex()))
                .text("held", relay_view.tip_count)
                .text("start", range.start)
                .text("end", range.end)
                .text("held_digest", short(&relay_view.tips_digest.to_hex())),
        ));
    }
    let key = |r: &LedgerRow| (r.from, r.to, r.category.as_str());
    let theirs: BTreeMap<_, &LedgerRow> = st.rows.iter().map(|r| (key(r), r)).collect();
    let ours: BTreeMap<_, &LedgerRow> = relay_view.rows.iter().map(|r| (key(r), r)).collect();
    let zero = LedgerRow::zero(a, b, Category::Other);
    let keys: std::collections::BTreeSet<_> = theirs.keys().chain(ours.keys()).cloned().collect();
    for k in keys {
        let t = theirs.get(&k).copied().unwrap_or(&zero);
        let o = ours.get(&k).copied().unwrap_or(&zero);
        for (what, x, y) in [
            ("ledger-what-accepted", t.accepted, o.accepted),
            ("ledger-what-acknowledged", t.acknowledged, o.acknowledged),
            ("ledger-what-feedback", t.with_feedback, o.with_feedback),
        ] {
            if x != y {
                out.push(Discrepancy::new(
                    None,
                    "statement_count",
                    Msg::new("ledger-diff-statement-count")
                        .text("from", k.0)
                        .text("to", k.1)
                        .text("category", k.2)
                        .text("side", a)
                        .number("stated", x)
                        .msg("what", Msg::new(what).number("count", x))
                        .text("held", y),
                ));
            }
        }
    }
    out
}

fn short(hex: &str) -> &str {
    hex.get(..16).unwrap_or(hex)
}

/// The result of a reconciliation run, as reported (terminal, JSON, HTML).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconciliation {
    /// What was compared, in words (e.g. `MX analyst-1 records`, `relay records`, `US statement 0193…`).
    pub compared: Vec<Msg>,
    /// Every difference found; empty when all views agree.
    pub discrepancies: Vec<Discrepancy>,
}

impl Reconciliation {
    /// JSON form: `{"compared": [...], "agree": bool, "discrepancies": [{"tip", "kind", "message"}]}`.
    pub fn json(&self) -> Value {
        json!({
            "compared": self.compared.iter().map(Msg::to_string).collect::<Vec<_>>(),
            "agree": self.discrepancies.is_empty(),
            "discrepancies": self.discrepancies.iter().map(Discrepancy::json).collect::<Vec<_>>(),
        })
    }
}

/// An item the implementation group should look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenItem {
    /// The tip.
    pub tip: TipId,
    /// Direction.
    pub from: Jurisdiction,
    /// Direction.
    pub to: Jurisdiction,
    /// Category.
    pub category: Category,
    /// `unacknowledged` (delivered or accepted, no ack beyond the threshold) or
    /// `no_feedback` (acknowledged, no feedback after N days).
    pub kind: &'static str,
    /// How long since acceptance (ms).
    pub age_ms: u64,
}

/// Tips accepted in `range` still waiting: unacknowledged longer than `ack_ms`, or without
/// feedback longer than `feedback_ms`.
pub fn open_items(facts: &[TipFacts], range: Range, now: Timestamp, ack_ms: u64, feedback_ms: u64) -> Vec<OpenItem> {
    let mut out = Vec::new();
    for f in facts {
        let Some(acc) = f.accepted.filter(|a| range.contains(*a)) else {
            continue;
        };
        if f.rejected {
            continue;
        }
        let age = now.as_unix_ms().saturating_sub(acc.as_unix_ms());
        let kind = if f.acked.is_none() && age >= ack_ms {
            "unacknowledged"
        } else if f.acked.is_some() && f.feedback_count() == 0 && age >= feedback_ms {
            "no_feedback"
        } else {
            continue;
        };
        out.push(OpenItem { tip: f.id, from: f.from, to: f.to, category: f.category, kind, age_ms: age });
    }
    out.sort_by(|a, b| b.age_ms.cmp(&a.age_ms).then(a.tip.cmp(&b.tip)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(ms: u64) -> Timestamp {
        Timestamp::from_unix_ms(ms).unwrap()
    }

    fn fact(n: u8, from: &str, to: &str, acc: Option<u64>) -> TipFacts {
        let mut f = TipFacts::new(
            TipId::new_v7(ts(1_764_000_000_000), [n; 10]),
            from.parse().unwrap(),
            to.parse().unwrap(),
            Category::ALL[usize::from(n) % 10],
            format!("tiprelay://{from}/analyst/a-1"),
        );
        f.created = ts(1_764_000_000_000);
        f.accepted = acc.map(ts);
        f.seq = acc.map(|_| u64::from(n));
        f
    }

    #[test]
    fn periods_name_and_bound_calendar_units() {
        let t = Range::parse_instant("2026-11-30T23:59:59Z").unwrap();
        assert_eq!(Period::Day.key(t), "2026-11-30");
        assert_eq!(Period::Week.key(t), "2026-W49");
        assert_eq!(Period::Month.key(t), "2026-11");
        let m = Range::parse_period("2026-11").unwrap();
        assert_eq!(m.start.to_string(), "2026-11-01T00:00:00.000Z");
        assert_eq!(m.end.to_string(), "2026-12-01T00:00:00.000Z");
        assert_eq!(Range::parse_period("2026-12").unwrap().end.to_string(), "2027-01-01T00:00:00.000Z");
        let w = Range::parse_period("2026-W49").unwrap();
        assert_eq!(w.start.to_string(), "2026-11-30T00:00:00.000Z");
        assert_eq!(Range::parse_period("2026-11-30").unwrap().end.to_string(), "2026-12-01T00:00:00.000Z");
        for bad in ["", "2026-13", "2026-W60", "x", "2026-02-30", "2026-11-30-1"] {
            assert!(Range::parse_period(bad).is_err(), "{bad}");
        }
        assert!(Range::from_bounds(Some("2026-11-02"), Some("2026-11-01")).is_err());
    }

    #[test]
    fn counts_latencies_and_pair_summary() {
        let base = 1_764_460_800_000; // 2025-11-30
        let mut a = fact(1, "MX", "US", Some(base));
        a.sent = true;
        a.delivered = Some(ts(base + 100));
        a.acked = Some(ts(base + 1_000));
        a.add_feedback(Outcome::Seizure, ts(base + 60_000));
        a.add_feedback(Outcome::UnderReview, ts(base + 30_000));
        let mut b = fact(11, "MX", "US", Some(base + 5));
        b.acked = Some(ts(base + 3_005));
        let c = fact(2, "US", "MX", Some(base + 7));
        let mut d = fact(3, "MX", "US", None);
        d.sent = true;
        let mut e = fact(4, "MX", "US", Some(base));
        e.rejected = true;
        e.sent = true;
        let l = aggregate("test", [&a, &b, &c, &d, &e], Period::Month, Range::all());
        let row = l.rows.iter().find(|r| r.category == a.category && r.from.as_str() == "MX").unwrap();
        assert_eq!((row.sent, row.accepted, row.acknowledged, row.feedback), (1, 2, 2, 1));
        assert_eq!(row.ack_latency, Latency { n: 2, median_ms: Some(1_000), p90_ms: Some(3_000) });
        assert_eq!(row.feedback_latency.median_ms, Some(30_000), "latency to the first feedback");
        assert_eq!(row.outcomes.iter().sum::<u64>(), 2);
        assert_eq!(l.pairs.len(), 1);
        let p = &l.pairs[0];
        assert_eq!((p.a.as_str(), p.a_to_b, p.b_to_a), ("MX", 2, 1));
        assert_eq!(p.ratio(), Some(2.0));
        assert_eq!(p.response_rate_b(), Some(0.5));
        let j = l.to_json();
        assert!(j["rows"].as_array().unwrap().iter().all(|r| r["from"].is_string() && r["accepted"].is_u64()));
        assert_eq!(j["pairs"][0]["tips"]["MX->US"], 2);
        assert_eq!(l.to_csv().lines().count(), l.rows.len() + 1);
        let only_nov = aggregate("t", [&a], Period::Day, Range::parse_period("2024-01").unwrap());
        assert!(only_nov.rows.is_empty());
    }

    #[test]
    fn the_two_relays_records_name_a_tip_one_says_crossed_and_the_other_never_received() {
        let now = ts(1_764_500_000_000);
        let (mx, us): (Jurisdiction, Jurisdiction) = ("MX".parse().unwrap(), "US".parse().unwrap());
        let authors = vec![];
        let scope =
            ReconcileScope { me: mx, authors: &authors, range: Range::all(), now, grace_ms: 60_000, receives: true };
        let old = Some(1_764_400_000_000);
        // MX → US 1..=4 at MX's relay, US → MX 1..=2 at both; the US relay lost MX → US 2,
        // and MX → US 4 has not crossed yet (old enough to say so), 5 is in flight.
        let mut home: Vec<TipFacts> = (1..=4).map(|n| fact(n, "MX", "US", old)).collect();
        home.push(fact(5, "MX", "US", Some(now.as_unix_ms() - 1_000)));
        let back: Vec<TipFacts> = (1..=2).map(|n| fact(n, "US", "MX", old)).collect();
        home.extend(back.clone());
        let mut peer: Vec<TipFacts> = [1u8, 3].iter().map(|n| fact(*n, "MX", "US", old)).collect();
        peer.extend(back);
        assert!(reconcile_relays(&scope, (mx, &home), (us, &home)).is_empty(), "a relay agrees with itself");
        let d = reconcile_relays(&scope, (mx, &home), (us, &peer));
        let kinds: Vec<(&str, TipId)> = d.iter().map(|x| (x.kind, x.tip.unwrap())).collect();
        assert_eq!(kinds, vec![("missing_at_peer", home[1].id), ("not_across", home[3].id)], "{d:?}");
        assert!(d[0].message.contains("US's relay holds numbers around it"), "{}", d[0].message);
        // A peer window wider than the range: tips accepted there outside it, or numbers
        // outside what home's records span, are no discrepancy.
        let edge = reconcile_relays(&scope, (mx, &home[2..3]), (us, &peer));
        assert!(edge.is_empty(), "{edge:?}");
        // The other way round: the peer holds a tip numbered below what home holds, that home
        // does not (home lost MX → US 2): `missing_at_home`.
        let lost_here = [home[0].clone(), home[2].clone()];
        let d = reconcile_relays(&scope, (mx, &lost_here), (us, &home[..3]));
        let kinds: Vec<(&str, TipId)> = d.iter().map(|x| (x.kind, x.tip.unwrap())).collect();
        assert_eq!(kinds, vec![("missing_at_home", home[1].id)], "{d:?}");
        // Renumbered: the same tip under another number.
        let mut other = peer.clone();
        other[0].seq = Some(9);
        let d = reconcile_relays(&scope, (mx, &home[..1]), (us, &other[..1]));
        assert_eq!(d.iter().map(|x| x.kind).collect::<Vec<_>>(), ["numbered_differently"]);
    }

    #[test]
    fn reconciliation_names_each_difference_by_tip() {
        let now = ts(1_764_500_000_000);
        let me: Jurisdiction = "MX".parse().unwrap();
        let authors = vec!["tiprelay://MX/analyst/a-1".to_string()];
        let scope = ReconcileScope { me, authors: &authors, range: Range::all(), now, grace_ms: 0, receives: true };
        let mut same = fact(1, "MX", "US", Some(1_764_400_000_000));
        same.sent = true;
        same.acked = Some(ts(1_764_400_001_000));
        let mut relay_same = same.clone();
        relay_same.sent = false;
        assert!(reconcile_with_relay(&scope, std::slice::from_ref(&same), std::slice::from_ref(&relay_same)).is_empty());

        let deleted = fact(2, "MX", "US", Some(1_764_400_000_000));
        let mut unsent = fact(3, "MX", "US", None);
        unsent.sent = true;
        let incoming = fact(4, "US", "MX", Some(1_764_400_000_000));
        let mut ghost = fact(5, "MX", "US", Some(1_764_400_000_000));
        ghost.sent = true;
        let d = reconcile_with_relay(
            &scope,
            &[same.clone(), unsent.clone(), ghost.clone()],
            &[relay_same, deleted.clone(), incoming.clone()],
        );
        let kinds: Vec<(Option<TipId>, &str)> = d.iter().map(|x| (x.tip, x.kind)).collect();
        assert!(kinds.contains(&(Some(deleted.id), "missing_here")), "{d:?}");
        assert!(kinds.contains(&(Some(unsent.id), "not_accepted")), "{d:?}");
        assert!(kinds.contains(&(Some(incoming.id), "not_received")), "{d:?}");
        assert!(kinds.contains(&(Some(ghost.id), "relay_missing")), "{d:?}");
        assert!(d.iter().all(|x| x.message.contains(&x.tip.unwrap().to_string())));
    }

    #[test]
    fn statements_agree_with_the_same_facts_and_name_count_differences() {
        let acc = 1_764_460_800_000;
        let range = Range::parse_period("2025-11").unwrap();
        let mut a = fact(1, "US", "MX", Some(acc));
        a.acked = Some(ts(acc + 10));
        let b = fact(2, "MX", "US", Some(acc));
        let by: PrincipalId = "tiprelay://US/analyst/a-1".parse().unwrap();
        let st = build_statement(
            &[a.clone(), b.clone()],
            "US".parse().unwrap(),
            "MX".parse().unwrap(),
            range,
            by,
            a.id,
            ts(acc),
        );
        assert_eq!(st.tip_count, 2);
        assert!(reconcile_statement(&st, &[a.clone(), b.clone()]).is_empty());
        let mut a2 = a.clone();
        a2.acked = None;
        let d = reconcile_statement(&st, &[a2, b.clone()]);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].kind, "statement_count");
        let d = reconcile_statement(&st, &[b]);
        assert!(d.iter().any(|x| x.kind == "statement_tips"), "{d:?}");
    }

    #[test]
    fn exports_round_trip_and_merge_into_one_view() {
        let mut a = fact(1, "MX", "US", Some(1_764_400_000_000));
        a.sent = true;
        let mut b = fact(2, "US", "MX", Some(1_764_400_000_000));
        b.acked = Some(ts(1_764_400_000_500));
        let bytes = export_facts("tiprelay://MX/analyst/a-1", &[a.clone(), b.clone()]);
        let (p, back) = import_facts(&bytes).unwrap();
        assert_eq!(p, "tiprelay://MX/analyst/a-1");
        assert_eq!(back, vec![a.clone(), b.clone()]);
        let mut b2 = b.clone();
        b2.acked = None;
        b2.add_feedback(Outcome::Arrest, ts(1_764_400_009_000));
        let merged = merge_facts([vec![a.clone(), b.clone()], vec![b2]]);
        assert_eq!(merged.len(), 2);
        let mb = merged.iter().find(|f| f.id == b.id).unwrap();
        assert_eq!((mb.acked, mb.feedback_count()), (b.acked, 1));
        assert!(import_facts(b"garbage").is_err());
        assert!(import_facts(&[0xa0]).is_err());
    }

    #[test]
    fn texts_keep_their_english_form_and_read_in_spanish() {
        let m = Msg::new("ledger-diff-missing-at-peer")
            .text("home", "MX")
            .text("seq", 2)
            .text("from", "MX")
            .text("to", "US")
            .text("peer", "US");
        assert_eq!(
            m.to_string(),
            "MX's relay holds it as number 2 of MX → US; US's relay holds numbers around it in that direction but \
             not this one: it says it never received it"
        );
        assert!(m.in_locale(Locale::Es).starts_with("el relé de MX lo tiene como número 2 de MX → US"), "{m:?}");
        let d = Discrepancy::new(
            None,
            "x",
            Msg::new("ledger-diff-statement-tips").text("side", "US").number("count", 1u64),
        );
        assert!(d.message.starts_with("US's statement covers 1 tip ("), "{}", d.message);
        assert!(d.text_in(Locale::Es).starts_with("la declaración de US cubre 1 aviso ("));
        let rec = Reconciliation {
            compared: vec![Msg::new("ledger-compared-relay").number("count", 3u64)],
            discrepancies: vec![d],
        };
        assert_eq!(rec.json()["compared"][0], "relay records (3 tips)", "JSON stays English");
        assert!(rec.json()["discrepancies"][0]["message"].as_str().unwrap().contains("statement covers"));

        let base = 1_764_460_800_000;
        let (a, b, c) =
            (fact(1, "MX", "US", Some(base)), fact(11, "MX", "US", Some(base)), fact(2, "US", "MX", Some(base)));
        let l = aggregate("test", [&a, &b, &c], Period::Month, Range::all());
        let en = l.to_table_in(Locale::En);
        assert!(en.starts_with("Ledger (test), all time by month\n"), "{en}");
        assert!(en.contains("from→to") && en.contains("ack p50/p90"), "{en}");
        assert!(en.contains("MX→US: 2 tips, US→MX: 1 tip, ratio 2.00; feedback rate US 0%, MX 0%"), "{en}");
        let es = l.to_table_in(Locale::Es);
        assert!(es.starts_with("Libro de reciprocidad (test), todo el historial, por mes\n"), "{es}");
        assert!(es.contains("de→para") && es.contains("confirmados"), "{es}");
        assert!(es.contains("MX→US: 2 avisos, US→MX: 1 aviso, proporción 2.00; tasa de respuesta de US 0%"), "{es}");
        let empty = aggregate("t", [&a], Period::Day, Range::parse_period("2024-01").unwrap());
        assert!(empty.to_table_in(Locale::Es).contains("no hay avisos en este intervalo"));
        assert!(empty.range_text_in(Locale::Es).starts_with("del 2024-01-01"));
    }

    #[test]
    fn open_items_list_waiting_tips_oldest_first() {
        let now = ts(1_764_500_000_000);
        let old = fact(1, "MX", "US", Some(1_764_000_000_000));
        let mut acked = fact(2, "MX", "US", Some(1_764_100_000_000));
        acked.acked = Some(ts(1_764_100_000_500));
        let fresh = fact(3, "MX", "US", Some(1_764_499_999_000));
        let items = open_items(&[fresh, acked.clone(), old.clone()], Range::all(), now, 3_600_000, 86_400_000);
        assert_eq!(
            items.iter().map(|i| (i.tip, i.kind)).collect::<Vec<_>>(),
            vec![(old.id, "unacknowledged"), (acked.id, "no_feedback")]
        );
    }
}

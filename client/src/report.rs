//! The implementation group's reciprocity report: one self-contained HTML file (inline CSS
//! and SVG; no scripts, fonts, images or links to fetch), in English or Spanish.
//!
//! Everything is computed here from a [`Ledger`], its open items and an optional
//! [`Reconciliation`]. Every string that comes from data (ids, principal URIs, messages,
//! period labels) goes through `esc` before it reaches the page.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use tiprelay_proto::{Category, Jurisdiction, Outcome, Timestamp};

use crate::i18n::{tr_in, FluentValue, Locale};
use crate::ledger::{fmt_latency, fmt_ms, Ledger, OpenItem, Period, Range, Reconciliation};

/// Open items (and discrepancies) listed one by one; the rest are only counted.
pub const MAX_LISTED_ROWS: usize = 500;

/// Periods shown in the per-period chart: the most recent ones.
pub const MAX_CHART_PERIODS: usize = 24;

/// Report language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReportLang {
    /// English.
    #[default]
    En,
    /// Spanish.
    Es,
}

impl ReportLang {
    /// The BCP 47 tag used in the page's `lang` attribute: `en` or `es`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Es => "es",
        }
    }

    /// A label in this language; its positional slots `{0}`, `{1}`, `{2}` are left for
    /// [`fill`].
    fn t(self, key: K) -> String {
        let slots = [("a0", "{0}"), ("a1", "{1}"), ("a2", "{2}")];
        let args: Vec<(&str, FluentValue<'_>)> = slots.iter().map(|(k, v)| (*k, FluentValue::from(*v))).collect();
        tr_in(self.locale(), label(key), &args)
    }

    /// The interface language of the same name (for texts from the Fluent resources).
    fn locale(self) -> Locale {
        match self {
            Self::En => Locale::En,
            Self::Es => Locale::Es,
        }
    }
}

/// A report language other than `en` or `es` was asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", crate::t!("ledger-report-lang", "lang" => .0.clone()))]
pub struct UnknownLangError(pub String);

impl FromStr for ReportLang {
    type Err = UnknownLangError;
    fn from_str(s: &str) -> Result<Self, UnknownLangError> {
        match s {
            "en" => Ok(Self::En),
            "es" => Ok(Self::Es),
            _ => Err(UnknownLangError(s.chars().take(16).collect())),
        }
    }
}

/// What a report is built from.
#[derive(Debug, Clone, Copy)]
pub struct ReportInput<'a> {
    /// The counted ledger; its view, range and granularity head the report.
    pub ledger: &'a Ledger,
    /// Open items as [`crate::ledger::open_items`] lists them (oldest first).
    pub open: &'a [OpenItem],
    /// The reconciliation run with this report; `None` shows "not run".
    pub reconciliation: Option<&'a Reconciliation>,
    /// When the report was generated.
    pub generated: Timestamp,
    /// Who prepared it: a principal URI or `relay`.
    pub prepared_by: &'a str,
    /// The acknowledgement threshold the open items were listed with (ms).
    pub ack_threshold_ms: u64,
    /// The feedback threshold the open items were listed with (days).
    pub feedback_days: u64,
    /// Language of every label.
    pub lang: ReportLang,
}

/// Label keys; [`label`] is the (English, Spanish) table, exhaustive by construction.
#[derive(Debug, Clone, Copy)]
enum K {
    Title,
    View,
    Pairs,
    Range,
    AllTime,
    FromTo,
    Granularity,
    Day,
    Week,
    Month,
    PreparedBy,
    Generated,
    HSummary,
    HTips,
    HLatency,
    HOutcomes,
    HOpen,
    HRecon,
    Direction,
    TipsAccepted,
    AckCol,
    FeedbackCol,
    Ratio,
    RatesNote,
    SummaryChart,
    Category,
    Period,
    Accepted,
    Delivered,
    Acknowledged,
    WithFeedback,
    NoTips,
    PerPeriodChart,
    LastPeriods,
    Acks,
    AckTime,
    FbTime,
    LatencyNote,
    MedianChart,
    NoAcks,
    Outcome,
    Total,
    OutcomesNote,
    OutcomesChart,
    NoFeedback,
    Tip,
    Kind,
    Age,
    Unacked,
    NoFb,
    RuleAck,
    RuleFb,
    OneDay,
    Days,
    NoOpen,
    AndMore,
    Compared,
    Agree,
    Disagree,
    NotRun,
    Message,
}

/// The Fluent message of each label (`common/locales/{en,es}/ledger.ftl`, `report-…`),
/// exhaustive by construction.
fn label(key: K) -> &'static str {
    match key {
        K::Title => "report-title",
        K::View => "report-view",
        K::Pairs => "report-pairs",
        K::Range => "report-range",
        K::AllTime => "report-all-time",
        K::FromTo => "report-from-to",
        K::Granularity => "report-granularity",
        K::Day => "report-day",
        K::Week => "report-week",
        K::Month => "report-month",
        K::PreparedBy => "report-prepared-by",
        K::Generated => "report-generated",
        K::HSummary => "report-h-summary",
        K::HTips => "report-h-tips",
        K::HLatency => "report-h-latency",
        K::HOutcomes => "report-h-outcomes",
        K::HOpen => "report-h-open",
        K::HRecon => "report-h-recon",
        K::Direction => "report-direction",
        K::TipsAccepted => "report-tips-accepted",
        K::AckCol => "report-ack-col",
        K::FeedbackCol => "report-feedback-col",
        K::Ratio => "report-ratio",
        K::RatesNote => "report-rates-note",
        K::SummaryChart => "report-summary-chart",
        K::Category => "report-category",
        K::Period => "report-period",
        K::Accepted => "report-accepted",
        K::Delivered => "report-delivered",
        K::Acknowledged => "report-acknowledged",
        K::WithFeedback => "report-with-feedback",
        K::NoTips => "report-no-tips",
        K::PerPeriodChart => "report-per-period-chart",
        K::LastPeriods => "report-last-periods",
        K::Acks => "report-acks",
        K::AckTime => "report-ack-time",
        K::FbTime => "report-fb-time",
        K::LatencyNote => "report-latency-note",
        K::MedianChart => "report-median-chart",
        K::NoAcks => "report-no-acks",
        K::Outcome => "report-outcome",
        K::Total => "report-total",
        K::OutcomesNote => "report-outcomes-note",
        K::OutcomesChart => "report-outcomes-chart",
        K::NoFeedback => "report-no-feedback",
        K::Tip => "report-tip",
        K::Kind => "report-kind",
        K::Age => "report-age",
        K::Unacked => "report-unacked",
        K::NoFb => "report-no-fb",
        K::RuleAck => "report-rule-ack",
        K::RuleFb => "report-rule-fb",
        K::OneDay => "report-one-day",
        K::Days => "report-days",
        K::NoOpen => "report-no-open",
        K::AndMore => "report-and-more",
        K::Compared => "report-compared",
        K::Agree => "report-agree",
        K::Disagree => "report-disagree",
        K::NotRun => "report-not-run",
        K::Message => "report-message",
    }
}

fn category_name(c: Category, lang: ReportLang) -> String {
    tr_in(lang.locale(), &format!("report-category-{}", c.as_str()), &[])
}

fn outcome_name(o: Outcome, lang: ReportLang) -> String {
    tr_in(lang.locale(), &format!("report-outcome-{}", o.as_str()), &[])
}

/// Escapes `s` for HTML (and SVG) text and quoted attribute values.
fn esc(s: impl AsRef<str>) -> String {
    let s = s.as_ref();
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Replaces `{0}`…`{9}` in a static template with `args` (already escaped by the caller),
/// in one pass so that an argument is never itself substituted.
fn fill(template: impl AsRef<str>, args: &[&str]) -> String {
    let template = template.as_ref();
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(i) = rest.find('{') {
        out.push_str(rest.get(..i).unwrap_or_default());
        let tail = rest.get(i..).unwrap_or_default();
        let arg = tail
            .get(1..2)
            .and_then(|d| d.parse::<usize>().ok())
            .filter(|_| tail.get(2..3) == Some("}"))
            .and_then(|n| args.get(n));
        match arg {
            Some(a) => {
                out.push_str(a);
                rest = tail.get(3..).unwrap_or_default();
            }
            None => {
                out.push('{');
                rest = tail.get(1..).unwrap_or_default();
            }
        }
    }
    out.push_str(rest);
    out
}

fn dir(from: Jurisdiction, to: Jurisdiction) -> String {
    format!("{from}→{to}")
}

fn pct(n: u64, of: u64) -> String {
    if of == 0 {
        "—".into()
    } else {
        format!("{:.0}%", n as f64 * 100.0 / of as f64)
    }
}

fn range_text(range: &Range, lang: ReportLang) -> String {
    if *range == Range::all() {
        lang.t(K::AllTime)
    } else {
        // The end is exclusive: a range ending at midnight is shown by its last day.
        let end = match range.end.as_unix_ms() {
            ms if ms % 86_400_000 == 0 && ms > range.start.as_unix_ms() => Timestamp::from_unix_ms(ms - 86_400_000),
            _ => None,
        };
        let end = end.map_or_else(|| human_time(range.end, lang), |d| human_time(d, lang));
        fill(lang.t(K::FromTo), &[&human_time(range.start, lang), &end])
    }
}

/// A date as people read it: "1 de noviembre de 2026" / "1 November 2026", with the time
/// (UTC) when it is not midnight.
fn human_time(t: Timestamp, lang: ReportLang) -> String {
    let secs = i64::try_from(t.as_unix_ms() / 1000).unwrap_or(0);
    let Ok(d) = time::OffsetDateTime::from_unix_timestamp(secs) else { return t.to_string() };
    let l = lang.locale();
    let month = tr_in(l, &format!("report-month-{}", u8::from(d.month())), &[]);
    let date = tr_in(
        l,
        "report-date",
        &[("day", d.day().into()), ("month", month.into()), ("year", d.year().to_string().into())],
    );
    if (d.hour(), d.minute(), d.second()) == (0, 0, 0) {
        date
    } else {
        tr_in(
            l,
            "report-date-time",
            &[("date", date.into()), ("time", format!("{:02}:{:02}", d.hour(), d.minute()).into())],
        )
    }
}

/// A table cell: text is escaped here, numbers are right-aligned, ids monospaced.
enum Cell {
    Text(String),
    Num(String),
    Id(String),
}

fn table<S: AsRef<str>>(headers: &[S], rows: impl IntoIterator<Item = Vec<Cell>>) -> String {
    let mut s = String::from("<table>\n<thead><tr>");
    for h in headers {
        s.push_str(&format!("<th scope=\"col\">{}</th>", esc(h)));
    }
    s.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        s.push_str("<tr>");
        for c in row {
            match c {
                Cell::Text(t) => s.push_str(&format!("<td>{}</td>", esc(&t))),
                Cell::Num(t) => s.push_str(&format!("<td class=\"n\">{}</td>", esc(&t))),
                Cell::Id(t) => s.push_str(&format!("<td class=\"id\">{}</td>", esc(&t))),
            }
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody>\n</table>\n");
    s
}

/// A paragraph of ready HTML, with an optional class.
fn para(class: &str, html: &str) -> String {
    if class.is_empty() {
        format!("<p>{html}</p>\n")
    } else {
        format!("<p class=\"{class}\">{html}</p>\n")
    }
}

/// A chart's data: one legend entry per series, one value per series in each group.
struct Chart {
    title: String,
    series: Vec<String>,
    groups: Vec<(String, Vec<Option<u64>>)>,
}

impl Chart {
    fn max(&self) -> f64 {
        self.groups.iter().flat_map(|(_, v)| v.iter().flatten()).copied().max().unwrap_or(0).max(1) as f64
    }
}

const CHART_W: f64 = 720.0;

/// Fills distinguishable in greyscale: dark solid, light hatched, dotted white, mid grey.
fn fill_of(series: usize) -> &'static str {
    match series % 4 {
        0 => "#203864",
        1 => "url(#tr-hatch)",
        2 => "url(#tr-dots)",
        _ => "#8c8c8c",
    }
}

/// The shared pattern definitions, once per page (ids are page-wide).
const SVG_DEFS: &str = "<svg class=\"defs\" width=\"0\" height=\"0\" aria-hidden=\"true\" focusable=\"false\"><defs>\
<pattern id=\"tr-hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">\
<rect width=\"6\" height=\"6\" fill=\"#f4b183\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#7f3f00\" \
stroke-width=\"2\"/></pattern>\
<pattern id=\"tr-dots\" width=\"5\" height=\"5\" patternUnits=\"userSpaceOnUse\">\
<rect width=\"5\" height=\"5\" fill=\"#ffffff\"/><circle cx=\"2.5\" cy=\"2.5\" r=\"1.2\" fill=\"#333333\"/></pattern>\
</defs></svg>\n";

fn svg_open(h: f64, title: &str) -> String {
    format!(
        "<figure>\n<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {CHART_W} {h:.0}\" \
         role=\"img\" aria-label=\"{t}\"><title>{t}</title>\n",
        t = esc(title)
    )
}

fn svg_close() -> &'static str {
    "</svg>\n</figure>\n"
}

fn bar(x: f64, y: f64, w: f64, h: f64, series: usize, tooltip: &str) -> String {
    format!(
        "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" fill=\"{}\" stroke=\"#000\" \
         stroke-width=\"0.6\"><title>{}</title></rect>\n",
        fill_of(series),
        esc(tooltip)
    )
}

fn text(x: f64, y: f64, attrs: &str, s: &str) -> String {
    format!("<text x=\"{x:.1}\" y=\"{y:.1}\"{attrs}>{}</text>\n", esc(s))
}

fn legend(series: &[String]) -> String {
    let mut s = String::new();
    let mut x = 8.0;
    for (i, name) in series.iter().enumerate() {
        s.push_str(&bar(x, 6.0, 14.0, 12.0, i, name));
        s.push_str(&text(x + 19.0, 16.0, "", name));
        x += 40.0 + 7.0 * name.chars().count() as f64;
    }
    s
}

/// Horizontal grouped bars: a label per group on the left, one bar per series.
fn hbar_svg(c: &Chart, fmt: fn(u64) -> String) -> String {
    const LABEL_W: f64 = 220.0;
    const VALUE_W: f64 = 70.0;
    const BAR_H: f64 = 14.0;
    const GAP: f64 = 10.0;
    const TOP: f64 = 30.0;
    let ns = c.series.len().max(1) as f64;
    let group_h = ns * BAR_H + GAP;
    let h = TOP + c.groups.len() as f64 * group_h + 4.0;
    let (max, plot) = (c.max(), CHART_W - LABEL_W - VALUE_W);
    let mut s = svg_open(h, &c.title);
    s.push_str(&legend(&c.series));
    for (gi, (label, values)) in c.groups.iter().enumerate() {
        let y0 = TOP + gi as f64 * group_h;
        s.push_str(&text(LABEL_W - 6.0, y0 + ns * BAR_H / 2.0 + 4.0, " text-anchor=\"end\"", label));
        for (si, v) in values.iter().enumerate() {
            let Some(v) = *v else { continue };
            let y = y0 + si as f64 * BAR_H;
            let w = v as f64 / max * plot;
            let name = c.series.get(si).map(String::as_str).unwrap_or_default();
            s.push_str(&bar(LABEL_W, y, w, BAR_H - 2.0, si, &format!("{label} · {name}: {}", fmt(v))));
            s.push_str(&text(LABEL_W + w + 4.0, y + BAR_H - 4.0, "", &fmt(v)));
        }
    }
    s.push_str(&format!(
        "<line x1=\"{LABEL_W}\" y1=\"{:.0}\" x2=\"{LABEL_W}\" y2=\"{h:.0}\" stroke=\"#000\"/>\n",
        TOP - 4.0
    ));
    s.push_str(svg_close());
    s
}

/// Vertical grouped bars with axes: one group per period, one bar per series, each labelled.
fn vbar_svg(c: &Chart, x_axis: impl AsRef<str>, y_axis: impl AsRef<str>) -> String {
    let (x_axis, y_axis) = (x_axis.as_ref(), y_axis.as_ref());
    const H: f64 = 330.0;
    const LEFT: f64 = 60.0;
    const RIGHT: f64 = 10.0;
    const TOP: f64 = 36.0;
    const BOTTOM: f64 = 84.0;
    let (plot_w, plot_h) = (CHART_W - LEFT - RIGHT, H - TOP - BOTTOM);
    let n = c.groups.len().max(1) as f64;
    let ns = c.series.len().max(1) as f64;
    let gw = plot_w / n;
    let bw = (gw * 0.8 / ns).min(36.0);
    let max = c.max();
    let base = TOP + plot_h;
    let mut s = svg_open(H, &c.title);
    s.push_str(&legend(&c.series));
    let ticks = if max >= 2.0 { vec![0.0, (max / 2.0).round(), max] } else { vec![0.0, max] };
    for t in ticks {
        let y = base - t / max * plot_h;
        s.push_str(&format!(
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.0}\" y2=\"{y:.1}\" stroke=\"#bbb\" stroke-dasharray=\"3 3\"/>\n",
            CHART_W - RIGHT
        ));
        s.push_str(&text(LEFT - 6.0, y + 4.0, " text-anchor=\"end\"", &format!("{t:.0}")));
    }
    let value_font = if bw >= 14.0 { "" } else { " font-size=\"8\"" };
    let rotate = c.groups.len() > 8;
    for (gi, (label, values)) in c.groups.iter().enumerate() {
        let gx = LEFT + gi as f64 * gw;
        let x0 = gx + (gw - bw * ns) / 2.0;
        for (si, v) in values.iter().enumerate() {
            let Some(v) = *v else { continue };
            let x = x0 + si as f64 * bw;
            let bh = v as f64 / max * plot_h;
            let name = c.series.get(si).map(String::as_str).unwrap_or_default();
            s.push_str(&bar(x, base - bh, bw, bh, si, &format!("{label} · {name}: {v}")));
            let attrs = format!(" text-anchor=\"middle\"{value_font}");
            s.push_str(&text(x + bw / 2.0, base - bh - 3.0, &attrs, &v.to_string()));
        }
        let (lx, ly) = (gx + gw / 2.0, base + 14.0);
        let attrs = if rotate {
            format!(" text-anchor=\"end\" transform=\"rotate(-45 {lx:.1} {ly:.1})\"")
        } else {
            " text-anchor=\"middle\"".to_owned()
        };
        s.push_str(&text(lx, ly, &attrs, label));
    }
    s.push_str(&format!(
        "<line x1=\"{LEFT}\" y1=\"{base:.1}\" x2=\"{:.0}\" y2=\"{base:.1}\" stroke=\"#000\"/>\n\
         <line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{base:.1}\" stroke=\"#000\"/>\n",
        CHART_W - RIGHT
    ));
    let mid = TOP + plot_h / 2.0;
    s.push_str(&text(16.0, mid, &format!(" text-anchor=\"middle\" transform=\"rotate(-90 16 {mid:.1})\""), y_axis));
    s.push_str(&text(LEFT + plot_w / 2.0, H - 4.0, " text-anchor=\"middle\"", x_axis));
    s.push_str(svg_close());
    s
}

/// Renders the reciprocity report as one self-contained HTML5 document.
pub fn render_html(input: &ReportInput<'_>) -> String {
    let lang = input.lang;
    let l = input.ledger;
    let pairs = if l.pairs.is_empty() {
        "—".to_owned()
    } else {
        l.pairs.iter().map(|p| format!("{} ⇄ {}", p.a, p.b)).collect::<Vec<_>>().join(", ")
    };
    let range = range_text(&l.range, lang);
    let generated = human_time(input.generated, lang);
    let mut h = String::with_capacity(64 * 1024);
    h.push_str(&format!(
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{} — {} — {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{SVG_DEFS}",
        lang.as_str(),
        esc(lang.t(K::Title)),
        esc(&pairs),
        esc(&range),
    ));
    let granularity = match l.period {
        Period::Day => K::Day,
        Period::Week => K::Week,
        Period::Month => K::Month,
    };
    h.push_str(&format!("<header>\n<h1>{}</h1>\n<dl class=\"meta\">\n", esc(lang.t(K::Title))));
    for (k, v) in [
        (K::Pairs, pairs.as_str()),
        (K::Range, range.as_str()),
        (K::Granularity, &lang.t(granularity)),
        (K::View, l.view.as_str()),
        (K::PreparedBy, input.prepared_by),
        (K::Generated, generated.as_str()),
    ] {
        h.push_str(&format!("<dt>{}</dt><dd>{}</dd>\n", esc(lang.t(k)), esc(v)));
    }
    h.push_str("</dl>\n</header>\n");
    for (id, key, body) in [
        ("summary", K::HSummary, summary_section(l, lang)),
        ("tips", K::HTips, tips_section(l, lang)),
        ("latency", K::HLatency, latency_section(l, lang)),
        ("outcomes", K::HOutcomes, outcomes_section(l, lang)),
        ("open", K::HOpen, open_section(input)),
        ("reconciliation", K::HRecon, reconciliation_section(input.reconciliation, lang)),
    ] {
        h.push_str(&format!("<section id=\"{id}\">\n<h2>{}</h2>\n{body}</section>\n", esc(lang.t(key))));
    }
    h.push_str("</body>\n</html>\n");
    h
}

const STYLE: &str = "
@page{size:A4;margin:15mm}
body{font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,\"Helvetica Neue\",Arial,sans-serif;color:#1a1a1a;
background:#fff;max-width:960px;margin:2rem auto;padding:0 1rem;line-height:1.4;font-size:15px}
h1{font-size:1.6rem;margin:0 0 .5rem}
h2{font-size:1.2rem;border-bottom:2px solid #333;padding-bottom:.2rem;margin-top:2rem}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:0}
dl.meta dt{font-weight:600}
dl.meta dd{margin:0;overflow-wrap:anywhere}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}
th,td{border:1px solid #999;padding:.2rem .5rem;text-align:left;vertical-align:top}
th{background:#eee}
td.n{text-align:right;font-variant-numeric:tabular-nums}
td.id,code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em;overflow-wrap:anywhere}
figure{margin:.5rem 0 1rem}
svg.chart{width:100%;max-width:720px;height:auto;display:block}
svg.chart text{font-size:11px;fill:#000}
svg.defs{position:absolute;width:0;height:0;overflow:hidden}
.note{color:#444;font-size:.9rem}
.muted{color:#555;font-style:italic}
.ok{border:2px solid #1b7a34;background:#e6f4ea;color:#0d4d1f;padding:.5rem .75rem;font-weight:600}
.bad{border:2px solid #b3261e;background:#fbe9e7;color:#7a1010;padding:.5rem .75rem;font-weight:600}
@media print{
body{color:#000;background:#fff;max-width:none;margin:0;padding:0;font-size:10pt}
th,.ok,.bad{background:#fff;color:#000}
.note,.muted{color:#000}
.bad{border-style:double;border-width:4px}
table,figure,svg.chart,p.ok,p.bad{page-break-inside:avoid;break-inside:avoid}
tr{page-break-inside:avoid;break-inside:avoid}
thead{display:table-header-group}
h2{page-break-after:avoid;break-after:avoid}
svg.chart{max-width:170mm;print-color-adjust:exact;-webkit-print-color-adjust:exact}
}
";

fn summary_section(l: &Ledger, lang: ReportLang) -> String {
    if l.pairs.is_empty() {
        return para("muted", &esc(lang.t(K::NoTips)));
    }
    let mut s = String::new();
    for p in &l.pairs {
        let (ab, ba) = (dir(p.a, p.b), dir(p.b, p.a));
        let ratio = p.ratio().map(|r| format!("{r:.2}")).unwrap_or_else(|| "—".into());
        s.push_str(&format!("<h3>{}</h3>\n", esc(format!("{} ⇄ {}", p.a, p.b))));
        let rows =
            [(&ab, p.a_to_b, p.acked_a_to_b, p.feedback_a_to_b), (&ba, p.b_to_a, p.acked_b_to_a, p.feedback_b_to_a)]
                .map(|(d, n, acked, fb)| {
                    vec![
                        Cell::Text(d.clone()),
                        Cell::Num(n.to_string()),
                        Cell::Num(format!("{acked} ({})", pct(acked, n))),
                        Cell::Num(format!("{fb} ({})", pct(fb, n))),
                    ]
                });
        let heads = [lang.t(K::Direction), lang.t(K::TipsAccepted), lang.t(K::AckCol), lang.t(K::FeedbackCol)];
        s.push_str(&table(&heads, rows));
        s.push_str(&para(
            "",
            &format!("<strong>{}</strong> {} : {} = {}", esc(lang.t(K::Ratio)), esc(&ab), esc(&ba), esc(&ratio)),
        ));
        s.push_str(&para("note", &esc(lang.t(K::RatesNote))));
        let chart = Chart {
            title: fill(lang.t(K::SummaryChart), &[&format!("{} ⇄ {}", p.a, p.b)]),
            series: vec![ab, ba],
            groups: vec![
                (lang.t(K::TipsAccepted), vec![Some(p.a_to_b), Some(p.b_to_a)]),
                (lang.t(K::Acknowledged), vec![Some(p.acked_a_to_b), Some(p.acked_b_to_a)]),
                (lang.t(K::WithFeedback), vec![Some(p.feedback_a_to_b), Some(p.feedback_b_to_a)]),
            ],
        };
        s.push_str(&hbar_svg(&chart, |v| v.to_string()));
    }
    s
}

/// Every direction with a row, in order.
fn directions(l: &Ledger) -> Vec<(Jurisdiction, Jurisdiction)> {
    l.rows.iter().map(|r| (r.from, r.to)).collect::<BTreeSet<_>>().into_iter().collect()
}

fn tips_section(l: &Ledger, lang: ReportLang) -> String {
    if l.rows.is_empty() {
        return para("muted", &esc(lang.t(K::NoTips)));
    }
    let dirs = directions(l);
    let mut per: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for r in &l.rows {
        let counts = per.entry(r.period.as_str()).or_insert_with(|| vec![0; dirs.len()]);
        if let Some(c) = dirs.iter().position(|d| *d == (r.from, r.to)).and_then(|i| counts.get_mut(i)) {
            *c = c.saturating_add(r.accepted);
        }
    }
    let total = per.len();
    let chart = Chart {
        title: lang.t(K::PerPeriodChart),
        series: dirs.iter().map(|(f, t)| dir(*f, *t)).collect(),
        groups: per
            .into_iter()
            .skip(total.saturating_sub(MAX_CHART_PERIODS))
            .map(|(p, v)| (p.to_owned(), v.into_iter().map(Some).collect()))
            .collect(),
    };
    let mut s = vbar_svg(&chart, lang.t(K::Period), lang.t(K::TipsAccepted));
    if total > MAX_CHART_PERIODS {
        let (shown, all) = (MAX_CHART_PERIODS.to_string(), total.to_string());
        s.push_str(&para("note", &fill(esc(lang.t(K::LastPeriods)), &[&shown, &all])));
    }
    let heads = [
        lang.t(K::Direction),
        lang.t(K::Category),
        lang.t(K::Period),
        lang.t(K::Accepted),
        lang.t(K::Delivered),
        lang.t(K::Acknowledged),
        lang.t(K::WithFeedback),
    ];
    s.push_str(&table(
        &heads,
        l.rows.iter().map(|r| {
            vec![
                Cell::Text(dir(r.from, r.to)),
                Cell::Text(category_name(r.category, lang)),
                Cell::Text(r.period.clone()),
                Cell::Num(r.accepted.to_string()),
                Cell::Num(r.delivered.to_string()),
                Cell::Num(r.acknowledged.to_string()),
                Cell::Num(r.feedback.to_string()),
            ]
        }),
    ));
    s
}

fn latency_section(l: &Ledger, lang: ReportLang) -> String {
    let rows: Vec<_> = l.rows.iter().filter(|r| r.ack_latency.n > 0 || r.feedback_latency.n > 0).collect();
    if rows.is_empty() {
        return para("muted", &esc(lang.t(K::NoAcks)));
    }
    // Medians of different periods cannot be combined: chart the most recent period.
    let dirs = directions(l);
    let latest = rows.iter().filter(|r| r.ack_latency.median_ms.is_some()).map(|r| r.period.as_str()).max();
    let mut medians: BTreeMap<Category, Vec<Option<u64>>> = BTreeMap::new();
    for r in rows.iter().filter(|r| Some(r.period.as_str()) == latest && r.ack_latency.median_ms.is_some()) {
        let v = medians.entry(r.category).or_insert_with(|| vec![None; dirs.len()]);
        if let Some(slot) = dirs.iter().position(|d| *d == (r.from, r.to)).and_then(|i| v.get_mut(i)) {
            *slot = r.ack_latency.median_ms;
        }
    }
    let chart = Chart {
        title: fill(lang.t(K::MedianChart), &[latest.unwrap_or_default()]),
        series: dirs.iter().map(|(f, t)| dir(*f, *t)).collect(),
        groups: medians.into_iter().map(|(c, v)| (category_name(c, lang).to_owned(), v)).collect(),
    };
    let mut s = para("note", &esc(lang.t(K::LatencyNote)));
    if !chart.groups.is_empty() {
        s.push_str(&hbar_svg(&chart, fmt_ms));
    }
    let heads = [
        lang.t(K::Direction),
        lang.t(K::Category),
        lang.t(K::Period),
        lang.t(K::Acks),
        lang.t(K::AckTime),
        lang.t(K::FbTime),
    ];
    s.push_str(&table(
        &heads,
        rows.iter().map(|r| {
            vec![
                Cell::Text(dir(r.from, r.to)),
                Cell::Text(category_name(r.category, lang)),
                Cell::Text(r.period.clone()),
                Cell::Num(r.ack_latency.n.to_string()),
                Cell::Num(fmt_latency(&r.ack_latency)),
                Cell::Num(fmt_latency(&r.feedback_latency)),
            ]
        }),
    ));
    s
}

fn outcomes_section(l: &Ledger, lang: ReportLang) -> String {
    let dirs = directions(l);
    let mut counts = vec![[0u64; 8]; dirs.len()];
    for r in &l.rows {
        if let Some(c) = dirs.iter().position(|d| *d == (r.from, r.to)).and_then(|i| counts.get_mut(i)) {
            for (a, n) in c.iter_mut().zip(r.outcomes) {
                *a = a.saturating_add(n);
            }
        }
    }
    if counts.iter().flatten().all(|n| *n == 0) {
        return para("muted", &esc(lang.t(K::NoFeedback)));
    }
    let series: Vec<String> = dirs.iter().map(|(f, t)| dir(*f, *t)).collect();
    let per_outcome = |i: usize| counts.iter().map(move |c| c.get(i).copied().unwrap_or(0));
    let mut heads = vec![lang.t(K::Outcome)];
    heads.extend(series.iter().cloned());
    let mut rows: Vec<Vec<Cell>> = Outcome::ALL
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let mut row = vec![Cell::Text(outcome_name(*o, lang))];
            row.extend(per_outcome(i).map(|n| Cell::Num(n.to_string())));
            row
        })
        .collect();
    let mut total = vec![Cell::Text(lang.t(K::Total))];
    total.extend(counts.iter().map(|c| Cell::Num(c.iter().sum::<u64>().to_string())));
    rows.push(total);
    let mut s = para("note", &esc(lang.t(K::OutcomesNote)));
    s.push_str(&table(&heads, rows));
    let chart = Chart {
        title: lang.t(K::OutcomesChart),
        groups: Outcome::ALL
            .iter()
            .enumerate()
            .map(|(i, o)| (outcome_name(*o, lang).to_owned(), per_outcome(i).map(Some).collect()))
            .collect(),
        series,
    };
    s.push_str(&hbar_svg(&chart, |v| v.to_string()));
    s
}

fn kind_name(kind: &str, lang: ReportLang) -> String {
    match kind {
        "unacknowledged" => lang.t(K::Unacked),
        "no_feedback" => lang.t(K::NoFb),
        other => other.into(),
    }
}

fn and_more(n: usize, lang: ReportLang) -> String {
    para("note", &fill(esc(lang.t(K::AndMore)), &[&n.to_string()]))
}

fn open_section(input: &ReportInput<'_>) -> String {
    let lang = input.lang;
    let days = if input.feedback_days == 1 {
        lang.t(K::OneDay).to_owned()
    } else {
        fill(lang.t(K::Days), &[&input.feedback_days.to_string()])
    };
    let mut s = String::from("<ul class=\"note\">\n");
    for (key, kind, after) in [(K::RuleAck, K::Unacked, fmt_ms(input.ack_threshold_ms)), (K::RuleFb, K::NoFb, days)] {
        let line = fill(esc(lang.t(key)), &[&format!("<strong>{}</strong>", esc(lang.t(kind))), &esc(&after)]);
        s.push_str(&format!("<li>{line}</li>\n"));
    }
    s.push_str("</ul>\n");
    if input.open.is_empty() {
        s.push_str(&para("muted", &esc(lang.t(K::NoOpen))));
        return s;
    }
    s.push_str(&para("", &format!("{}: {}", esc(lang.t(K::Total)), input.open.len())));
    let heads = [lang.t(K::Tip), lang.t(K::Direction), lang.t(K::Category), lang.t(K::Kind), lang.t(K::Age)];
    s.push_str(&table(
        &heads,
        input.open.iter().take(MAX_LISTED_ROWS).map(|o| {
            vec![
                Cell::Id(o.tip.to_string()),
                Cell::Text(dir(o.from, o.to)),
                Cell::Text(category_name(o.category, lang)),
                Cell::Text(kind_name(o.kind, lang)),
                Cell::Num(fmt_ms(o.age_ms)),
            ]
        }),
    ));
    if input.open.len() > MAX_LISTED_ROWS {
        s.push_str(&and_more(input.open.len() - MAX_LISTED_ROWS, lang));
    }
    s
}

fn reconciliation_section(r: Option<&Reconciliation>, lang: ReportLang) -> String {
    let Some(r) = r else {
        return para("muted", &esc(lang.t(K::NotRun)));
    };
    let mut s = String::new();
    if !r.compared.is_empty() {
        let items: Vec<String> =
            r.compared.iter().map(|c| format!("<li>{}</li>", esc(c.in_locale(lang.locale())))).collect();
        s.push_str(&format!("<p>{}:</p>\n<ul>\n{}\n</ul>\n", esc(lang.t(K::Compared)), items.join("\n")));
    }
    if r.discrepancies.is_empty() {
        s.push_str(&para("ok", &format!("✔ {}", esc(lang.t(K::Agree)))));
        return s;
    }
    let n = r.discrepancies.len().to_string();
    s.push_str(&para("bad", &format!("✘ {}", fill(esc(lang.t(K::Disagree)), &[&n]))));
    s.push_str(&table(
        &[lang.t(K::Tip), lang.t(K::Kind), lang.t(K::Message)][..],
        r.discrepancies.iter().take(MAX_LISTED_ROWS).map(|d| {
            vec![
                Cell::Id(d.tip.map(|t| t.to_string()).unwrap_or_else(|| "—".into())),
                Cell::Id(d.kind.to_owned()),
                Cell::Text(d.text_in(lang.locale())),
            ]
        }),
    ));
    if r.discrepancies.len() > MAX_LISTED_ROWS {
        s.push_str(&and_more(r.discrepancies.len() - MAX_LISTED_ROWS, lang));
    }
    s
}

#[cfg(test)]
mod tests {
    use tiprelay_proto::{TipFacts, TipId};

    use super::*;
    use crate::ledger::{aggregate, open_items, Discrepancy, Msg};

    const BASE: u64 = 1_764_460_800_000; // 2025-11-30T00:00:00Z
    const HOUR: u64 = 3_600_000;
    const DAY: u64 = 86_400_000;

    fn ts(ms: u64) -> Timestamp {
        Timestamp::from_unix_ms(ms).unwrap()
    }

    fn id(n: u16) -> TipId {
        let [hi, lo] = n.to_be_bytes();
        TipId::new_v7(ts(BASE), [0, hi, 0, lo, 0, 0, 0, 0, 0, 0])
    }

    fn fact(n: u16, from: &str, to: &str, category: Category, accepted: u64) -> TipFacts {
        let mut f = TipFacts::new(
            id(n),
            from.parse().unwrap(),
            to.parse().unwrap(),
            category,
            format!("tiprelay://{from}/analyst/a"),
        );
        f.created = ts(accepted);
        f.accepted = Some(ts(accepted));
        f.seq = Some(u64::from(n));
        f
    }

    fn facts() -> Vec<TipFacts> {
        let mut a = fact(1, "MX", "US", Category::DrugShipment, BASE);
        a.delivered = Some(ts(BASE + 100));
        a.acked = Some(ts(BASE + 2_000));
        a.add_feedback(Outcome::Seizure, ts(BASE + HOUR));
        let mut b = fact(2, "MX", "US", Category::FentanylPrecursors, BASE + DAY);
        b.delivered = Some(ts(BASE + DAY + 50));
        b.acked = Some(ts(BASE + DAY + 90_000));
        let c = fact(3, "MX", "US", Category::TunnelLocated, BASE + DAY);
        let mut d = fact(4, "US", "MX", Category::ArmedGroupCrossing, BASE + DAY);
        d.acked = Some(ts(BASE + DAY + 500));
        d.add_feedback(Outcome::Arrest, ts(BASE + 2 * DAY));
        vec![a, b, c, d]
    }

    const HEADINGS_EN: [&str; 7] = [
        "Reciprocity report",
        "Reciprocity summary",
        "Tips sent by direction",
        "Acknowledgement latency",
        "Feedback outcomes",
        "Open items",
        "Reconciliation",
    ];
    const HEADINGS_ES: [&str; 7] = [
        "Informe de reciprocidad",
        "Resumen de reciprocidad",
        "Avisos enviados por dirección",
        "Latencia de la confirmación",
        "Resultados de las respuestas",
        "Asuntos pendientes",
        "Conciliación",
    ];

    fn render(ledger: &Ledger, open: &[OpenItem], rec: Option<&Reconciliation>, lang: ReportLang) -> String {
        render_html(&ReportInput {
            ledger,
            open,
            reconciliation: rec,
            generated: ts(BASE + 3 * DAY),
            prepared_by: "tiprelay://MX/analyst/a-1",
            ack_threshold_ms: HOUR,
            feedback_days: 7,
            lang,
        })
    }

    fn section<'a>(html: &'a str, id: &str) -> &'a str {
        let start = html.find(&format!("<section id=\"{id}\">")).unwrap();
        let len = html[start..].find("</section>").unwrap();
        &html[start..start + len]
    }

    fn assert_self_contained(html: &str) {
        assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\""));
        assert!(html.contains("<meta charset=\"utf-8\">"));
        assert!(html.contains("@media print"));
        assert!(!html.to_ascii_lowercase().contains("<script"));
        let without_ns = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        assert!(!without_ns.contains("http://") && !without_ns.contains("https://"), "external reference");
        assert!(!html.contains("<img") && !html.contains("<link") && !html.contains("@import"));
        assert_eq!(html.matches("<svg").count(), html.matches("</svg>").count());
    }

    #[test]
    fn esc_escapes_markup_and_quotes() {
        assert_eq!(
            esc(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        assert_eq!(esc("MX→US año"), "MX→US año");
        assert_eq!(fill("{0} and {1} {2} {x", &["{1}", "b"]), "{1} and b {2} {x");
    }

    #[test]
    fn language_parses_or_says_what_is_allowed() {
        assert_eq!("en".parse::<ReportLang>().unwrap(), ReportLang::En);
        assert_eq!("es".parse::<ReportLang>().unwrap(), ReportLang::Es);
        let e = "fr".parse::<ReportLang>().unwrap_err().to_string();
        assert!(e.contains("`fr`") && e.contains("`en`") && e.contains("`es`"), "{e}");
    }

    #[test]
    fn renders_every_section_in_order_in_both_languages() {
        let f = facts();
        let ledger = aggregate("relay", &f, Period::Day, Range::all());
        let open = open_items(&f, Range::all(), ts(BASE + 3 * DAY), HOUR, 7 * DAY);
        assert!(!open.is_empty());
        let rec = Reconciliation { compared: vec!["relay records".into()], discrepancies: Vec::new() };
        for (lang, headings, other) in
            [(ReportLang::En, HEADINGS_EN, HEADINGS_ES), (ReportLang::Es, HEADINGS_ES, HEADINGS_EN)]
        {
            let html = render(&ledger, &open, Some(&rec), lang);
            assert_self_contained(&html);
            assert!(html.contains(&format!("<html lang=\"{}\">", lang.as_str())));
            let mut at = 0;
            for h in headings {
                let pos = html[at..].find(&format!("{h}</h")).unwrap_or_else(|| panic!("{h} missing or out of order"));
                at += pos;
            }
            for h in other {
                assert!(!html.contains(&format!("{h}</h")), "{h} in the wrong language");
            }
            for id in ["summary", "tips", "latency", "outcomes"] {
                let s = section(&html, id);
                assert!(s.contains("<svg") && s.contains("<title>"), "{id} has no chart");
            }
            assert!(section(&html, "reconciliation").contains("class=\"ok\""));
            assert!(section(&html, "summary").contains("MX ⇄ US"));
        }
        let es = render(&ledger, &open, None, ReportLang::Es);
        for word in ["Cargamento de drogas", "Túnel localizado", "Cruce de grupo armado", "Aseguramiento", "Detención"]
        {
            assert!(es.contains(word), "{word}");
        }
        assert!(es.contains("Sin confirmar") && es.contains("7 días") && es.contains("Proporción"));
        assert!(es.contains("todo el historial") && es.contains("día</dd>"));
        assert!(section(&es, "reconciliation").contains("No se ejecutó la conciliación."));
        let en = render(&ledger, &open, None, ReportLang::En);
        assert!(en.contains("MX→US") && en.contains("3.00") && en.contains("Drug shipment") && en.contains("Seizure"));
        assert!(section(&en, "reconciliation").contains("Reconciliation not run."));
        assert!(section(&en, "open").contains("1.0h"), "threshold stated");
        let latency = section(&en, "latency");
        assert!(latency.contains("<title>Median time to acknowledgement, period 2025-12-01</title>"), "latest period");
        assert!(latency.contains("2.0s/2.0s") && latency.contains("1.5min/1.5min"), "per-period latencies");
    }

    #[test]
    fn every_data_string_is_escaped() {
        let f = facts();
        let ledger = aggregate("tiprelay://MX/analyst/<b>x</b>", &f, Period::Month, Range::all());
        let rec = Reconciliation {
            compared: vec!["<img src=x onerror=alert(1)>".into()],
            discrepancies: vec![Discrepancy::new(
                Some(id(1)),
                "relay_missing",
                Msg::raw("<script>alert(1)</script> \"quoted\" 'single'"),
            )],
        };
        let html = render_html(&ReportInput {
            ledger: &ledger,
            open: &[],
            reconciliation: Some(&rec),
            generated: ts(BASE),
            prepared_by: "tiprelay://MX/analyst/\"><script>x</script>",
            ack_threshold_ms: HOUR,
            feedback_days: 1,
            lang: ReportLang::En,
        });
        assert_self_contained(&html);
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &quot;quoted&quot; &#39;single&#39;"));
        assert!(html.contains("&quot;&gt;&lt;script&gt;x&lt;/script&gt;"));
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;") && !html.contains("<img"));
        assert!(html.contains("&lt;b&gt;x&lt;/b&gt;") && !html.contains("<b>"));
        let rec = section(&html, "reconciliation");
        assert!(
            rec.contains("class=\"bad\"") && rec.contains("Discrepancies found: 1") && rec.contains("relay_missing")
        );
        assert!(section(&html, "open").contains("1 day"));
    }

    #[test]
    fn reconciliation_lines_follow_the_report_language() {
        let ledger = aggregate("relay", &facts(), Period::Month, Range::all());
        let rec = Reconciliation {
            compared: vec![Msg::new("ledger-compared-relay").number("count", 4u64)],
            discrepancies: vec![Discrepancy::new(
                Some(id(3)),
                "unacknowledged",
                Msg::new("ledger-diff-undelivered").text("tip", id(3)).text("to", "US"),
            )],
        };
        let es = render(&ledger, &[], Some(&rec), ReportLang::Es);
        let s = section(&es, "reconciliation");
        assert!(
            s.contains("registros del relé (4 avisos)") && s.contains("el relé aún no ha entregado el aviso"),
            "{s}"
        );
        let en = render(&ledger, &[], Some(&rec), ReportLang::En);
        let s = section(&en, "reconciliation");
        assert!(s.contains("relay records (4 tips)") && s.contains("relay has not delivered tip"), "{s}");
    }

    #[test]
    fn empty_ledger_says_no_tips() {
        let ledger = aggregate("relay", &[], Period::Week, Range::parse_period("2026-11").unwrap());
        for (lang, msg) in
            [(ReportLang::En, "No tips in this range."), (ReportLang::Es, "No hay avisos en este intervalo.")]
        {
            let html = render(&ledger, &[], None, lang);
            assert_self_contained(&html);
            assert!(section(&html, "summary").contains(msg) && section(&html, "tips").contains(msg));
            assert!(!html.contains("<svg class=\"chart\""));
        }
        let es = render(&ledger, &[], None, ReportLang::Es);
        assert!(es.contains("del 1 de noviembre de 2026 al 30 de noviembre de 2026") && es.contains("semana ISO"));
        assert!(es.contains("No hay asuntos pendientes.") && es.contains("No hay respuestas en este intervalo."));
    }

    #[test]
    fn long_lists_are_truncated_and_charts_capped() {
        let open: Vec<OpenItem> = (0..1203u16)
            .map(|n| OpenItem {
                tip: id(n),
                from: "MX".parse().unwrap(),
                to: "US".parse().unwrap(),
                category: Category::Other,
                kind: "unacknowledged",
                age_ms: u64::from(5000 - n) * HOUR,
            })
            .collect();
        let f: Vec<TipFacts> =
            (0..30u16).map(|n| fact(n, "MX", "US", Category::Other, BASE + u64::from(n) * DAY)).collect();
        let ledger = aggregate("relay", &f, Period::Day, Range::all());
        for (lang, more) in [(ReportLang::En, "… and 703 more."), (ReportLang::Es, "… y 703 más.")] {
            let html = render(&ledger, &open, None, lang);
            let s = section(&html, "open");
            assert!(s.contains(more), "{more}");
            assert!(s.contains(&id(499).to_string()) && !s.contains(&id(500).to_string()));
            assert_eq!(s.matches("<tr>").count(), MAX_LISTED_ROWS + 1, "header and 500 rows");
            let tips = section(&html, "tips");
            let svg = &tips[tips.find("<svg").unwrap()..tips.find("</svg>").unwrap()];
            assert!(!svg.contains("2025-11-30<") && svg.contains("2025-12-29<"), "last 24 periods only");
            assert!(svg.contains(">2025-12-06<") && !svg.contains(">2025-12-05<"));
            assert!(tips.contains(">2025-11-30<"), "the table keeps every period");
        }
    }
}

# tiprelay: English messages, ledger.
# `tipctl ledger` (tables, statements, reconciliation) and `tipctl audit`. The `--json`
# output carries the English text of reconciliation lines and differences.

## Ledger table (also `tiprelay ledger`)
ledger-col-direction = from→to
ledger-col-category = category
ledger-col-period = period
ledger-col-sent = sent
ledger-col-accepted = accepted
ledger-col-delivered = delivered
ledger-col-acked = acked
ledger-col-feedback = feedback
ledger-col-ack-latency = ack p50/p90
ledger-col-feedback-latency = fb p50/p90
ledger-table-title = Ledger ({ $view }), { $range } by { $period }
ledger-period-day = day
ledger-period-week = week
ledger-period-month = month
ledger-range-all = all time
ledger-range = { $start } to { $end }
ledger-no-tips-in-range = no tips in this range
ledger-pair-line = { $a }→{ $b }: { $ab ->
        [one] 1 tip
       *[other] { $ab } tips
    }, { $b }→{ $a }: { $ba ->
        [one] 1 tip
       *[other] { $ba } tips
    }, ratio { $ratio }; feedback rate { $b } { $rate_b }, { $a } { $rate_a }

## Reconciliation: differences, tip by tip
ledger-diff-missing-here = relay accepted tip { $tip } from { $me } (seq { $seq }, by { $author }); { $me }'s records hold no such tip
ledger-diff-receipt-not-held = relay accepted tip { $tip } (seq { $seq }); { $me } holds no receipt for it
ledger-diff-ack-not-received = relay recorded { $to }'s ack of tip { $tip }; { $me } has not received it
ledger-diff-ack-unknown-to-relay = { $me } holds { $to }'s ack of tip { $tip }; the relay has no ack recorded
ledger-diff-delivered-unacked = relay says tip { $tip } was delivered to { $to }; { $to } has no ack
ledger-diff-undelivered = relay has not delivered tip { $tip } to { $to } yet
ledger-diff-feedback-at-relay = relay holds { $relay } feedback on tip { $tip }; { $me } has received { $here }
ledger-diff-not-received = relay accepted tip { $tip } from { $from } for { $me } (seq { $seq }); { $me } has not received it
ledger-diff-not-acked-here = { $me } holds tip { $tip } from { $from } but has not acknowledged it
ledger-diff-acked-unknown-to-relay = { $me } acknowledged tip { $tip }; the relay has no ack recorded
ledger-diff-feedback-given = { $me } gave { $here } feedback on tip { $tip }; the relay holds { $relay }
ledger-diff-not-accepted = { $me } says it sent tip { $tip } to { $to }; the relay has no receipt for it
ledger-diff-relay-missing = { $me } holds the relay's receipt for tip { $tip } ({ $from }→{ $to }, seq { $seq }); the relay has no record of it
ledger-diff-numbered-differently = { $home }'s relay numbered it { $seq } in { $from } → { $to }, { $peer }'s relay { $other }
ledger-diff-missing-at-peer = { $home }'s relay holds it as number { $seq } of { $from } → { $to }; { $peer }'s relay holds numbers around it in that direction but not this one: it says it never received it
ledger-diff-not-across = accepted by { $home }'s relay as number { $seq } of { $from } → { $to }, not yet received by { $peer }'s relay
ledger-diff-missing-at-home = { $peer }'s relay holds it as number { $seq } of { $from } → { $to }; { $home }'s relay holds numbers around it in that direction but not this one
ledger-diff-statement-tips = { $side }'s statement covers { $count ->
        [one] 1 tip
       *[other] { $count } tips
    } (digest { $digest }); the relay holds { $held } for { $start }–{ $end } (digest { $held_digest })
ledger-diff-statement-count = { $from }→{ $to } { $category }: { $side } states { $stated } { $what }, the relay has { $held }
ledger-what-accepted = accepted
ledger-what-acknowledged = acknowledged
ledger-what-feedback = with feedback
ledger-diff-peer-unsigned = { $peer }'s relay's records differ from its own signed statement: { $detail }
ledger-diff-peer-unavailable = { $peer }'s relay could not be asked through ours ({ $reason }); what crossed the link is not reconciled

## Reconciliation: what was compared, and the verdict
ledger-compared-local = { $authors } records ({ $count ->
        [one] 1 tip
       *[other] { $count } tips
    })
ledger-compared-relay = relay records ({ $count ->
        [one] 1 tip
       *[other] { $count } tips
    })
ledger-compared-relay-others = relay records ({ $count ->
        [one] 1 tip
       *[other] { $count } tips
    }, of which { $others ->
        [one] 1 tip
       *[other] { $others } tips
    } written by other principals of { $me }: compared with their authors' records only when merged with --merge)
ledger-compared-peer = { $peer }'s relay's records ({ $count ->
        [one] 1 tip
       *[other] { $count } tips
    })
ledger-compared-peer-signed = { $peer }'s relay's records ({ $count ->
        [one] 1 tip
       *[other] { $count } tips
    }, as its signed statement states)
ledger-compared-peer-unavailable = { $peer }'s relay's records: UNAVAILABLE
ledger-compared-statement = { $side }'s statement { $id } by { $by } ({ $count ->
        [one] 1 tip
       *[other] { $count } tips
    })
ledger-compared-none = no counterpart statement for this period
ledger-compared = compared: { $list }
ledger-all-agree = all views agree
ledger-col-tip = tip
ledger-col-kind = kind
ledger-col-difference = difference
ledger-discrepancies = { $count ->
        [one] 1 discrepancy
       *[other] { $count } discrepancies
    }
ledger-no-answer = no answer

## tipctl ledger: commands
ledger-grace-not-duration = `{ $given }` is not a duration like 1h, 30m, 2d
ledger-grace-unit = `{ $given }`: the unit must be s, m, h or d
ledger-cannot-read = cannot read { $path }
ledger-cannot-write = cannot write { $path }
ledger-merge-bad-principal = { $path }: bad principal
ledger-merge-other-jurisdiction = { $path }: records of { $who }, not of a principal of { $jurisdiction }
ledger-no-counterpart = no counterpart jurisdiction is configured ([[trust]] lists only your own)
ledger-several-counterparts = several counterparts are configured ({ $list }); choose one with --to
ledger-export-written = { $count ->
        [one] 1 tip record
       *[other] { $count } tip records
    } of { $principal } written to { $path }
ledger-statement-unacceptable = the statement is not acceptable: { $why }
ledger-statement-other-period = it covers { $start } to { $end }, not the period reconciled ({ $from } to { $until })
ledger-unreachable-statements = relay unreachable, showing statements held here: { $reason }
ledger-no-statements = no statements received
ledger-statement-line = { $id }  { $jurisdiction } for { $start } to { $end }  by { $by }  { $count ->
        [one] 1 tip
       *[other] { $count } tips
    }, digest { $digest }
ledger-unreachable-counting = relay unreachable, counting what is held here: { $reason }
ledger-relay-needed = the relay is needed for this (use --offline for local records only)
ledger-report-written = tipctl: report written to { $path } ({ $rows ->
        [one] 1 row
       *[other] { $rows } rows
    }, { $open ->
        [one] 1 open item
       *[other] { $open } open items
    }, reconciliation: { $reconciliation })
ledger-report-not-run = not run (relay unreachable)
ledger-statement-where = say where the statement goes: --out FILE, --send, or both
ledger-unreachable-statement = relay unreachable, the statement covers what is held here: { $reason }
ledger-statement-signed = statement { $id } by { $by } for { $start }–{ $end }: { $count ->
        [one] 1 tip
       *[other] { $count } tips
    }, digest { $digest }
ledger-statement-file = written to { $path }
ledger-statement-sent = sent to { $to } through the relay: receipt seq { $seq } at { $at }
ledger-reconcile-needs-records = reconciliation needs the relay's records
ledger-reconcile-needs-relay = reconciliation needs the relay
ledger-report-lang = unknown report language `{ $lang }`: use `en` (English) or `es` (Spanish)

## tipctl audit
audit-cannot-open = cannot open { $path }
audit-no-roots = no roots to check signatures against: pass --config FILE (your configured roots) or --anchors-from-bundle (the bundle's own roots; compare the fingerprints it prints)
audit-valid-relay = VALID: the relay's log { $log }, entries { $first }..{ $end } ({ $count }), { $checkpoints ->
        [one] 1 signed checkpoint
       *[other] { $checkpoints } signed checkpoints
    }, verified in { $secs } s
audit-valid-local = VALID: the local audit log of { $log }, entries { $first }..{ $end } ({ $count }), { $checkpoints ->
        [one] 1 signed checkpoint
       *[other] { $checkpoints } signed checkpoints
    }, verified in { $secs } s
audit-head = head: size { $size } root { $root } signed { $time } by { $by }
audit-cosigned-by = cosigned by: { $list }
audit-cosigned-nobody = cosigned by: nobody yet
audit-roots-configured = signatures checked against the roots configured for { $principal }
audit-roots-bundle = signatures checked against the roots carried in the bundle; compare their fingerprints:
audit-invalid = INVALID: { $reason }
audit-bundle-unverified = the bundle does not verify: { $reason }
audit-col-index = #
audit-col-time = time
audit-col-event = event
audit-col-principal = principal
audit-col-direction = from→to
audit-col-tip = tip
audit-col-category = category
audit-col-seq = seq
audit-col-code = code/outcome
audit-log-count = { $count ->
        [one] 1 entry
       *[other] { $count } entries
    } (bundle verified)
audit-checkpoint-held = checkpoint verified here: size { $size } root { $root } signed { $time } ({ $log })
audit-no-checkpoint = no checkpoint verified here yet
audit-cosigned-now = cosigned now by { $principal }
audit-alert = ALERT { $time }: { $alert }
audit-out-exists = { $path } exists already; choose another name
audit-local-empty = nothing is in this principal's local audit log yet
audit-export-written = wrote { $path }: local audit log of { $principal }, { $count ->
        [one] 1 entry
       *[other] { $count } entries
    }, root { $root }
audit-proven = PROVEN: tip { $tip } accepted as entry { $index } (seq { $seq }, { $time }) is in the relay's log of { $size ->
        [one] 1 entry
       *[other] { $size } entries
    }, root { $root }
audit-proof-checkpoint = checkpoint signed { $time } by { $by }; cosigned by: { $cosigners }
audit-nobody-yet = nobody yet

## The relay's audit log, checked by the client
audit-unexpected-answer = unexpected answer to `{ $request }`
audit-future-checkpoint = it is dated in the future
audit-local-not-relay = it is { $log }'s local log, not the relay's
audit-no-receipt-yet = { $tip } (it has no receipt yet)
audit-a-relay-checkpoint = a relay checkpoint
audit-no-entry = the relay did not return the entry of this tip
audit-entry-unreadable = the log entry is unreadable: { $reason }
audit-entry-mismatch = entry { $index } is not the acceptance of tip { $tip } named by its receipt
audit-inclusion-failed = the inclusion proof does not verify: { $reason }
audit-alert-no-checkpoint = the relay now shows no signed checkpoint at all, but this client verified one of size { $size } (root { $root }): its log was rolled back or replaced
audit-alert-unverified = the relay's newest checkpoint does not verify: { $reason }
audit-alert-earlier = the relay's checkpoint is dated { $time }, before the one verified earlier ({ $before })
audit-alert-other-log = the relay's log is now { $log }, not { $before }
audit-alert-shrank = the relay's log shrank from { $before } entries (verified before, root { $before_root }) to { $size } (root { $root }): it was rolled back
audit-alert-two-roots = two different signed roots for the first { $size } entries ({ $before_root } verified before, { $root } now): the relay shows different histories
audit-alert-no-proof = the relay signed a checkpoint of { $size } entries but will not prove it extends the one of { $before } verified before
audit-alert-not-extending = the relay's checkpoint of { $size } entries does not extend the one of { $before } verified before ({ $reason }): the relay shows different histories
audit-alert-cosign-refused = the relay refused this client's cosignature: { $reason }

## HTML reciprocity report (tipctl ledger --html): labels; { $a0 }… are filled in by the report
report-title = Reciprocity report
report-view = Records of
report-pairs = Jurisdictions
report-range = Range
report-all-time = all time
report-from-to = { $a0 } to { $a1 }
report-granularity = Period granularity
report-day = day
report-week = ISO week
report-month = month
report-prepared-by = Prepared by
report-generated = Generated at
report-h-summary = Reciprocity summary
report-h-tips = Tips sent by direction
report-h-latency = Acknowledgement latency
report-h-outcomes = Feedback outcomes
report-h-open = Open items
report-h-recon = Reconciliation
report-direction = Direction
report-tips-accepted = Tips accepted
report-ack-col = Acknowledgement
report-feedback-col = Feedback
report-ratio = Ratio
report-rates-note = Percentages are of the tips accepted in that direction.
report-category = Category
report-period = Period
report-accepted = Accepted
report-delivered = Delivered
report-acknowledged = Acknowledged
report-with-feedback = With feedback
report-no-tips = No tips in this range.
report-per-period-chart = Tips accepted per period and direction
report-acks = Acknowledgements
report-ack-time = Time to acknowledgement (median/p90)
report-fb-time = Time to first feedback (median/p90)
report-latency-note = Measured from acceptance by the relay. Medians of different periods cannot be combined, so the table lists each period and the chart the most recent one.
report-no-acks = No acknowledgements in this range.
report-outcome = Outcome
report-total = Total
report-outcomes-note = Feedback messages per outcome (a tip may receive several).
report-outcomes-chart = Feedback outcomes per direction
report-no-feedback = No feedback in this range.
report-tip = Tip
report-kind = Kind
report-age = Age
report-unacked = Unacknowledged
report-no-fb = No feedback
report-rule-ack = { $a0 }: accepted by the relay more than { $a1 } ago and not acknowledged by the recipient.
report-rule-fb = { $a0 }: acknowledged, but no feedback more than { $a1 } after acceptance.
report-one-day = 1 day
report-days = { $a0 } days
report-no-open = No open items.
report-and-more = … and { $a0 } more.
report-compared = Views compared
report-agree = All views agree.
report-disagree = Discrepancies found: { $a0 }
report-not-run = Reconciliation not run.
report-message = Message
report-summary-chart = Tips, acknowledgements and feedback: { $a0 }
report-last-periods = The chart shows the last { $a0 } of { $a1 } periods.
report-median-chart = Median time to acknowledgement, period { $a0 }
report-category-armed_group_crossing = Armed group crossing
report-category-tunnel_located = Tunnel located
report-category-fentanyl_precursors = Fentanyl precursors
report-category-drug_shipment = Drug shipment
report-category-arms_trafficking = Arms trafficking
report-category-fuel_theft = Fuel theft
report-category-illicit_finance = Illicit finance
report-category-human_smuggling = Human smuggling
report-category-irregular_migration = Irregular migration
report-category-other = Other
report-outcome-under_review = Under review
report-outcome-actioned = Actioned
report-outcome-interdicted = Interdicted
report-outcome-arrest = Arrest
report-outcome-seizure = Seizure
report-outcome-unfounded = Unfounded
report-outcome-duplicate = Duplicate
report-outcome-outside_jurisdiction = Outside jurisdiction
report-month-1 = January
report-month-2 = February
report-month-3 = March
report-month-4 = April
report-month-5 = May
report-month-6 = June
report-month-7 = July
report-month-8 = August
report-month-9 = September
report-month-10 = October
report-month-11 = November
report-month-12 = December
report-date = { $day } { $month } { $year }
report-date-time = { $date }, { $time } UTC

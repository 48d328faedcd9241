# tiprelay: English messages, demo.
# The narration of `tiprelay-demo`: each step, its detail lines, the summary and the
# errors it reports. Tip summaries, outcome and entry codes are data, printed as they are.

## Errors
demo-err-runtime = cannot start the async runtime
demo-err-tempdir = cannot create a temporary directory
demo-err-bind = cannot bind a loopback UDP port
demo-err-fresh-dir = the demo needs a fresh directory: { $dir } must not exist yet
demo-err-outbox-missing = outbox entry missing
demo-err-unexpected = the demo did not see what it expected (acks { $mx }/{ $us }, replay duplicate { $duplicate })
demo-err-discrepancies = reconciliation found { $count ->
        [one] 1 discrepancy
       *[other] { $count } discrepancies
    }
demo-err-no-checkpoint = the relay signed no checkpoint
demo-err-different-checkpoints = MX and US were shown different checkpoints
demo-err-bundle-invalid = the exported audit bundle does not verify: { $reason }
demo-err-not-cosigned = the log head is not cosigned by both jurisdictions
demo-err-timeout = { $what }: not within { $seconds } s
demo-discrepancy = DISCREPANCY { $kind }: { $message }

## The demo with one relay
demo-step-pki = Each jurisdiction creates its own root CA; the relay operator creates its own.
demo-pki-made =
    MX root CA, US root CA, relay operator CA, CRLs, and for each side an analyst and a feed
    (TLS and signing certificates with separate keys) in { $dir }
demo-step-relay = The relay starts on { $addr } (QUIC, TLS 1.3, mutual TLS, ALPN tiprelay/1).
demo-connected = { $mx } and { $us } connected and authenticated
demo-step-mx-tip = MX analyst reports an armed group about to cross (signed, written to the outbox, then sent).
demo-tip-sent = tip { $id } → { $to }, { $tlp }, { $urgency }
demo-receipt = receipt: seq { $seq } (MX→US), accepted { $accepted }, signed by { $relay } — verified in { $ms } ms
demo-step-us-fetches = US analyst fetches, verifies the author's signature itself (no trust in the relay), stores, acknowledges.
demo-received = received seq { $seq } from { $from }: "{ $summary }"
demo-verified-signer = verified signer: { $signer } (chain to the MX root CA, not revoked); acknowledged
demo-latency = end-to-end latency (compose → verified and stored in US): { $ms } ms
demo-step-us-tip = US analyst reports a tunnel located near Nogales, to MX.
demo-tip-sent-receipt = tip { $id } → { $to }, { $tlp }, receipt seq { $seq } (US→MX)
demo-mx-received = MX received seq { $seq }: "{ $summary }"
demo-verified-acked = verified signer: { $signer }; acknowledged ({ $ms } ms after compose)
demo-step-acks = Each author collects the counterpart's signed acknowledgement; a replay is answered with the original receipt.
demo-acked-by = { $who }: tip { $id } acknowledged by { $by }
demo-nobody-yet = (nobody yet)
demo-replay = MX re-sends tip { $id }: duplicate={ $duplicate }, same receipt seq { $seq }
demo-step-feedback = US reports what came of the MX tip: signed feedback, relayed to its author with a receipt.
demo-feedback-sent = US feedback on { $id }: { $first }, then { $then } (receipt seq { $seq })
demo-feedback-received = MX received verified feedback from { $by }: { $outcome }
demo-step-ledgers = Reciprocity: each side's ledger from its own records, the relay's from its commits, statements, reconciliation.
demo-ledger-of = { $who } ledger:
demo-relay-ledger = relay ledger (read-only while it runs): { $rows ->
        [one] 1 row
       *[other] { $rows } rows
    }; { $pairs }
demo-statement-sent = US signs its statement for { $period }: { $count ->
        [one] 1 tip
       *[other] { $count } tips
    }, digest { $digest }…; sent through the relay (receipt seq { $seq })
demo-reconciled = MX reconciles its records ({ $mine ->
        [one] 1 tip
       *[other] { $mine } tips
    }), the relay's ({ $relay }) and US's signed statement: all agree
demo-step-audit = Audit: both sides verify the relay's signed log head extends what they saw and cosign it; a reviewer verifies the log offline.
demo-checkpoint = relay checkpoint: { $size ->
        [one] 1 entry
       *[other] { $size } entries
    }, root { $root }…, cosigned by MX and US
demo-proved = MX proves its tip's acceptance is entry { $index } of that log ({ $hashes ->
        [one] 1 hash
       *[other] { $hashes } hashes
    }, RFC 9162 inclusion proof)
demo-exported = exported { $count ->
        [one] 1 entry
       *[other] { $count } entries
    } and { $checkpoints ->
        [one] 1 signed checkpoint
       *[other] { $checkpoints } signed checkpoints
    }; verified offline: VALID, head cosigned by { $cosigners ->
        [one] 1 jurisdiction
       *[other] { $cosigners } jurisdictions
    }
demo-entries = entries: { $kinds }
demo-done =
    Done: 2 tips exchanged, both verified end to end, both receipted and acknowledged;
    feedback relayed; ledgers on both sides and at the relay agree, and US's signed statement reconciles;
    the relay's audit log verifies offline, with a head both jurisdictions cosigned.
demo-kept = Kept { $dir }: try `tipctl --config { $dir }/pki/US/analyst.toml inbox` after `tiprelay serve --config { $dir }/pki/relay.toml`.

## The federated demo (`--federated`)
demo-fed-step-pki = Each jurisdiction creates its root CA, and with it its own relay's certificates: no third party.
demo-fed-pki-made = { $mx } (MX root) and { $us } (US root), principals, configs in { $dir }
demo-fed-step-relays = MX's relay starts on { $mx }, the US relay on { $us }; they peer over one UDP port each.
demo-fed-connected = { $mx } connected to MX's relay, { $us } to the US relay
demo-fed-step-mx-tip = MX analyst reports an armed group about to cross: accepted at home by MX's relay.
demo-fed-home-receipt = home receipt: seq { $seq } signed by { $relay }
demo-fed-step-crosses = It crosses the link: the US relay verifies author and home receipt itself, stores it, receipts it; the US analyst verifies and acknowledges.
demo-fed-wait-tip = the tip reaches the US analyst
demo-fed-us-received = US received seq { $seq } from { $from } ({ $ms } ms after compose), receipted by { $relay }; signer { $signer } verified; acknowledged
demo-fed-wait-receipts = both receipts and the ack reach the author
demo-fed-both-receipts = MX holds both receipts: seq { $home-seq } by { $home } (home) and seq { $across-seq } by { $across } (across); acknowledged by { $by }
demo-fed-step-feedback = US reports what came of it: signed feedback crosses back to its author.
demo-fed-wait-feedback = the feedback reaches MX
demo-fed-step-cut = The link is cut (the US relay stops): MX keeps accepting; the tip waits, accepted at home, not yet across.
# The English text is what the demo's test looks for: keep it as it is.
demo-fed-queued = MX tip { $id } receipted at home (seq { $seq }); MX's relay: { $count } tip(s) queued for the link
demo-fed-err-port = the US relay's port did not free up
demo-fed-wait-drain = the queued tip crosses once the link is back
demo-fed-drained = the US relay is back: the link drains in order; US received seq { $seq } and acknowledged it
demo-fed-step-ledgers = Each relay keeps its own ledger: both relays' records agree tip by tip, and each side reconciles with its own relay.
demo-fed-wait-last = the last receipts cross back
demo-fed-err-disagree = the records do not agree
demo-fed-agree = MX's relay and the US relay each hold { $count ->
        [one] 1 tip
       *[other] { $count } tips
    } with the same numbers, all acknowledged; MX and US agree with their relays
demo-fed-step-audit = Audit on both ends: each relay witnesses (cosigns) the other's log over the link, each side's analyst its own relay's; each log exports and verifies offline.
demo-fed-wait-cosign = the other relay cosigns this relay's newest checkpoint
demo-fed-err-not-cosigned = { $who }'s relay's newest checkpoint is not cosigned by { $other }
demo-fed-err-bundle-invalid = { $who }'s relay audit bundle does not verify: { $reason }
demo-fed-audit = { $who }'s relay: checkpoint of { $size ->
        [one] 1 entry
       *[other] { $size } entries
    } cosigned by { $other } and { $analyst }; { $count ->
        [one] 1 entry
       *[other] { $count } entries
    } exported, VALID offline ({ $kinds })
demo-fed-done =
    Done: each side's tips crossed the border exactly once through both relays, with both receipts at the
    author; ack and feedback came back; a cut link only delayed a tip; both relays' records agree.
demo-fed-kept = Kept { $dir }: `tiprelay serve --config { $dir }/pki/MX/relay.toml` and `… { $dir }/pki/US/relay.toml`, then `tipctl --config { $dir }/pki/MX/analyst.toml status`.

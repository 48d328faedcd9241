# tiprelay: English messages (tipctl, tiprelay, tipcerts).
# Every message here exists in es.ftl too (a test checks); `help-…` messages are in es.ftl
# only, because the English help is the commands' own doc comments.

## Shared
error = error
warning = WARNING
help-flag = Print help
version-flag = Print version
help-template = {"{"}before-help{"}"}{"{"}about-with-newline{"}"}
    Usage: {"{"}usage{"}"}

    {"{"}all-args{"}"}{"{"}after-help{"}"}
heading-options = Options
heading-arguments = Arguments
heading-commands = Commands
clap-unknown-argument = error: unexpected argument '{ $arg }'
clap-invalid-subcommand = error: unrecognized command '{ $command }'
clap-missing-argument = error: a required argument was not given: { $arg }
clap-invalid-value = error: invalid value '{ $value }' for '{ $arg }'
clap-valid-values = possible values: { $valid }
clap-conflict = error: '{ $arg }' cannot be used with '{ $prior }'
clap-missing-command = error: say which command (see --help)
clap-see-help = For more information, try '{ $bin } --help'.

## tipctl: configuration and connection
no-config = no configuration: pass --config FILE or set TIPCTL_CONFIG
crl-stale = the { $authority } revocation list was due for renewal at { $next }; ask for a fresh CRL
outbox-sent = sent { $count ->
        [one] 1 tip
       *[other] { $count } tips
    } waiting in the outbox
outbox-refused = the relay refused outbox tip { $id } for good: { $reason }; it will not be resent
log-unchecked = the relay's audit log could not be checked: { $reason }
sequence-gap = sequence gap in tips from { $from }: missing seq { $missing }; the relay may have dropped tips — report it
delivery-failed = a delivery failed verification and was NOT accepted: { $reason }
unreachable-local = relay unreachable, showing local tips only: { $reason }
unreachable-state = relay unreachable, showing local state: { $reason }
new-tips = { $count ->
        [one] 1 new tip verified, stored and acknowledged
       *[other] { $count } new tips verified, stored and acknowledged
    }

## tipctl: commands
send-safe = tip { $id } is safe in the outbox and will be sent by the next tipctl command or `tipctl resend`
send-refused-kept = tip { $id } was refused for good: it stays in the outbox, marked rejected, and is not resent
send-accepted = accepted: tip { $id } to { $to } — receipt seq { $seq } at { $at }, signed by { $relay }
no-tips = no tips
no-tips-sent = no tips sent
no-such-tip = no tip { $id } in the local store (run `tipctl inbox` to fetch new tips)
id-not-an-id = `{ $given }` is neither a tip id nor a prefix of one (at least { $min } hexadecimal characters)
id-no-match = no tip held here has an id starting with `{ $given }` (run `tipctl inbox` to fetch new tips)
id-ambiguous = `{ $given }` starts { $count } tip ids: { $candidates }; give more characters
feedback-safe = feedback { $id } is stored here and will be sent by the next tipctl command or `tipctl resend`
feedback-accepted = accepted: feedback { $id } ({ $outcome }) on tip { $tip } — receipt seq { $seq } at { $at }; relayed to the tip's author
resend-accepted = accepted: tip { $id } — receipt seq { $seq }
resend-refused = refused:  tip { $id } — { $reason } (kept in the outbox as rejected)
resend-summary = { $sent ->
        [one] 1 tip sent
       *[other] { $sent } tips sent
    }, { $refused } refused; nothing else is waiting
man-written = { $count } manual pages written to { $dir }
watching = watching as { $principal } (Ctrl-C to stop)
watch-acks = { $count ->
        [one] 1 of your tips acknowledged by the counterpart
       *[other] { $count } of your tips acknowledged by the counterpart
    }
watch-feedback = feedback on your tip { $tip }: { $outcome } by { $by }
watch-reconnect = { $reason }; reconnecting in { $ms } ms
watch-trust-reloaded = trust files changed: roots and CRLs reloaded
watch-trust-unusable = the changed trust files are not used: { $reason }
statement-default-period = tipctl: the statement covers { $period }, the last closed month (say --for to choose another)
statement-open-period = { $period } has not ended yet: its counts can still grow and the counterpart's reconciliation would then differ; sign a closed period, or add --allow-open
statement-empty = the statement for { $period } covers no tip: it would assert that nothing was exchanged; check the period, or confirm with --yes
reconcile-default-period = tipctl: reconciling the current period, { $period } (say --for to choose another)

## tipctl status
status-principal = principal
status-relay = relay
status-relay-ok = { $relay } at { $address } (authenticated, { $ms } ms)
status-relay-down = UNREACHABLE at { $address }: { $reason }
status-waiting = waiting
status-waiting-value = { $count ->
        [one] 1 tip at the relay for you
       *[other] { $count } tips at the relay for you
    }
status-outbox = outbox
status-outbox-value = { $count ->
        [one] 1 tip without receipt
       *[other] { $count } tips without receipt
    }
status-across = across
status-across-value = { $count ->
        [one] 1 tip accepted at home, not yet across
       *[other] { $count } tips accepted at home, not yet across
    }
status-across-oldest = (oldest receipted { $secs } s ago)
status-inbox = inbox
status-inbox-value = { $count ->
        [one] 1 tip
       *[other] { $count } tips
    }, { $unread } unread
status-sequence = sequence
status-no-gaps = no gaps
status-gaps = GAPS from { $from }

## Tables and tip display
col-id = id
col-received = received
col-from = from
col-to = to
col-seq = seq
col-tlp = TLP
col-urgency = urgency
col-category = category
col-summary = summary
col-author = author
col-created = created
col-status = status
col-feedback = feedback
show-direction = direction
show-from = from
show-to = to
show-category = category
show-urgency = urgency
show-summary = summary
show-author = author
show-signature = signature
show-signature-value = verified: signed by { $signer }, chain to the { $root } root CA
show-created = created
show-observed = observed at
show-valid-until = valid until
show-location = location
show-radius-unknown = radius unknown
show-grading = grading
show-language = language
show-related = related
show-receipt = receipt
show-receipt-value = seq { $seq } accepted { $at } by { $relay } (log index { $index })
show-receipt-none = none yet (in the outbox; `tipctl resend` pushes it)
show-delivery = delivery
delivery-in-acked = received here and acknowledged to the relay
delivery-in-pending = received here; acknowledgement pending
delivery-acked = acknowledged by { $by }
delivery-refused = REFUSED by { $to } ({ $by }): { $reason } [{ $code }]
refused-here = tip { $id } from { $from } (seq { $seq }) refused for good: { $reason }; its author is told (signed refusal)
refused-by = tip { $id } REFUSED by { $to } ({ $by }): { $reason } [{ $code }]
delivery-across = accepted across the border by { $relay }; not yet acknowledged by the counterpart
delivery-home = accepted at home by this jurisdiction's relay; not yet across to the counterpart's relay
delivery-relay = accepted by the relay; not yet acknowledged by the counterpart
delivery-unsent = not yet sent

## Connection and verification errors (tipctl)
conn-connect = cannot reach the relay at { $addr }: { $why }
conn-certificate = TLS authentication with the relay at { $addr } failed: { $why }
conn-transport = connection to the relay failed: { $why }
conn-refused = the relay refused: { $why }
conn-batch-refused = the relay refused a whole batch request: { $why }
conn-protocol = malformed answer from the relay: { $why }
conn-no-answer = no answer within { $ms } ms
cert-relay-failed = the RELAY's certificate failed this client's check ({ $reason }): it is not issued by the relay root this client trusts (another PKI?), has expired, is revoked, or is for another name than relay.server_name
cert-client-revoked = the relay refused THIS CLIENT's certificate: it is REVOKED (TLS alert certificate_revoked); ask your jurisdiction's CA for a new one
cert-client-expired = the relay refused THIS CLIENT's certificate: it has EXPIRED (TLS alert certificate_expired); renew it
cert-client-refused = the relay refused THIS CLIENT's certificate (TLS alert { $alert }): it is not issued by a jurisdiction CA the relay trusts, not a principal it admits, or not valid now
cert-closed = the relay closed the connection: { $reason } (this client's certificate was revoked or expired meanwhile)
client-unknown-recipient = { $to } is not a jurisdiction this client exchanges tips with (configured: { $known })
client-untrusted = the relay's { $what } does not verify: { $why }
client-audit-alert = AUDIT ALERT: { $why }
client-own-cert-revoked = the relay refused what you signed ({ $what }): YOUR signing certificate { $cert } ({ $identity }) is REVOKED by its CA; what it signs is refused from the revocation on (what the relay accepted before stays valid). Ask your jurisdiction's CA for a new certificate (tipcerts issue) and install it
tipctl-refusal-refused = the relay did not take this client's refusal of tip { $id } ({ $reason }); the tip stays waiting
client-what-tip = tip { $id }
client-what-feedback = feedback { $id }
client-what-cosignature = cosignature of the relay's log

## Certificate expiry (tipctl status, tiprelay, check-config)
expiry-soon = certificate { $name } ({ $path }, { $identity }) expires on { $date }, in { $days ->
        [one] 1 day
       *[other] { $days } days
    }: { $advice }
expiry-expired = certificate { $name } ({ $path }, { $identity }) EXPIRED on { $date }: { $advice }
expiry-valid = certificate { $name } ({ $path }, { $identity }) valid until { $date } ({ $days ->
        [one] 1 day
       *[other] { $days } days
    } left)
expiry-advice-leaf = renew it (`tipcerts renew --ca CA_DIR --cert { $path } --out NEW_DIR`, or ask your CA to) and install the new files in place of the old ones
expiry-advice-root = ask that authority for its new root certificate and install it beside this one ({ $name }) before this date
expiry-unreadable = cannot check the expiry of certificate { $name }: { $error }
expiry-status-label = certificates
expiry-status-ok = none expires within { $days } days
status-own-revoked = YOUR signing certificate { $file } is REVOKED (on your CRL): the relay refuses what you sign; ask your jurisdiction's CA for a new certificate
expiry-flagged = WARNING: { $text }

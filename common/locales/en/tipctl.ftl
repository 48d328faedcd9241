# tiprelay: English messages, tipctl.

## Feed lines and tip files (the rejects file keeps the English)
feed-line-too-long = line too long ({ $len } bytes; at most { $max })
feed-not-utf8 = invalid UTF-8 at byte { $at }
feed-not-an-event = not a valid event: { $why }
feed-json-missing-field = missing field `{ $field }`
feed-json-unknown-field = unknown field `{ $field }`
feed-json-duplicate-field = duplicate field `{ $field }`
feed-json-error = { $class } error at column { $column }
feed-source-ref = source_ref: 1 to { $max } characters, no control characters
feed-time-not-rfc3339 = { $field }: `{ $value }` is not an RFC 3339 time
feed-time-before-1970 = { $field }: before 1970
feed-time-out-of-range = { $field }: out of range

## STIX import (`tipctl feed --format stix2.1`)
feed-stix-not-a-bundle = not a STIX 2.1 bundle: { $why }
feed-stix-json = { $class } error at line { $line } column { $column }
feed-stix-not-an-object = not a JSON object
feed-stix-not-bundle-type = its `type` is not `bundle`
feed-stix-no-objects = no `objects` array
feed-stix-too-many = { $count } objects; at most { $max }: split it
feed-stix-same-id = the same id as object { $first } (another version): a tip cannot be changed once sent; send a new object
feed-stix-object-not-object = not a JSON object
feed-stix-no-type = no `type`
feed-stix-revoked = revoked by its producer; not sent
feed-stix-encode = cannot encode: { $why }
feed-stix-markings = more than 64 markings
feed-stix-marking = marking `{ $marking }` cannot be resolved to a TLP level
feed-stix-tlp-level = a TLP marking of an unknown level
feed-stix-location = location: latitude and longitude must be numbers
feed-stix-no-id = no `id`
feed-stix-bad-id = `id` is not `<type>--<UUID>` (lower-case, hyphenated)
feed-stix-no-summary-pattern = no `name`, `description` or `pattern` to summarise
feed-stix-no-summary = no `name` or `description` to summarise
feed-stix-no-tlp = no TLP marking (object_marking_refs); give --tlp for unmarked objects
feed-stix-no-recipient = no recipient: give --to

## The local store
store-error = local store { $path }: { $why }
store-disk-full = { $why } (the disk is full)
store-limit = the store has reached its size limit ({ $size } of { $limit } bytes, max_store_mb)
store-corrupt = corrupt record: { $why }
store-busy = { $why } (is another tipctl using it?)
store-newer = this store is of schema version { $found }, newer than this tipctl's { $supported }: a later release wrote it; use that release (or a later one), or restore a backup this release made

## Client configuration
config-read = cannot read the configuration { $path }: { $error }
config-key = { $path }: key `{ $key }`: { $why }
config-not-a-client = a client is an analyst or a feed of a jurisdiction
config-no-file = { $path } does not exist
config-missing-with = missing: give it with { $other }
config-no-own-trust = no [[trust]] entry for this principal's own jurisdiction { $jurisdiction }
config-not-host-port = `{ $value }` is not host:port: { $error }
config-no-address = give at least one host:port
config-too-many-addresses = { $count } addresses; at most 8
config-ui-lang = `{ $value }`: es or en
config-connect-timeout = { $value }: from 100 to 60000 (milliseconds)

## Client errors (tipctl)
tipctl-internal = internal error: { $what }
tipctl-untrusted = the relay's { $what } does not verify: { $why }
tipctl-seq-reused = the relay numbered tip { $id } as seq { $seq } from { $from }, a number it already gave another tip; refused
tipctl-why-future = its acceptance time is in the future
tipctl-why-crl-expired = the { $authority } revocation list was due to be replaced at { $next } and its grace has passed; install a fresh CRL of { $authority } to verify tips
tipctl-why-receipt-mismatch = it does not match the tip it came with
tipctl-why-not-ours = it is addressed to { $to }, not to us
tipctl-why-unchecked = not checked
tipctl-why-other-tip = it names another tip or another digest
tipctl-feedback-own-tip = tip { $id } was sent from here; feedback is given by the jurisdiction that received it
tipctl-why-not-our-relay = it is signed by { $signer }, which is not the relay that serves { $jurisdiction }
tipctl-why-not-this-receipt = it is not the receipt of this { $subject }
tipctl-why-other-statement = it is { $by }'s statement for { $for }, not for { $us }
tipctl-why-not-peer-relay = it is signed by { $signer }, not by { $peer }'s relay
tipctl-why-other-period = it states for another jurisdiction or period than asked
tipctl-why-too-many-records = an answer holds more records than asked for
tipctl-why-record-outside = a record lies outside the period asked for
tipctl-why-cursor-back = the paging cursor went backwards
tipctl-no-answer-in-time = no answer from the relay in time
tipctl-not-connected = not connected
tipctl-outcomes = { $count } outcomes
tipctl-batch-outcomes = { $what } for a batch of { $n }
tipctl-unexpected-answer = unexpected `{ $kind }` answer
tipctl-no-relay-root = no root configured for the relay (relay.operator_ca, or this jurisdiction's)
tipctl-request-timed-out = request timed out
tipctl-task-failed = task failed

## Tip display
tipctl-tlp-clear = disclosure is not limited
tipctl-tlp-green = share within the recipient's community, not publicly
tipctl-tlp-amber = share on a need-to-know basis within the recipient's organisation and its clients
tipctl-tlp-amber-strict = share on a need-to-know basis within the recipient's organisation only
tipctl-tlp-red = for the named recipients only; do not share
tipctl-feedback-line = { $outcome } by { $by } at { $at } ({ $status })
tipctl-received-head = { $from } → seq { $seq }  [{ $urgency } / { $category }]  { $summary }
tipctl-received-signed = signed by { $signer } (verified)  id { $id }

## tipctl commands
tipctl-not-a-duration = --{ $field }: `{ $value }` is not a duration like +6h
tipctl-duration-unit = --{ $field }: unit must be s, m, h or d (e.g. +6h)
tipctl-time-out-of-range = time out of range
tipctl-not-a-time = --{ $field }: `{ $value }` is neither RFC 3339 (2026-12-01T18:00:00Z), a date (2026-12-01) nor a duration (+6h)
tipctl-cannot-read = cannot read { $path }
tipctl-cannot-read-details = cannot read --details-file { $path }
tipctl-cannot-create = cannot create { $path }
tipctl-cannot-write = cannot write { $path }
tipctl-cannot-open = cannot open { $path }
tipctl-no-source-ref = { $path }: source_ref is for `tipctl feed`; a tip sent by hand has no source_ref
tipctl-required = --{ $flag } is required
tipctl-status-unexpected = unexpected answer
tipctl-subscription-closed = the relay closed the subscription

## tipctl feed
feed-unreachable = relay unreachable ({ $reason }); { $count ->
        [one] 1 tip waits
       *[other] { $count } tips wait
    } in the outbox; retrying in { $ms } ms
feed-task-failed = { $task ->
        [verify] a verifying task failed
        [sign] a signing task failed
       *[other] the sending task failed
    }
feed-refused-tip = the relay refused tip { $id } for good: { $reason }
feed-retrying = { $reason }; retrying
feed-batch-refused = the relay refused a batch ({ $reason }); retrying
feed-connection-lost = connection lost ({ $reason }); reconnecting
feed-stix-follow = --follow reads lines as they are appended; a STIX bundle is one document (drop --follow)
feed-stix-defaults = --to, --category, --tlp and --urgency are defaults for STIX objects: use them with --format stix2.1 (a JSON line names its own)
feed-stix-too-big = { $path }: a STIX bundle of more than { $mib } MiB; split it
feed-stix-tally = { $path }: { $count ->
        [one] 1 object
       *[other] { $count } objects
    }: { $events } to send as tips, { $rejected } rejected by the mapping, { $context } context (not tips)
feed-resuming = resuming { $path } after { $unit ->
        [object] object
       *[line] line
    } { $after } (already signed and stored)
feed-progress = read { $read } · rejected { $rejected } · receipted { $receipted } · { $rate }/s
feed-progress-rest = read { $read } · rejected { $rejected } · receipted { $receipted } · sending the rest
feed-line-too-long-more = line too long (more than { $max } bytes)
feed-rejected = { $unit ->
        [object] object
       *[line] line
    } { $line }: rejected: { $reason }
feed-stopped-full = stopped reading after line { $line }: every line up to it is signed, stored and sent; free space (or raise max_store_mb) and run the feed again to continue
feed-stopped-at-once = stopped at once; unsent tips wait in the outbox for the next run
feed-summary = { $state ->
        [stopped] stopped
       *[done] done
    }: read { $read } { $unit ->
        [object] { $read ->
            [one] object
           *[other] objects
        }
       *[line] { $read ->
            [one] line
           *[other] lines
        }
    }, rejected { $rejected } (in { $rejects }), { $duplicates } duplicate source_ref, { $signed } signed, { $receipted } receipted, { $refused } refused, { $rate } receipted/s; { $waiting } waiting in the outbox

## tipctl export
export-out-not-a-file = --out must name a file
export-wrote = wrote { $tips ->
        [one] 1 tip
       *[other] { $tips } tips
    } as { $objects } STIX 2.1 objects to { $path }

## tipctl backup
tipctl-backup-exists = it exists already; choose another name for the backup, or add --force to replace it
tipctl-backup-is-the-store = this is the store itself; write the backup to another file
tipctl-backup-no-store = there is no store here yet: nothing to back up
tipctl-backup-unknown-table = it holds a table `{ $name }` this tipctl does not know (written by a newer release?); nothing was copied
tipctl-backup-unverified = the copy does not verify, so it was removed: { $why }
tipctl-backup-entry = local audit log entry { $index } is missing or does not hash to the leaf stored for it
tipctl-backup-root = the local audit log's root of { $size } entries, recomputed from the copy's entries, differs from the stored one
tipctl-backup-done = Backup of { $store } written to { $file } ({ $bytes } bytes, { $ms } ms), checked
tipctl-backup-sha256 = SHA-256: { $sha256 }
tipctl-backup-counts = outbox: { $outbox }; inbox: { $inbox }; local audit log: { $entries } entries, root { $root }; schema version { $version }
tipctl-backup-keep = Keep it encrypted: it holds tip bodies. To restore, stop every tipctl of this principal and put the copy in place of the store file (docs/OPERATIONS.md, "Backups and restore").

## Revocation after acceptance (PROTOCOL §6.3)
revocation-note = signed by { $signer }; its certificate was revoked on { $revoked }, after the relay accepted this tip on { $accepted }

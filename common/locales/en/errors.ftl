# tiprelay: English messages, errors.
#
# The English text of each `err-<type>-<variant>` message is exactly the `Display` text
# of that error (logs and tests compare them); a test in common/src/localize.rs checks it.

## Identifiers (IdError)

err-id-jurisdiction = `{ $value }` is not a jurisdiction code: use 2 or 3 upper-case letters, e.g. MX or US
err-id-principal = `{ $uri }` is not a valid principal identity: { $why }
err-id-tip-id = `{ $value }` is not a UUIDv7 (RFC 9562 version 7) id

## Payload field rules (FieldError)

err-field-wrong-type = field `{ $field }` must be { $expected }
err-field-missing = required field `{ $field }` is missing
err-field-tlp-missing = the tip has no `tlp` label; every tip must carry a TLP 2.0 label (clear, green, amber, amber+strict, red)
err-field-unknown = unknown field `{ $field }`: v1 payloads carry only the fields of docs/PROTOCOL.md
err-field-duplicate = field `{ $field }` appears more than once
err-field-non-text-key = map keys must be text strings
err-field-unsupported-version = format version { $version } is not supported (this implementation speaks v1)
err-field-id = field `{ $field }`: { $source }
err-field-same-jurisdiction = `from` and `to` are both { $jurisdiction }: a tip goes to the other jurisdiction
err-field-not-in-set = field `{ $field }`: `{ $value }` is not one of { $allowed }
err-field-summary-empty = `summary` is empty
err-field-summary-too-long = `summary` has { $len } characters; at most 500 are allowed
err-field-control-characters = field `{ $field }` contains control, bidirectional-formatting or invisible characters (only `details` may hold line feeds and tabs)
err-field-empty-list = field `{ $field }` is an empty list; leave it out instead
err-field-details-too-long = `details` has { $len } bytes; at most 16384 are allowed
err-field-text-too-long = field `{ $field }` has { $len } characters; at most { $max } are allowed
err-field-invalid-lang = `lang` must be a language tag such as es, en or es-MX
err-field-latitude-out-of-range = latitude must be a finite number from -90 to 90
err-field-longitude-out-of-range = longitude must be a finite number from -180 to 180
err-field-radius-out-of-range = `radius_m` must be from 1 to 500000 metres
err-field-too-many-refs = `refs` has { $count } entries; at most 32 are allowed
err-field-bad-ref = `refs` must name distinct other tips
err-field-valid-until-before-created = `valid_until` must be later than `created`
err-field-empty-period = the period must end after it starts
err-field-out-of-range = field `{ $field }` is out of range
err-field-wrong-length = field `{ $field }` must be { $len } bytes
err-field-too-many = field `{ $field }` has too many entries
err-field-bad-time = field `{ $field }` is not a valid time

## Message verification (ProtoError)

err-proto-oversized = message is { $size } bytes; the limit is { $max } bytes
err-proto-malformed-envelope = malformed envelope: { $detail }
err-proto-malformed-cbor = malformed payload CBOR: { $detail }
err-proto-unsupported-algorithm = unsupported signature algorithm: only EdDSA (-8) is accepted
err-proto-wrong-kind = wrong message kind: expected { $expected }, found `{ $found }`
err-proto-field = invalid { $kind }: { $source }
err-proto-kid-mismatch = the `kid` header does not match the signing certificate
err-proto-bad-certificate = signing certificate rejected: { $reason }
err-proto-wrong-authority = certificate for { $identity } belongs to { $found }; this { $kind } must be signed by a { $expected } certificate
err-proto-unknown-authority = no root CA is configured for { $authority }
err-proto-untrusted-chain = certificate for { $identity } does not chain to the { $authority } root CA: { $reason }
err-proto-certificate-not-valid-now = certificate for { $identity } is not valid at { $at }: { $reason }
err-proto-revoked = certificate for { $identity } has been revoked by its CA
err-proto-revoked-before = certificate for { $identity } was revoked by its CA on { $revoked }, at or before the relay accepted this message ({ $accepted }); a signature counts only if a receipt proves it older than the revocation
err-proto-revocation-unknown = no revocation list is loaded for { $authority }; load its CRL before verifying
err-proto-wrong-key-usage = certificate for { $identity } is not a signing certificate (it lacks id-kp-documentSigning or digitalSignature); a TLS key cannot sign messages
err-proto-wrong-tls-usage = TLS certificate for { $identity } lacks { $needs }; issue a TLS certificate with tipcerts
err-proto-crl-stale = the { $authority } revocation list was due to be replaced at { $next_update } and the grace period of { $grace_hours } h has passed; its certificates are refused until the { $authority } CA publishes a fresh CRL and it is installed
err-proto-signer-mismatch = signed by { $signer } but the { $kind } names { $claimed } as `{ $field }`
err-proto-signer-role = { $signer } is a { $role }; a { $kind } must be signed by { $allowed }
err-proto-bad-signature = signature verification failed: the message was altered or not signed by this certificate's key
err-proto-created-in-future = { $kind } created at { $created } is more than 5 minutes in the future (verifier time { $now }); check the sender's clock
err-proto-expired = tip expired at { $valid_until } (verifier time { $now })
err-proto-signing = cannot sign: { $detail }

# Message kinds, as the errors above name them ($kind).
err-kind-tip = tip
err-kind-receipt = receipt
err-kind-delivery-ack = delivery ack
err-kind-feedback = feedback
err-kind-ledger-statement = ledger statement
err-kind-checkpoint = checkpoint
err-kind-cosignature = cosignature
err-kind-message = message

# Principal kinds ($role of err-proto-signer-role).
err-role-analyst = analyst
err-role-feed = feed
err-role-relay = relay

## Certificates, roots and revocation lists

err-cert-summary-not-x509 = not an X.509 certificate: { $detail }
err-cert-summary-trailing-bytes = trailing bytes after the certificate
err-trust-bad-root = root CA certificate for { $authority } rejected: { $reason }
err-trust-bad-crl = revocation list for { $authority } rejected: { $reason }
err-trust-crl-wrong-issuer = revocation list is not signed by the { $authority } root CA
err-trust-no-root = no root CA is configured for { $authority }; add it before its CRL
err-trust-crl-not-newer = revocation list for { $authority } (number { $offered }) is older than one already accepted (number { $loaded }); an older CRL could un-revoke certificates: install the newest CRL of that authority

## Audit log trees and proofs (MerkleError)

err-merkle-index-out-of-range = leaf index { $index } is out of range for a tree of { $size } leaves: indexes run from 0 to size - 1
err-merkle-bad-proof-length = the proof has { $actual } hashes, but a proof for these tree sizes has exactly { $expected }: the proof does not belong to these sizes
err-merkle-root-mismatch = the proof leads to root { $computed } for tree size { $tree_size }, but the expected root is { $expected }: the proof, the leaf or the root is wrong, or the log is not append-only
err-merkle-invalid-sizes = there is no consistency proof from tree size { $old_size } to { $new_size }: it needs 0 < old size <= new size (from the empty tree there is nothing to prove; check the first checkpoint on its signature alone)
err-merkle-bad-compact-tree = a compact tree of size { $size } holds { $expected } node hashes (one per set bit of the size), but { $actual } were given: the stored state is corrupt
err-merkle-tree-full = the tree already holds { $max } leaves, the most a 64-bit leaf index can address
err-merkle-source = could not read a leaf hash: { $detail }

## Frames (FrameError)

err-frame-truncated = truncated frame
err-frame-too-large = frame of { $size } bytes exceeds the limit
err-frame-trailing = trailing bytes after the frame
err-frame-cbor = frame body is not CBOR: { $detail }
err-frame-field = { $source }
err-frame-unknown-op = unknown operation `{ $op }`

## Periods and ranges (RangeError, UnknownPeriod)

err-range-not-a-period = `{ $value }` is not a period: use 2026, 2026-11, 2026-W48 or 2026-11-30
err-range-not-an-instant = `{ $value }` is not a date (2026-11-01) or an RFC 3339 time (2026-11-01T12:00:00Z)
err-range-until-not-after-since = --until must be after --since
err-unknown-period = unknown period `{ $value }` (expected day, week or month)

## Facts exports (FactsError)

err-facts-cbor = not a facts export: { $detail }
err-facts-not-a-map = not a facts export: not a map
err-facts-unexpected-key = not a facts export: unexpected key
err-facts-no-principal = not a facts export: no principal
err-facts-fact-not-a-map = facts: not a map
err-facts-fact = facts: { $source }

## Files (FileError)

err-file-io = { $path }: { $source }
err-file-content = { $path }: { $why }
err-file-key-encrypted = { $path }: the private key is encrypted and no passphrase was given: name a file holding it in TIPRELAY_KEY_PASSPHRASE_FILE (or give the systemd credential key-passphrase), or run from a terminal to be asked
err-file-key-passphrase = { $path }: the passphrase does not open this private key
files-passphrase-prompt = Passphrase of { $path }:
err-file-key-exposed = { $path }: a private key readable or writable by group or others (mode { $mode }); allow only its owner: chmod 600 { $path }
err-file-key-not-owned = { $path }: a private key owned by uid { $owner }, but this program runs as uid { $user }; give it to the user that uses it: chown { $user } { $path }

## Fixed reasons the errors above carry ($why, $reason, $expected, $needs, $allowed)

err-why-operator-relay-only = the OPERATOR authority only certifies the kind `relay`
err-why-name-length = the name must be 1 to 64 characters
err-why-name-chars = the name may hold only a-z, 0-9, '.', '_' and '-', and must start with a letter or digit
err-why-uri-scheme = a principal URI starts with tiprelay://
err-why-uri-form = the form is tiprelay://<JURISDICTION>/<analyst|feed>/<name>
err-why-uri-authority = the authority must be a 2-3 letter upper-case jurisdiction code or OPERATOR
err-why-type-map = a map
err-why-type-uint = an unsigned integer
err-why-type-text = a text string
err-why-type-bytes = a byte string
err-why-type-float = a floating-point number
err-why-type-array = an array
err-why-expired = expired
err-why-not-yet-valid = not yet valid
err-why-needs-digital-signature = the digitalSignature key usage
err-why-needs-client-auth = the clientAuth extended key usage
err-why-needs-server-auth = the serverAuth extended key usage
err-why-roles-analyst-or-feed = an analyst or a feed
err-why-roles-relay = a relay
err-why-roles-receiving-analyst = an analyst of the receiving jurisdiction
err-why-roles-stating-analyst = an analyst of the stating jurisdiction, or (federation) its relay
err-why-roles-log-owner = the principal whose local audit log it is
err-why-roles-any-principal = an analyst, feed or relay of a jurisdiction
err-why-not-der-x509 = not a DER X.509 certificate
err-why-malformed-san = malformed subjectAltName
err-why-no-san = no subjectAltName: a principal certificate carries one tiprelay:// URI
err-why-one-uri-san = a principal certificate must carry exactly one URI SAN
err-why-ca-as-principal = a CA certificate cannot act as a principal
err-why-key-not-ed25519 = the key is not Ed25519
err-why-malformed-ed25519 = malformed Ed25519 public key
err-why-malformed-key-usage = malformed keyUsage
err-why-malformed-eku = malformed extendedKeyUsage
err-why-bad-ed25519-point = the certified key is not a valid Ed25519 point
err-why-intermediates = it comes with intermediate certificates; tiprelay v1 allows only certificates issued directly by the jurisdiction's root
err-why-not-issued-by-root = it was not issued by the { $authority } root CA
err-why-trailing-cert = trailing bytes after the certificate
err-why-root-not-ca = it is not a CA certificate (basicConstraints cA is not set)
err-why-root-key-not-ed25519 = its key is not Ed25519
err-why-root-not-self-signed = it is not self-signed
err-why-root-same-subject = another root of this authority has the same subject name; a rollover root needs a name of its own
err-why-too-many-roots = the authority already has the most roots allowed at once (4)
err-why-trailing-crl = trailing bytes after the CRL
err-why-not-der-crl = not a DER CRL: { $detail }
err-why-no-certificate-block = no CERTIFICATE block
err-why-no-pkcs8-block = no PKCS#8 PRIVATE KEY block
err-why-no-crl-block = no X509 CRL block
err-why-bad-pem = bad PEM: { $detail }
err-why-no-crl-of-root = it holds no revocation list of the root CA { $detail }

## Operating-system errors (Spanish only in use: English shows the system's own text)

err-io-os = { $text } (os error { $code })
err-io-not-found = No such file or directory
err-io-permission-denied = Permission denied
err-io-not-permitted = Operation not permitted
err-io-exists = File exists
err-io-is-a-directory = Is a directory
err-io-not-a-directory = Not a directory
err-io-no-space = No space left on device
err-io-read-only = Read-only file system
err-io-name-too-long = File name too long
err-io-too-many-links = Too many levels of symbolic links
err-io-too-many-files = Too many open files
err-io-not-empty = Directory not empty
err-io-busy = Device or resource busy
err-io-io = Input/output error
err-io-cross-device = Invalid cross-device link
err-io-connection-refused = Connection refused
err-io-connection-reset = Connection reset by peer
err-io-timed-out = Connection timed out
err-io-address-in-use = Address already in use
err-io-address-not-available = Cannot assign requested address
err-io-network-unreachable = Network is unreachable
err-io-host-unreachable = No route to host
err-io-broken-pipe = Broken pipe

## Wire error codes (docs/PROTOCOL.md §7): what a refusal from the relay means

err-code-reason = { $meaning } (relay: "{ $detail }")
err-code-oversized = the message is larger than 64 KiB, or a request body is over its bound
err-code-malformed-envelope = not a tagged COSE_Sign1 envelope of this profile
err-code-malformed-cbor = the payload is not one well-formed CBOR item
err-code-unsupported-algorithm = the signature algorithm is absent or not EdDSA
err-code-wrong-kind = the content type is absent or of another message kind
err-code-invalid-field = a payload field rule failed
err-code-tlp-missing = the tip carries no TLP label
err-code-unsupported-version = unsupported format version
err-code-same-jurisdiction = `from` equals `to`
err-code-kid-mismatch = the `kid` header does not match the certificate
err-code-bad-certificate = the certificate cannot be parsed or breaks the certificate profile
err-code-wrong-authority = the certificate belongs to another authority than the message requires
err-code-unknown-authority = no root CA is configured for the authority
err-code-untrusted-chain = the certificate does not chain to its authority's root CA
err-code-certificate-not-valid-now = the certificate is expired or not yet valid
err-code-revoked = the certificate has been revoked by its CA
err-code-revocation-unknown = revocation status unknown: no current CRL is loaded for the authority
err-code-wrong-key-usage = the certificate is not for this use (signing or TLS)
err-code-signer-mismatch = the signer differs from the identity the message claims
err-code-signer-role = a principal of this kind may not sign this kind of message
err-code-bad-signature = the signature does not verify
err-code-created-in-future = created more than 5 minutes in the future; check the sender's clock
err-code-expired = the tip's `valid_until` has passed
err-code-conflict = a message with the same id was already accepted with other content
err-code-pair-not-allowed = the pair `from` → `to` is not configured at the relay
err-code-unknown-jurisdiction = a jurisdiction the relay does not serve
err-code-identity-mismatch = the signer is not the authenticated TLS identity of the connection
err-code-unknown-tip = the relay does not hold that tip, or its digest, seq or recipient differs
err-code-not-permitted = this principal may not make this request
err-code-bad-request = the request is not a well-formed frame of this protocol
err-code-unknown-checkpoint = a cosignature of a size the relay signed no checkpoint of
err-code-proof-out-of-range = a proof for an index or sizes the log does not have (yet)
err-code-checkpoint-mismatch = the cosigned checkpoint differs from the one the relay signed: the cosigner saw a different history
err-code-storage-full = the relay's store is full: new tips are refused, reads still work
err-code-unavailable = the relay cannot serve the request right now; retry later
err-code-rate-limited = too many requests or tips; retry after the time the relay gives
err-code-quota-exceeded = too many bytes of tips not yet acknowledged by the recipient jurisdiction; retry once they are acknowledged
err-code-sequence-gap = a forwarded tip's home seq is not the next one expected: a gap across the border
err-code-signing = local signing failure

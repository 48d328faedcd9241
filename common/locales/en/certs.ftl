# tiprelay: English messages, certs.

## tipcerts: errors of the PKI library
certs-err-exists = { $path } already exists; choose another path or pass --force to replace it
certs-err-bad-ca-dir = { $path } is not a usable CA directory: { $why }
certs-err-rcgen = certificate generation failed: { $error }
certs-no-cert-block = no CERTIFICATE block in this PEM file
certs-ca-key-no-pkcs8 = ca.key holds no PKCS#8 PRIVATE KEY block
certs-days-positive = --days must be positive
certs-ca-dir-missing = it does not exist or is not a directory (create one with `tipcerts init-ca`)
certs-ca-toml-unreadable = cannot read ca.toml: { $error }
certs-ca-toml-bad = ca.toml: { $error }
certs-ca-toml-authority = ca.toml authority: { $error }
certs-ca-toml-bad-serial = ca.toml has a bad serial { $serial }
certs-ca-crt-bad = ca.crt: { $error }
certs-ca-key-mismatch = ca.key does not belong to ca.crt
certs-not-own-authority = the { $ca } CA cannot issue { $identity }: each CA issues identities of its own authority only ({ $identity } belongs to { $owner })
certs-validity-order = the validity period must end after it starts
certs-relay-via-issue-relay = relay identities are issued with `tipcerts issue-relay`
certs-relay-needs-name = give at least one --dns or --ip name that clients will dial
certs-not-x509 = not an X.509 certificate
certs-ca-cert-unreadable = unreadable CA certificate
certs-not-issued-here = this certificate was not issued by the { $ca } CA in { $dir }
certs-key-file = { $path }: { $why }
certs-key-encode = cannot encode a key: { $why }
certs-key-not-ed25519-because = not an Ed25519 PKCS#8 private key ({ $error })
certs-key-not-ed25519 = not an Ed25519 PKCS#8 private key
certs-key-not-pem = not a PEM file
certs-key-wrong-block = holds a { $label } block, not a PKCS#8 PRIVATE KEY
certs-dev-two-jurisdictions = --jurisdictions needs at least two distinct codes, e.g. MX,US
certs-dev-federated-two = a federated setup needs two distinct jurisdictions, e.g. MX and US
certs-dev-distinct-addresses = the two relays need distinct addresses

## tipcerts show
certs-show-bad-pem = bad PEM: { $error }
certs-show-private-key = this is a private key; `show` prints certificates and CRLs only
certs-show-nothing = no certificate or CRL found
certs-show-not-crl = not a CRL: { $error }
certs-show-certificate = Certificate
certs-show-crl = Certificate revocation list
certs-show-identity = identity:    { $value }
certs-show-no-identity = (none: not a principal certificate)
certs-show-role = role:        { $value }
certs-show-subject = subject:     { $value }
certs-show-issuer = issuer:      { $value }
certs-show-valid = valid:       { $from } .. { $until } ({ $status })
certs-show-names = names:       { $value }
certs-show-serial = serial:      { $value }
certs-show-sha256 = sha256:      { $value }
certs-show-number = number:      { $value }
certs-show-this-update = this update: { $value }
certs-show-next-update = next update: { $value } ({ $status })
certs-show-revoked = revoked:     { $value }
certs-show-none = none
certs-show-status-valid = valid
certs-show-status-expired = expired
certs-show-status-not-yet-valid = not yet valid
certs-show-status-current = current
certs-show-status-stale = stale (past nextUpdate)

## tipcerts: commands
certs-converted = converted to PKCS#8 v1: { $file }
certs-already-v1 = already PKCS#8 v1:     { $file }
certs-convert-failed = { $failed } of { $total ->
        [one] 1 file
       *[other] { $total } files
    } could not be converted (left as they were)
certs-federated-two = --federated peers exactly two jurisdictions (--jurisdictions MX,US)
certs-relay-addr-whose = --relay-addr { $given }: with --federated, say whose relay: J=HOST:PORT (e.g. MX=127.0.0.1:4433)
certs-relay-addr-not-j-host-port = --relay-addr { $given }: not J=HOST:PORT
certs-relay-addr-not-listed = --relay-addr { $given }: { $jurisdiction } is not one of --jurisdictions { $a },{ $b }
certs-relay-addr-not-host-port = --relay-addr { $given }: not HOST:PORT
certs-dev-one-relay-addr = one --relay-addr without --federated (a single relay)
certs-init-ca-which = give --jurisdiction CODE or --relay-operator
certs-creating-ca = creating the { $authority } CA
certs-created-ca = created the { $authority } root CA in { $dir }
certs-created-ca-public = public:  { $dir }/ca.crt and { $dir }/crl.pem (give these to the relay and the counterpart)
certs-created-ca-secret = secret:  { $dir }/ca.key (mode 0600; keep it on this machine)
certs-public-key-unreadable = cannot read it: { $error }
certs-public-key-not-ed25519 = not a PEM "PUBLIC KEY" of an Ed25519 key ({ $error })
certs-created-ca-token = secret:  the root key stays in the PKCS#11 token (no ca.key); ca.toml records its URI, library and PIN file
certs-token-public-written = wrote the public key of { $uri } to { $file } (give it to `tipcerts issue-relay --signing-public-key`)
certs-created-ca-rollover = rollover root, generation { $generation }: trust it beside the old root now (both roots in one file: cat { $old }/ca.crt { $dir }/ca.crt; both CRLs: cat { $old }/crl.pem { $dir }/crl.pem), then reissue every certificate with --ca { $dir }, and drop the old root when none of its certificates is in use (OPERATIONS.md, "CA rollover")
certs-issuing = issuing { $identity }
certs-issuing-relay = issuing the relay certificates
certs-issued = issued { $identity } into { $dir }
certs-issued-tls = tls.crt / tls.key    TLS client certificate (id-kp-clientAuth)
certs-issued-sign = sign.crt / sign.key  signing certificate (id-kp-documentSigning)
certs-revoked = revoked { $identity }; the CRL is now number { $number } — publish it to the relay and the counterpart
certs-crl-written = wrote CRL number { $number } to { $file } (next update in { $days ->
        [one] 1 day
       *[other] { $days } days
    })
certs-dev-federated = federated development setup in { $dir }
certs-dev-federated-side = { $jurisdiction }: relay { $dir }/{ $jurisdiction }/relay.toml ({ $identity } on { $address }); clients { $dir }/{ $jurisdiction }/analyst.toml, { $dir }/{ $jurisdiction }/feed.toml
certs-dev-setup = development setup in { $dir }
certs-dev-relay = relay:    { $dir }/relay.toml ({ $identity } on { $address })
certs-dev-clients = { $jurisdiction }:       { $dir }/{ $jurisdiction }/analyst.toml, { $dir }/{ $jurisdiction }/feed.toml

## tipcerts renew
certs-renew-renewing = renewing the certificates of { $cert }
certs-renew-root = this is a CA certificate: a root is replaced by a CA rollover, not renewed; pass a principal's or a relay's tls.crt or sign.crt
certs-renew-no-identity = this certificate carries no tiprelay:// identity; only principal and relay certificates are renewed
certs-renew-revoked = { $identity }'s certificate was revoked at { $at }: renewing it would reinstate a revoked principal; if that is intended, issue new certificates with `tipcerts issue`
certs-renew-relay-needs-tls = renewing relay { $identity } needs its TLS certificate for the DNS and IP names: pass --cert with its tls.crt (or keep tls.crt beside sign.crt)
certs-renew-done = renewed { $identity }: new keys and certificates in { $dir }, valid until { $until }
certs-renew-install = install { $new } as { $old }
certs-renew-overlap = the old certificates are NOT revoked: they stay valid until { $until }, so receipts and tips signed with the old keys keep verifying; install the new files before then (revoke the old ones with `tipcerts revoke` only if a key was compromised)
certs-renew-old-expired = the old certificates expired on { $until }: install the new files now (tips signed with the old key before that date still verify against their receipts)
certs-renew-then-principal = tipctl uses the new files from its next command; a running `tipctl watch` picks them up when it reconnects (restart it)
certs-renew-then-relay = then restart the relay on the new files (`systemctl restart tiprelay`); clients need no change: same name, same CA

certs-passphrase-new = New passphrase for the keys:
certs-passphrase-again = The same passphrase again:
certs-passphrase-differ = the two passphrases differ; nothing was encrypted
certs-passphrase-short = the passphrase must have at least 12 characters; nothing was encrypted
certs-read-failed = cannot read { $path }
certs-write-failed = cannot write { $path }
certs-not-a-key = { $path } holds no PKCS#8 PRIVATE KEY block
certs-encrypt-failed = cannot encrypt { $path }: { $why }
certs-encrypted = encrypted { $file } (0600; it needs its passphrase from now on)
certs-already-encrypted = { $file } was already encrypted; left as it is
certs-config-out-no-jurisdiction = { $identity } belongs to no jurisdiction: --config-out is for analysts and feeds
certs-config-out-own-trust = --trust { $jurisdiction }: the principal's own jurisdiction's root comes from its CA; give --trust for the other jurisdictions only
certs-config-out-missing = { $file } does not exist or is not a file
certs-config-out-pair = { $flag } { $value }: expected two files separated by a comma, CA.crt,CRL.pem (for --trust: J=CA.crt,CRL.pem)
certs-config-written = tipctl configuration written to { $file } (deliver it with the principal's directory; paths are relative to it)

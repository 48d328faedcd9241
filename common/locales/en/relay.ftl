# tiprelay: English messages, relay.

## tiprelay: configuration errors
relay-err-config-read = cannot read the configuration { $path }: { $error }
relay-err-config-key = { $path }: key `{ $key }`: { $why }
relay-cfg-not-address = `{ $value }` is not an address: { $error }
relay-cfg-not-host-port = `{ $value }` is not an address (host:port): { $error }
relay-cfg-no-file = { $path } does not exist
relay-cfg-operator-missing = missing: a relay shared by the jurisdictions (hub mode) names the relay operator's CA in [operator]; a jurisdiction's own relay names its jurisdiction and peer in [federation]
relay-cfg-operator-and-federation = a federated relay is certified by its own jurisdiction's CA, not an operator's: remove [operator], or [federation] for one shared relay
relay-cfg-listed-twice = { $jurisdiction } is listed twice
relay-cfg-two-jurisdictions = at least two jurisdictions are needed
relay-cfg-pair-two = a pair names exactly two jurisdictions
relay-cfg-pair-unknown = { $jurisdiction } is not a configured [[jurisdiction]]
relay-cfg-pair-same = a pair needs two different jurisdictions
relay-cfg-no-pair = at least one [[pair]] is needed
relay-cfg-peer-is-home = { $peer } is this relay's own (home)
relay-cfg-federated-jurisdictions = a federated relay lists exactly its own jurisdiction ({ $home }) and its peer's ({ $peer }), each with its root and CRL
relay-cfg-federated-pair = a [[pair]] of { $home } and { $peer } is needed
relay-cfg-peer-identity = `{ $identity }` is not a relay of { $peer }: it reads tiprelay://{ $peer }/relay/NAME
relay-cfg-not-server-name = `{ $value }` is not a DNS name or IP address
relay-cfg-at-least = must be at least { $min }
relay-cfg-at-least-kib = must be at least { $min } KiB
relay-cfg-out-of-range = is { $value }, outside the allowed range { $min } to { $max } (the relay refuses it rather than run with another value)
relay-cfg-tls-needs-ca = asks for TLS (sslmode=require): give [store] tls_ca, the CA of the database's certificate
relay-cfg-client-cert-needs-ca = needs [store] tls_ca (TLS to the database)
relay-cfg-file-error = { $path }: { $error }
relay-cfg-cert-and-key = give both tls_cert and tls_key, or neither
relay-cfg-store-path = give the store file ([store] path, or [relay] store)
relay-cfg-postgres-only = url, password_file, tls_ca, tls_cert and tls_key are only for kind = "postgres"
relay-cfg-missing = missing
relay-cfg-store-url = give the database, e.g. "host=/var/run/postgresql dbname=tiprelay user=tiprelay"
relay-cfg-not-pg-url = not a PostgreSQL connection string: { $error }
relay-cfg-url-password = holds a password: put it in [store] password_file or ${ $env } instead
relay-cfg-url-dbname = name the database (dbname=…)
relay-cfg-cannot-read = cannot read { $path }: { $error }
relay-cfg-redb-only = only for kind = "redb"
relay-cfg-relay-store-with-postgres = remove it: this relay's store is PostgreSQL ([store])
relay-cfg-store-kind = `{ $value }`: choose "redb" or "postgres"

## tiprelay: start and store errors
relay-err-metrics-listen = cannot listen for metrics on { $addr }
relay-err-listen = cannot listen on { $addr }
relay-err-open-store = cannot open the store { $path }
relay-err-refusing-to-start = refusing to start
relay-err-record-crl-floors = cannot record the CRL numbers in the store
relay-err-cancelled = stopped while waiting for the store's lease (standby); nothing was served
relay-err-lease-lost = this relay no longer holds the store's lease: another relay took over; this one stops (retry: the next relay answers)
relay-err-wrong-identity = the relay's signing certificate names { $identity }, but { $expected }
relay-identity-expected-shared = the shared relay (no [federation]) is certified by the relay operator's CA as tiprelay://OPERATOR/relay/NAME
relay-identity-expected-federated = [federation] home = "{ $home }" makes this { $home }'s own relay, certified by { $home }'s CA as tiprelay://{ $home }/relay/NAME
relay-err-task = relay task
relay-err-store-conflict = tip { $id } from { $from } was already accepted with different content (digest { $existing }); choose a new id
relay-err-store-full = the relay's store is full; new tips are refused until space is freed
relay-err-store-quota = { $author } has { $pending } bytes of tips not yet acknowledged by the recipient jurisdiction; its quota is { $quota } bytes; retry once tips are acknowledged
relay-err-store-corrupt = the store is damaged: { $detail }
relay-err-store-failed = storage failure: { $detail }
relay-err-store-closed = the relay is shutting down
relay-err-export-exists = { $path } exists already; choose another name
relay-runtime = cannot start the runtime: { $error }

## tiprelay check-config
relay-db-unreachable = [store] { $store }: the database cannot be reached
relay-db-no-store = database reachable; no relay store yet (`tiprelay serve` or `tiprelay migrate` creates it)
relay-db-current = database reachable; relay schema version { $version } (current)
relay-db-older = database reachable; relay schema version { $version }: `tiprelay migrate` takes it to { $current }
relay-db-newer = [store] { $store }: the database's relay schema is version { $version }, newer than this relay's { $current }: upgrade the relay
relay-db-standby = WARNING: this server is a standby (read-only): list the primary too, with target_session_attrs=read-write
relay-db-lease = store lease: epoch { $epoch }, last taken by { $holder } at { $since }
relay-config-ok = configuration OK: listen { $listen }, jurisdictions { $jurisdictions }, pairs { $pairs }, store { $store }
relay-config-federation = federation: { $home }'s own relay; peer: { $peer }'s relay at { $address } (server name { $server_name })

## tiprelay peers
relay-peers-hub = { $config }: this relay is the shared relay of every jurisdiction (no [federation]): it has no peer relay
relay-peers-link = link { $home } → { $peer }: { $peer }'s relay at { $address } (server name { $server_name })
relay-peers-state = link:          { $state }
relay-peers-up = up
relay-peers-down = DOWN (tips queue here; they cross in order when it returns)
relay-peers-unknown = unknown (set [metrics] listen to let `tiprelay peers` ask the running relay)
relay-peers-tips-to = tips to { $peer }:    { $accepted } accepted here; { $crossed } receipted by { $peer }'s relay; { $queued } queued
relay-peers-tips-to-oldest = tips to { $peer }:    { $accepted } accepted here; { $crossed } receipted by { $peer }'s relay; { $queued } queued (oldest accepted { $seconds } s ago)
relay-peers-notices = acks/feedback: { $count } waiting for the link
relay-peers-statements = statements:    { $count } waiting for the link
relay-peers-tips-from = tips from { $peer }: { $count } received over the link

## tiprelay migrate, audit export
relay-migrate-nothing = { $store }: schema version { $version }, nothing to migrate
relay-migrate-done = { $store }: schema migrated from version { $before } to { $after }
relay-export-written = wrote { $file }: log { $log }, entries { $first }..{ $end } ({ $count }), { $checkpoints ->
        [one] 1 signed checkpoint
       *[other] { $checkpoints } signed checkpoints
    }

## tiprelay: a store the command cannot use
relay-store-in-use = { $path } is in use by another process (is a relay already running?)
relay-store-absent = { $path } does not exist (has this relay ever run?)
relay-store-read-only = { $path } is open read-only
relay-store-no-checkpoint = the relay has signed no checkpoint yet; nothing can be exported
relay-store-db-empty = the database holds no relay store yet (has this relay ever run?)
relay-store-db-other-schema = the database's relay schema is version { $version }, this tool's is { $ours }: run `tiprelay migrate`, or upgrade
relay-store-db-newer = the database's relay schema is version { $version }, newer than this relay's { $ours }: upgrade the relay
relay-store-newer = { $path } holds a relay store of schema version { $found }, newer than this tiprelay's { $ours }: it was written by a later release; run that release (or a later one), or restore a backup this release made

## check-config: the files
relay-check-key-mismatch = the private key { $key } is not the key of the certificate { $cert } ({ $why }): install the key issued with that certificate
relay-check-root-unreadable = { $file } is not a readable certificate: { $why }
relay-check-root-swapped = { $file } is the root CA of { $named } (subject { $subject }), but it is configured as the root of { $configured }: are two roots swapped? Put each jurisdiction's own ca.crt under its code
relay-check-root-unnamed = { $file } (configured as the root of { $configured }) does not name its authority in its subject, so this check cannot tell whose CA it is: compare its SHA-256 { $fingerprint } with the one { $configured } gave you
relay-check-not-issued = { $file } is not a valid certificate of { $issuer } for this relay: { $why }

## tiprelay backup
relay-backup-postgres = { $store } is a PostgreSQL store: back it up with the database's own tools, which take one consistent snapshot: pg_dump --format=custom --file=tiprelay.dump <database> (docs/OPERATIONS.md, "Backups and restore"); tiprelay backup copies redb stores only
relay-backup-exists = { $path } exists already; choose another name, or add --force to replace it
relay-backup-is-the-store = { $path } is the relay's own store; write the backup to another file
relay-backup-unknown-table = the store holds a table `{ $name }` this tiprelay does not know (written by a newer release?); nothing was copied: back it up with that release's tiprelay
relay-backup-unverified = the copy does not verify, so it was removed: { $why }
relay-backup-rows-differ = the copy's rows per table { $read } differ from the snapshot's { $copied }
relay-backup-not-read-only = the copy could not be opened read-only
relay-backup-entry-missing = audit log entry { $index } is missing
relay-backup-leaf-differs = audit log entry { $index } does not hash to the leaf stored for it
relay-backup-bad-signature = the signature of the checkpoint of { $size } entries does not verify: { $error }
relay-backup-checkpoint-size = the newest checkpoint claims { $size } entries, but the log holds { $entries }
relay-backup-root-differs = the root of the first { $size } entries, recomputed from the copy, is { $computed }, but the signed checkpoint says { $root }
relay-backup-done = Backup written to { $file } ({ $bytes } bytes, { $ms } ms), checked
relay-backup-sha256 = SHA-256: { $sha256 }
relay-backup-counts = tips: { $tips }; audit log entries: { $entries }; schema version { $version }
relay-backup-checkpoint = newest signed checkpoint: { $size } entries, root { $root }, signed { $time }, { $cosignatures } cosignatures (its root recomputed from the copy's entries, its signature verified)
relay-backup-no-checkpoint = the relay had signed no checkpoint yet: the audit log's entries were checked against their stored hashes only
relay-backup-keep = Keep it encrypted and off this machine: it holds tip bodies. To restore: docs/OPERATIONS.md, "Backups and restore".

## The signing key in a PKCS#11 token (relay/src/pkcs11.rs)
relay-pkcs11-uri-bad = `{ $uri }` is not a usable PKCS#11 key URI: { $why }
relay-pkcs11-uri-scheme = it must start with pkcs11:
relay-pkcs11-uri-pin = a PIN does not belong in the configuration: put it in a file readable only by the relay's user and name that file with `pkcs11_pin_file`
relay-pkcs11-uri-query = query attributes ({ $query }) are not accepted: name the module with `pkcs11_module` and the PIN file with `pkcs11_pin_file`
relay-pkcs11-uri-attribute = `{ $attribute }` is not name=value
relay-pkcs11-uri-escape = `{ $value }` has a % that is not followed by two hexadecimal digits
relay-pkcs11-uri-utf8 = the value of { $name } is not UTF-8 text
relay-pkcs11-uri-twice = { $name } is given twice
relay-pkcs11-uri-slot-id = slot-id `{ $value }` is not a number
relay-pkcs11-uri-type = type={ $value }: the relay signs with a private key (type=private, or leave type out)
relay-pkcs11-uri-unknown = unknown attribute { $name } (known: token, serial, manufacturer, model, slot-id, object, id, type)
relay-pkcs11-uri-no-object = it names no key: add object=<label> or id=<id>
relay-pkcs11-uri-no-token = it names no token: add token=<label> (or serial=, slot-id=)
relay-pkcs11-module-not-found = the PKCS#11 module { $module } (`pkcs11_module`) does not exist: install the token's library (Debian: apt-get install softhsm2 for /usr/lib/softhsm/libsofthsm2.so) or correct the path
relay-pkcs11-module-unusable = { $module } (`pkcs11_module`) cannot be used as a PKCS#11 module: { $why }
relay-pkcs11-token-not-found = no token matches { $wanted }; tokens present: { $present } (list them with: softhsm2-util --show-slots, or pkcs11-tool --module <module> --list-tokens)
relay-pkcs11-token-ambiguous = { $count } tokens match { $wanted }: add serial= to the URI to name one
relay-pkcs11-pin-file = the PIN file { $path } (`pkcs11_pin_file`) cannot be used: { $why }
relay-pkcs11-pin-empty = it is empty
relay-pkcs11-pin-needed = token { $token } needs a login: set `pkcs11_pin_file` to a file holding the user PIN
relay-pkcs11-wrong-pin = token { $token } refused the PIN in { $pin_file }: put the token's user PIN in that file (too many wrong PINs lock the token)
relay-pkcs11-pin-locked = token { $token } has locked its user PIN after too many wrong PINs: its security officer must unlock it (softhsm2-util cannot; pkcs11-tool --login --login-type so --init-pin)
relay-pkcs11-no-such-object = token { $token } holds no private key with { $object } (list its keys with: pkcs11-tool --module <module> --token-label { $token } --login --list-objects --type privkey)
relay-pkcs11-object-ambiguous = token { $token } holds { $count } private keys with { $object }: add id= to the URI to name one
relay-pkcs11-no-public-key = token { $token } holds the private key { $object } but no public key object with the same label or id, which the relay needs to check the key against `signing_cert`
relay-pkcs11-not-ed25519 = the key { $object } is not an Ed25519 key ({ $found }): generate an Ed25519 key pair (CKM_EC_EDWARDS_KEY_PAIR_GEN, curve edwards25519)
relay-pkcs11-no-eddsa = token { $token } does not offer EdDSA signatures (CKM_EDDSA): use a token that does (SoftHSM2 2.6 or later, built with OpenSSL 1.1.1 or later)
relay-pkcs11-certificate = the key { $uri } cannot sign for `signing_cert`: { $why }
relay-pkcs11-failed = PKCS#11 failed while { $step }: { $why }
relay-pkcs11-step-slots = listing the slots
relay-pkcs11-step-token-info = reading a token's information
relay-pkcs11-step-mechanisms = listing the token's mechanisms
relay-pkcs11-step-session = opening a session
relay-pkcs11-step-login = logging in
relay-pkcs11-step-find-key = looking for the private key
relay-pkcs11-step-key-type = reading the key's type
relay-pkcs11-step-find-public = looking for the public key
relay-pkcs11-step-ec-point = reading the public key (CKA_EC_POINT)
relay-pkcs11-needs-module = a PKCS#11 key needs `relay.pkcs11_module`, the token's library (SoftHSM2: /usr/lib/softhsm/libsofthsm2.so)
relay-pkcs11-only-with-uri = `{ $key }` is only for a signing key in a token (`signing_key = "pkcs11:…"`)

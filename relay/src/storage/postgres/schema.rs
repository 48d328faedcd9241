//! The PostgreSQL schema of the relay's store, as versioned migrations.
//!
//! Every text key is `COLLATE "C"` so range scans order exactly as the redb engine's byte
//! order; unsigned counters are stored in `bigint` (all values stay below 2^63: sequence
//! numbers, indexes, millisecond times).

/// Migrations in order; `MIGRATIONS[i]` takes the schema from version `i` to `i + 1`.
/// Version 1: the relay's records and `tiprelay_lease` (active–standby relays, see `lease`).
pub const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE tips (from_j text COLLATE "C" NOT NULL, id bytea NOT NULL, rec bytea NOT NULL,
    PRIMARY KEY (from_j, id));
CREATE TABLE by_seq (from_j text COLLATE "C" NOT NULL, to_j text COLLATE "C" NOT NULL, seq bigint NOT NULL,
    id bytea NOT NULL, PRIMARY KEY (from_j, to_j, seq));
CREATE TABLE dir_seq (from_j text COLLATE "C" NOT NULL, to_j text COLLATE "C" NOT NULL, seq bigint NOT NULL,
    PRIMARY KEY (from_j, to_j));
CREATE TABLE cursors (principal text COLLATE "C" NOT NULL, from_j text COLLATE "C" NOT NULL, cursor bigint NOT NULL,
    PRIMARY KEY (principal, from_j));
CREATE TABLE acked_above (principal text COLLATE "C" NOT NULL, from_j text COLLATE "C" NOT NULL, seq bigint NOT NULL,
    at bigint NOT NULL, PRIMARY KEY (principal, from_j, seq));
CREATE TABLE first_ack (from_j text COLLATE "C" NOT NULL, id bytea NOT NULL, idx bigint NOT NULL,
    PRIMARY KEY (from_j, id));
CREATE TABLE acked_at (from_j text COLLATE "C" NOT NULL, id bytea NOT NULL, at bigint NOT NULL,
    PRIMARY KEY (from_j, id));
CREATE TABLE author_pending (author text COLLATE "C" PRIMARY KEY, bytes bigint NOT NULL);
CREATE TABLE notices (author text COLLATE "C" NOT NULL, idx bigint NOT NULL, rec bytea NOT NULL,
    PRIMARY KEY (author, idx));
CREATE TABLE feedback (to_j text COLLATE "C" NOT NULL, id bytea NOT NULL, rec bytea NOT NULL,
    PRIMARY KEY (to_j, id));
CREATE TABLE statements (to_j text COLLATE "C" NOT NULL, idx bigint NOT NULL, rec bytea NOT NULL,
    PRIMARY KEY (to_j, idx));
CREATE TABLE statement_ids (j text COLLATE "C" NOT NULL, id bytea NOT NULL, idx bigint NOT NULL,
    PRIMARY KEY (j, id));
CREATE TABLE ledger (accepted bigint NOT NULL, from_j text COLLATE "C" NOT NULL, id bytea NOT NULL,
    packed bytea NOT NULL, PRIMARY KEY (accepted, from_j, id));
CREATE TABLE audit_entries (idx bigint PRIMARY KEY, bytes bytea NOT NULL);
CREATE TABLE audit_nodes (level smallint NOT NULL, idx bigint NOT NULL, digest bytea NOT NULL,
    PRIMARY KEY (level, idx));
CREATE TABLE checkpoints (size bigint PRIMARY KEY, env bytea NOT NULL);
CREATE TABLE cosignatures (size bigint NOT NULL, by_p text COLLATE "C" NOT NULL, env bytea NOT NULL,
    PRIMARY KEY (size, by_p));
CREATE TABLE meta (name text COLLATE "C" PRIMARY KEY, value bigint NOT NULL);
CREATE TABLE tiprelay_lease (id smallint PRIMARY KEY CHECK (id = 1), epoch bigint NOT NULL,
    token text NOT NULL, holder text NOT NULL, backend integer NOT NULL,
    since timestamptz NOT NULL, heartbeat timestamptz NOT NULL);
INSERT INTO tiprelay_lease VALUES (1, 0, '', '', 0, now(), now());
"#];

/// The schema version this relay writes.
pub const VERSION: i32 = MIGRATIONS.len() as i32;

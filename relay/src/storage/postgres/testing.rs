//! The PostgreSQL engine on a throwaway cluster ([`tiprelay_pgtest::Cluster`]), for the
//! storage behaviour suite.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;

use tiprelay_pgtest::Cluster;

use super::PgEngine;
use crate::storage::{Engine, ReadTables, StoreError, WriteFn};

/// A PostgreSQL engine with its cluster: connections close before the cluster stops.
pub struct TestPg {
    engine: Option<PgEngine>,
    _cluster: Cluster,
}

impl TestPg {
    /// The engine on a cluster in `dir` (started, or restarted when it exists).
    pub fn open(dir: &Path) -> Arc<dyn Engine> {
        let cluster = Cluster::start(dir);
        let engine = PgEngine::open(&super::PgTarget::plain(cluster.params("relay").parse().unwrap()), true).unwrap();
        Arc::new(TestPg { engine: Some(engine), _cluster: cluster })
    }
}

impl Drop for TestPg {
    fn drop(&mut self) {
        self.engine.take();
    }
}

impl Engine for TestPg {
    fn write(&self, f: WriteFn<'_>) -> Result<(), StoreError> {
        self.engine.as_ref().map_or(Err(StoreError::Closed), |e| e.write(f))
    }
    fn read(&self) -> Result<Box<dyn ReadTables + '_>, StoreError> {
        self.engine.as_ref().map_or(Err(StoreError::Closed), |e| e.read())
    }
    fn describe(&self) -> String {
        self.engine.as_ref().map_or_else(String::new, Engine::describe)
    }
}

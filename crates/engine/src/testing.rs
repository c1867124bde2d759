//! What the crate's own tests share: an engine over the bundled demo snapshot.

use std::sync::Arc;

use stagesql_catalog::{BUNDLED_FIXTURE, SnapshotStore, parse_fixture};

use crate::{Engine, EngineConfig, Session};

/// An engine serving the demo rows, and a session on it (the engine must outlive it).
pub(crate) fn demo() -> (Engine, Session) {
    let store = Arc::new(SnapshotStore::new());
    store.publish(parse_fixture(BUNDLED_FIXTURE, "bundled").expect("fixture"));
    let engine = Engine::new(EngineConfig::new("stagesql", "stagesql"), store).expect("engine");
    let session = engine.session("stagesql", []).expect("session");
    (engine, session)
}

//! The stage catalog: what the server knows about API Gateway v2 stages.
//!
//! Map of the crate:
//! - [`model`]: the AWS `Stage` shape (GetStages items, camelCase on the wire) and its parts.
//! - [`columns`]: the table's columns, their order and PostgreSQL types, in one list.
//! - [`row`]: [`StageRow`], one rendered row, and the rendering rules from AWS fields to column values.
//! - [`render`]: text renderings shared by the rules (hstore text, ARNs and partitions).
//! - [`aws`]: the live source: accounts (named, or an organization's members), each account's
//!   enabled regions, and GetApis -> GetStages per (account, region), SDK types to the model.
//! - [`refresh`]: the background refresher ([`refresh::Crawler`]): discovery, a whole snapshot per
//!   refresh with last good rows kept, and retries of what failed on a growing backoff.
//! - [`status`]: per-partition refresh outcomes (`stagesql.refresh_status`).
//! - [`snapshot`]: the immutable [`Snapshot`] and the [`SnapshotStore`] that publishes it atomically.
//! - [`background`]: refresh work the serving side does (building, decoding, encoding a
//!   snapshot) on threads of their own at a lower priority than queries.
//! - [`demo`]: the bundled-fixture source, which reads GetApis/GetStages JSON through the same mapping
//!   live data will use.
//!
//! Nothing here knows about Arrow or the PostgreSQL protocol: the engine turns snapshots into
//! record batches and the wire crate turns those into rows on a socket.

pub mod aws;
pub mod background;
pub mod columns;
pub mod demo;
pub mod model;
pub mod refresh;
pub mod render;
pub mod row;
pub mod snapshot;
pub mod status;

pub use columns::{COLUMNS, ColumnDef, ColumnType};
pub use demo::{BUNDLED_FIXTURE, DemoError, load_demo_snapshot, parse_fixture};
pub use model::{AccessLogSettings, ApiSummary, RouteSettings, Stage};
pub use row::{StageContext, StageRow};
pub use snapshot::{AfterPublish, Derive, RowStore, Snapshot, SnapshotStore};

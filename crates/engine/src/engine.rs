//! The engine shared by all connections: it builds a DataFusion `SessionState` once
//! (functions, planners, the `aws`, `stagesql`, `pg_catalog` and `information_schema`
//! schemas) and hands each connection a [`Session`] cloned from it.

use std::sync::{Arc, RwLock};

use datafusion::catalog::MemorySchemaProvider;
use datafusion::error::DataFusionError;
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::prelude::SessionConfig;
use stagesql_catalog::SnapshotStore;

use crate::config::EngineConfig;
use crate::error::EngineError;
use crate::functions::{operators, session_info};
use crate::pg_catalog;
use crate::planner::{PgOperatorPlanner, PgTypePlanner};
use crate::schema::{TABLE_NAME, TABLE_SCHEMA};
use crate::session::Session;
use crate::settings::Settings;
use crate::status_tables::{StatusKind, StatusTable};
use crate::table::StageTable;

/// What every session shares: the base DataFusion state and the snapshot store.
#[derive(Debug)]
pub struct Engine {
    config: EngineConfig,
    base: SessionState,
    store: Arc<SnapshotStore>,
    table: Arc<StageTable>,
    budget: Arc<crate::limits::MemoryBudget>,
    /// The runtime long queries execute on, shared by every session.
    executor: Arc<crate::executor::QueryExecutor>,
    /// Every role with its oid, the owner first (replaced whole by [`Engine::set_roles`]).
    roles: arc_swap::ArcSwap<Vec<(u32, String)>>,
}

/// The database's catalog in `state` (created with the state, so missing is a bug).
fn default_catalog(
    state: &SessionState,
    database: &str,
) -> Result<Arc<dyn datafusion::catalog::CatalogProvider>, EngineError> {
    Ok(state
        .catalog_list()
        .catalog(database)
        .ok_or_else(|| DataFusionError::Internal("default catalog missing".to_owned()))?)
}

impl Engine {
    /// Builds the engine over `store`.
    pub fn new(config: EngineConfig, store: Arc<SnapshotStore>) -> Result<Engine, EngineError> {
        // Every catalog name resolves through PostgreSQL's compiled-in catalog data; an engine
        // that could not read it would resolve no name, so it does not start.
        pg_catalog::dump().map_err(DataFusionError::Internal)?;
        // Every snapshot gets its batch and indexes before it is published, so the first query
        // after a refresh does not build them while clients wait.
        store.set_derive(Arc::new(|rows| {
            crate::scan::SnapshotData::derive(rows)
                .map(|data| data as Arc<dyn stagesql_catalog::RowStore>)
        }));
        let mut session_config = SessionConfig::new()
            .with_default_catalog_and_schema(config.database.as_str(), "public")
            .with_create_default_catalog_and_schema(true)
            .with_information_schema(false);
        let options = session_config.options_mut();
        options.sql_parser.dialect = datafusion::config::Dialect::PostgreSQL;
        options.sql_parser.map_string_types_to_utf8view = false;
        options.execution.target_partitions = 1;
        // `timestamptz` (and now()) carry a time zone, so they are told apart from `timestamp`
        // (OID 1184, printed with its offset) as PostgreSQL does; the server's zone is UTC.
        options.execution.time_zone = Some(crate::semantics::SESSION_ZONE.to_owned());
        // `0.1` is numeric, as in PostgreSQL (`0.1 + 0.2` is `0.3`, not a float sum).
        options.sql_parser.parse_float_as_decimal = true;
        // DataFusion's limit push-down past window functions reads `lag(x, -1)` (PostgreSQL's
        // lead) as looking back only, so `… ORDER BY k LIMIT 3` lost the row after the third
        // (the oracle found it); windows see their whole input.
        options.optimizer.enable_window_limits = false;

        let state = SessionStateBuilder::new()
            .with_config(session_config)
            .with_default_features()
            .with_optimizer_rules(crate::subplan::PgSubPlans::with_defaults())
            .with_query_planner(Arc::new(crate::subplan::PgQueryPlanner))
            .build();
        let mut planners: Vec<Arc<dyn datafusion::logical_expr::planner::ExprPlanner>> =
            vec![Arc::new(PgOperatorPlanner::new())];
        planners.extend(state.expr_planners().iter().cloned());
        let state = SessionStateBuilder::new_from_existing(state)
            .with_expr_planners(planners)
            .with_type_planner(Arc::new(PgTypePlanner))
            .build();
        // Untyped literals, sum's and avg's types and float4's promotion are decided before
        // DataFusion's type coercion; the rest of PostgreSQL's semantics after DataFusion's
        // own analyzer rules, so types are settled.
        let mut rules: Vec<Arc<dyn datafusion::optimizer::AnalyzerRule + Send + Sync>> = vec![
            Arc::new(crate::semantics::unknown::UnknownLiterals),
            Arc::new(crate::semantics::aggregates::AggregateTypes::new()),
            Arc::new(crate::semantics::promotions::Promotions),
        ];
        rules.extend(state.analyzer().rules.iter().cloned());
        rules.push(Arc::new(crate::semantics::PgSemantics::new(Arc::new(
            operators::hstore_in(),
        ))));
        let mut state = SessionStateBuilder::new_from_existing(state)
            .with_analyzer_rules(rules)
            .build();
        for udf in operators::all()
            .into_iter()
            .chain(crate::functions::builtins::all())
            .chain(crate::functions::to_json::all())
            .chain(crate::functions::json_elements::all())
            .chain(crate::functions::regexp::all())
            .chain(crate::functions::datetime::all())
            .chain(crate::functions::math::all())
            .chain(crate::functions::ordered_set::all())
            .chain(std::iter::once(crate::functions::sleep::udf()))
            .chain(crate::functions::to_timestamp::all())
            .chain(crate::semantics::json::operator_udfs())
        {
            datafusion::execution::FunctionRegistry::register_udf(&mut state, Arc::new(udf))?;
        }
        for udaf in crate::functions::aggregates::all() {
            datafusion::execution::FunctionRegistry::register_udaf(&mut state, Arc::new(udaf))?;
        }
        state.register_udtf(
            "pg_get_keywords",
            Arc::new(crate::functions::table_functions::PgGetKeywords),
        );
        state.register_udtf(
            "pg_partition_ancestors",
            Arc::new(crate::functions::table_functions::NoPartitions),
        );
        state.register_udtf(
            "pg_available_extensions",
            Arc::new(crate::functions::table_functions::AvailableExtensions),
        );

        let catalog = default_catalog(&state, &config.database)?;
        let table = Arc::new(StageTable::new(Arc::clone(&store)));
        let aws = Arc::new(MemorySchemaProvider::new());
        datafusion::catalog::SchemaProvider::register_table(
            aws.as_ref(),
            TABLE_NAME.to_owned(),
            Arc::clone(&table) as Arc<dyn datafusion::catalog::TableProvider>,
        )?;
        catalog.register_schema(TABLE_SCHEMA, aws)?;
        let status = Arc::new(MemorySchemaProvider::new());
        for (name, kind) in [
            ("refresh_status", StatusKind::Refresh),
            ("snapshot_status", StatusKind::Snapshot),
        ] {
            datafusion::catalog::SchemaProvider::register_table(
                status.as_ref(),
                name.to_owned(),
                Arc::new(StatusTable::new(kind, Arc::clone(&store))),
            )?;
        }
        catalog.register_schema("stagesql", status)?;
        let roles = Arc::new(crate::pg_types::roles(&config.user, &config.other_users));
        pg_catalog::register(catalog.as_ref(), &config.database, &roles)?;

        let budget = Arc::new(crate::limits::MemoryBudget::new(config.memory));
        for udf in crate::functions::capped::wrap_all(state.scalar_functions(), &budget) {
            datafusion::execution::FunctionRegistry::register_udf(&mut state, Arc::new(udf))?;
        }
        let executor = Arc::new(
            crate::executor::QueryExecutor::per_core()
                .map_err(|e| DataFusionError::External(Box::new(e)))?,
        );
        Ok(Engine {
            budget,
            executor,
            roles: arc_swap::ArcSwap::new(roles),
            config,
            base: state,
            store,
            table,
        })
    }

    /// Replaces the roles (the owner and the other users that may log in, after a reload of
    /// the user list): `pg_catalog` and `information_schema` are rebuilt and swapped in for the
    /// statements planned from now on, and new sessions resolve role oids against the new list.
    /// Sessions already open keep the role list they started with for `pg_get_userbyid` and
    /// the privilege functions.
    pub fn set_roles(&self, owner: &str, others: &[String]) -> Result<(), EngineError> {
        let roles = Arc::new(crate::pg_types::roles(owner, others));
        if **self.roles.load() == *roles {
            return Ok(());
        }
        let catalog = default_catalog(&self.base, &self.config.database)?;
        pg_catalog::register(catalog.as_ref(), &self.config.database, &roles)?;
        self.roles.store(roles);
        Ok(())
    }

    /// The database name.
    pub fn database(&self) -> &str {
        &self.config.database
    }

    /// The snapshot store the table reads.
    pub fn store(&self) -> &Arc<SnapshotStore> {
        &self.store
    }

    /// A new session for `user`, with the client's startup parameters applied.
    pub fn session<'a>(
        &self,
        user: &str,
        startup: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Session, EngineError> {
        // The server's defaults come first, so a client's startup options can still override
        // them.
        let startup: Vec<(String, String)> = self
            .config
            .session_defaults
            .iter()
            .cloned()
            .chain(
                startup
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned())),
            )
            .collect();
        let backend_pid = Arc::new(std::sync::OnceLock::new());
        let settings = Arc::new(RwLock::new(Settings::new(
            user,
            startup.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        )));
        let mut state = self.base.clone();
        // What the analyzer rules read of this session (a cast to text reads IntervalStyle).
        state
            .config_mut()
            .options_mut()
            .extensions
            .insert(crate::settings::SessionSettings(Arc::clone(&settings)));
        // What a subplan checks between its runs (see `subplan`).
        let canceller = Arc::new(crate::limits::Canceller::default());
        state.config_mut().set_extension(Arc::clone(&canceller));
        let udfs = session_info::for_session(&self.config.database, user, Arc::clone(&settings))
            .into_iter()
            .chain(crate::functions::system_info::for_session(
                self.roles.load_full(),
                Arc::clone(&settings),
                Arc::clone(&backend_pid),
            ));
        for udf in udfs {
            datafusion::execution::FunctionRegistry::register_udf(&mut state, Arc::new(udf))?;
        }
        Ok(Session::new(
            state,
            settings,
            user,
            Arc::clone(&self.table),
            backend_pid,
            Arc::clone(&self.budget),
            Arc::clone(&self.executor),
        ))
    }

    /// Stops every query still executing, at its next yield, without waiting for it; queries
    /// started afterwards fail. For shutdown, once the drain deadline has passed.
    pub fn stop_queries(&self) {
        self.executor.shutdown();
    }
}

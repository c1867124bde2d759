//! Running a planned statement: the prepared hot path (a generic plan bound and executed), the
//! plan for the snapshot current now, and the task context each run executes in.

use super::*;

impl Session {
    /// The rows a prepared key lookup gives with `params`, read now from the snapshot current
    /// now, without executing anything: the same rows, in the same order, that
    /// [`Session::execute`] streams for it (one index probe, see `GenericPlan::select`), for a
    /// caller that encodes them itself. `None` when the statement is anything else, or when
    /// its values would not bind as they are; an error only where executing would fail the
    /// same way (a value that does not cast, a key expression that fails). Nothing is planned
    /// or awaited, so a run has nothing to cancel or time out.
    pub fn select_now(
        &self,
        prepared: &Prepared,
        params: Vec<ScalarValue>,
    ) -> Result<Option<crate::scan::SelectedRows>, EngineError> {
        if params.is_empty()
            || self.transaction_status() == super::TransactionStatus::Failed
            || params.len() != prepared.param_types.len()
            || !matches!(prepared.command.as_ref(), Command::Query(_))
        {
            return Ok(None);
        }
        let Some(Some(generic)) = prepared.generic.get() else {
            return Ok(None);
        };
        let Some(pinned) = self.table.pin()? else {
            return Ok(None);
        };
        let values = cast_params(params, &prepared.param_types)?;
        generic.select(&values, &pinned.0)
    }

    /// Runs a planned query with its parameter values on the snapshot current now.
    pub(super) async fn run_plan(
        &self,
        prepared: &Prepared,
        params: Vec<ScalarValue>,
    ) -> Result<SendableRecordBatchStream, EngineError> {
        if params.is_empty()
            && let Some(kept) = prepared.results.get()
        {
            // A table-free plan that gives the same rows every time: they were kept.
            return Ok(kept.stream());
        }
        let pinned = self.table.pin()?;
        let rows = pinned.as_ref().map_or(0, |p| p.0.rows());
        if !params.is_empty()
            && let Some(Some(generic)) = prepared.generic.get()
        {
            // The hot path of a prepared query: bind and execute, nothing planned or walked.
            let values = cast_params(params.clone(), &prepared.param_types)?;
            if let Some(data) = &pinned
                && let Some((schema, batch)) = generic.lookup(&values, &data.0)?
            {
                // A point lookup: its rows, read directly.
                return Ok(Box::pin(
                    datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(
                        schema,
                        futures::stream::iter([Ok(batch)]),
                    ),
                ));
            }
            if let Some((physical, hold)) = generic.bind(values)? {
                let stream = self.start(prepared, physical, self.task_context(pinned), rows)?;
                return Ok(Box::pin(crate::generic::HoldingStream::new(stream, hold)));
            }
        }
        let cached = if params.is_empty() {
            prepared.physical.get().cloned()
        } else {
            None
        };
        let (physical, task) = match cached {
            Some(physical) => {
                // Planning is done; only the snapshot to read is this query's own.
                let physical =
                    datafusion::physical_plan::execution_plan::reset_plan_states(physical)?;
                let stream = self.start(prepared, physical, self.task_context(pinned), rows)?;
                return Ok(match &prepared.plan {
                    // Its rows are kept as they stream by, for the runs after this one.
                    Some(plan) if crate::kept_results::table_free(plan) => {
                        crate::kept_results::KeptResults::keep(stream, &prepared.results)
                    }
                    _ => stream,
                });
            }
            None => {
                let plan = prepared
                    .plan
                    .as_deref()
                    .ok_or_else(|| DataFusionError::Internal("query without a plan".to_owned()))?;
                let reusable = crate::plan_cache::reusable(plan);
                let cacheable = params.is_empty() && reusable;
                // A LIMIT/OFFSET parameter changes what the optimizer may do (with a number
                // the limit is pushed into the sort; left as a parameter, an ordering under
                // it was seen dropped), so such plans are optimized with their values.
                let limit_parameter = !crate::bind::limit_placeholders(plan)?.is_empty();
                if reusable && !params.is_empty() && !limit_parameter {
                    // Optimized once with its parameters in it; each run only substitutes the
                    // values and plans physically (the index lookup takes the value then).
                    let optimized = prepared
                        .optimized
                        .get_or_init(|| match self.state.optimize(plan) {
                            Ok(optimized) => Some(optimized),
                            Err(e) => {
                                // Not an error for the client: each run is then optimized
                                // with its values, as an unprepared query is.
                                tracing::debug!(
                                    error = %e,
                                    "a prepared plan does not optimize with its parameters; \
                                     each run optimizes with its values"
                                );
                                None
                            }
                        })
                        .clone();
                    if let Some(optimized) = optimized {
                        let values = cast_params(params.clone(), &prepared.param_types)?;
                        if let Some(generic) =
                            self.generic_plan(prepared, &optimized, &values).await
                            && let Some((physical, hold)) = generic.bind(values.clone())?
                        {
                            let task = self.task_context(pinned);
                            let stream = self.start(prepared, physical, task, rows)?;
                            return Ok(Box::pin(crate::generic::HoldingStream::new(stream, hold)));
                        }
                        let bound = optimized.with_param_values(ParamValues::from(values))?;
                        // Fold what the values made constant (`LIMIT CAST($1 AS bigint)`
                        // must become a number before physical planning), then drop what a
                        // `LIMIT 0` made empty (a sort with fetch 0 cannot run).
                        let bound = datafusion::optimizer::Optimizer::with_rules(vec![
                            Arc::new(
                                datafusion::optimizer::simplify_expressions::SimplifyExpressions::new(),
                            ),
                            Arc::new(datafusion::optimizer::eliminate_limit::EliminateLimit::new()),
                        ])
                        .optimize(bound, &self.state, |_, _| {})?;
                        let physical = self
                            .state
                            .query_planner()
                            .create_physical_plan(&bound, &self.state)
                            .await?;
                        return self.start(prepared, physical, self.task_context(pinned), rows);
                    }
                }
                let plan = if params.is_empty() {
                    plan.clone()
                } else {
                    let values = cast_params(params, &prepared.param_types)?;
                    plan.clone().with_param_values(ParamValues::from(values))?
                };
                if reusable {
                    // No function depends on the time or the session: plan on the shared
                    // state (copying it costs more than a point lookup).
                    let physical = self.state.create_physical_plan(&plan).await?;
                    if cacheable && crate::plan_cache::physical_reusable(&physical) {
                        let _ = prepared.physical.set(Arc::clone(&physical));
                    }
                    (physical, self.task_context(pinned))
                } else {
                    // A query of its own state: its start time (for now() and friends) is
                    // fixed here for its whole life.
                    let mut state = self.state.clone();
                    state.mark_start_execution();
                    if let Some(pinned) = pinned {
                        state.config_mut().set_extension(Arc::new(pinned));
                    }
                    let physical = state.create_physical_plan(&plan).await?;
                    (physical, datafusion::execution::TaskContext::from(&state))
                }
            }
        };
        self.start(prepared, physical, task, rows)
    }

    /// The generic plan of `prepared` (see [`crate::generic`]), built on its first run with
    /// parameters from its optimized plan; `None` when it has none.
    async fn generic_plan(
        &self,
        prepared: &Prepared,
        optimized: &LogicalPlan,
        values: &[ScalarValue],
    ) -> Option<Arc<crate::generic::GenericPlan>> {
        if let Some(known) = prepared.generic.get() {
            return known.clone();
        }
        let built = match crate::generic::with_param_functions(
            optimized,
            &prepared.param_types,
            values,
            &self.state,
        ) {
            Ok(Some((plan, slot))) => match self
                .state
                .query_planner()
                .create_physical_plan(&plan, &self.state)
                .await
            {
                Ok(physical) if crate::plan_cache::physical_reusable(&physical) => {
                    Some(Arc::new(crate::generic::GenericPlan::new(physical, slot)))
                }
                Ok(_) => None,
                Err(e) => {
                    tracing::debug!(error = %e, "no generic plan; each run plans with its values");
                    None
                }
            },
            Ok(None) => None,
            Err(e) => {
                tracing::debug!(error = %e, "no generic plan; each run plans with its values");
                None
            }
        };
        let _ = prepared.generic.set(built.clone());
        built
    }

    /// Starts executing `physical` in `task`, bounded by the statement timeout and cancel.
    pub(super) fn start(
        &self,
        prepared: &Prepared,
        physical: Arc<dyn datafusion::physical_plan::ExecutionPlan>,
        task: datafusion::execution::TaskContext,
        rows: usize,
    ) -> Result<SendableRecordBatchStream, EngineError> {
        let task = task.with_runtime(self.budget.query_runtime()?);
        let inline = crate::plan_cache::runs_inline(&physical, rows);
        // A cursor's stream lives across statements; only the statement that reads it is timed.
        let timeout = if matches!(*prepared.command, Command::Declare { .. }) {
            None
        } else {
            self.settings_read().timeout("statement_timeout")
        };
        Ok(if inline {
            // Building a stream runs operator set-up code, which may panic too.
            let started = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                execute_stream(physical, Arc::new(task))
            }));
            let stream = started.map_err(|p| crate::limits::panicked(p.as_ref()))??;
            crate::limits::bounded_inline(stream, timeout, self.canceller.current())
        } else {
            crate::limits::bounded(
                physical,
                Arc::new(task),
                timeout,
                self.canceller.current(),
                &self.executor,
            )
        })
    }

    /// The task context one execution runs in: the session's config with the snapshot the
    /// query reads. Physical plans hold their functions, so the task needs no function
    /// registry, and copying the session's (hundreds of functions) would cost more than a
    /// small query.
    pub(super) fn task_context(
        &self,
        pinned: Option<crate::scan::PinnedSnapshot>,
    ) -> datafusion::execution::TaskContext {
        let mut config = self.state.config().clone();
        if let Some(pinned) = pinned {
            config.set_extension(Arc::new(pinned));
        }
        datafusion::execution::TaskContext::new(
            None,
            self.state.session_id().to_owned(),
            config,
            HashMap::new(),
            HashMap::new(),
            HashMap::new(),
            HashMap::new(),
            self.state.runtime_env().clone(),
        )
    }
}

//! A session's transaction block, as PostgreSQL keeps it.
//!
//! Nothing here is written, so a transaction only has to undo what a session changes: its
//! settings (`SET`, `SET LOCAL`, `set_config`) and its cursors. What is kept:
//!
//! - whether a block is open (`BEGIN`) or failed (an error inside it): a failed block runs
//!   only COMMIT (which rolls back), ROLLBACK and ROLLBACK TO SAVEPOINT, and answers
//!   everything else with 25P02;
//! - its savepoints, each with the settings and cursors to return to;
//! - outside a block, the implicit transaction of one simple Query (or of the extended
//!   messages up to Sync): an error in it undoes the settings it changed, as PostgreSQL's
//!   abort of that transaction does, and its end commits them (ending `SET LOCAL`s).
//!
//! The settings keep their own undo values (see [`crate::settings::Settings::rollback`]); the
//! wire reports the status in ReadyForQuery and says when an error reached the client
//! ([`Session::statement_failed`]) and when an exchange ended ([`Session::exchange_end`]).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};

use crate::error::EngineError;
use crate::output::{Output, Warning};
use crate::settings::{Mark, Report};
use crate::statement::Command;

use super::Session;

/// Where a session's transaction stands, as ReadyForQuery reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionStatus {
    /// No transaction block (`I`).
    Idle,
    /// Inside `BEGIN` … `COMMIT` (`T`).
    InBlock,
    /// Inside a block an error failed (`E`).
    Failed,
}

impl TransactionStatus {
    fn from_u8(v: u8) -> TransactionStatus {
        match v {
            1 => TransactionStatus::InBlock,
            2 => TransactionStatus::Failed,
            _ => TransactionStatus::Idle,
        }
    }
}

/// One session's transaction state.
#[derive(Debug, Default)]
pub(crate) struct Transaction {
    /// The [`TransactionStatus`], read without a lock before every statement.
    status: AtomicU8,
    /// The open block's savepoints, innermost last.
    savepoints: Mutex<Vec<Savepoint>>,
    /// The cursors' mark when the block, or else the current exchange, began: a rollback
    /// closes the cursors declared since.
    cursors_at_start: AtomicU64,
    /// The current simple Query holds more than one statement: PostgreSQL runs them in an
    /// implicit block, where `SET LOCAL` is no mistake.
    several: AtomicBool,
    /// WARNINGs raised by the statement running, sent before its answer.
    warnings: Mutex<Vec<Warning>>,
}

#[derive(Debug)]
struct Savepoint {
    name: String,
    settings: Mark,
    cursors: u64,
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Every update under these locks is a single push, truncate or swap.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Transaction {
    fn status(&self) -> TransactionStatus {
        TransactionStatus::from_u8(self.status.load(Ordering::Acquire))
    }

    fn set_status(&self, status: TransactionStatus) {
        self.status.store(status as u8, Ordering::Release);
    }

    fn warn(&self, warning: Warning) {
        locked(&self.warnings).push(warning);
    }
}

impl Session {
    /// Where this session's transaction stands.
    pub fn transaction_status(&self) -> TransactionStatus {
        self.transaction.status()
    }

    /// 25P02 for anything but COMMIT, ROLLBACK and ROLLBACK TO SAVEPOINT in a failed block.
    pub(crate) fn refuse_in_failed_block(&self, command: &Command) -> Result<(), EngineError> {
        if self.transaction.status() == TransactionStatus::Failed
            && !matches!(
                command,
                Command::Commit { .. } | Command::Rollback { .. } | Command::RollbackTo(_)
            )
        {
            return Err(EngineError::InFailedTransaction);
        }
        Ok(())
    }

    /// 25P02 when `prepared` may not run now: the block failed and it does not end it (what
    /// Bind and Describe check; Execute checks in [`Session::execute`]).
    pub fn refuse_to_run(&self, prepared: &crate::prepared::Prepared) -> Result<(), EngineError> {
        self.refuse_in_failed_block(prepared.command())
    }

    /// The wire sent the client an error: an open block fails, and what the failed part
    /// changed is undone (back to the innermost savepoint, or the transaction's start);
    /// outside a block, the implicit transaction's changes are undone.
    pub async fn statement_failed(&self) {
        let t = &self.transaction;
        let cursors = match t.status() {
            TransactionStatus::Failed => return,
            TransactionStatus::InBlock => {
                t.set_status(TransactionStatus::Failed);
                let savepoints = locked(&t.savepoints);
                match savepoints.last() {
                    Some(s) => {
                        self.settings_write().rollback_to(&s.settings);
                        s.cursors
                    }
                    None => {
                        self.settings_write().rollback();
                        t.cursors_at_start.load(Ordering::Relaxed)
                    }
                }
            }
            TransactionStatus::Idle => {
                if self.settings_read().changed_in_transaction() {
                    self.settings_write().rollback();
                }
                t.cursors_at_start.load(Ordering::Relaxed)
            }
        };
        if self.cursors.mark() > cursors {
            self.cursors.rollback_to(cursors).await;
        }
    }

    /// A simple Query was answered, or a Sync came: outside a block, the implicit transaction
    /// commits (its `SET LOCAL`s end).
    pub fn exchange_end(&self) {
        let t = &self.transaction;
        t.several.store(false, Ordering::Relaxed);
        if t.status() != TransactionStatus::Idle {
            return;
        }
        t.cursors_at_start
            .store(self.cursors.mark(), Ordering::Relaxed);
        if self.settings_read().changed_in_transaction() {
            self.settings_write().commit();
        }
    }

    /// Notes that the simple Query being run holds `statements` statements.
    pub(crate) fn note_statements(&self, statements: usize) {
        self.transaction
            .several
            .store(statements > 1, Ordering::Relaxed);
    }

    /// The WARNINGs of the statement just run, to send before its answer.
    pub fn take_warnings(&self) -> Vec<Warning> {
        std::mem::take(&mut *locked(&self.transaction.warnings))
    }

    /// The reported parameters changed since the client was last told (by a statement, a
    /// commit or a rollback), to send before ReadyForQuery.
    pub fn take_reports(&self) -> Vec<Report> {
        if !self.settings_read().reports_due() {
            return Vec::new();
        }
        self.settings_write().take_reports()
    }

    /// Whether a command that needs a block (`DECLARE` without `WITH HOLD`) may run.
    pub(crate) fn in_block(&self) -> bool {
        self.transaction.status() != TransactionStatus::Idle
    }

    /// `BEGIN` / `START TRANSACTION`.
    pub(super) fn begin(&self, tag: &'static str) -> Output {
        let t = &self.transaction;
        if t.status() == TransactionStatus::Idle {
            locked(&t.savepoints).clear();
            t.set_status(TransactionStatus::InBlock);
        } else {
            t.warn(Warning::TransactionInProgress);
        }
        Output::Begin(tag)
    }

    /// `COMMIT` / `END` (`commit`) or `ROLLBACK` / `ABORT`, perhaps `AND CHAIN`. COMMIT of a
    /// failed block rolls it back, and says so.
    pub(super) async fn end(&self, commit: bool, chain: bool) -> Result<Output, EngineError> {
        let t = &self.transaction;
        let status = t.status();
        let written = if commit { "COMMIT" } else { "ROLLBACK" };
        if status == TransactionStatus::Idle {
            if chain {
                return Err(EngineError::NoActiveTransaction(format!(
                    "{written} AND CHAIN can only be used in transaction blocks"
                )));
            }
            t.warn(Warning::NoTransactionInProgress);
        }
        let commit = commit && status != TransactionStatus::Failed;
        if commit {
            self.settings_write().commit();
        } else {
            self.settings_write().rollback();
        }
        if !commit {
            self.cursors
                .rollback_to(t.cursors_at_start.load(Ordering::Relaxed))
                .await;
        }
        if status != TransactionStatus::Idle {
            self.cursors.end_transaction().await;
        }
        locked(&t.savepoints).clear();
        t.cursors_at_start
            .store(self.cursors.mark(), Ordering::Relaxed);
        t.set_status(if chain {
            TransactionStatus::InBlock
        } else {
            TransactionStatus::Idle
        });
        Ok(Output::End(if commit { "COMMIT" } else { "ROLLBACK" }))
    }

    /// `SAVEPOINT name`.
    pub(super) fn savepoint(&self, name: &str) -> Result<Output, EngineError> {
        let t = &self.transaction;
        if t.status() == TransactionStatus::Idle {
            return Err(outside_block("SAVEPOINT"));
        }
        let mut savepoints = locked(&t.savepoints);
        // Each savepoint keeps a copy of the settings: a client looping on SAVEPOINT must not
        // grow the session without bound.
        if savepoints.len() >= MAX_SAVEPOINTS {
            return Err(EngineError::ProgramLimitExceeded(format!(
                "too many savepoints in one transaction (at most {MAX_SAVEPOINTS})"
            )));
        }
        let settings = self.settings_read().mark();
        savepoints.push(Savepoint {
            name: name.to_owned(),
            settings,
            cursors: self.cursors.mark(),
        });
        Ok(command("SAVEPOINT"))
    }

    /// `RELEASE [SAVEPOINT] name`: it and the savepoints made after it are forgotten, their
    /// changes kept.
    pub(super) fn release(&self, name: &str) -> Result<Output, EngineError> {
        let t = &self.transaction;
        if t.status() == TransactionStatus::Idle {
            return Err(outside_block("RELEASE SAVEPOINT"));
        }
        let mut savepoints = locked(&t.savepoints);
        let at = savepoints
            .iter()
            .rposition(|s| s.name == name)
            .ok_or_else(|| EngineError::UndefinedSavepoint(name.to_owned()))?;
        savepoints.truncate(at);
        Ok(command("RELEASE"))
    }

    /// `ROLLBACK TO [SAVEPOINT] name`: back to what the savepoint saw, the savepoint kept;
    /// a failed block is usable again.
    pub(super) async fn rollback_to(&self, name: &str) -> Result<Output, EngineError> {
        let t = &self.transaction;
        if t.status() == TransactionStatus::Idle {
            return Err(outside_block("ROLLBACK TO SAVEPOINT"));
        }
        let cursors = {
            let mut savepoints = locked(&t.savepoints);
            let at = savepoints
                .iter()
                .rposition(|s| s.name == name)
                .ok_or_else(|| EngineError::UndefinedSavepoint(name.to_owned()))?;
            savepoints.truncate(at + 1);
            let kept = &savepoints[at];
            self.settings_write().rollback_to(&kept.settings);
            kept.cursors
        };
        self.cursors.rollback_to(cursors).await;
        t.set_status(TransactionStatus::InBlock);
        Ok(command("ROLLBACK"))
    }

    /// `SET LOCAL` outside any block lasts only as long as its own statement: PostgreSQL
    /// warns (a simple Query of several statements is a block of its own).
    pub(super) fn warn_set_local(&self) {
        let t = &self.transaction;
        if t.status() == TransactionStatus::Idle && !t.several.load(Ordering::Relaxed) {
            t.warn(Warning::SetLocalOutsideBlock);
        }
    }

    /// 25001 for a command that cannot run inside a block (a simple Query of several
    /// statements is one).
    pub(super) fn refuse_in_block(&self, what: &'static str) -> Result<(), EngineError> {
        let t = &self.transaction;
        if t.status() == TransactionStatus::Idle && !t.several.load(Ordering::Relaxed) {
            Ok(())
        } else {
            Err(EngineError::ActiveTransaction(what))
        }
    }
}

/// The savepoints one transaction may hold at once (each a few kilobytes).
const MAX_SAVEPOINTS: usize = 10_000;

fn outside_block(what: &str) -> EngineError {
    EngineError::NoActiveTransaction(format!("{what} can only be used in transaction blocks"))
}

fn command(tag: &'static str) -> Output {
    Output::Command { tag }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn run(session: &Session, sql: &str) -> Result<Output, EngineError> {
        let command = session.parse(sql)?.remove(0);
        let prepared = session.prepare(command).await?;
        session.execute(&prepared, Vec::new()).await
    }

    /// A block holds at most MAX_SAVEPOINTS at once (54000 past them), and releasing one
    /// makes room again.
    #[tokio::test]
    async fn savepoints_are_bounded() {
        let (_engine, session) = crate::testing::demo();
        run(&session, "BEGIN").await.expect("begin");
        for _ in 0..MAX_SAVEPOINTS {
            run(&session, "SAVEPOINT s")
                .await
                .expect("within the bound");
        }
        assert!(matches!(
            run(&session, "SAVEPOINT s").await,
            Err(EngineError::ProgramLimitExceeded(_))
        ));
        run(&session, "RELEASE s").await.expect("the innermost s");
        run(&session, "SAVEPOINT s").await.expect("room again");
        run(&session, "ROLLBACK").await.expect("rollback");
        assert_eq!(session.transaction_status(), TransactionStatus::Idle);
    }
}

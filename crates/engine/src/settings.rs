//! Per-session run-time parameters: what `SET`, `SHOW`, `RESET` and `current_setting` see.
//!
//! The list is what clients actually ask about (see `shared/CLIENTS.md`). Values that change how
//! we encode data (client_encoding, DateStyle, IntervalStyle, standard_conforming_strings) only
//! accept what we really produce, so a client is never told something untrue.

use std::collections::BTreeMap;

use crate::error::EngineError;

/// The PostgreSQL version we present. Clients choose catalog queries by it, so it must be one
/// whose catalog we emulate.
pub const SERVER_VERSION: &str = "15.18";
/// `server_version_num` for [`SERVER_VERSION`].
pub const SERVER_VERSION_NUM: &str = "150018";

/// How a parameter may be changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// Any value.
    Free,
    /// Fixed; `SET` fails with 55P02.
    Fixed,
    /// Only these values (case-insensitive); the first is stored canonically... or the given text.
    OneOf(&'static [&'static str]),
    /// One of these values (case-insensitive), each meaning something of its own; stored as
    /// listed.
    Choice(&'static [&'static str]),
    /// Must contain `ISO` (our date output is always ISO).
    IsoDateStyle,
    /// A duration in PostgreSQL's syntax (`0`, `1500`, `30s`, `5min`).
    Duration,
}

struct Def {
    name: &'static str,
    default: &'static str,
    /// Sent as ParameterStatus at startup and whenever it changes (GUC_REPORT).
    report: bool,
    rule: Rule,
}

const fn def(name: &'static str, default: &'static str, report: bool, rule: Rule) -> Def {
    Def {
        name,
        default,
        report,
        rule,
    }
}

const UTF8: &[&str] = &["UTF8", "UTF-8", "UNICODE"];
const ON: &[&str] = &["on", "true", "1", "yes"];

static DEFS: &[Def] = &[
    def("application_name", "", true, Rule::Free),
    def("client_encoding", "UTF8", true, Rule::OneOf(UTF8)),
    def("DateStyle", "ISO, MDY", true, Rule::IsoDateStyle),
    def(
        "IntervalStyle",
        "postgres",
        true,
        Rule::Choice(&["postgres", "postgres_verbose", "iso_8601"]),
    ),
    def("TimeZone", "UTC", true, Rule::Free),
    def("integer_datetimes", "on", true, Rule::Fixed),
    def("is_superuser", "off", true, Rule::Fixed),
    def("server_encoding", "UTF8", true, Rule::Fixed),
    def("server_version", SERVER_VERSION, true, Rule::Fixed),
    def("server_version_num", SERVER_VERSION_NUM, true, Rule::Fixed),
    def("session_authorization", "", true, Rule::Fixed),
    def("standard_conforming_strings", "on", true, Rule::OneOf(ON)),
    def("default_transaction_read_only", "off", true, Rule::Free),
    def("in_hot_standby", "off", true, Rule::Fixed),
    def("search_path", "\"$user\", public", false, Rule::Free),
    def("transaction_isolation", "read committed", false, Rule::Free),
    def(
        "default_transaction_isolation",
        "read committed",
        false,
        Rule::Free,
    ),
    def("transaction_read_only", "off", false, Rule::Free),
    def("statement_timeout", "0", false, Rule::Duration),
    def("lock_timeout", "0", false, Rule::Duration),
    def(
        "idle_in_transaction_session_timeout",
        "0",
        false,
        Rule::Duration,
    ),
    def("idle_session_timeout", "0", false, Rule::Duration),
    def("extra_float_digits", "1", false, Rule::Free),
    def("client_min_messages", "notice", false, Rule::Free),
    def("bytea_output", "hex", false, Rule::Free),
    def("jit", "off", false, Rule::Free),
    def("lc_messages", "C", false, Rule::Free),
    def("lc_monetary", "C", false, Rule::Free),
    def("lc_numeric", "C", false, Rule::Free),
    def("lc_time", "C", false, Rule::Free),
    def("lc_collate", "C", false, Rule::Fixed),
    def("lc_ctype", "C", false, Rule::Fixed),
    def("row_security", "on", false, Rule::Free),
    def("synchronous_commit", "on", false, Rule::Free),
    def("work_mem", "4MB", false, Rule::Free),
    def("timezone_abbreviations", "Default", false, Rule::Free),
    def("default_table_access_method", "heap", false, Rule::Free),
    def("max_identifier_length", "63", false, Rule::Fixed),
    def("max_index_keys", "32", false, Rule::Fixed),
    def("block_size", "8192", false, Rule::Fixed),
    def("max_connections", "100", false, Rule::Fixed),
    def("default_transaction_deferrable", "off", false, Rule::Free),
    def("transaction_deferrable", "off", false, Rule::Free),
    def("geqo", "on", false, Rule::Free),
    def("enable_seqscan", "on", false, Rule::Free),
    def("check_function_bodies", "on", false, Rule::Free),
    def("xmloption", "content", false, Rule::Free),
];

fn find(name: &str) -> Option<&'static Def> {
    DEFS.iter().find(|d| d.name.eq_ignore_ascii_case(name))
}

/// A session's settings where DataFusion's analyzer rules can read them: an extension of the
/// session's `ConfigOptions` (not settable by SQL; `SET datafusion.*` is refused anyway).
#[derive(Debug, Clone)]
pub struct SessionSettings(pub std::sync::Arc<std::sync::RwLock<Settings>>);

impl datafusion::config::ExtensionOptions for SessionSettings {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }

    fn cloned(&self) -> Box<dyn datafusion::config::ExtensionOptions> {
        Box::new(self.clone())
    }

    fn set(&mut self, key: &str, _value: &str) -> datafusion::error::Result<()> {
        Err(datafusion::error::DataFusionError::Configuration(format!(
            "{key} is not a setting"
        )))
    }

    fn entries(&self) -> Vec<datafusion::config::ConfigEntry> {
        Vec::new()
    }
}

impl datafusion::config::ConfigExtension for SessionSettings {
    const PREFIX: &'static str = "stagesql_session";
}

/// One session's parameter values.
#[derive(Debug, Clone)]
pub struct Settings {
    values: BTreeMap<&'static str, String>,
    /// Placeholder parameters with a dot in their name (`myapp.x`), which PostgreSQL allows.
    custom: BTreeMap<String, String>,
    startup: BTreeMap<&'static str, String>,
    /// Bumped by every change, however it is made (`SET`, `RESET`, `set_config()`), so that
    /// plans made under other settings are not reused.
    generation: u64,
    /// The [`TIMEOUTS`] parsed, read before every message and statement.
    timeouts: [Option<std::time::Duration>; TIMEOUTS.len()],
    /// IntervalStyle parsed, read before every result is encoded.
    interval_style: crate::text::IntervalStyle,
    /// The values when the current transaction began, kept at its first change: a rollback
    /// returns to them. `None` while nothing has changed since the last transaction ended.
    at_start: Option<Values>,
    /// The values a commit leaves, kept once `SET LOCAL` changes something (a plain `SET`
    /// changes these too): a commit returns to them. `None` when no `SET LOCAL` was made.
    on_commit: Option<Values>,
    /// The reported parameters' values as the client was last told them (at startup, then
    /// before each ReadyForQuery), and the generation they were compared at.
    sent: BTreeMap<&'static str, String>,
    sent_generation: u64,
}

/// The values of every parameter, as a transaction or a savepoint saw them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Values {
    values: BTreeMap<&'static str, String>,
    custom: BTreeMap<String, String>,
}

/// What a savepoint saw: the values in effect and the values a commit would leave.
#[derive(Debug, Clone)]
pub struct Mark {
    current: Values,
    on_commit: Option<Values>,
}

/// The timeout parameters, kept parsed in [`Settings`].
const TIMEOUTS: [&str; 3] = [
    "statement_timeout",
    "idle_session_timeout",
    "idle_in_transaction_session_timeout",
];

/// A parameter whose new value must be reported to the client as ParameterStatus.
pub type Report = (String, String);

impl Settings {
    /// Defaults, then what the client sent in its startup message (unknown keys are ignored, as
    /// PostgreSQL ignores options it cannot apply at startup only for known ones), then the user.
    pub fn new<'a>(user: &str, startup: impl IntoIterator<Item = (&'a str, &'a str)>) -> Settings {
        let mut values: BTreeMap<&'static str, String> = DEFS
            .iter()
            .map(|d| (d.name, d.default.to_owned()))
            .collect();
        values.insert("session_authorization", user.to_owned());
        for (k, v) in startup {
            if let Some(d) = find(k)
                && d.rule != Rule::Fixed
                && let Ok(v) = canonical(d, v)
            {
                values.insert(d.name, v);
            }
        }
        let mut settings = Settings {
            startup: values.clone(),
            values,
            custom: BTreeMap::new(),
            generation: 0,
            timeouts: [None; TIMEOUTS.len()],
            interval_style: crate::text::IntervalStyle::default(),
            at_start: None,
            on_commit: None,
            sent: BTreeMap::new(),
            sent_generation: 0,
        };
        settings.sent = settings
            .reported()
            .into_iter()
            .filter_map(|(name, value)| Some((find(&name)?.name, value)))
            .collect();
        settings.parse_timeouts();
        settings.parse_interval_style();
        settings
    }

    fn parse_interval_style(&mut self) {
        self.interval_style = self
            .values
            .get("IntervalStyle")
            .and_then(|v| crate::text::IntervalStyle::from_setting(v))
            .unwrap_or_default();
    }

    fn parse_timeouts(&mut self) {
        for (slot, name) in self.timeouts.iter_mut().zip(TIMEOUTS) {
            *slot = self
                .values
                .get(name)
                .and_then(|v| crate::limits::parse_timeout(v))
                .flatten();
        }
    }

    /// A timeout parameter (`statement_timeout`, `idle_session_timeout`, ...) as a duration;
    /// `None` when it is 0 (off) or not a timeout.
    pub fn timeout(&self, name: &str) -> Option<std::time::Duration> {
        match TIMEOUTS.iter().position(|t| *t == name) {
            Some(i) => self.timeouts[i],
            None => {
                let (_, value) = self.get(name).ok()?;
                crate::limits::parse_timeout(&value).flatten()
            }
        }
    }

    /// Changes so far; plans are kept only for the generation they were made in.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The value of `name`, as `SHOW` prints it, with the parameter's canonical name.
    pub fn get(&self, name: &str) -> Result<(&'static str, String), EngineError> {
        if let Some(d) = find(name) {
            return Ok((d.name, self.values.get(d.name).cloned().unwrap_or_default()));
        }
        match self.custom.get(&name.to_ascii_lowercase()) {
            Some(v) => Ok(("", v.clone())),
            None => Err(EngineError::UnknownSetting(name.to_owned())),
        }
    }

    /// How intervals print (the IntervalStyle parameter).
    pub fn interval_style(&self) -> crate::text::IntervalStyle {
        self.interval_style
    }

    /// The schemas `search_path` names, in order (`"$user"` is the session user).
    pub fn search_path_schemas(&self) -> Vec<String> {
        let path = self.values.get("search_path").cloned().unwrap_or_default();
        let user = self
            .values
            .get("session_authorization")
            .cloned()
            .unwrap_or_default();
        split_list(&path)
            .into_iter()
            .map(|s| if s == "$user" { user.clone() } else { s })
            .collect()
    }

    /// Every known parameter and its value, for `SHOW ALL`.
    pub fn all(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .values
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .chain(self.custom.iter().map(|(k, v)| (k.clone(), v.clone())))
            .collect();
        out.sort_by_key(|(k, _)| k.to_ascii_lowercase());
        out
    }

    /// Sets `name` to `value` (`SET`).
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), EngineError> {
        self.assign(name, value, false)
    }

    /// Sets `name` to `value` until the transaction ends, committed or not (`SET LOCAL`,
    /// `set_config(…, true)`).
    pub fn set_local(&mut self, name: &str, value: &str) -> Result<(), EngineError> {
        self.assign(name, value, true)
    }

    fn assign(&mut self, name: &str, value: &str, local: bool) -> Result<(), EngineError> {
        let lower = name.to_ascii_lowercase();
        if lower.starts_with("datafusion.") {
            return Err(EngineError::PermissionDenied(format!(
                "parameter \"{name}\" is managed by the server"
            )));
        }
        let Some(d) = find(name) else {
            if lower.contains('.') {
                self.before_change(local);
                self.generation += 1;
                if !local && let Some(on_commit) = &mut self.on_commit {
                    on_commit.custom.insert(lower.clone(), value.to_owned());
                }
                self.custom.insert(lower, value.to_owned());
                return Ok(());
            }
            return Err(EngineError::UnknownSetting(name.to_owned()));
        };
        let value = canonical(d, value)?;
        self.before_change(local);
        self.generation += 1;
        if !local && let Some(on_commit) = &mut self.on_commit {
            on_commit.values.insert(d.name, value.clone());
        }
        self.values.insert(d.name, value);
        self.derive();
        Ok(())
    }

    /// Keeps what a rollback (and, before a `SET LOCAL`, a commit) must return to, before the
    /// first change of a transaction.
    fn before_change(&mut self, local: bool) {
        if self.at_start.is_none() {
            self.at_start = Some(self.values());
        }
        if local && self.on_commit.is_none() {
            self.on_commit = Some(self.values());
        }
    }

    fn values(&self) -> Values {
        Values {
            values: self.values.clone(),
            custom: self.custom.clone(),
        }
    }

    /// The parsed forms of the values.
    fn derive(&mut self) {
        self.parse_timeouts();
        self.parse_interval_style();
    }

    /// Returns to `to`. A placeholder parameter (`myapp.x`) made since stays defined, empty,
    /// as in PostgreSQL.
    fn restore(&mut self, to: Values) {
        if to == self.values() {
            return;
        }
        let made_since: Vec<String> = self
            .custom
            .keys()
            .filter(|k| !to.custom.contains_key(*k))
            .cloned()
            .collect();
        self.values = to.values;
        self.custom = to.custom;
        for name in made_since {
            self.custom.insert(name, String::new());
        }
        self.generation += 1;
        self.derive();
    }

    /// Whether a reported parameter may have changed since the client was last told.
    pub fn reports_due(&self) -> bool {
        self.generation != self.sent_generation
    }

    /// The reported parameters whose values changed since the client was last told them,
    /// to send as ParameterStatus before ReadyForQuery (as PostgreSQL does: a value set and
    /// set back within one exchange is not reported).
    pub fn take_reports(&mut self) -> Vec<Report> {
        self.sent_generation = self.generation;
        let mut out = Vec::new();
        for d in DEFS.iter().filter(|d| d.report) {
            let now = self.values.get(d.name).cloned().unwrap_or_default();
            if self.sent.get(d.name) != Some(&now) {
                self.sent.insert(d.name, now.clone());
                out.push((d.name.to_owned(), now));
            }
        }
        out
    }

    /// Where a savepoint made now would return to.
    pub fn mark(&self) -> Mark {
        Mark {
            current: self.values(),
            on_commit: self.on_commit.clone(),
        }
    }

    /// Back to what `mark` saw (`ROLLBACK TO SAVEPOINT`, or an error after the savepoint).
    pub fn rollback_to(&mut self, mark: &Mark) {
        self.on_commit.clone_from(&mark.on_commit);
        self.restore(mark.current.clone());
    }

    /// The transaction committed: its `SET LOCAL` values end.
    pub fn commit(&mut self) {
        self.at_start = None;
        if let Some(values) = self.on_commit.take() {
            self.restore(values);
        }
    }

    /// The transaction rolled back: every change it made ends.
    pub fn rollback(&mut self) {
        self.on_commit = None;
        if let Some(values) = self.at_start.take() {
            self.restore(values);
        }
    }

    /// Whether the current transaction changed anything (a commit or rollback then has
    /// something to do).
    pub fn changed_in_transaction(&self) -> bool {
        self.at_start.is_some()
    }

    /// Restores `name` to its session-start value.
    pub fn reset(&mut self, name: &str) -> Result<(), EngineError> {
        self.reset_with(name, false)
    }

    /// `SET LOCAL name TO DEFAULT`: its session-start value until the transaction ends.
    pub fn reset_local(&mut self, name: &str) -> Result<(), EngineError> {
        self.reset_with(name, true)
    }

    fn reset_with(&mut self, name: &str, local: bool) -> Result<(), EngineError> {
        match find(name) {
            Some(d) if d.rule == Rule::Fixed => {
                Err(EngineError::ReadOnlySetting(d.name.to_owned()))
            }
            Some(d) => {
                let v = self.startup.get(d.name).cloned().unwrap_or_default();
                self.assign(d.name, &v, local)
            }
            // A placeholder (`myapp.x`) has no value to go back to: it is empty, and defined
            // from now on, as in PostgreSQL.
            None => self.assign(name, "", local),
        }
    }

    /// `RESET ALL`: every parameter back to its session-start value.
    pub fn reset_all(&mut self) {
        for d in DEFS.iter().filter(|d| d.rule != Rule::Fixed) {
            let _ = self.reset(d.name);
        }
        let placeholders: Vec<String> = self.custom.keys().cloned().collect();
        for name in placeholders {
            let _ = self.reset(&name);
        }
    }

    /// The ParameterStatus set sent at startup.
    pub fn reported(&self) -> Vec<Report> {
        DEFS.iter()
            .filter(|d| d.report)
            .map(|d| {
                (
                    d.name.to_owned(),
                    self.values.get(d.name).cloned().unwrap_or_default(),
                )
            })
            .collect()
    }
}

fn canonical(d: &Def, value: &str) -> Result<String, EngineError> {
    let bad = || EngineError::InvalidSettingValue {
        name: d.name.to_owned(),
        value: value.to_owned(),
    };
    match d.rule {
        Rule::Fixed => Err(EngineError::ReadOnlySetting(d.name.to_owned())),
        Rule::Free => Ok(value.to_owned()),
        Rule::Duration => crate::limits::parse_timeout(value)
            .map(|_| value.trim().trim_matches('\'').to_owned())
            .ok_or_else(bad),
        Rule::OneOf(allowed) => {
            // Clients quote some values, e.g. asyncpg sends client_encoding='utf-8'.
            let v = value.trim().trim_matches('\'');
            if allowed.iter().any(|a| a.eq_ignore_ascii_case(v)) {
                Ok(allowed[0].to_owned())
            } else {
                Err(bad())
            }
        }
        Rule::Choice(_)
            if d.name == "IntervalStyle"
                && value
                    .trim()
                    .trim_matches('\'')
                    .eq_ignore_ascii_case("sql_standard") =>
        {
            // It changes how interval literals are read too (a leading `-` applies to every
            // field), which DataFusion's parser does not follow: refused, never misread.
            Err(EngineError::Unsupported(
                "IntervalStyle sql_standard (its interval input rules)".to_owned(),
            ))
        }
        Rule::Choice(allowed) => {
            let v = value.trim().trim_matches('\'');
            allowed
                .iter()
                .find(|a| a.eq_ignore_ascii_case(v))
                .map(|a| (*a).to_owned())
                .ok_or_else(bad)
        }
        Rule::IsoDateStyle => {
            if value.to_ascii_uppercase().contains("ISO") {
                let order = ["DMY", "YMD", "MDY"]
                    .into_iter()
                    .find(|o| value.to_ascii_uppercase().contains(o))
                    .unwrap_or("MDY");
                Ok(format!("ISO, {order}"))
            } else {
                Err(bad())
            }
        }
    }
}

/// Splits a comma-separated identifier list such as `search_path` (`"$user", public`).
fn split_list(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut was_quoted = false;
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                was_quoted = true;
            }
            ',' if !quoted => {
                let item = std::mem::take(&mut cur);
                out.push(if was_quoted {
                    item
                } else {
                    item.trim().to_lowercase()
                });
                was_quoted = false;
            }
            c if !quoted && c.is_whitespace() => {}
            c => cur.push(c),
        }
    }
    if !cur.is_empty() || was_quoted {
        out.push(if was_quoted { cur } else { cur.to_lowercase() });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_path_splits_into_schema_names() {
        assert_eq!(
            split_list("\"$user\", public,AWS"),
            vec!["$user", "public", "aws"]
        );
    }

    #[test]
    fn startup_values_apply_and_reset_returns_to_them() {
        let mut s = Settings::new(
            "alice",
            [
                ("application_name", "psql"),
                ("client_encoding", "'utf-8'"),
                ("server_version", "9"),
            ],
        );
        assert_eq!(s.get("APPLICATION_NAME").expect("known").1, "psql");
        assert_eq!(s.get("client_encoding").expect("known").1, "UTF8");
        assert_eq!(s.get("server_version").expect("known").1, SERVER_VERSION);
        assert_eq!(s.get("session_authorization").expect("known").1, "alice");
        assert!(s.take_reports().is_empty(), "the startup values were sent");
        s.set("application_name", "x").expect("free");
        assert_eq!(
            s.take_reports(),
            vec![("application_name".to_owned(), "x".to_owned())]
        );
        s.set("application_name", "x").expect("free");
        assert!(s.take_reports().is_empty(), "no change, no report");
        s.set("application_name", "y").expect("free");
        s.set("application_name", "x").expect("free");
        assert!(s.take_reports().is_empty(), "set and set back: no report");
        s.reset("application_name").expect("resettable");
        assert_eq!(s.get("application_name").expect("known").1, "psql");
    }

    /// The parsed timeouts follow every way a timeout changes: startup, SET, RESET.
    #[test]
    fn timeouts_follow_their_settings() {
        use std::time::Duration;
        let mut s = Settings::new("u", [("statement_timeout", "1500")]);
        assert_eq!(
            s.timeout("statement_timeout"),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(s.timeout("idle_session_timeout"), None);
        s.set("idle_session_timeout", "2min").expect("set");
        assert_eq!(
            s.timeout("idle_session_timeout"),
            Some(Duration::from_secs(120))
        );
        s.set("STATEMENT_TIMEOUT", "0").expect("set");
        assert_eq!(s.timeout("statement_timeout"), None);
        s.reset("statement_timeout").expect("reset");
        assert_eq!(
            s.timeout("statement_timeout"),
            Some(Duration::from_millis(1500))
        );
        s.reset_all();
        assert_eq!(s.timeout("idle_session_timeout"), None);
    }

    /// The parsed IntervalStyle follows SET (any spelling of the name), RESET and RESET ALL.
    #[test]
    fn interval_style_follows_its_setting() {
        use crate::text::IntervalStyle;
        let style = |v: &str| IntervalStyle::from_setting(v).expect("a style");
        let mut s = Settings::new("u", []);
        let default = s.interval_style();
        assert_eq!(default, style("postgres"));
        s.set("intervalstyle", "iso_8601").expect("set");
        assert_eq!(s.interval_style(), style("iso_8601"));
        assert_ne!(s.interval_style(), default);
        s.reset("IntervalStyle").expect("reset");
        assert_eq!(s.interval_style(), default);
        s.set("IntervalStyle", "postgres_verbose").expect("set");
        assert_eq!(s.interval_style(), style("postgres_verbose"));
        s.reset_all();
        assert_eq!(s.interval_style(), default);
    }

    #[test]
    fn rules_are_enforced() {
        let mut s = Settings::new("u", []);
        assert!(matches!(
            s.set("nosuch", "1"),
            Err(EngineError::UnknownSetting(_))
        ));
        assert!(matches!(
            s.set("server_version", "1"),
            Err(EngineError::ReadOnlySetting(_))
        ));
        assert!(matches!(
            s.set("client_encoding", "LATIN1"),
            Err(EngineError::InvalidSettingValue { .. })
        ));
        assert!(matches!(
            s.set("datestyle", "German"),
            Err(EngineError::InvalidSettingValue { .. })
        ));
        assert!(matches!(
            s.set("datafusion.execution.batch_size", "1"),
            Err(EngineError::PermissionDenied(_))
        ));
        s.take_reports();
        s.set("DateStyle", "iso, dmy").expect("iso");
        s.set("intervalstyle", "ISO_8601")
            .expect("a PostgreSQL style");
        assert_eq!(
            s.take_reports(),
            vec![
                ("DateStyle".into(), "ISO, DMY".into()),
                ("IntervalStyle".into(), "iso_8601".into())
            ]
        );
        assert_eq!(s.interval_style(), crate::text::IntervalStyle::Iso8601);
        assert!(matches!(
            s.set("IntervalStyle", "german"),
            Err(EngineError::InvalidSettingValue { .. })
        ));
        assert!(matches!(
            s.set("IntervalStyle", "SQL_STANDARD"),
            Err(EngineError::Unsupported(_))
        ));
        s.set("myapp.flag", "yes")
            .expect("custom placeholders are allowed");
        assert_eq!(s.get("MyApp.Flag").expect("set").1, "yes");
    }

    fn tz(s: &Settings) -> String {
        s.get("TimeZone").expect("known").1
    }

    /// A rollback undoes every change of the transaction; a commit keeps `SET`s and ends `SET LOCAL`s; a mark (savepoint) is
    /// returned to with what it saw, both ways. Each restore is a new generation, never an
    /// old one (a plan kept under it must not be reused).
    #[test]
    fn transactions_undo_what_they_changed() {
        let mut s = Settings::new("alice", []);
        let before = s.generation();
        s.rollback();
        assert_eq!(s.generation(), before, "nothing changed, nothing to undo");
        s.set("TimeZone", "Asia/Tokyo").expect("free");
        s.set("myapp.made", "a").expect("placeholder");
        let before = s.generation();
        s.rollback();
        assert!(
            s.take_reports().is_empty(),
            "back to what the client was told"
        );
        assert_eq!(tz(&s), "UTC");
        assert!(s.generation() > before);
        assert_eq!(
            s.get("myapp.made").expect("a placeholder stays defined").1,
            "",
            "and empty, as in PostgreSQL"
        );
        assert!(!s.changed_in_transaction());

        // SET LOCAL ends at commit; a SET after it wins; a SET before it comes back.
        s.set("TimeZone", "Europe/Paris").expect("free");
        s.set_local("TimeZone", "Asia/Tokyo").expect("free");
        assert_eq!(tz(&s), "Asia/Tokyo");
        s.commit();
        assert_eq!(tz(&s), "Europe/Paris");
        s.set_local("TimeZone", "Asia/Tokyo").expect("free");
        s.set("TimeZone", "America/Lima").expect("free");
        s.commit();
        assert_eq!(tz(&s), "America/Lima");

        // A savepoint's mark.
        s.set("application_name", "one").expect("free");
        let mark = s.mark();
        s.set("application_name", "two").expect("free");
        s.set_local("TimeZone", "Asia/Tokyo").expect("free");
        s.rollback_to(&mark);
        s.commit();
        assert_eq!(
            s.take_reports(),
            vec![
                ("application_name".to_owned(), "one".to_owned()),
                ("TimeZone".to_owned(), "America/Lima".to_owned()),
            ]
        );
        assert_eq!(s.get("application_name").expect("known").1, "one");
        assert_eq!(
            tz(&s),
            "America/Lima",
            "the SET LOCAL went with the savepoint"
        );
    }

    /// RESET of a placeholder leaves it defined and empty, as in PostgreSQL, even one never
    /// set; RESET of an unknown name without a dot is an error.
    #[test]
    fn reset_of_a_placeholder_empties_it() {
        let mut s = Settings::new("alice", []);
        s.set("myapp.x", "q").expect("placeholder");
        s.reset("myapp.x").expect("resettable");
        assert_eq!(s.get("myapp.x").expect("defined").1, "");
        s.reset("myapp.never").expect("resettable");
        assert_eq!(s.get("myapp.never").expect("defined").1, "");
        assert!(matches!(
            s.reset("no_such_setting"),
            Err(EngineError::UnknownSetting(_))
        ));
    }
}

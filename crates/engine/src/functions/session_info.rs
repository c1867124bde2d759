//! Session-information functions: `version()`, `current_database()`, `current_schema()`,
//! `current_user`, `session_user`, `current_setting(name)`.

use std::hash::{Hash, Hasher};
use std::sync::{Arc, RwLock};

use datafusion::arrow::array::StringBuilder;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::settings::Settings;

/// A function of no arguments returning one fixed text for the session.
#[derive(Debug, PartialEq, Eq, Hash)]
struct ConstText {
    name: &'static str,
    aliases: Vec<String>,
    value: String,
    signature: Signature,
}

impl ScalarUDFImpl for ConstText {
    fn name(&self) -> &str {
        self.name
    }

    fn aliases(&self) -> &[String] {
        &self.aliases
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        Ok(ColumnarValue::Scalar(ScalarValue::Utf8(Some(
            self.value.clone(),
        ))))
    }
}

fn const_text(name: &'static str, aliases: &[&str], value: String) -> ScalarUDF {
    ScalarUDF::new_from_impl(ConstText {
        name,
        aliases: aliases.iter().map(|a| (*a).to_owned()).collect(),
        value,
        signature: Signature::nullary(Volatility::Stable),
    })
}

/// `current_setting(name)`: reads the session's live settings.
#[derive(Debug)]
struct CurrentSetting {
    settings: Arc<RwLock<Settings>>,
    signature: Signature,
}

impl PartialEq for CurrentSetting {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.settings, &other.settings)
    }
}

impl Eq for CurrentSetting {}

impl Hash for CurrentSetting {
    fn hash<H: Hasher>(&self, state: &mut H) {
        "current_setting".hash(state);
    }
}

impl ScalarUDFImpl for CurrentSetting {
    fn name(&self) -> &str {
        "current_setting"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let names = ColumnarValue::values_to_arrays(&args.args[..1])?;
        let names = datafusion::arrow::compute::cast(&names[0], &DataType::Utf8)?;
        let names = datafusion::arrow::array::AsArray::as_string::<i32>(&names);
        let missing_ok = match args.args.get(1) {
            Some(ColumnarValue::Scalar(ScalarValue::Boolean(Some(b)))) => *b,
            _ => false,
        };
        let settings = self
            .settings
            .read()
            .map_err(|_| DataFusionError::Internal("settings lock poisoned".to_owned()))?;
        let mut out = StringBuilder::new();
        for name in names.iter() {
            match name {
                None => out.append_null(),
                Some(n) => match settings.get(n) {
                    Ok((_, v)) => out.append_value(v),
                    Err(_) if missing_ok => out.append_null(),
                    Err(e) => return Err(DataFusionError::External(Box::new(e))),
                },
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// The session functions for one session.
pub fn for_session(database: &str, user: &str, settings: Arc<RwLock<Settings>>) -> Vec<ScalarUDF> {
    vec![
        const_text("version", &[], version_string()),
        // The server encoding (psql's `\\dO` filters collations by it).
        const_text("getdatabaseencoding", &[], "UTF8".to_owned()),
        const_text(
            "current_database",
            &["current_catalog"],
            database.to_owned(),
        ),
        const_text("current_user", &["user", "current_role"], user.to_owned()),
        const_text("session_user", &[], user.to_owned()),
        ScalarUDF::new_from_impl(CurrentSetting {
            settings,
            signature: Signature::one_of(
                vec![
                    datafusion::logical_expr::TypeSignature::Any(1),
                    datafusion::logical_expr::TypeSignature::Any(2),
                ],
                Volatility::Stable,
            ),
        }),
    ]
}

/// What `version()` returns. Clients parse it with `PostgreSQL (\d+)\.(\d+)`.
pub fn version_string() -> String {
    format!(
        "PostgreSQL {} on {}-linux, compiled by rustc (stagesql {})",
        crate::settings::SERVER_VERSION,
        std::env::consts::ARCH,
        env!("CARGO_PKG_VERSION")
    )
}

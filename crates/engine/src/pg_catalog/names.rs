//! Name ↔ oid lookups behind the `reg*` types (`'pg_class'::regclass`, `oid::regtype::text`),
//! `to_regtype`, `format_type` and `pg_table_is_visible`.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::data::Dump;
use super::objects::format_type_name;
use crate::pg_types::{
    AWS_SCHEMA_OID, HSTORE_ARRAY_OID, HSTORE_OID, INFORMATION_SCHEMA_OID, PG_CATALOG_OID,
    PUBLIC_OID, STAGE_PKEY_INDEX_OID, STAGE_TABLE_OID,
};
use crate::schema::{TABLE_NAME, TABLE_SCHEMA};

/// A relation `regclass` can name.
#[derive(Debug, Clone)]
pub struct Rel {
    /// Its oid.
    pub oid: u32,
    /// Its schema.
    pub schema: String,
    /// Its name.
    pub name: String,
}

/// The lookup tables, built once from the dump and our own objects.
#[derive(Debug, Default)]
pub struct Names {
    relations: Vec<Rel>,
    /// oid → (typname, namespace oid).
    types: HashMap<u32, (String, u32)>,
    type_by_name: HashMap<String, u32>,
    procs: HashMap<u32, String>,
    proc_by_name: HashMap<String, u32>,
    namespaces: Vec<(u32, &'static str)>,
}

/// The lookup tables.
pub fn names() -> &'static Names {
    static NAMES: OnceLock<Names> = OnceLock::new();
    NAMES.get_or_init(|| match super::dump() {
        Ok(d) => Names::build(d),
        Err(_) => Names::default(),
    })
}

/// Splits a possibly qualified, possibly quoted name (`"aws".Stage` → `["aws", "stage"]`).
pub fn split_qualified(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut chars = text.trim().chars().peekable();
    let mut quoted = false;
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => {
                quoted = !quoted;
                was_quoted = true;
            }
            '.' if !quoted => {
                parts.push(if was_quoted {
                    std::mem::take(&mut cur)
                } else {
                    std::mem::take(&mut cur).to_lowercase()
                });
                was_quoted = false;
            }
            c => cur.push(c),
        }
    }
    parts.push(if was_quoted {
        cur
    } else {
        cur.trim().to_lowercase()
    });
    parts
}

impl Names {
    fn build(dump: &Dump) -> Names {
        let mut n = Names {
            namespaces: vec![
                (PG_CATALOG_OID, "pg_catalog"),
                (PUBLIC_OID, "public"),
                (INFORMATION_SCHEMA_OID, "information_schema"),
                (AWS_SCHEMA_OID, TABLE_SCHEMA),
            ],
            ..Names::default()
        };
        n.relations.push(Rel {
            oid: STAGE_TABLE_OID,
            schema: TABLE_SCHEMA.into(),
            name: TABLE_NAME.into(),
        });
        n.relations.push(Rel {
            oid: STAGE_PKEY_INDEX_OID,
            schema: TABLE_SCHEMA.into(),
            name: "apigatewayv2_stage_pkey".into(),
        });
        for r in &dump.relations {
            n.relations.push(Rel {
                oid: r.oid,
                schema: r.schema.clone(),
                name: r.name.clone(),
            });
        }
        if let Some(spec) = dump.relation("pg_catalog", "pg_type")
            && let (Some(o), Some(t), Some(ns)) = (
                spec.position("oid"),
                spec.position("typname"),
                spec.position("typnamespace"),
            )
        {
            for row in dump.rows.get("pg_type").into_iter().flatten() {
                let get = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
                if let (Ok(oid), Ok(nsoid)) = (get(o).parse::<u32>(), get(ns).parse::<u32>()) {
                    n.types.insert(oid, (get(t), nsoid));
                }
            }
        }
        n.types.insert(HSTORE_OID, ("hstore".into(), PUBLIC_OID));
        n.types
            .insert(HSTORE_ARRAY_OID, ("_hstore".into(), PUBLIC_OID));
        for (oid, (name, _)) in &n.types {
            n.type_by_name.insert(name.clone(), *oid);
        }
        let formatted: Vec<(String, u32)> = n
            .types
            .iter()
            .map(|(oid, (name, _))| (format_type_name(name), *oid))
            .collect();
        for (name, oid) in formatted {
            n.type_by_name.entry(name).or_insert(oid);
        }
        for (alias, canonical) in [
            ("int", "int4"),
            ("integer", "int4"),
            ("smallint", "int2"),
            ("bigint", "int8"),
            ("real", "float4"),
            ("float", "float8"),
            ("double precision", "float8"),
            ("boolean", "bool"),
            ("decimal", "numeric"),
            ("character varying", "varchar"),
            ("character", "bpchar"),
            ("char", "bpchar"),
            ("timestamp", "timestamp"),
            ("timestamp with time zone", "timestamptz"),
            ("time with time zone", "timetz"),
        ] {
            if let Some(oid) = n.type_by_name.get(canonical).copied() {
                n.type_by_name.insert(alias.to_owned(), oid);
            }
        }
        if let Some(spec) = dump.relation("pg_catalog", "pg_proc")
            && let (Some(o), Some(p)) = (spec.position("oid"), spec.position("proname"))
        {
            for row in dump.rows.get("pg_proc").into_iter().flatten() {
                let get = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
                if let Ok(oid) = get(o).parse::<u32>() {
                    n.proc_by_name.entry(get(p)).or_insert(oid);
                    n.procs.insert(oid, get(p));
                }
            }
        }
        for (name, oid) in super::objects::HSTORE_PROCS {
            n.proc_by_name.insert(name.to_owned(), oid);
            n.procs.insert(oid, name.to_owned());
        }
        n
    }

    /// The relation named by `text` (`name` searched in pg_catalog then `search_path`, or
    /// `schema.name`).
    pub fn relation_oid(&self, text: &str, search_path: &[String]) -> Option<u32> {
        let parts = split_qualified(text);
        match parts.as_slice() {
            [name] => std::iter::once("pg_catalog")
                .chain(search_path.iter().map(String::as_str))
                .find_map(|schema| {
                    self.relations
                        .iter()
                        .find(|r| r.schema == schema && &r.name == name)
                        .map(|r| r.oid)
                }),
            [.., schema, name] => self
                .relations
                .iter()
                .find(|r| &r.schema == schema && &r.name == name)
                .map(|r| r.oid),
            [] => None,
        }
    }

    /// The relation with `oid`.
    pub fn relation(&self, oid: u32) -> Option<&Rel> {
        self.relations.iter().find(|r| r.oid == oid)
    }

    /// `oid::regclass::text`: the name, schema-qualified unless visible.
    pub fn relation_text(&self, oid: u32, search_path: &[String]) -> String {
        match self.relation(oid) {
            Some(r) if r.schema == "pg_catalog" || search_path.contains(&r.schema) => {
                quote_ident(&r.name)
            }
            Some(r) => format!("{}.{}", quote_ident(&r.schema), quote_ident(&r.name)),
            None => oid.to_string(),
        }
    }

    /// Whether the relation's schema is searched (`pg_table_is_visible`).
    pub fn relation_visible(&self, oid: u32, search_path: &[String]) -> Option<bool> {
        self.relation(oid)
            .map(|r| r.schema == "pg_catalog" || search_path.contains(&r.schema))
    }

    /// The type named by `text` (`integer`, `int4`, `text[]`, `pg_catalog.int4`, `hstore`).
    pub fn type_oid(&self, text: &str) -> Option<u32> {
        let text = text.trim();
        if let Some(element) = text.strip_suffix("[]") {
            let elem = self.type_oid(element)?;
            let name = &self.types.get(&elem)?.0;
            return self.type_by_name.get(&format!("_{name}")).copied();
        }
        let parts = split_qualified(text);
        let bare = parts.last()?;
        let bare = bare.split('(').next().unwrap_or(bare).trim();
        self.type_by_name.get(bare).copied()
    }

    /// `format_type(oid, NULL)`.
    pub fn type_text(&self, oid: u32) -> Option<String> {
        self.types.get(&oid).map(|(name, _)| format_type_name(name))
    }

    /// The function named by `text`.
    pub fn proc_oid(&self, text: &str) -> Option<u32> {
        let parts = split_qualified(text);
        let bare = parts.last()?;
        let bare = bare.split('(').next().unwrap_or(bare);
        self.proc_by_name.get(bare).copied()
    }

    /// The name of function `oid`.
    pub fn proc_text(&self, oid: u32) -> Option<String> {
        self.procs.get(&oid).cloned()
    }

    /// The schema named by `text`.
    pub fn namespace_oid(&self, text: &str) -> Option<u32> {
        let parts = split_qualified(text);
        let name = parts.last()?;
        self.namespaces
            .iter()
            .find(|(_, n)| n == name)
            .map(|(o, _)| *o)
    }

    /// The name of schema `oid`.
    pub fn namespace_text(&self, oid: u32) -> Option<String> {
        self.namespaces
            .iter()
            .find(|(o, _)| *o == oid)
            .map(|(_, n)| (*n).to_owned())
    }

    /// Whether schema `name` exists.
    pub fn has_namespace(&self, name: &str) -> bool {
        self.namespace_oid(name).is_some()
    }
}

/// PostgreSQL's `quote_ident`: quotes unless a plain lower-case identifier.
pub fn quote_ident(name: &str) -> String {
    let plain = !name.is_empty()
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$')
        && !is_reserved(name);
    if plain {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

fn is_reserved(name: &str) -> bool {
    matches!(
        name,
        "all"
            | "analyse"
            | "analyze"
            | "and"
            | "any"
            | "array"
            | "as"
            | "asc"
            | "case"
            | "cast"
            | "check"
            | "collate"
            | "column"
            | "constraint"
            | "create"
            | "default"
            | "desc"
            | "distinct"
            | "do"
            | "else"
            | "end"
            | "except"
            | "false"
            | "for"
            | "foreign"
            | "from"
            | "grant"
            | "group"
            | "having"
            | "in"
            | "intersect"
            | "into"
            | "limit"
            | "not"
            | "null"
            | "offset"
            | "on"
            | "only"
            | "or"
            | "order"
            | "primary"
            | "references"
            | "select"
            | "table"
            | "then"
            | "to"
            | "true"
            | "union"
            | "unique"
            | "user"
            | "using"
            | "when"
            | "where"
            | "with"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        let n = names();
        let path = vec!["public".to_owned()];
        assert_eq!(n.relation_oid("pg_class", &path), Some(1259));
        assert_eq!(n.relation_oid("pg_catalog.pg_class", &path), Some(1259));
        assert_eq!(
            n.relation_oid("\"aws\".\"apigatewayv2_stage\"", &path),
            Some(STAGE_TABLE_OID)
        );
        assert_eq!(n.relation_oid("apigatewayv2_stage", &path), None);
        assert_eq!(
            n.relation_oid("apigatewayv2_stage", &["aws".to_owned()]),
            Some(STAGE_TABLE_OID)
        );
        assert_eq!(
            n.relation_text(STAGE_TABLE_OID, &path),
            "aws.apigatewayv2_stage"
        );
        assert_eq!(n.type_oid("integer"), Some(23));
        assert_eq!(n.type_oid("pg_catalog.int4"), Some(23));
        assert_eq!(n.type_oid("text[]"), Some(1009));
        assert_eq!(n.type_oid("hstore"), Some(HSTORE_OID));
        assert_eq!(n.type_oid("character varying(20)"), Some(1043));
        assert_eq!(
            n.type_text(1114).as_deref(),
            Some("timestamp without time zone")
        );
        assert_eq!(
            n.proc_text(n.proc_oid("array_in").expect("in the test data"))
                .as_deref(),
            Some("array_in")
        );
        assert_eq!(split_qualified("\"A.b\".C"), vec!["A.b", "c"]);
        assert_eq!(quote_ident("Tags"), "\"Tags\"");
        assert_eq!(quote_ident("tags"), "tags");
        assert_eq!(quote_ident("select"), "\"select\"");
    }
}

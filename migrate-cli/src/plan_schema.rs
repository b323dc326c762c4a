//! The live schema in a plan file: `migrate_core::schema::Schema` as JSON
//! and back (core and the runtime have no serde), and its fingerprint,
//! SHA-256 over the canonical rendering: that JSON, compact, keys sorted.

use migrate_core::schema::{
    Column, Constraint, ConstraintKind, EnumType, Index, Object, PartitionOf, Schema, Sequence, Table,
};
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;

/// `sha256:` and the hex SHA-256 of the schema's canonical rendering.
pub(crate) fn fingerprint(schema: &Schema) -> String {
    let canonical = sorted(to_json(schema)).to_string();
    let hash = Sha256::digest(canonical.as_bytes());
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// `value` with every object's keys in order, whatever serde_json's map keeps.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let ordered: BTreeMap<String, Value> = map.into_iter().map(|(k, v)| (k, sorted(v))).collect();
            Value::Object(ordered.into_iter().collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// The schema as JSON: one object per kind, keyed by name, each value its fields.
pub(crate) fn to_json(s: &Schema) -> Value {
    fn each<T>(map: &BTreeMap<String, T>, f: impl Fn(&T) -> Value) -> Value {
        Value::Object(map.iter().map(|(k, v)| (k.clone(), f(v))).collect())
    }
    let mut v = json!({
        "tables": each(&s.tables, table),
        "views": each(&s.views, object),
        "enums": each(&s.enums, |e| json!({ "name": e.name, "values": e.values })),
        "functions": each(&s.functions, object),
        "triggers": each(&s.triggers, object),
        "sequences": each(&s.sequences, sequence),
        "others": s.others,
    });
    // Only when there are some: a plan of a schema without extensions reads as it did.
    if !s.extensions.is_empty() {
        v["extensions"] = each(&s.extensions, object);
    }
    v
}

fn object(o: &Object) -> Value {
    json!({ "name": o.name, "table": o.table, "definition": o.definition, "drop_as": o.drop_as })
}

fn table(t: &Table) -> Value {
    json!({
        "name": t.name,
        "columns": t.columns.iter().map(|c| json!({
            "name": c.name, "data_type": c.data_type, "nullable": c.nullable, "default": c.default,
            "identity": c.identity, "generated": c.generated, "sql": c.sql,
        })).collect::<Vec<_>>(),
        "constraints": t.constraints.iter().map(|c| json!({
            "name": c.name, "kind": kind_name(c.kind), "columns": c.columns, "references": c.references,
            "definition": c.definition, "index": c.index,
        })).collect::<Vec<_>>(),
        "indexes": t.indexes.iter().map(|i| json!({
            "name": i.name, "columns": i.columns, "definition": i.definition,
        })).collect::<Vec<_>>(),
        "autoincrement": t.autoincrement,
        "sql": t.sql,
        "partition_by": t.partition_by,
        "partition_of": t.partition_of.as_ref().map(|p| json!({ "parent": p.parent, "bound": p.bound })),
    })
}

fn sequence(q: &Sequence) -> Value {
    json!({
        "name": q.name, "data_type": q.data_type, "start": q.start, "increment": q.increment,
        "min": q.min, "max": q.max, "cache": q.cache, "cycle": q.cycle,
        "owned_by": q.owned_by.as_ref().map(|(t, c)| json!([t, c])),
    })
}

fn kind_name(k: ConstraintKind) -> &'static str {
    match k {
        ConstraintKind::PrimaryKey => "primary_key",
        ConstraintKind::Unique => "unique",
        ConstraintKind::ForeignKey => "foreign_key",
        ConstraintKind::Check => "check",
    }
}

/// Reads one field of a JSON object, saying where when it is missing or of the wrong type.
struct Fields<'a> {
    map: &'a Map<String, Value>,
    at: String,
}

impl<'a> Fields<'a> {
    fn of(value: &'a Value, at: String) -> Result<Self, String> {
        match value.as_object() {
            Some(map) => Ok(Fields { map, at }),
            None => Err(format!("{at} is not an object")),
        }
    }

    fn get(&self, key: &str) -> Result<&'a Value, String> {
        self.map.get(key).ok_or_else(|| format!("{}.{key} is missing", self.at))
    }

    fn text(&self, key: &str) -> Result<String, String> {
        self.get(key)?
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("{}.{key} is not a string", self.at))
    }

    fn opt(&self, key: &str) -> Result<Option<String>, String> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => self.text(key).map(Some),
        }
    }

    fn flag(&self, key: &str) -> Result<bool, String> {
        self.get(key)?
            .as_bool()
            .ok_or_else(|| format!("{}.{key} is not true or false", self.at))
    }

    fn int(&self, key: &str) -> Result<i64, String> {
        self.get(key)?
            .as_i64()
            .ok_or_else(|| format!("{}.{key} is not an integer", self.at))
    }

    fn texts(&self, key: &str) -> Result<Vec<String>, String> {
        self.list(key)?
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| format!("{}.{key} is not a list of strings", self.at))
    }

    fn list(&self, key: &str) -> Result<&'a Vec<Value>, String> {
        self.get(key)?
            .as_array()
            .ok_or_else(|| format!("{}.{key} is not a list", self.at))
    }

    /// Each entry of the object at `key`, read by `f`.
    fn each<T>(&self, key: &str, f: impl Fn(&Fields<'a>) -> Result<T, String>) -> Result<BTreeMap<String, T>, String> {
        let at = format!("{}.{key}", self.at);
        let map = Fields::of(self.get(key)?, at.clone())?;
        let mut out = BTreeMap::new();
        for (name, value) in map.map {
            out.insert(name.clone(), f(&Fields::of(value, format!("{at}.{name}"))?)?);
        }
        Ok(out)
    }

    /// Each item of the list at `key`, read by `f`.
    fn items<T>(&self, key: &str, f: impl Fn(&Fields<'a>) -> Result<T, String>) -> Result<Vec<T>, String> {
        let mut out = Vec::new();
        for (i, value) in self.list(key)?.iter().enumerate() {
            out.push(f(&Fields::of(value, format!("{}.{key}[{i}]", self.at))?)?);
        }
        Ok(out)
    }
}

/// The schema [`to_json`] wrote, or where the JSON is not one.
pub(crate) fn from_json(value: &Value, at: &str) -> Result<Schema, String> {
    let f = Fields::of(value, at.to_owned())?;
    Ok(Schema {
        tables: f.each("tables", read_table)?,
        views: f.each("views", read_object)?,
        enums: f.each("enums", |e| {
            Ok(EnumType {
                name: e.text("name")?,
                values: e.texts("values")?,
            })
        })?,
        functions: f.each("functions", read_object)?,
        triggers: f.each("triggers", read_object)?,
        sequences: f.each("sequences", read_sequence)?,
        extensions: match value.get("extensions") {
            Some(_) => f.each("extensions", read_object)?,
            None => BTreeMap::new(),
        },
        others: read_others(&f, at)?,
    })
}

fn read_others(f: &Fields<'_>, at: &str) -> Result<BTreeMap<String, String>, String> {
    f.get("others")?
        .as_object()
        .and_then(|map| {
            map.iter()
                .map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                .collect::<Option<BTreeMap<_, _>>>()
        })
        .ok_or_else(|| format!("{at}.others is not an object of strings"))
}

fn read_object(o: &Fields<'_>) -> Result<Object, String> {
    Ok(Object {
        name: o.text("name")?,
        table: o.opt("table")?,
        definition: o.text("definition")?,
        drop_as: o.opt("drop_as")?,
    })
}

fn read_table(t: &Fields<'_>) -> Result<Table, String> {
    let partition_of = match t.map.get("partition_of") {
        None | Some(Value::Null) => None,
        Some(p) => {
            let p = Fields::of(p, format!("{}.partition_of", t.at))?;
            Some(PartitionOf {
                parent: p.text("parent")?,
                bound: p.text("bound")?,
            })
        }
    };
    Ok(Table {
        name: t.text("name")?,
        columns: t.items("columns", |c| {
            Ok(Column {
                name: c.text("name")?,
                data_type: c.text("data_type")?,
                nullable: c.flag("nullable")?,
                default: c.opt("default")?,
                identity: c.opt("identity")?,
                generated: c.opt("generated")?,
                sql: c.opt("sql")?,
            })
        })?,
        constraints: t.items("constraints", |c| {
            let kind = match c.text("kind")?.as_str() {
                "primary_key" => ConstraintKind::PrimaryKey,
                "unique" => ConstraintKind::Unique,
                "foreign_key" => ConstraintKind::ForeignKey,
                "check" => ConstraintKind::Check,
                other => return Err(format!("{}.kind `{other}` is not a constraint kind", c.at)),
            };
            Ok(Constraint {
                name: c.text("name")?,
                kind,
                columns: c.texts("columns")?,
                references: c.opt("references")?,
                definition: c.text("definition")?,
                index: c.opt("index")?,
            })
        })?,
        indexes: t.items("indexes", |i| {
            Ok(Index {
                name: i.text("name")?,
                columns: i.texts("columns")?,
                definition: i.text("definition")?,
            })
        })?,
        autoincrement: t.flag("autoincrement")?,
        sql: t.opt("sql")?,
        partition_by: t.opt("partition_by")?,
        partition_of,
    })
}

fn read_sequence(q: &Fields<'_>) -> Result<Sequence, String> {
    let owned_by = match q.map.get("owned_by") {
        None | Some(Value::Null) => None,
        Some(_) => match q.texts("owned_by")?.as_slice() {
            [table, column] => Some((table.clone(), column.clone())),
            _ => return Err(format!("{}.owned_by is not [table, column]", q.at)),
        },
    };
    Ok(Sequence {
        name: q.text("name")?,
        data_type: q.text("data_type")?,
        start: q.int("start")?,
        increment: q.int("increment")?,
        min: q.int("min")?,
        max: q.int("max")?,
        cache: q.int("cache")?,
        cycle: q.flag("cycle")?,
        owned_by,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schema_reads_back_as_it_was_written() {
        let mut s = Schema::default();
        let mut t = Table {
            name: "item".into(),
            autoincrement: true,
            sql: Some("CREATE TABLE item (id INTEGER PRIMARY KEY)".into()),
            ..Table::default()
        };
        t.columns.push(Column {
            name: "id".into(),
            data_type: "INTEGER".into(),
            default: Some("0".into()),
            ..Column::default()
        });
        t.constraints.push(Constraint {
            name: String::new(),
            kind: ConstraintKind::PrimaryKey,
            columns: vec!["id".into()],
            references: None,
            definition: "PRIMARY KEY (id)".into(),
            index: None,
        });
        s.tables.insert("item".into(), t);
        let mut q = Sequence::new("seq", "bigint");
        q.owned_by = Some(("item".into(), "id".into()));
        s.sequences.insert("seq".into(), q);
        s.others.insert("domain d".into(), "text".into());
        let back = from_json(&to_json(&s), "schema").unwrap();
        assert_eq!(back, s);
        assert_eq!(fingerprint(&back), fingerprint(&s));
        assert_ne!(fingerprint(&Schema::default()), fingerprint(&s));
        let e = from_json(&json!({"tables": {"t": {"name": 1}}}), "schema").unwrap_err();
        assert_eq!(e, "schema.tables.t.name is not a string");
    }
}

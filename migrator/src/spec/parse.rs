//! Reads `spec.toml` and checks it whole against the source schema: tables, columns, template
//! fields, key attributes and indexes. Each mistake becomes a [`SpecError`] with the line.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::{Spanned, Value as Toml};

use super::condition::ConditionText;
use super::model::*;
use super::template::Template;
use super::SpecError;
use crate::item::{AttrValue, Number};
use crate::source::{Schema, TableShape};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    #[allow(dead_code)]
    description: Option<String>,
    source: Spanned<String>,
    #[serde(default)]
    postgres_schemas: Vec<String>,
    table: RawTable,
    #[serde(default)]
    items: Vec<RawItem>,
    #[serde(default)]
    access_patterns: Vec<RawPattern>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    name: String,
    partition_key: Spanned<Toml>,
    sort_key: Option<Spanned<Toml>>,
    #[serde(default)]
    indexes: Vec<RawIndex>,
    billing: Option<Spanned<String>>,
    read_capacity: Option<u64>,
    write_capacity: Option<u64>,
    type_attribute: Option<String>,
    ttl_attribute: Option<String>,
    nulls: Option<Spanned<String>>,
    timestamp_format: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIndex {
    name: String,
    partition_key: Spanned<Toml>,
    sort_key: Option<Spanned<Toml>>,
    projection: Option<Spanned<Toml>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
    #[serde(rename = "type")]
    name: Spanned<String>,
    from: Spanned<String>,
    join: Option<Toml>,
    #[serde(rename = "where", default)]
    conditions: Vec<Spanned<String>>,
    with_item: Option<Spanned<String>>,
    without_item: Option<Spanned<String>>,
    #[serde(default)]
    group_by: Vec<String>,
    #[serde(default)]
    order: Vec<String>,
    keys: BTreeMap<String, Spanned<Toml>>,
    #[serde(default)]
    attributes: BTreeMap<String, Spanned<Toml>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPattern {
    name: Spanned<String>,
    operation: Spanned<String>,
    index: Option<Spanned<String>>,
    key: BTreeMap<String, Spanned<Toml>>,
    limit: Option<u32>,
    #[serde(default)]
    example: BTreeMap<String, Toml>,
    sql: String,
}

/// Settings that apply wherever an attribute does not say otherwise.
struct Defaults {
    nulls: NullPolicy,
    timestamps: TimeFormat,
}

/// Turns byte offsets into line numbers of the spec text.
struct Lines<'a>(&'a str);

impl Lines<'_> {
    fn of<T>(&self, spanned: &Spanned<T>) -> usize {
        self.at(spanned.span().start)
    }

    fn at(&self, offset: usize) -> usize {
        self.0[..offset.min(self.0.len())].matches('\n').count() + 1
    }
}

/// Parses and checks the spec at `path`, whose text is `text`; `schema` types its source.
pub fn parse_spec(
    path: &Path,
    text: &str,
    load_schema: impl FnOnce(&Path) -> Result<Schema, String>,
) -> Result<Spec, SpecError> {
    let lines = Lines(text);
    let error = |line: usize, message: String| SpecError::At {
        path: path.to_path_buf(),
        line,
        message,
    };
    let raw: RawSpec = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(1, |s| lines.at(s.start));
        error(line, e.message().trim().to_string())
    })?;
    let schema_path = path
        .parent()
        .unwrap_or(Path::new("."))
        .join(raw.source.get_ref());
    let schema = load_schema(&schema_path).map_err(|m| error(lines.of(&raw.source), m))?;
    let (table, defaults) = table_spec(&raw.table, &lines).map_err(|(l, m)| error(l, m))?;
    let mut items: Vec<ItemSpec> = Vec::new();
    for raw_item in &raw.items {
        let item = item_spec(raw_item, &table, &schema, &defaults, &items, &lines)
            .map_err(|(l, m)| error(l, m))?;
        if let Some(first) = items.iter().find(|i| i.name == item.name) {
            return Err(error(
                item.line,
                format!(
                    "item type {} is already defined on line {}; give each type one [[items]] entry",
                    item.name, first.line
                ),
            ));
        }
        items.push(item);
    }
    let access_patterns = raw
        .access_patterns
        .iter()
        .map(|p| pattern(p, &table, &lines))
        .collect::<Result<_, _>>()
        .map_err(|(l, m)| error(l, m))?;
    Ok(Spec {
        table,
        timestamps: defaults.timestamps,
        items,
        access_patterns,
        schema,
        schema_path,
        postgres_schemas: raw.postgres_schemas,
    })
}

type Located<T> = Result<T, (usize, String)>;

fn key_attr(raw: &Spanned<Toml>, lines: &Lines) -> Located<KeyAttr> {
    let line = lines.of(raw);
    let bad = || {
        (
            line,
            "a key is a name (\"pk\") or { name = \"pk\", type = \"S\" } with type S, N or B"
                .to_string(),
        )
    };
    let (name, ty) = match raw.get_ref() {
        Toml::String(name) => (name.clone(), "S"),
        Toml::Table(t) => {
            let name = t.get("name").and_then(Toml::as_str).ok_or_else(bad)?;
            let ty = t.get("type").and_then(Toml::as_str).unwrap_or("S");
            if t.keys().any(|k| k != "name" && k != "type") {
                return Err(bad());
            }
            (name.to_string(), ty)
        }
        _ => return Err(bad()),
    };
    let ty = match ty {
        "S" => KeyType::S,
        "N" => KeyType::N,
        "B" => KeyType::B,
        _ => return Err(bad()),
    };
    Ok(KeyAttr { name, ty })
}

fn table_spec(raw: &RawTable, lines: &Lines) -> Located<(TableSpec, Defaults)> {
    let billing = match raw.billing.as_ref().map(|b| (b.get_ref().as_str(), b)) {
        None | Some(("on-demand", _)) => Billing::OnDemand,
        Some(("provisioned", b)) => match (raw.read_capacity, raw.write_capacity) {
            (Some(read), Some(write)) => Billing::Provisioned { read, write },
            _ => {
                return Err((
                    lines.of(b),
                    "provisioned billing needs read_capacity and write_capacity".into(),
                ))
            }
        },
        Some((other, b)) => {
            return Err((
                lines.of(b),
                format!("billing \"{other}\" is neither \"on-demand\" nor \"provisioned\""),
            ))
        }
    };
    let mut indexes = Vec::new();
    for index in &raw.indexes {
        let projection = match index.projection.as_ref().map(|p| (p.get_ref(), p)) {
            None => Projection::All,
            Some((Toml::String(s), _)) if s == "all" => Projection::All,
            Some((Toml::String(s), _)) if s == "keys" => Projection::KeysOnly,
            Some((Toml::Array(a), p)) => Projection::Include(
                a.iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect::<Option<_>>()
                    .ok_or((lines.of(p), "projection lists attribute names".to_string()))?,
            ),
            Some((_, p)) => {
                return Err((
                    lines.of(p),
                    "projection is \"all\", \"keys\" or a list of attribute names".into(),
                ))
            }
        };
        indexes.push(IndexSpec {
            name: index.name.clone(),
            partition_key: key_attr(&index.partition_key, lines)?,
            sort_key: index
                .sort_key
                .as_ref()
                .map(|k| key_attr(k, lines))
                .transpose()?,
            projection,
        });
    }
    let nulls = match raw.nulls.as_ref() {
        None => NullPolicy::Null,
        Some(n) => null_policy(n.get_ref()).ok_or((
            lines.of(n),
            format!("nulls \"{}\" is neither \"null\" nor \"omit\"", n.get_ref()),
        ))?,
    };
    let timestamps = match raw.timestamp_format.as_ref() {
        None => TimeFormat::Iso8601,
        Some(f) => {
            time_format(f.get_ref()).map_err(|m| (lines.of(f), format!("timestamp_format {m}")))?
        }
    };
    let table = TableSpec {
        name: raw.name.clone(),
        partition_key: key_attr(&raw.partition_key, lines)?,
        sort_key: raw
            .sort_key
            .as_ref()
            .map(|k| key_attr(k, lines))
            .transpose()?,
        indexes,
        billing,
        type_attribute: raw.type_attribute.clone(),
        ttl_attribute: raw.ttl_attribute.clone(),
    };
    Ok((table, Defaults { nulls, timestamps }))
}

fn null_policy(text: &str) -> Option<NullPolicy> {
    match text {
        "null" => Some(NullPolicy::Null),
        "omit" => Some(NullPolicy::Omit),
        _ => None,
    }
}

fn time_format(text: &str) -> Result<TimeFormat, String> {
    Ok(match text {
        "iso8601" => TimeFormat::Iso8601,
        "epoch-seconds" => TimeFormat::EpochSeconds,
        "epoch-millis" => TimeFormat::EpochMillis,
        pattern => TimeFormat::Pattern(TimePattern::parse(pattern)?),
    })
}

/// One level of rows in scope: its tables (by the name fields use: the table's, or a join's
/// alias) and whether it stands for a group of rows (so `list = "@group"` may read them).
struct Level<'a> {
    slots: Vec<(String, &'a TableShape)>,
    grouped: bool,
}

/// The tables whose rows are in scope, innermost level last.
struct Scope<'a> {
    levels: Vec<Level<'a>>,
}

impl<'a> Scope<'a> {
    fn push(&mut self, name: &str, shape: &'a TableShape) {
        self.levels.push(Level {
            slots: vec![(name.to_string(), shape)],
            grouped: false,
        });
    }

    /// Finds `name` (`column`, `table.column` or `schema.table.column`), innermost level first.
    fn resolve(&self, name: &str) -> Result<FieldRef, String> {
        let (table, column) = match name.rsplit_once('.') {
            Some((t, c)) => (Some(t), c),
            None => (None, name),
        };
        for (level, shapes) in self.levels.iter().enumerate().rev() {
            for (slot, (slot_name, shape)) in shapes.slots.iter().enumerate() {
                // A table not renamed by `as` answers to its schema-qualified name too.
                let named =
                    |t: &str| t == slot_name || (slot_name == &shape.name && shape.is_named(t));
                if table.is_some_and(|t| !named(t)) {
                    continue;
                }
                if let Some(column) = shape.column_index(column) {
                    return Ok(FieldRef {
                        level,
                        slot,
                        column,
                    });
                }
            }
        }
        let names: Vec<&str> = self
            .levels
            .iter()
            .flat_map(|l| &l.slots)
            .map(|(n, _)| n.as_str())
            .collect();
        let which = if names.len() == 1 {
            format!("table {} lacks", names[0])
        } else {
            format!("tables {} lack", names.join(", "))
        };
        Err(format!(
            "names column {name}, which {which}; check the column name"
        ))
    }

    fn condition(&self, text: &str) -> Result<Condition, String> {
        let test = ConditionText::parse(text)?;
        Ok(Condition {
            field: self.resolve(&test.column)?,
            test,
        })
    }

    fn conditions(&self, texts: &[String]) -> Result<Vec<Condition>, String> {
        texts.iter().map(|c| self.condition(c)).collect()
    }

    fn order(&self, texts: &[String]) -> Result<Vec<(FieldRef, bool)>, String> {
        texts
            .iter()
            .map(|o| match o.strip_prefix('-') {
                Some(name) => Ok((self.resolve(name)?, true)),
                None => Ok((self.resolve(o)?, false)),
            })
            .collect()
    }

    fn fields(&self, texts: &[String]) -> Result<Vec<FieldRef>, String> {
        texts.iter().map(|f| self.resolve(f)).collect()
    }
}

/// Reads a string or a list of strings.
fn strings(value: Option<&Toml>, what: &str) -> Result<Vec<String>, String> {
    match value {
        None => Ok(Vec::new()),
        Some(Toml::String(s)) => Ok(vec![s.clone()]),
        Some(Toml::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<_>>()
            .ok_or(format!("{what} is a list of strings")),
        Some(_) => Err(format!("{what} is a list of strings")),
    }
}

/// Reads `{ child_column = "field", … }` for a relation or join onto `target`.
fn on_pairs(
    on: &Toml,
    target: &TableShape,
    scope: &Scope,
    rule: &str,
) -> Result<Vec<(usize, FieldRef)>, String> {
    let on = on.as_table().ok_or(format!(
        "{rule}: on must map columns of {} to fields in scope, like {{ word_id = \"id\" }}",
        target.name
    ))?;
    on.iter()
        .map(|(col, outer)| {
            let column = target.column_index(col).ok_or(format!(
                "{rule}: on names column {col}, which table {} lacks",
                target.name
            ))?;
            let outer = outer
                .as_str()
                .ok_or(format!("{rule}: on values are field names"))?;
            Ok((column, scope.resolve(outer)?))
        })
        .collect()
}

fn table_shape<'s>(schema: &'s Schema, name: &str, rule: &str) -> Result<&'s TableShape, String> {
    schema.table(name).ok_or_else(|| {
        format!(
            "{rule} reads table {name}, which the source lacks (it has: {}); check the table name",
            schema.table_names()
        )
    })
}

/// Reads `join = [{ table, on, as, left }]`, adding each joined table to the innermost level.
fn joins<'s>(
    value: Option<&Toml>,
    scope: &mut Scope<'s>,
    schema: &'s Schema,
    rule: &str,
) -> Result<Vec<Join>, String> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let bad = || format!("{rule}: join is a list of {{ table, on, as, left }}");
    let mut out = Vec::new();
    for join in value.as_array().ok_or_else(bad)? {
        let join = join.as_table().ok_or_else(bad)?;
        if join
            .keys()
            .any(|k| !["table", "on", "as", "left"].contains(&k.as_str()))
        {
            return Err(bad());
        }
        let name = join
            .get("table")
            .and_then(Toml::as_str)
            .ok_or(format!("{rule}: each join names a table"))?;
        let target = table_shape(schema, name, rule)?;
        let on = on_pairs(join.get("on").ok_or_else(bad)?, target, scope, rule)?;
        let alias = join.get("as").and_then(Toml::as_str).unwrap_or(name);
        let left = join.get("left") == Some(&Toml::Boolean(true));
        scope
            .levels
            .last_mut()
            .expect("a level is open")
            .slots
            .push((alias.to_string(), target));
        out.push(Join {
            table: name.to_string(),
            on,
            left,
        });
    }
    Ok(out)
}

fn item_spec(
    raw: &RawItem,
    table: &TableSpec,
    schema: &Schema,
    defaults: &Defaults,
    earlier: &[ItemSpec],
    lines: &Lines,
) -> Located<ItemSpec> {
    let line = lines.of(&raw.name);
    let name = raw.name.get_ref().clone();
    let root = schema.table(raw.from.get_ref()).ok_or_else(|| {
        (
            lines.of(&raw.from),
            format!(
                "item type {name} reads table {}, which the source lacks (it has: {}); check the table name",
                raw.from.get_ref(),
                schema.table_names()
            ),
        )
    })?;
    let mut scope = Scope { levels: Vec::new() };
    scope.push(&root.name, root);
    let joins = joins(raw.join.as_ref(), &mut scope, schema, &name).map_err(|m| (line, m))?;
    let conditions = raw
        .conditions
        .iter()
        .map(|c| scope.condition(c.get_ref()).map_err(|m| (lines.of(c), m)))
        .collect::<Located<Vec<_>>>()?;
    let item_ref = |value: &Option<Spanned<String>>, needs_root: bool| -> Located<Option<usize>> {
        let Some(value) = value else { return Ok(None) };
        let at = lines.of(value);
        let index = earlier
            .iter()
            .position(|i| &i.name == value.get_ref())
            .ok_or((
                at,
                format!(
                    "item type {name} refers to item type {}, which is not defined before it",
                    value.get_ref()
                ),
            ))?;
        let other_root = &earlier[index].root;
        let in_scope = scope.levels[0]
            .slots
            .iter()
            .any(|(_, s)| &s.name == other_root);
        if (needs_root && other_root != &root.name) || !in_scope {
            return Err((at, format!("item type {name} can only refer to {} through a row of its root table {other_root}; join it", value.get_ref())));
        }
        Ok(Some(index))
    };
    let with_item = item_ref(&raw.with_item, false)?;
    let without_item = item_ref(&raw.without_item, true)?;
    let group_by = scope.fields(&raw.group_by).map_err(|m| (line, m))?;
    let order = scope.order(&raw.order).map_err(|m| (line, m))?;
    scope.levels[0].grouped = !group_by.is_empty();
    let key_names: Vec<&KeyAttr> = table.key_attributes().collect();
    for required in std::iter::once(&table.partition_key).chain(&table.sort_key) {
        if !raw.keys.contains_key(&required.name) {
            return Err((
                line,
                format!(
                    "item type {name} has no template for key attribute {}; add it under keys",
                    required.name
                ),
            ));
        }
    }
    let mut keys = Vec::new();
    for (attr, value) in &raw.keys {
        if !key_names.iter().any(|k| &k.name == attr) {
            let known: Vec<&str> = key_names.iter().map(|k| k.name.as_str()).collect();
            return Err((
                lines.of(value),
                format!(
                    "keys names {attr}, which is no key attribute of the table or its indexes ({}); check the name or declare the index",
                    known.join(", ")
                ),
            ));
        }
        let rule = format!("{name}.{attr}");
        let expr = expr(value.get_ref(), &mut scope, schema, defaults, &rule, 0)
            .map_err(|m| (lines.of(value), m))?;
        if !single_value(&expr) {
            return Err((
                lines.of(value),
                format!("key {attr} of item type {name} is a map or a list; a key is one value: a template, a column or a constant"),
            ));
        }
        keys.push((attr.clone(), expr));
    }
    let mut attributes = Vec::new();
    for (attr, value) in &raw.attributes {
        if key_names.iter().any(|k| &k.name == attr) || table.type_attribute.as_ref() == Some(attr)
        {
            return Err((
                lines.of(value),
                format!("attribute {attr} is a key or the type attribute; set it under keys or not at all"),
            ));
        }
        let rule = format!("{name}.{attr}");
        let expr = expr(value.get_ref(), &mut scope, schema, defaults, &rule, 0)
            .map_err(|m| (lines.of(value), m))?;
        attributes.push((attr.clone(), expr));
    }
    Ok(ItemSpec {
        name,
        root: root.name.clone(),
        joins,
        conditions,
        with_item,
        without_item,
        group_by,
        order,
        keys,
        attributes,
        line,
    })
}

/// A map's entries in name order, each name once (of two, the later wins): the order items
/// are written in.
fn by_name(mut entries: Vec<(String, Expr)>) -> Vec<(String, Expr)> {
    entries.reverse();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries.dedup_by(|later, first| later.0 == first.0);
    entries
}

/// Whether `expr` gives one value (a template, a column or a constant, maybe inside `one` or
/// `when`), as a key must; maps and lists do not.
fn single_value(expr: &Expr) -> bool {
    match expr {
        Expr::Template { .. } | Expr::Column { .. } | Expr::Const(_) => true,
        Expr::One { item, .. } => single_value(item),
        Expr::When { expr, .. } => single_value(expr),
        Expr::Map(_) | Expr::List { .. } => false,
    }
}

/// Nesting DynamoDB allows (32 levels), less the item itself.
const MAX_DEPTH: usize = 31;

fn expr<'s>(
    value: &Toml,
    scope: &mut Scope<'s>,
    schema: &'s Schema,
    defaults: &Defaults,
    rule: &str,
    depth: usize,
) -> Result<Expr, String> {
    if depth > MAX_DEPTH {
        return Err(format!("{rule} nests deeper than DynamoDB's 32 levels"));
    }
    let table = match value {
        Toml::String(text) => {
            let template = Template::parse(text)?;
            return Ok(Expr::Template {
                template: template.resolve(|f| scope.resolve(f))?,
                omit_if_null: false,
            });
        }
        Toml::Integer(i) => return Ok(Expr::Const(AttrValue::N(Number::from(*i)))),
        Toml::Float(f) => {
            return Number::parse(&f.to_string())
                .map(|n| Expr::Const(AttrValue::N(n)))
                .map_err(|e| e.to_string())
        }
        Toml::Boolean(b) => return Ok(Expr::Const(AttrValue::Bool(*b))),
        Toml::Table(t) => t,
        _ => {
            return Err(
                "an attribute is a template string, a number, a boolean or a table such as { column = \"c\" }"
                    .into(),
            )
        }
    };
    if let Some(when) = table.get("when") {
        let conditions = scope.conditions(&strings(Some(when), &format!("{rule}: when"))?)?;
        let mut rest = table.clone();
        rest.remove("when");
        let inner = expr(&Toml::Table(rest), scope, schema, defaults, rule, depth)?;
        return Ok(Expr::When {
            conditions,
            expr: Box::new(inner),
        });
    }
    let allow = |allowed: &[&str]| -> Result<(), String> {
        match table.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(format!(
                "{rule}: unknown setting {k} (allowed here: {})",
                allowed.join(", ")
            )),
            None => Ok(()),
        }
    };
    let nulls = |t: &toml::Table| -> Result<NullPolicy, String> {
        match t.get("nulls") {
            None => Ok(defaults.nulls),
            Some(Toml::String(s)) => {
                null_policy(s).ok_or(format!("{rule}: nulls is \"null\" or \"omit\""))
            }
            Some(_) => Err(format!("{rule}: nulls is \"null\" or \"omit\"")),
        }
    };
    let str_of = |key: &str| -> Result<Option<String>, String> {
        match table.get(key) {
            None => Ok(None),
            Some(Toml::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("{rule}: {key} must be a string")),
        }
    };
    if let Some(text) = table.get("template") {
        allow(&["template", "nulls"])?;
        let text = text
            .as_str()
            .ok_or(format!("{rule}: template must be a string"))?;
        return Ok(Expr::Template {
            template: Template::parse(text)?.resolve(|f| scope.resolve(f))?,
            omit_if_null: table.get("nulls").is_some() && nulls(table)? == NullPolicy::Omit,
        });
    }
    if let Some(column) = table.get("column") {
        allow(&["column", "cast", "format", "join", "nulls"])?;
        let name = column
            .as_str()
            .ok_or(format!("{rule}: column must be a column name"))?;
        let cast = match str_of("cast")?.as_deref() {
            None => None,
            Some("string") => Some(Cast::String),
            Some("number") => Some(Cast::Number),
            Some(other) => {
                return Err(format!(
                    "{rule}: cast \"{other}\" is neither \"string\" nor \"number\""
                ))
            }
        };
        return Ok(Expr::Column {
            field: scope.resolve(name)?,
            cast,
            format: str_of("format")?
                .map(|f| time_format(&f))
                .transpose()
                .map_err(|m| format!("{rule}: format {m}"))?,
            join: str_of("join")?,
            nulls: nulls(table)?,
        });
    }
    if let Some(value) = table.get("value") {
        allow(&["value"])?;
        return Ok(Expr::Const(match value {
            Toml::String(s) => AttrValue::S(s.clone()),
            Toml::Boolean(b) => AttrValue::Bool(*b),
            Toml::Integer(i) => AttrValue::N(Number::from(*i)),
            _ => {
                return Err(format!(
                    "{rule}: value must be a string, integer or boolean"
                ))
            }
        }));
    }
    if table.get("null") == Some(&Toml::Boolean(true)) {
        allow(&["null"])?;
        return Ok(Expr::Const(AttrValue::Null));
    }
    if let Some(map) = table.get("map") {
        allow(&["map"])?;
        let map = map
            .as_table()
            .ok_or(format!("{rule}: map must be a table of attributes"))?;
        let mut entries = Vec::new();
        for (name, value) in map {
            entries.push((
                name.clone(),
                expr(
                    value,
                    scope,
                    schema,
                    defaults,
                    &format!("{rule}.{name}"),
                    depth + 1,
                )?,
            ));
        }
        return Ok(Expr::Map(by_name(entries)));
    }
    if let Some(columns) = table.get("columns") {
        allow(&["columns", "rename", "nulls", "format"])?;
        let names = strings(Some(columns), &format!("{rule}: columns"))?;
        let rename = table.get("rename").and_then(Toml::as_table);
        let nulls = nulls(table)?;
        let format = str_of("format")?
            .map(|f| time_format(&f))
            .transpose()
            .map_err(|m| format!("{rule}: format {m}"))?;
        let mut entries = Vec::new();
        for name in &names {
            let bare = name.rsplit('.').next().unwrap_or(name);
            let attr = rename
                .and_then(|r| r.get(bare))
                .and_then(Toml::as_str)
                .unwrap_or(bare);
            entries.push((
                attr.to_string(),
                Expr::Column {
                    field: scope.resolve(name)?,
                    cast: None,
                    format: format.clone(),
                    join: None,
                    nulls,
                },
            ));
        }
        return Ok(Expr::Map(by_name(entries)));
    }
    let (kind, related) = match (table.get("list"), table.get("one")) {
        (Some(t), None) => ("list", t),
        (None, Some(t)) => ("one", t),
        _ => {
            return Err(format!(
                "{rule}: say how the value is made: template, column, value, null, map, columns, list or one"
            ))
        }
    };
    if kind == "list" {
        allow(&[
            "list", "on", "join", "where", "order", "distinct", "group", "limit", "item",
        ])?;
    } else {
        allow(&["one", "on", "join", "where", "order", "item", "missing"])?;
    }
    let related = related
        .as_str()
        .ok_or(format!("{rule}: {kind} must name a table (or \"@group\")"))?;
    let relation = relation(related, table, scope, schema, rule)?;
    let item = table.get("item").ok_or(format!(
        "{rule}: {kind} needs an item: the value made from each related row"
    ))?;
    let item = expr(item, scope, schema, defaults, rule, depth + 1);
    scope.levels.pop();
    let item = Box::new(item?);
    Ok(if kind == "list" {
        Expr::List { relation, item }
    } else if relation.source == RowSource::Group && table.get("missing").is_some() {
        return Err(format!(
            "{rule}: missing does not apply to \"@group\", which is never empty"
        ));
    } else {
        let missing = match table.get("missing") {
            None => match defaults.nulls {
                NullPolicy::Null => Missing::Null,
                NullPolicy::Omit => Missing::Omit,
            },
            Some(Toml::String(s)) if s == "null" => Missing::Null,
            Some(Toml::String(s)) if s == "omit" => Missing::Omit,
            Some(Toml::String(s)) if s == "nulls" => Missing::NullRow,
            Some(_) => {
                return Err(format!(
                    "{rule}: missing is \"null\", \"omit\" or \"nulls\" (the item over an all-NULL row)"
                ))
            }
        };
        Expr::One {
            relation,
            item,
            missing,
        }
    })
}

/// Resolves a relation and pushes its level onto `scope` (the caller pops it).
fn relation<'s>(
    related: &str,
    table: &toml::Table,
    scope: &mut Scope<'s>,
    schema: &'s Schema,
    rule: &str,
) -> Result<Relation, String> {
    let (source, on) = if related == "@group" {
        let level = scope.levels.last().filter(|l| l.grouped).ok_or(format!(
            "{rule}: \"@group\" is only inside a grouped list or item"
        ))?;
        if table.contains_key("on") || table.contains_key("join") {
            return Err(format!(
                "{rule}: \"@group\" takes no on or join: its rows are the group's"
            ));
        }
        let slots = level.slots.clone();
        scope.levels.push(Level {
            slots,
            grouped: false,
        });
        (RowSource::Group, Vec::new())
    } else {
        let child = table_shape(schema, related, rule)?;
        let on = match table.get("on") {
            Some(Toml::Array(alternatives)) => alternatives
                .iter()
                .map(|a| on_pairs(a, child, scope, rule))
                .collect::<Result<Vec<_>, _>>()?,
            Some(single) => vec![on_pairs(single, child, scope, rule)?],
            None => {
                return Err(format!(
                    "{rule}: on must map columns of {related} to fields in scope, like {{ word_id = \"id\" }}"
                ))
            }
        };
        scope.push(related, child);
        (RowSource::Table(related.to_string()), on)
    };
    let joins = joins(table.get("join"), scope, schema, rule)?;
    let conditions = scope.conditions(&strings(table.get("where"), &format!("{rule}: where"))?)?;
    let order = scope.order(&strings(table.get("order"), &format!("{rule}: order"))?)?;
    let distinct = scope.fields(&strings(
        table.get("distinct"),
        &format!("{rule}: distinct"),
    )?)?;
    let group = scope.fields(&strings(table.get("group"), &format!("{rule}: group"))?)?;
    scope.levels.last_mut().expect("pushed above").grouped = !group.is_empty();
    let limit = match table.get("limit") {
        None => None,
        Some(Toml::Integer(n)) if *n > 0 => Some(*n as usize),
        Some(_) => return Err(format!("{rule}: limit is a positive number of rows")),
    };
    Ok(Relation {
        rule: rule.to_string(),
        source,
        on,
        joins,
        conditions,
        order,
        distinct,
        group,
        limit,
    })
}

fn pattern(raw: &RawPattern, table: &TableSpec, lines: &Lines) -> Located<AccessPattern> {
    let line = lines.of(&raw.name);
    let name = raw.name.get_ref().clone();
    let operation = match raw.operation.get_ref().as_str() {
        "GetItem" => Operation::GetItem,
        "Query" => Operation::Query,
        "BatchGetItem" => Operation::BatchGetItem,
        other => {
            return Err((
                lines.of(&raw.operation),
                format!(
                "access pattern {name}: operation {other} is not GetItem, Query or BatchGetItem"
            ),
            ))
        }
    };
    let (partition, sort) = match &raw.index {
        None => (&table.partition_key, table.sort_key.as_ref()),
        Some(index_name) => {
            let index = table
                .indexes
                .iter()
                .find(|i| &i.name == index_name.get_ref())
                .ok_or_else(|| {
                    let known: Vec<&str> = table.indexes.iter().map(|i| i.name.as_str()).collect();
                    (
                        lines.of(index_name),
                        format!(
                            "access pattern {name} uses index {}, which the table lacks (it has: {}); declare it under [[table.indexes]]",
                            index_name.get_ref(),
                            known.join(", ")
                        ),
                    )
                })?;
            if operation != Operation::Query {
                return Err((
                    lines.of(index_name),
                    format!("access pattern {name}: only Query reads an index"),
                ));
            }
            (&index.partition_key, index.sort_key.as_ref())
        }
    };
    let mut key = Vec::new();
    for (attr, condition) in &raw.key {
        let at = lines.of(condition);
        if attr != &partition.name && Some(attr) != sort.map(|s| &s.name) {
            return Err((
                at,
                format!(
                    "access pattern {name}: key names {attr}, which is not a key of {}",
                    raw.index.as_ref().map_or("the table", |i| i.get_ref())
                ),
            ));
        }
        let condition = match condition.get_ref() {
            Toml::String(t) => KeyCondition::Equals(Template::parse(t).map_err(|m| (at, m))?),
            Toml::Table(t) if t.len() == 1 && t.get("begins_with").is_some_and(Toml::is_str) => {
                let text = t["begins_with"].as_str().expect("checked");
                KeyCondition::BeginsWith(Template::parse(text).map_err(|m| (at, m))?)
            }
            _ => {
                return Err((
                    at,
                    format!("access pattern {name}: a key condition is a template or {{ begins_with = \"…\" }}"),
                ))
            }
        };
        let placeholders = match &condition {
            KeyCondition::Equals(t) | KeyCondition::BeginsWith(t) => t,
        };
        for field in placeholders.fields() {
            if !raw.example.contains_key(field) {
                return Err((
                    at,
                    format!("access pattern {name}: {{{field}}} has no value in example; add it"),
                ));
            }
        }
        key.push((attr.clone(), condition));
    }
    if !raw.key.contains_key(&partition.name) {
        return Err((
            line,
            format!(
                "access pattern {name}: key needs the partition key {}",
                partition.name
            ),
        ));
    }
    let example = raw
        .example
        .iter()
        .map(|(k, v)| {
            let text = match v {
                Toml::String(s) => s.clone(),
                Toml::Integer(i) => i.to_string(),
                Toml::Boolean(b) => b.to_string(),
                other => format!("{other:?}"),
            };
            (k.clone(), text)
        })
        .collect();
    Ok(AccessPattern {
        name,
        operation,
        index: raw.index.as_ref().map(|i| i.get_ref().clone()),
        key,
        limit: raw.limit,
        example,
        sql: raw.sql.clone(),
    })
}

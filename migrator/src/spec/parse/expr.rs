//! One value of an item: a template, a column, a constant, or a list, map or `one` built from
//! related rows.

use toml::Value as Toml;

use super::item::by_name;
use super::scope::{joins, on_list, strings, table_shape, Level, Scope};
use super::table::{null_policy, time_format};
use super::Defaults;
use crate::item::{AttrValue, Name, Number};
use crate::source::Schema;
use crate::spec::{
    Cast, DistinctAcross, Expr, Missing, NullPolicy, Relation, RowSource, TimeFormat,
};

/// Nesting DynamoDB allows (32 levels), less the item itself.
pub(super) const MAX_DEPTH: usize = 31;

pub(super) fn expr<'s>(
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
            return Ok(Expr::Template {
                template: scope.template(text)?,
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
    let form = Settings {
        table,
        rule,
        defaults,
    };
    if table.contains_key("template") {
        form.template(scope)
    } else if table.contains_key("column") {
        form.column(scope)
    } else if table.contains_key("value") {
        form.constant()
    } else if table.get("null") == Some(&Toml::Boolean(true)) {
        form.allow(&["null"])?;
        Ok(Expr::Const(AttrValue::Null))
    } else if let Some(map) = table.get("map") {
        form.allow(&["map"])?;
        let map = map
            .as_table()
            .ok_or(format!("{rule}: map must be a table of attributes"))?;
        let mut entries = Vec::new();
        for (name, value) in map {
            let rule = format!("{rule}.{name}");
            let value = expr(value, scope, schema, defaults, &rule, depth + 1)?;
            entries.push((name.clone(), value));
        }
        Ok(named(entries))
    } else if table.contains_key("columns") {
        form.columns(scope)
    } else {
        related(&form, scope, schema, depth)
    }
}

/// The settings of a value written as a table (`{ column = "c", nulls = "omit" }`), read with
/// the rule they belong to in every message.
struct Settings<'t> {
    table: &'t toml::Table,
    rule: &'t str,
    defaults: &'t Defaults,
}

impl Settings<'_> {
    /// Fails on a setting this form does not take.
    fn allow(&self, allowed: &[&str]) -> Result<(), String> {
        match self.table.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(format!(
                "{}: unknown setting {k} (allowed here: {})",
                self.rule,
                allowed.join(", ")
            )),
            None => Ok(()),
        }
    }

    /// `nulls`, or the spec's default.
    fn nulls(&self) -> Result<NullPolicy, String> {
        match self.table.get("nulls") {
            None => Ok(self.defaults.nulls),
            Some(Toml::String(s)) => {
                null_policy(s).ok_or(format!("{}: nulls is \"null\" or \"omit\"", self.rule))
            }
            Some(_) => Err(format!("{}: nulls is \"null\" or \"omit\"", self.rule)),
        }
    }

    /// A setting that must be a string, if given.
    fn text(&self, key: &str) -> Result<Option<String>, String> {
        match self.table.get(key) {
            None => Ok(None),
            Some(Toml::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("{}: {key} must be a string", self.rule)),
        }
    }

    /// `format`, checked, if given.
    fn format(&self) -> Result<Option<TimeFormat>, String> {
        self.text("format")?
            .map(|f| time_format(&f))
            .transpose()
            .map_err(|m| format!("{}: format {m}", self.rule))
    }

    /// `{ template = "…", nulls = "omit" }`.
    fn template(&self, scope: &Scope) -> Result<Expr, String> {
        self.allow(&["template", "nulls"])?;
        let text = self.table["template"]
            .as_str()
            .ok_or(format!("{}: template must be a string", self.rule))?;
        Ok(Expr::Template {
            template: scope.template(text)?,
            omit_if_null: self.table.get("nulls").is_some() && self.nulls()? == NullPolicy::Omit,
        })
    }

    /// `{ column = "c", cast, format, join, nulls }`.
    fn column(&self, scope: &Scope) -> Result<Expr, String> {
        self.allow(&[
            "column", "cast", "format", "join", "nulls", "required", "enum",
        ])?;
        let name = self.table["column"]
            .as_str()
            .ok_or(format!("{}: column must be a column name", self.rule))?;
        let cast = match self.text("cast")?.as_deref() {
            None => None,
            Some("string") => Some(Cast::String),
            Some("number") => Some(Cast::Number),
            Some(other) => {
                return Err(format!(
                    "{}: cast \"{other}\" is neither \"string\" nor \"number\"",
                    self.rule
                ))
            }
        };
        let required = match self.table.get("required") {
            None => false,
            Some(Toml::Boolean(b)) => *b,
            Some(_) => return Err(format!("{}: required must be true or false", self.rule)),
        };
        let allowed = match self.table.get("enum") {
            None => None,
            Some(Toml::Array(values)) if !values.is_empty() => Some(
                values
                    .iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
                    .ok_or(format!(
                        "{}: enum lists the allowed values as strings",
                        self.rule
                    ))?,
            ),
            Some(_) => {
                return Err(format!(
                    "{}: enum lists the allowed values as strings, such as [\"info\", \"warn\"]",
                    self.rule
                ))
            }
        };
        Ok(Expr::Column {
            field: scope.resolve(name)?,
            cast,
            format: self.format()?,
            join: self.text("join")?,
            nulls: self.nulls()?,
            required,
            allowed,
        })
    }

    /// `{ value = "x" }`: a constant.
    fn constant(&self) -> Result<Expr, String> {
        self.allow(&["value"])?;
        Ok(Expr::Const(match &self.table["value"] {
            Toml::String(s) => AttrValue::S(s.clone()),
            Toml::Boolean(b) => AttrValue::Bool(*b),
            Toml::Integer(i) => AttrValue::N(Number::from(*i)),
            _ => {
                return Err(format!(
                    "{}: value must be a string, integer or boolean",
                    self.rule
                ))
            }
        }))
    }

    /// `{ columns = […], rename, nulls, format }`: a map of columns.
    fn columns(&self, scope: &Scope) -> Result<Expr, String> {
        self.allow(&["columns", "rename", "nulls", "format"])?;
        let names = strings(
            self.table.get("columns"),
            &format!("{}: columns", self.rule),
        )?;
        let rename = self.table.get("rename").and_then(Toml::as_table);
        let nulls = self.nulls()?;
        let format = self.format()?;
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
                    required: false,
                    allowed: None,
                },
            ));
        }
        Ok(named(entries))
    }

    /// `missing` of a `one`, or what the spec's nulls make of it.
    fn missing(&self) -> Result<Missing, String> {
        Ok(match self.table.get("missing") {
            None => match self.defaults.nulls {
                NullPolicy::Null => Missing::Null,
                NullPolicy::Omit => Missing::Omit,
            },
            Some(Toml::String(s)) if s == "null" => Missing::Null,
            Some(Toml::String(s)) if s == "omit" => Missing::Omit,
            Some(Toml::String(s)) if s == "nulls" => Missing::NullRow,
            Some(_) => {
                return Err(format!(
                "{}: missing is \"null\", \"omit\" or \"nulls\" (the item over an all-NULL row)",
                self.rule
            ))
            }
        })
    }
}

/// `{ list = "table", … }` or `{ one = "table", … }`: a value made from each related row.
fn related<'s>(
    form: &Settings,
    scope: &mut Scope<'s>,
    schema: &'s Schema,
    depth: usize,
) -> Result<Expr, String> {
    let (table, rule) = (form.table, form.rule);
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
        form.allow(&[
            "list",
            "on",
            "join",
            "where",
            "order",
            "distinct",
            "distinct_across",
            "group",
            "limit",
            "item",
        ])?;
    } else {
        form.allow(&["one", "on", "join", "where", "order", "item", "missing"])?;
    }
    let related = related
        .as_str()
        .ok_or(format!("{rule}: {kind} must name a table (or \"@group\")"))?;
    let relation = relation(related, table, scope, schema, rule)?;
    let item = table.get("item").ok_or(format!(
        "{rule}: {kind} needs an item: the value made from each related row"
    ))?;
    let item = expr(item, scope, schema, form.defaults, rule, depth + 1);
    scope.levels.pop();
    let item = Box::new(item?);
    if kind == "list" {
        return Ok(Expr::List { relation, item });
    }
    if relation.source == RowSource::Group && table.get("missing").is_some() {
        return Err(format!(
            "{rule}: missing does not apply to \"@group\", which is never empty"
        ));
    }
    Ok(Expr::One {
        relation,
        item,
        missing: form.missing()?,
    })
}

/// Resolves a relation and pushes its level onto `scope` (the caller pops it).
/// A map of `entries`, in name order, each name once (the last given).
fn named(entries: Vec<(String, Expr)>) -> Expr {
    let entries = by_name(entries).into_iter();
    Expr::Map(entries.map(|(name, e)| (Name::new(name), e)).collect())
}

pub(super) fn relation<'s>(
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
                .map(|a| on_list(a, child, scope, rule))
                .collect::<Result<Vec<_>, _>>()?,
            Some(single) => vec![on_list(single, child, scope, rule)?],
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
    let distinct_across = match (table.get("distinct_across"), distinct.is_empty()) {
        (None, _) => DistinctAcross::List,
        (Some(_), true) => {
            return Err(format!(
                "{rule}: distinct_across says where distinct holds, but there is no distinct; add distinct = [\"column\"]"
            ))
        }
        (Some(Toml::String(s)), false) if s == "list" => DistinctAcross::List,
        (Some(Toml::String(s)), false) if s == "item" => DistinctAcross::Item,
        (Some(_), false) => {
            return Err(format!(
                "{rule}: distinct_across is \"list\" (each list apart, the default) or \"item\" (once in the whole item)"
            ))
        }
    };
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
        distinct_across,
        group,
        limit,
    })
}

//! The rows in scope while an item type is read, and the names that resolve in it: columns,
//! conditions, orders, joins.

use std::cell::{Cell, RefCell};

use toml::Value as Toml;

use crate::source::{ColumnType, Schema, TableShape};
use crate::spec::condition::{Comparison, ConditionText};
use crate::spec::{Against, Condition, FieldRef, Join, JoinId, On, Piece, Template, Test};

/// One level of rows in scope: its tables (by the name fields use: the table's, or a join's
/// alias) and whether it stands for a group of rows (so `list = "@group"` may read them).
pub(super) struct Level<'a> {
    pub(super) slots: Vec<(String, &'a TableShape)>,
    pub(super) grouped: bool,
}

/// The tables whose rows are in scope, innermost level last.
#[derive(Default)]
pub(super) struct Scope<'a> {
    pub(super) levels: Vec<Level<'a>>,
    /// When set, the types of the columns names resolve to, in order: what a key is made of.
    pub(super) watch: Option<RefCell<Vec<ColumnType>>>,
    /// How many `on` lists the spec has numbered so far: the next one's [`JoinId`].
    pub(super) joins: Cell<usize>,
}

impl<'a> Scope<'a> {
    pub(super) fn push(&mut self, name: &str, shape: &'a TableShape) {
        self.levels.push(Level {
            slots: vec![(name.to_string(), shape)],
            grouped: false,
        });
    }

    /// Finds `name` (`column`, `table.column` or `schema.table.column`), innermost level first.
    pub(super) fn resolve(&self, name: &str) -> Result<FieldRef, String> {
        let (table, column) = match name.rsplit_once('.') {
            Some((t, c)) => (Some(t), c),
            None => (None, name),
        };
        for (level, shapes) in self.levels.iter().enumerate().rev() {
            // A table not renamed by `as` answers to its schema-qualified name too.
            let found: Vec<(usize, &String, &TableShape, usize)> = shapes
                .slots
                .iter()
                .enumerate()
                .filter(|(_, (slot_name, shape))| {
                    table.is_none_or(|t| {
                        t == *slot_name || (*slot_name == shape.name && shape.is_named(t))
                    })
                })
                .filter_map(|(slot, (slot_name, shape))| {
                    Some((slot, slot_name, *shape, shape.column_index(column)?))
                })
                .collect();
            if let [(_, first, _, _), (_, second, _, _), ..] = found[..] {
                return Err(format!(
                    "names column {column}, which tables {first} and {second} both have; write {first}.{column} or {second}.{column}"
                ));
            }
            if let Some(&(slot, _, shape, column)) = found.first() {
                if let Some(watch) = &self.watch {
                    watch.borrow_mut().push(shape.columns[column].ty.clone());
                }
                return Ok(FieldRef {
                    level,
                    slot,
                    column,
                });
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

    /// Parses template `text` and resolves its fields; a `{field:ulid}` must name a date or a
    /// timestamp.
    pub(super) fn template(&self, text: &str) -> Result<Template<FieldRef>, String> {
        let template = Template::parse(text)?.resolve(|f| self.resolve(f))?;
        for piece in &template.pieces {
            if let Piece::Field {
                field, ulid: true, ..
            } = piece
            {
                let column = &self.levels[field.level].slots[field.slot].1.columns[field.column];
                if !matches!(
                    column.ty,
                    ColumnType::Timestamp | ColumnType::TimestampTz | ColumnType::Date
                ) {
                    return Err(format!(
                        "template \"{text}\": {}:ulid makes a ULID from a time, but column {} is not a date or timestamp",
                        column.name, column.name
                    ));
                }
            }
        }
        Ok(template)
    }

    pub(super) fn condition(&self, text: &str) -> Result<Condition, String> {
        let Some((column, comparison, value)) = Comparison::split(text) else {
            let test = ConditionText::parse(text)?;
            return Ok(Condition {
                field: self.resolve(&test.column)?,
                test: Test::Equals(test),
            });
        };
        let field = self.resolve(column)?;
        let ty = &self.levels[field.level].slots[field.slot].1.columns[field.column].ty;
        let timed = matches!(
            ty,
            ColumnType::Timestamp | ColumnType::TimestampTz | ColumnType::Date
        );
        let ordered =
            timed || matches!(ty, ColumnType::Int | ColumnType::Numeric | ColumnType::Text);
        if !ordered {
            return Err(format!(
                "condition \"{text}\" orders column {column}, whose type ({ty:?}) has no order here; compare numbers, text, dates or timestamps"
            ));
        }
        let against = if value == "NOW" {
            if !timed {
                return Err(format!(
                    "condition \"{text}\" compares column {column} with NOW, but it is not a date or timestamp"
                ));
            }
            Against::Now
        } else {
            let value = crate::source::parse_text(ty, value).map_err(|e| {
                format!(
                    "condition \"{text}\": {} is not {} as column {column} needs (or NOW for the plan's moment)",
                    e.found, e.expected
                )
            })?;
            Against::Value(value)
        };
        Ok(Condition {
            field,
            test: Test::Compare(comparison, against),
        })
    }

    pub(super) fn conditions(&self, texts: &[String]) -> Result<Vec<Condition>, String> {
        texts.iter().map(|c| self.condition(c)).collect()
    }

    pub(super) fn order(&self, texts: &[String]) -> Result<Vec<(FieldRef, bool)>, String> {
        texts
            .iter()
            .map(|o| match o.strip_prefix('-') {
                Some(name) => Ok((self.resolve(name)?, true)),
                None => Ok((self.resolve(o)?, false)),
            })
            .collect()
    }

    pub(super) fn fields(&self, texts: &[String]) -> Result<Vec<FieldRef>, String> {
        texts.iter().map(|f| self.resolve(f)).collect()
    }
}

/// Reads a string or a list of strings.
pub(super) fn strings(value: Option<&Toml>, what: &str) -> Result<Vec<String>, String> {
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

/// Reads `{ child_column = "field", … }` for a relation or join onto `target`, numbered next.
pub(super) fn on_list(
    on: &Toml,
    target: &TableShape,
    scope: &Scope,
    rule: &str,
) -> Result<On, String> {
    let on = on.as_table().ok_or(format!(
        "{rule}: on must map columns of {} to fields in scope, like {{ word_id = \"id\" }}",
        target.name
    ))?;
    let pairs = on
        .iter()
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
        .collect::<Result<_, String>>()?;
    let id = JoinId(scope.joins.get());
    scope.joins.set(id.0 + 1);
    Ok(On { id, pairs })
}

pub(super) fn table_shape<'s>(
    schema: &'s Schema,
    name: &str,
    rule: &str,
) -> Result<&'s TableShape, String> {
    schema.table(name).ok_or_else(|| {
        format!(
            "{rule} reads table {name}, which the source lacks (it has: {}); check the table name",
            schema.table_names()
        )
    })
}

/// Reads `join = [{ table, on, as, left }]`, adding each joined table to the innermost level.
pub(super) fn joins<'s>(
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
        let on = on_list(join.get("on").ok_or_else(bad)?, target, scope, rule)?;
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

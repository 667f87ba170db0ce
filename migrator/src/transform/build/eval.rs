//! Evaluating an item over its rows and writing it as DynamoDB JSON as it goes.

use super::errors::Where;
use super::select::Found;
use super::{Attribute, Builder, Built, Group, Keys, Level, Scope, NO_ROW};
use crate::item::{write_number_value, write_string_value, AttrValue, Number};
use crate::source::Value;
use crate::spec::{Against, Cast, Condition, Expr, ItemTypeId, NullPolicy, Piece, Test};
use crate::transform::convert::{compare, push_text, row_ulid, text, to_attr};
use crate::transform::errors::TransformError;

thread_local! {
    /// The line being written, kept from one item to the next.
    static SCRATCH: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// A scratch line larger than this (of a rare large item) is not kept.
const MAX_SCRATCH: usize = 1 << 20;

impl<'a> Builder<'a> {
    /// Builds the item of type `index` over `group` (its first rows are the root) as its line,
    /// `{"Item":{…}}`, written straight from the rows; `moved` is the number its sort key was
    /// moved to off a key another item has (`on_key_clash`).
    pub fn item(
        &self,
        index: ItemTypeId,
        group: &Group<'a>,
        moved: Option<&str>,
    ) -> Result<Built<'a>, TransformError> {
        for (data, row) in &group[0] {
            if *row != NO_ROW {
                data.usage.used(*row);
            }
        }
        let spec_item = &self.spec.items[index];
        let mut scope = self.scope(index, group);
        // Written in this thread's scratch line, then copied to a line of its own size: no
        // line grows (and is copied) several times.
        let mut json = SCRATCH.with_borrow_mut(std::mem::take);
        json.clear();
        json.push_str("{\"Item\":{");
        let (mut size, mut first) = (0, true);
        let mut keys = Vec::with_capacity(spec_item.keys.len());
        let sort_key = self.spec.table.sort_key.as_ref().map(|k| k.name.as_str());
        for top in &self.attributes[index] {
            let (name, attribute) = (&top.name, &top.attribute);
            let moved = moved.filter(|_| sort_key == Some(*name));
            let at = Where {
                item_type: &spec_item.name,
                attribute: name,
            };
            let value = |json: &mut String| {
                Ok(match attribute {
                    Attribute::Key(_) if moved.is_some() => {
                        let number = moved.and_then(|n| Number::parse(n).ok());
                        let value = AttrValue::N(number.expect("a moved sort key is a number"));
                        let size = leaf(&value, json);
                        keys.push((*name, value));
                        Some(size)
                    }
                    Attribute::Key(expr) => self.scalar(expr, &mut scope, &at)?.map(|value| {
                        let size = leaf(&value, json);
                        keys.push((*name, value));
                        size
                    }),
                    Attribute::Other(expr) => self.write(expr, &mut scope, &at, json)?,
                    Attribute::Type => Some(write_string_value(json, &spec_item.name)),
                })
            };
            if let Some(bytes) = element(&mut json, &mut first, Some(&top.json), value)? {
                size += name.len() + bytes;
            }
        }
        json.push_str("}}");
        let line = String::from(json.as_str());
        if json.capacity() <= MAX_SCRATCH {
            SCRATCH.with_borrow_mut(|scratch| *scratch = json);
        }
        Ok(Built {
            json: line,
            size,
            keys,
        })
    }

    /// Only the table's key attributes (partition and sort key) of the item of type `index`
    /// over `group`: what orders the plan, at a fraction of the cost of the whole item.
    pub fn key(&self, index: ItemTypeId, group: &Group<'a>) -> Result<Keys<'a>, TransformError> {
        let spec_item = &self.spec.items[index];
        let table = &self.spec.table;
        let mut scope = self.scope(index, group);
        let mut keys = Vec::with_capacity(2);
        for (name, expr) in &spec_item.keys {
            if name != &table.partition_key.name
                && table.sort_key.as_ref().is_none_or(|k| &k.name != name)
            {
                continue;
            }
            let at = Where {
                item_type: &spec_item.name,
                attribute: name,
            };
            if let Some(value) = self.scalar(expr, &mut scope, &at)? {
                keys.push((name.as_str(), value));
            }
        }
        Ok(keys)
    }

    pub(super) fn holds(&self, condition: &Condition, scope: &Scope) -> bool {
        let value = self.value(&condition.field, scope);
        let (comparison, against) = match &condition.test {
            Test::Equals(test) => {
                return match value {
                    Value::Null => test.accepts(None),
                    Value::Text(t) => test.accepts(Some(t)),
                    Value::Enum(t) => test.accepts(Some(t)),
                    v => test.accepts(Some(&text(v, &self.spec.timestamps))),
                }
            }
            Test::Compare(comparison, against) => (comparison, against),
        };
        let now = self.spec.as_of;
        let ordering = match (value, against) {
            (Value::Null, _) => return false,
            (v, Against::Value(w)) => compare(v, w),
            (Value::TimestampTz(t), Against::Now) => t.cmp(&now),
            // A timestamp without zone is taken as UTC, as everywhere in a plan.
            (Value::Timestamp(t), Against::Now) => t.cmp(&now.naive_utc()),
            (Value::Date(d), Against::Now) => d.cmp(&now.date_naive()),
            (_, Against::Now) => return false,
        };
        comparison.holds(ordering)
    }

    /// The value of a single-value expression: a template, a column or a constant, maybe
    /// inside `one` and `when` (keys are such, as the spec loader checks); `None` is absent.
    pub(super) fn scalar(
        &self,
        expr: &Expr,
        scope: &mut Scope<'a>,
        at: &Where,
    ) -> Result<Option<AttrValue>, TransformError> {
        match expr {
            Expr::Template {
                template,
                omit_if_null,
            } => {
                // Room for the usual key or id: the text is not grown piece by piece.
                let mut out = String::with_capacity(32);
                for piece in &template.pieces {
                    match piece {
                        Piece::Literal(s) => out.push_str(s),
                        Piece::Field {
                            field,
                            default,
                            ulid,
                        } => match self.value(field, scope) {
                            Value::Null => match default {
                                Some(d) => out.push_str(d),
                                None if *omit_if_null => return Ok(None),
                                None => return Err(self.null_error(field, scope, at)),
                            },
                            v if *ulid => {
                                let (data, row) = scope[field.level].slots[field.slot];
                                let made = row_ulid(v, &data.shape, &data.rows[row])
                                    .map_err(|m| self.value_error(scope, at, m))?;
                                out.push_str(&made);
                            }
                            v => push_text(v, &self.spec.timestamps, &mut out),
                        },
                    }
                }
                Ok(Some(AttrValue::S(out)))
            }
            Expr::Column {
                field,
                cast,
                format,
                join,
                nulls,
                required,
                allowed,
            } => match self.value(field, scope) {
                Value::Null if *required => {
                    let column = self.column_name(field, scope);
                    let message = format!("column {column} is NULL, but the attribute is required; fill it or filter such rows out in the spec");
                    Err(self.value_error(scope, at, message))
                }
                Value::Null => Ok(null(*nulls)),
                v => {
                    let format = format.as_ref().unwrap_or(&self.spec.timestamps);
                    if let Some(allowed) = allowed {
                        let found = text(v, format);
                        if !allowed.contains(&found) {
                            let column = self.column_name(field, scope);
                            let message = format!(
                                "column {column} is \"{found}\", which is not one of {}; fix the row or the spec's enum",
                                allowed.join(", ")
                            );
                            return Err(self.value_error(scope, at, message));
                        }
                    }
                    to_attr(v, *cast, format, join.as_deref())
                        .map(Some)
                        .map_err(|e| self.value_error(scope, at, e.to_string()))
                }
            },
            Expr::Const(value) => Ok(Some(value.clone())),
            Expr::One {
                relation,
                item,
                missing,
            } => match self.one(relation, *missing, scope) {
                Found::Level(level) => within(scope, level, |scope| self.scalar(item, scope, at)),
                Found::Null => Ok(Some(AttrValue::Null)),
                Found::Omit => Ok(None),
            },
            Expr::When { conditions, expr } => {
                if conditions.iter().all(|c| self.holds(c, scope)) {
                    self.scalar(expr, scope, at)
                } else {
                    Ok(None)
                }
            }
            Expr::Map(_) | Expr::List { .. } => {
                unreachable!("maps and lists are written, never keys: the spec loader checks")
            }
        }
    }

    /// Appends the DynamoDB JSON of `expr`'s value to `out` and returns the size DynamoDB
    /// counts for it (as [`AttrValue::size`] does); `None`, with nothing appended, when absent.
    pub(super) fn write(
        &self,
        expr: &Expr,
        scope: &mut Scope<'a>,
        at: &Where,
        out: &mut String,
    ) -> Result<Option<usize>, TransformError> {
        match expr {
            Expr::Map(entries) => {
                out.push_str("{\"M\":{");
                let (mut size, mut first) = (3, true);
                for (name, entry) in entries {
                    let value = |out: &mut String| self.write(entry, scope, at, out);
                    if let Some(bytes) = element(out, &mut first, Some(name.json()), value)? {
                        size += name.as_str().len() + bytes + 1;
                    }
                }
                out.push_str("}}");
                Ok(Some(size))
            }
            Expr::List { relation, item } => {
                out.push_str("{\"L\":[");
                let (mut size, mut first) = (3, true);
                for level in self.related(relation, scope) {
                    let value =
                        |out: &mut String| within(scope, level, |s| self.write(item, s, at, out));
                    if let Some(bytes) = element(out, &mut first, None, value)? {
                        size += bytes + 1;
                    }
                }
                out.push_str("]}");
                Ok(Some(size))
            }
            Expr::One {
                relation,
                item,
                missing,
            } => match self.one(relation, *missing, scope) {
                Found::Level(level) => {
                    within(scope, level, |scope| self.write(item, scope, at, out))
                }
                Found::Null => Ok(Some(leaf(&AttrValue::Null, out))),
                Found::Omit => Ok(None),
            },
            Expr::When { conditions, expr } => {
                if conditions.iter().all(|c| self.holds(c, scope)) {
                    self.write(expr, scope, at, out)
                } else {
                    Ok(None)
                }
            }
            // Text and whole numbers, the most common values, written as they are, no copy.
            Expr::Column {
                field,
                cast,
                required: false,
                allowed: None,
                ..
            } => match (self.value(field, scope), cast) {
                (Value::Text(text), None | Some(Cast::String)) => {
                    Ok(Some(write_string_value(out, text)))
                }
                (Value::Enum(text), None | Some(Cast::String)) => {
                    Ok(Some(write_string_value(out, text)))
                }
                (Value::Int(i), None | Some(Cast::Number)) => Ok(Some(write_number_value(
                    out,
                    itoa::Buffer::new().format(*i),
                ))),
                _ => Ok(self.scalar(expr, scope, at)?.map(|value| leaf(&value, out))),
            },
            // A template, a constant, or a column whose value is checked.
            Expr::Template { .. } | Expr::Const(_) | Expr::Column { .. } => {
                Ok(self.scalar(expr, scope, at)?.map(|value| leaf(&value, out)))
            }
        }
    }
}

/// Runs `f` with `level` as the innermost level of `scope`.
pub(super) fn within<'a, T>(
    scope: &mut Scope<'a>,
    level: Level<'a>,
    f: impl FnOnce(&mut Scope<'a>) -> T,
) -> T {
    scope.push(level);
    let result = f(scope);
    scope.pop();
    result
}

/// Appends one element of a JSON object (`"name":value`, given `"name":` as JSON) or array
/// (`value`), after a comma unless it is the first; when `value` writes nothing (the value is
/// absent) the element is taken back out. Returns the value's size.
pub(super) fn element<E>(
    out: &mut String,
    first: &mut bool,
    name: Option<&str>,
    value: impl FnOnce(&mut String) -> Result<Option<usize>, E>,
) -> Result<Option<usize>, E> {
    let mark = out.len();
    if !*first {
        out.push(',');
    }
    if let Some(name) = name {
        out.push_str(name);
    }
    let written = value(out)?;
    match written {
        Some(_) => *first = false,
        None => out.truncate(mark),
    }
    Ok(written)
}

/// Appends a value's DynamoDB JSON to `out`; returns its size.
pub(super) fn leaf(value: &AttrValue, out: &mut String) -> usize {
    value.write_json(out);
    value.size()
}

pub(super) fn null(policy: NullPolicy) -> Option<AttrValue> {
    match policy {
        NullPolicy::Null => Some(AttrValue::Null),
        NullPolicy::Omit => None,
    }
}

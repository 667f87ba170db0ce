//! How one root row becomes one item: keys and attributes evaluated over the rows in scope,
//! nested lists and maps gathered from related rows through hash indexes on their join columns.

use std::collections::{BTreeMap, HashMap};

use super::convert::{compare, text, to_attr};
use super::{AttrValue, Item, Planned, TableData, Tables, TransformError};
use crate::source::Value;
use crate::spec::{Condition, Expr, FieldRef, NullPolicy, Piece, Relation, Spec, TimeFormat};

/// Every table of the spec's source: accounting covers each of them.
pub fn tables_read(spec: &Spec) -> Vec<String> {
    spec.schema.tables.iter().map(|t| t.name.clone()).collect()
}

/// Rows in scope: level 0 the root row, then one level per nested relation (table, then joins).
type Scope<'a> = Vec<Vec<(&'a TableData, usize)>>;

/// Rows of a table by the text of some of their columns.
type Index = HashMap<String, Vec<usize>>;

/// Builds items; holds the lookup indexes and the names of the rules that drop rows.
pub struct Builder<'a> {
    spec: &'a Spec,
    tables: &'a Tables,
    indexes: HashMap<(String, Vec<usize>), Index>,
    rules: Vec<String>,
}

/// Usage code of the first rule; 0 is "untouched", 1 is "in an item".
const FIRST_RULE: u16 = 2;

fn index_key(values: impl Iterator<Item = Option<String>>) -> Option<String> {
    let mut key = String::new();
    for (i, v) in values.enumerate() {
        if i > 0 {
            key.push('\u{1f}');
        }
        key.push_str(&v?);
    }
    Some(key)
}

fn relations(expr: &Expr, out: &mut Vec<Relation>) {
    match expr {
        Expr::Map(entries) => entries.iter().for_each(|(_, e)| relations(e, out)),
        Expr::List { relation, item } | Expr::One { relation, item, .. } => {
            out.push(relation.clone());
            relations(item, out);
        }
        _ => {}
    }
}

impl<'a> Builder<'a> {
    /// Prepares the indexes every relation of the spec looks rows up in.
    pub fn new(spec: &'a Spec, tables: &'a Tables) -> Self {
        let mut all = Vec::new();
        let mut rules = Vec::new();
        for item in &spec.items {
            rules.push(format!("{} where", item.name));
            for (_, expr) in item.keys.iter().chain(&item.attributes) {
                relations(expr, &mut all);
            }
        }
        let mut wanted: Vec<(String, Vec<usize>)> = Vec::new();
        for relation in &all {
            for suffix in ["where", "join", "distinct", "limit"] {
                rules.push(format!("{} {suffix}", relation.rule));
            }
            wanted.push((
                relation.table.clone(),
                relation.on.iter().map(|(c, _)| *c).collect(),
            ));
            for join in &relation.joins {
                wanted.push((
                    join.table.clone(),
                    join.on.iter().map(|(c, _)| *c).collect(),
                ));
            }
        }
        wanted.sort();
        wanted.dedup();
        let indexes = wanted
            .into_iter()
            .map(|(table, columns)| {
                let data = &tables.tables[&table];
                let mut index: Index = HashMap::new();
                for (i, row) in data.rows.iter().enumerate() {
                    let key = index_key(
                        columns
                            .iter()
                            .map(|&c| key_text(&row.values[c], &spec.timestamps)),
                    );
                    if let Some(key) = key {
                        index.entry(key).or_default().push(i);
                    }
                }
                ((table, columns), index)
            })
            .collect();
        Builder {
            spec,
            tables,
            indexes,
            rules,
        }
    }

    /// The names of the rules that drop rows, in code order.
    pub fn rules(&self) -> &[String] {
        &self.rules
    }

    fn code(&self, rule: &str) -> u16 {
        let at = self
            .rules
            .iter()
            .position(|r| r == rule)
            .expect("every rule is registered in new");
        FIRST_RULE + at as u16
    }

    /// Builds the item of type `index` from row `row` of its root table, or `None` when the
    /// row does not pass the item type's conditions.
    pub fn item(&self, index: usize, row: usize) -> Result<Option<Planned>, TransformError> {
        let spec_item = &self.spec.items[index];
        let root = &self.tables.tables[&spec_item.root];
        let mut scope: Scope = vec![vec![(root, row)]];
        if !spec_item.conditions.iter().all(|c| self.holds(c, &scope)) {
            root.usage
                .dropped(row, self.code(&format!("{} where", spec_item.name)));
            return Ok(None);
        }
        root.usage.used(row);
        let mut attributes = BTreeMap::new();
        for (name, expr) in spec_item.keys.iter().chain(&spec_item.attributes) {
            let at = Where {
                item_type: &spec_item.name,
                attribute: name,
            };
            if let Some(value) = self.eval(expr, &mut scope, &at)? {
                attributes.insert(name.clone(), value);
            }
        }
        if let Some(type_attribute) = &self.spec.table.type_attribute {
            attributes.insert(type_attribute.clone(), AttrValue::S(spec_item.name.clone()));
        }
        Ok(Some(Planned {
            item: Item {
                item_type: spec_item.name.clone(),
                attributes,
            },
            table: root.shape.name.clone(),
            row: row_key(root, row),
        }))
    }

    fn value<'s>(&self, field: &FieldRef, scope: &'s Scope) -> &'s Value {
        let (data, row) = scope[field.level][field.slot];
        &data.rows[row].values[field.column]
    }

    fn holds(&self, condition: &Condition, scope: &Scope) -> bool {
        let value = self.value(&condition.field, scope);
        let found = condition
            .values
            .iter()
            .any(|expected| match (expected, value) {
                (None, Value::Null) => true,
                (None, _) | (Some(_), Value::Null) => false,
                (Some(e), v) => text(v, &self.spec.timestamps) == *e,
            });
        found != condition.negate
    }

    fn eval(
        &self,
        expr: &Expr,
        scope: &mut Scope<'a>,
        at: &Where,
    ) -> Result<Option<AttrValue>, TransformError> {
        match expr {
            Expr::Template(template) => {
                let mut out = String::new();
                for piece in &template.pieces {
                    match piece {
                        Piece::Literal(s) => out.push_str(s),
                        Piece::Field { field, default } => match self.value(field, scope) {
                            Value::Null => match default {
                                Some(d) => out.push_str(d),
                                None => return Err(self.null_error(field, scope, at)),
                            },
                            v => out.push_str(&text(v, &self.spec.timestamps)),
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
            } => match self.value(field, scope) {
                Value::Null => Ok(null(*nulls)),
                v => {
                    let format = format.as_ref().unwrap_or(&self.spec.timestamps);
                    to_attr(v, *cast, format, join.as_deref())
                        .map(Some)
                        .map_err(|e| self.value_error(scope, at, e.to_string()))
                }
            },
            Expr::Const(value) => Ok(Some(value.clone())),
            Expr::Map(entries) => {
                let mut map = BTreeMap::new();
                for (name, e) in entries {
                    if let Some(v) = self.eval(e, scope, at)? {
                        map.insert(name.clone(), v);
                    }
                }
                Ok(Some(AttrValue::M(map)))
            }
            Expr::List { relation, item } => {
                let mut values = Vec::new();
                for level in self.related(relation, scope) {
                    scope.push(level);
                    let value = self.eval(item, scope, at);
                    scope.pop();
                    if let Some(v) = value? {
                        values.push(v);
                    }
                }
                Ok(Some(AttrValue::L(values)))
            }
            Expr::One {
                relation,
                item,
                missing,
            } => match self.related(relation, scope).into_iter().next() {
                None => Ok(null(*missing)),
                Some(level) => {
                    scope.push(level);
                    let value = self.eval(item, scope, at);
                    scope.pop();
                    value
                }
            },
        }
    }

    /// The related rows of `relation` for the rows in `scope`, each as a scope level.
    fn related(
        &self,
        relation: &Relation,
        scope: &mut Scope<'a>,
    ) -> Vec<Vec<(&'a TableData, usize)>> {
        let child = &self.tables.tables[&relation.table];
        let mut levels: Vec<Vec<(&'a TableData, usize)>> =
            match self.lookup(&relation.table, &relation.on, scope) {
                Some(rows) => rows.iter().map(|&r| vec![(child, r)]).collect(),
                None => return Vec::new(),
            };
        for join in &relation.joins {
            let target = &self.tables.tables[&join.table];
            let mut joined = Vec::new();
            for level in levels {
                scope.push(level);
                let matches = self
                    .lookup(&join.table, &join.on, scope)
                    .map(<[usize]>::to_vec);
                let level = scope.pop().expect("pushed above");
                match matches {
                    Some(rows) if !rows.is_empty() => {
                        for r in rows {
                            let mut extended = level.clone();
                            extended.push((target, r));
                            joined.push(extended);
                        }
                    }
                    _ => self.drop_level(&level, &format!("{} join", relation.rule)),
                }
            }
            levels = joined;
        }
        if !relation.conditions.is_empty() {
            let mut kept = Vec::new();
            for level in levels {
                scope.push(level);
                let pass = relation.conditions.iter().all(|c| self.holds(c, scope));
                let level = scope.pop().expect("pushed above");
                if pass {
                    kept.push(level);
                } else {
                    self.drop_level(&level, &format!("{} where", relation.rule));
                }
            }
            levels = kept;
        }
        levels.sort_by(|a, b| self.order(relation, scope, a, b));
        if !relation.distinct.is_empty() {
            let mut seen = std::collections::HashSet::new();
            let mut kept = Vec::new();
            for level in levels {
                scope.push(level);
                let key: Vec<String> = relation
                    .distinct
                    .iter()
                    .map(|f| format!("{:?}", self.value(f, scope)))
                    .collect();
                let level = scope.pop().expect("pushed above");
                if seen.insert(key) {
                    kept.push(level);
                } else {
                    self.drop_level(&level, &format!("{} distinct", relation.rule));
                }
            }
            levels = kept;
        }
        if let Some(limit) = relation.limit {
            if levels.len() > limit {
                for level in levels.drain(limit..) {
                    self.drop_level(&level, &format!("{} limit", relation.rule));
                }
            }
        }
        for level in &levels {
            for (data, row) in level {
                data.usage.used(*row);
            }
        }
        levels
    }

    fn lookup(&self, table: &str, on: &[(usize, FieldRef)], scope: &Scope) -> Option<&[usize]> {
        let key = index_key(
            on.iter()
                .map(|(_, f)| key_text(self.value(f, scope), &self.spec.timestamps)),
        )?;
        let columns: Vec<usize> = on.iter().map(|(c, _)| *c).collect();
        let index = &self.indexes[&(table.to_string(), columns)];
        Some(index.get(&key).map_or(&[], Vec::as_slice))
    }

    fn drop_level(&self, level: &[(&TableData, usize)], rule: &str) {
        let code = self.code(rule);
        for (data, row) in level {
            data.usage.dropped(*row, code);
        }
    }

    /// Orders related rows by the relation's order, then by every value, so ties never
    /// depend on the order rows arrived in.
    fn order(
        &self,
        relation: &Relation,
        scope: &mut Scope<'a>,
        a: &[(&'a TableData, usize)],
        b: &[(&'a TableData, usize)],
    ) -> std::cmp::Ordering {
        let level = scope.len();
        for (field, descending) in &relation.order {
            let (x, y) = if field.level == level {
                let ((da, ra), (db, rb)) = (a[field.slot], b[field.slot]);
                (
                    &da.rows[ra].values[field.column],
                    &db.rows[rb].values[field.column],
                )
            } else {
                let v = self.value(field, scope);
                (v, v)
            };
            let ordering = compare(x, y);
            let ordering = if *descending {
                ordering.reverse()
            } else {
                ordering
            };
            if ordering.is_ne() {
                return ordering;
            }
        }
        for ((da, ra), (db, rb)) in a.iter().zip(b) {
            for (x, y) in da.rows[*ra].values.iter().zip(&db.rows[*rb].values) {
                let ordering = compare(x, y);
                if ordering.is_ne() {
                    return ordering;
                }
            }
        }
        std::cmp::Ordering::Equal
    }

    fn root<'s>(&self, scope: &'s Scope) -> (&'s TableData, usize) {
        scope[0][0]
    }

    fn null_error(&self, field: &FieldRef, scope: &Scope, at: &Where) -> TransformError {
        let (root, row) = self.root(scope);
        let (data, _) = scope[field.level][field.slot];
        TransformError::NullKey {
            item_type: at.item_type.to_string(),
            table: root.shape.name.clone(),
            row: row_key(root, row),
            field: if field.level == 0 {
                data.shape.columns[field.column].name.clone()
            } else {
                format!(
                    "{}.{}",
                    data.shape.name, data.shape.columns[field.column].name
                )
            },
            attribute: at.attribute.to_string(),
        }
    }

    fn value_error(&self, scope: &Scope, at: &Where, message: String) -> TransformError {
        let (root, row) = self.root(scope);
        TransformError::Value {
            item_type: at.item_type.to_string(),
            table: root.shape.name.clone(),
            row: row_key(root, row),
            attribute: at.attribute.to_string(),
            message,
        }
    }
}

/// The item type and attribute being built, for messages.
struct Where<'a> {
    item_type: &'a str,
    attribute: &'a str,
}

fn null(policy: NullPolicy) -> Option<AttrValue> {
    match policy {
        NullPolicy::Null => Some(AttrValue::Null),
        NullPolicy::Omit => None,
    }
}

/// The text a value is joined on; NULL joins nothing.
fn key_text(value: &Value, format: &TimeFormat) -> Option<String> {
    match value {
        Value::Null => None,
        v => Some(text(v, format)),
    }
}

/// Names a row by its primary key (`id=7`, `word_id=7, sentence_id=3`), or by its position.
pub fn row_key(data: &TableData, row: usize) -> String {
    let values = &data.rows[row].values;
    if data.shape.primary_key.is_empty() {
        return format!("#{}", row + 1);
    }
    data.shape
        .primary_key
        .iter()
        .map(|&c| {
            format!(
                "{}={}",
                data.shape.columns[c].name,
                text(&values[c], &TimeFormat::Iso8601)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

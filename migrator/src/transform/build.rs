//! How root rows become items: each item type's rows are joined, filtered and grouped
//! ([`Builder::roots`]), then each group becomes one item ([`Builder::item`]) whose attributes
//! are evaluated over the rows in scope and written as DynamoDB JSON as they are (keys are
//! single values, kept for the checks: [`Builder::key`]); nested lists and maps gather related
//! rows through hash indexes on their join columns.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use super::convert::{compare, push_text, text, to_attr};
use super::{TableData, Tables, TransformError};
use crate::item::{write_json_string, write_number_value, write_string_value, AttrValue};
use crate::source::Value;
use crate::spec::{
    Cast, Condition, Expr, FieldRef, ItemSpec, Join, Missing, NullPolicy, Piece, Relation,
    RowSource, Spec, TimeFormat,
};

/// Stands for the missing row of a left join: every column reads as NULL.
const NO_ROW: usize = usize::MAX;
static NULL: Value = Value::Null;

/// The rows of one level of scope: a table's row and the rows joined to it.
type Slots<'a> = Vec<(&'a TableData, usize)>;

/// The rows one item is built over: its root row (with the rows joined to it) first, then the
/// other rows of its group, if the item type groups.
pub type Group<'a> = Vec<Slots<'a>>;

/// One level of scope; `group` holds the rows a grouped element stands for.
#[derive(Clone)]
pub struct Level<'a> {
    slots: Slots<'a>,
    group: Vec<Slots<'a>>,
}

/// Rows in scope: level 0 the item's root row, then one level per nested relation.
type Scope<'a> = Vec<Level<'a>>;

/// Rows of a table by the values of some of their columns: by the whole number itself when
/// the index is on one column of whole numbers (most joins are on ids), else by the columns'
/// text. Both find the same rows: a whole number's text is its decimal form.
enum Index {
    Ints(HashMap<i64, Rows>),
    Texts(HashMap<Box<str>, Rows>),
}

/// The rows one index key names: most keys (ids) name one, which then needs no vector.
enum Rows {
    One(usize),
    Many(Box<[usize]>),
}

impl Rows {
    fn as_slice(&self) -> &[usize] {
        match self {
            Rows::One(row) => std::slice::from_ref(row),
            Rows::Many(rows) => rows,
        }
    }
}

/// Key attributes of an item by name, as evaluated (absent ones left out).
pub type Keys<'a> = Vec<(&'a str, AttrValue)>;

/// An item as it is written: its line, the size DynamoDB counts for it, and its key
/// attributes (the table's and its indexes'), for the checks.
pub struct Built<'a> {
    /// `{"Item":{…}}`, attributes in name order.
    pub json: String,
    pub size: usize,
    pub keys: Keys<'a>,
}

/// How one top-level attribute of an item is made.
enum Attribute<'a> {
    /// A key attribute of the table or an index: a single value, kept for the checks.
    Key(&'a Expr),
    Other(&'a Expr),
    /// The table's type attribute: the item type's name.
    Type,
}

/// A rule that drops rows, as the item type or relation it belongs to and what it does
/// (`"where"`, `"join"`, …): named `"{name} {suffix}"` in reports, formatted only on a drop.
type Rule<'r> = (&'r str, &'r str);

/// Usage code of the first rule; 0 is "untouched", 1 is "in an item".
const FIRST_RULE: u16 = 2;

/// Builds items; holds the lookup indexes, the rules that drop rows and the events counted.
pub struct Builder<'a> {
    spec: &'a Spec,
    tables: &'a Tables,
    indexes: Vec<Index>,
    /// Which index an `on` list of the spec looks up, by the list's address in the spec.
    index_of: HashMap<usize, usize>,
    rules: Vec<String>,
    codes: HashMap<String, u16>,
    events: Vec<(String, AtomicU64)>,
    /// Per item type, its top-level attributes in name order: the order they are written in.
    attributes: Vec<Vec<(&'a str, Attribute<'a>)>>,
}

/// Identifies an `on` list of the spec by its address: the spec outlives the builder.
fn on_id(on: &[(usize, FieldRef)]) -> usize {
    on.as_ptr() as usize
}

/// Appends the text rows of an index are found by: the values' texts, joined by a unit
/// separator. False when a value is NULL, which joins nothing.
fn push_index_key<'v>(
    values: impl Iterator<Item = &'v Value>,
    format: &TimeFormat,
    out: &mut String,
) -> bool {
    for (i, v) in values.enumerate() {
        if matches!(v, Value::Null) {
            return false;
        }
        if i > 0 {
            out.push('\u{1f}');
        }
        push_text(v, format, out);
    }
    true
}

/// An item type's top-level attributes in name order. The spec loader keeps the names of keys
/// (key attributes of the table and its indexes only), other attributes and the type attribute
/// apart.
fn attributes<'a>(spec: &'a Spec, item: &'a ItemSpec) -> Vec<(&'a str, Attribute<'a>)> {
    let mut all: BTreeMap<&str, Attribute> = BTreeMap::new();
    for (name, expr) in &item.keys {
        all.insert(name, Attribute::Key(expr));
    }
    for (name, expr) in &item.attributes {
        all.insert(name, Attribute::Other(expr));
    }
    if let Some(name) = &spec.table.type_attribute {
        all.insert(name, Attribute::Type);
    }
    all.into_iter().collect()
}

fn relations<'e>(expr: &'e Expr, out: &mut Vec<(&'e Relation, bool)>) {
    match expr {
        Expr::Map(entries) => entries.iter().for_each(|(_, e)| relations(e, out)),
        Expr::List { relation, item } => {
            out.push((relation, false));
            relations(item, out);
        }
        Expr::One {
            relation,
            item,
            missing,
        } => {
            out.push((relation, *missing == Missing::NullRow));
            relations(item, out);
        }
        Expr::When { expr, .. } => relations(expr, out),
        _ => {}
    }
}

impl<'a> Builder<'a> {
    /// Prepares the indexes every relation and join of the spec looks rows up in.
    pub fn new(spec: &'a Spec, tables: &'a Tables) -> Self {
        let mut all = Vec::new();
        let mut rules = Vec::new();
        // (table, columns, address of the spec's on list)
        let mut wanted: Vec<(String, Vec<usize>, usize)> = Vec::new();
        let join_wanted = |join: &Join| {
            (
                join.table.clone(),
                join.on.iter().map(|(c, _)| *c).collect(),
                on_id(&join.on),
            )
        };
        // A window of one item type looks rows up only for that type's joins and relations.
        for (t, item) in spec.items.iter().enumerate() {
            for suffix in ["where", "join", "group"] {
                rules.push(format!("{} {suffix}", item.name));
            }
            let indexed = tables.plans(t);
            if indexed {
                wanted.extend(item.joins.iter().map(join_wanted));
            }
            let mut found = Vec::new();
            for (_, expr) in item.keys.iter().chain(&item.attributes) {
                relations(expr, &mut found);
            }
            all.extend(found.into_iter().map(|(r, missing)| (r, missing, indexed)));
        }
        let mut events = Vec::new();
        for (relation, counts_missing, indexed) in &all {
            for suffix in ["where", "join", "distinct", "limit"] {
                rules.push(format!("{} {suffix}", relation.rule));
            }
            if *counts_missing {
                events.push((format!("{} missing", relation.rule), AtomicU64::new(0)));
            }
            if !indexed {
                continue;
            }
            if let RowSource::Table(table) = &relation.source {
                for on in &relation.on {
                    wanted.push((
                        table.clone(),
                        on.iter().map(|(c, _)| *c).collect(),
                        on_id(on),
                    ));
                }
            }
            wanted.extend(relation.joins.iter().map(join_wanted));
        }
        let mut indexes = Vec::new();
        let mut built: HashMap<(String, Vec<usize>), usize> = HashMap::new();
        let mut index_of = HashMap::new();
        for (table, columns, id) in wanted {
            let at = *built
                .entry((table.clone(), columns.clone()))
                .or_insert_with(|| {
                    indexes.push(index(&tables.tables[&table], &columns, &spec.timestamps));
                    indexes.len() - 1
                });
            index_of.insert(id, at);
        }
        let codes = rules
            .iter()
            .enumerate()
            .map(|(i, r)| (r.clone(), FIRST_RULE + i as u16))
            .collect();
        let attributes = spec
            .items
            .iter()
            .map(|item| attributes(spec, item))
            .collect();
        Builder {
            spec,
            tables,
            indexes,
            index_of,
            rules,
            codes,
            events,
            attributes,
        }
    }

    /// The names of the rules that drop rows, in code order.
    pub fn rules(&self) -> &[String] {
        &self.rules
    }

    /// Events counted while building (`TYPE.attribute missing`: a `one` that found no row).
    pub fn events(&self) -> Vec<(String, u64)> {
        self.events
            .iter()
            .map(|(name, n)| (name.clone(), n.load(Ordering::Relaxed)))
            .collect()
    }

    fn code(&self, (name, suffix): Rule) -> u16 {
        self.codes[&format!("{name} {suffix}")]
    }

    /// The groups of root rows of item type `index`: one item each, built over its first row.
    /// `chosen` holds, per earlier item type, the root rows its items were built over (needed,
    /// and filled, only for the types a `with_item` or `without_item` names).
    pub fn roots(&self, index: usize, chosen: &[HashSet<usize>]) -> Vec<Group<'a>> {
        let spec_item = &self.spec.items[index];
        let root = &self.tables.tables[&spec_item.root];
        let mut scope: Scope<'a> = Vec::new();
        let combos: Vec<Slots<'a>> = (0..root.roots.unwrap_or(root.rows.len()))
            .map(|r| slots((root, r), spec_item.joins.len()))
            .collect();
        let combos = self.join_all(
            &spec_item.joins,
            combos,
            &mut scope,
            (&spec_item.name, "join"),
        );
        let chosen_in = |combo: &Slots, other: usize| {
            let other_root = &self.spec.items[other].root;
            combo
                .iter()
                .find(|(data, _)| &data.shape.name == other_root)
                .is_some_and(|(_, row)| chosen[other].contains(row))
        };
        let mut kept = Vec::new();
        for combo in combos {
            scope.push(Level {
                slots: combo,
                group: Vec::new(),
            });
            let pass = spec_item.conditions.iter().all(|c| self.holds(c, &scope));
            let combo = scope.pop().expect("pushed above").slots;
            let pass = pass
                && spec_item
                    .with_item
                    .is_none_or(|other| chosen_in(&combo, other))
                && spec_item
                    .without_item
                    .is_none_or(|other| !chosen_in(&combo, other));
            if pass {
                kept.push(combo);
            } else {
                self.drop_slots(&combo, (&spec_item.name, "where"));
            }
        }
        if spec_item.group_by.is_empty() {
            return kept.into_iter().map(|c| vec![c]).collect();
        }
        kept.sort_by(|a, b| self.order(&spec_item.order, &scope, a, b));
        let groups = self.group(&spec_item.group_by, kept, &mut scope);
        for group in &groups {
            for rest in &group[1..] {
                self.drop_slots(rest, (&spec_item.name, "group"));
            }
        }
        groups
    }

    /// The spec items are built for.
    pub fn spec(&self) -> &'a Spec {
        self.spec
    }

    /// The table and row (by primary key) an item built over `group` comes from.
    pub fn origin(&self, group: &Group<'a>) -> (String, String) {
        let (root, row) = group[0][0];
        (root.shape.name.clone(), row_key(root, row))
    }

    /// Builds the item of type `index` over `group` (its first rows are the root) as its line,
    /// `{"Item":{…}}`, written straight from the rows; `known_size` is its size when known, to
    /// make room for the line at once.
    pub fn item(
        &self,
        index: usize,
        group: &Group<'a>,
        known_size: Option<usize>,
    ) -> Result<Built<'a>, TransformError> {
        for (data, row) in &group[0] {
            if *row != NO_ROW {
                data.usage.used(*row);
            }
        }
        let spec_item = &self.spec.items[index];
        let mut scope = self.scope(index, group);
        // Names and values, and about half as much again of JSON around them.
        let mut json = String::with_capacity(known_size.map_or(256, |s| s * 3 / 2 + 64));
        json.push_str("{\"Item\":{");
        let (mut size, mut keys, mut first) = (0, Vec::new(), true);
        for (name, attribute) in &self.attributes[index] {
            let at = Where {
                item_type: &spec_item.name,
                attribute: name,
            };
            let value = |json: &mut String| {
                Ok(match attribute {
                    Attribute::Key(expr) => self.scalar(expr, &mut scope, &at)?.map(|value| {
                        let size = leaf(&value, json);
                        keys.push((*name, value));
                        size
                    }),
                    Attribute::Other(expr) => self.write(expr, &mut scope, &at, json)?,
                    Attribute::Type => Some(write_string_value(json, &spec_item.name)),
                })
            };
            if let Some(bytes) = element(&mut json, &mut first, Some(name), value)? {
                size += name.len() + bytes;
            }
        }
        json.push_str("}}");
        Ok(Built { json, size, keys })
    }

    /// Only the table's key attributes (partition and sort key) of the item of type `index`
    /// over `group`: what orders the plan, at a fraction of the cost of the whole item.
    pub fn key(&self, index: usize, group: &Group<'a>) -> Result<Keys<'a>, TransformError> {
        let spec_item = &self.spec.items[index];
        let table = &self.spec.table;
        let mut scope = self.scope(index, group);
        let mut keys = Vec::new();
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

    /// The scope an item of type `index` over `group` is evaluated in.
    fn scope(&self, index: usize, group: &Group<'a>) -> Scope<'a> {
        // Only an item type that groups its roots lists its group (`list = "@group"`).
        let grouped = !self.spec.items[index].group_by.is_empty();
        vec![Level {
            slots: group[0].clone(),
            group: if grouped { group.clone() } else { Vec::new() },
        }]
    }

    fn value<'s>(&self, field: &FieldRef, scope: &'s Scope) -> &'s Value {
        let (data, row) = scope[field.level].slots[field.slot];
        if row == NO_ROW {
            &NULL
        } else {
            &data.rows[row].values[field.column]
        }
    }

    fn holds(&self, condition: &Condition, scope: &Scope) -> bool {
        match self.value(&condition.field, scope) {
            Value::Null => condition.test.accepts(None),
            Value::Text(t) | Value::Enum(t) => condition.test.accepts(Some(t)),
            v => condition
                .test
                .accepts(Some(&text(v, &self.spec.timestamps))),
        }
    }

    /// The value of a single-value expression: a template, a column or a constant, maybe
    /// inside `one` and `when` (keys are such, as the spec loader checks); `None` is absent.
    fn scalar(
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
                let mut out = String::new();
                for piece in &template.pieces {
                    match piece {
                        Piece::Literal(s) => out.push_str(s),
                        Piece::Field { field, default } => match self.value(field, scope) {
                            Value::Null => match default {
                                Some(d) => out.push_str(d),
                                None if *omit_if_null => return Ok(None),
                                None => return Err(self.null_error(field, scope, at)),
                            },
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
    fn write(
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
                    if let Some(bytes) = element(out, &mut first, Some(name), value)? {
                        size += name.len() + bytes + 1;
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
            Expr::Column { field, cast, .. } => match (self.value(field, scope), cast) {
                (Value::Text(text) | Value::Enum(text), None | Some(Cast::String)) => {
                    Ok(Some(write_string_value(out, text)))
                }
                (Value::Int(i), None | Some(Cast::Number)) => Ok(Some(write_number_value(
                    out,
                    itoa::Buffer::new().format(*i),
                ))),
                _ => Ok(self.scalar(expr, scope, at)?.map(|value| leaf(&value, out))),
            },
            Expr::Template { .. } | Expr::Const(_) => {
                Ok(self.scalar(expr, scope, at)?.map(|value| leaf(&value, out)))
            }
        }
    }

    /// The level a `one` evaluates its item in: the first related row, or what `missing` says.
    fn one(&self, relation: &Relation, missing: Missing, scope: &mut Scope<'a>) -> Found<'a> {
        match self.related(relation, scope).into_iter().next() {
            Some(level) => Found::Level(level),
            None => match missing {
                Missing::Null => Found::Null,
                Missing::Omit => Found::Omit,
                Missing::NullRow => {
                    self.count(&format!("{} missing", relation.rule));
                    Found::Level(self.null_level(relation))
                }
            },
        }
    }

    fn count(&self, event: &str) {
        if let Some((_, n)) = self.events.iter().find(|(name, _)| name == event) {
            n.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A level whose rows are all missing, for `missing = "nulls"`.
    fn null_level(&self, relation: &Relation) -> Level<'a> {
        let RowSource::Table(table) = &relation.source else {
            unreachable!("the spec allows missing = \"nulls\" only on a table relation")
        };
        let mut slots = vec![(&self.tables.tables[table], NO_ROW)];
        slots.extend(
            relation
                .joins
                .iter()
                .map(|j| (&self.tables.tables[&j.table], NO_ROW)),
        );
        Level {
            slots,
            group: Vec::new(),
        }
    }

    /// Extends each combination of rows with the rows each join matches.
    fn join_all(
        &self,
        joins: &[Join],
        mut combos: Vec<Slots<'a>>,
        scope: &mut Scope<'a>,
        rule: Rule,
    ) -> Vec<Slots<'a>> {
        for join in joins {
            let target = &self.tables.tables[&join.table];
            let mut joined = Vec::with_capacity(combos.len());
            for combo in combos {
                scope.push(Level {
                    slots: combo,
                    group: Vec::new(),
                });
                let matches = self.lookup(&join.on, scope);
                let mut combo = scope.pop().expect("pushed above").slots;
                let Some((&last, others)) = matches.split_last() else {
                    if join.left {
                        combo.push((target, NO_ROW));
                        joined.push(combo);
                    } else {
                        self.drop_slots(&combo, rule);
                    }
                    continue;
                };
                for &r in others {
                    let mut extended = combo.clone();
                    extended.push((target, r));
                    joined.push(extended);
                }
                // The last match takes the combination itself: one match is the common case.
                combo.push((target, last));
                joined.push(combo);
            }
            combos = joined;
        }
        combos
    }

    /// The related rows of `relation` for the rows in `scope`, each as a scope level.
    fn related(&self, relation: &Relation, scope: &mut Scope<'a>) -> Vec<Level<'a>> {
        let mut combos: Vec<Slots<'a>> = match &relation.source {
            RowSource::Group => scope.last().map(|l| l.group.clone()).unwrap_or_default(),
            RowSource::Table(table) => {
                let child = &self.tables.tables[table];
                let mut rows: Vec<usize> = relation
                    .on
                    .iter()
                    .flat_map(|on| self.lookup(on, scope).iter().copied())
                    .collect();
                if relation.on.len() > 1 {
                    rows.sort_unstable();
                    rows.dedup();
                }
                rows.into_iter()
                    .map(|r| slots((child, r), relation.joins.len()))
                    .collect()
            }
        };
        combos = self.join_all(&relation.joins, combos, scope, (&relation.rule, "join"));
        if !relation.conditions.is_empty() {
            let mut kept = Vec::new();
            for combo in combos {
                scope.push(Level {
                    slots: combo,
                    group: Vec::new(),
                });
                let pass = relation.conditions.iter().all(|c| self.holds(c, scope));
                let combo = scope.pop().expect("pushed above").slots;
                if pass {
                    kept.push(combo);
                } else {
                    self.drop_slots(&combo, (&relation.rule, "where"));
                }
            }
            combos = kept;
        }
        combos.sort_by(|a, b| self.order(&relation.order, scope, a, b));
        if !relation.distinct.is_empty() {
            let mut seen = HashSet::new();
            let mut kept = Vec::new();
            for combo in combos {
                let key = self.key_of(&relation.distinct, &combo, scope);
                if seen.insert(key) {
                    kept.push(combo);
                } else {
                    self.drop_slots(&combo, (&relation.rule, "distinct"));
                }
            }
            combos = kept;
        }
        let mut levels: Vec<Level<'a>> = if relation.group.is_empty() {
            combos
                .into_iter()
                .map(|slots| Level {
                    slots,
                    group: Vec::new(),
                })
                .collect()
        } else {
            self.group(&relation.group, combos, scope)
                .into_iter()
                .map(|group| Level {
                    slots: group[0].clone(),
                    group,
                })
                .collect()
        };
        if let Some(limit) = relation.limit {
            if levels.len() > limit {
                for level in levels.drain(limit..) {
                    for combo in std::iter::once(&level.slots).chain(&level.group) {
                        self.drop_slots(combo, (&relation.rule, "limit"));
                    }
                }
            }
        }
        for level in &levels {
            for combo in std::iter::once(&level.slots).chain(&level.group) {
                for (data, row) in combo {
                    if *row != NO_ROW {
                        data.usage.used(*row);
                    }
                }
            }
        }
        levels
    }

    /// The values of `fields` for `combo` as the innermost level, as one comparable key.
    fn key_of(&self, fields: &[FieldRef], combo: &Slots<'a>, scope: &mut Scope<'a>) -> Vec<String> {
        scope.push(Level {
            slots: combo.clone(),
            group: Vec::new(),
        });
        let key = fields
            .iter()
            .map(|f| match self.value(f, scope) {
                Value::Null => "\u{0}NULL".to_string(),
                v => text(v, &self.spec.timestamps),
            })
            .collect();
        scope.pop();
        key
    }

    /// Groups ordered combinations by `fields`, groups in order of first appearance.
    fn group(
        &self,
        fields: &[FieldRef],
        combos: Vec<Slots<'a>>,
        scope: &mut Scope<'a>,
    ) -> Vec<Vec<Slots<'a>>> {
        let mut groups: Vec<Vec<Slots<'a>>> = Vec::new();
        let mut at: HashMap<Vec<String>, usize> = HashMap::new();
        for combo in combos {
            let key = self.key_of(fields, &combo, scope);
            match at.get(&key) {
                Some(&i) => groups[i].push(combo),
                None => {
                    at.insert(key, groups.len());
                    groups.push(vec![combo]);
                }
            }
        }
        groups
    }

    fn lookup(&self, on: &[(usize, FieldRef)], scope: &Scope) -> &[usize] {
        thread_local! {
            /// The key being looked up: one buffer per thread, not one string per lookup.
            static KEY: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
        }
        let found = match &self.indexes[self.index_of[&on_id(on)]] {
            Index::Ints(index) => match self.value(&on[0].1, scope) {
                Value::Null => None,
                Value::Int(i) => index.get(i),
                v => {
                    let text = text(v, &self.spec.timestamps);
                    text.parse::<i64>()
                        .ok()
                        .filter(|i| itoa::Buffer::new().format(*i) == text)
                        .and_then(|i| index.get(&i))
                }
            },
            Index::Texts(index) => KEY.with_borrow_mut(|key| {
                key.clear();
                let values = on.iter().map(|(_, f)| self.value(f, scope));
                if push_index_key(values, &self.spec.timestamps, key) {
                    index.get(key.as_str())
                } else {
                    None
                }
            }),
        };
        found.map_or(&[][..], Rows::as_slice)
    }

    fn drop_slots(&self, slots: &Slots, rule: Rule) {
        let code = self.code(rule);
        for (data, row) in slots {
            if *row != NO_ROW {
                data.usage.dropped(*row, code);
            }
        }
    }

    /// Orders combinations by `order` (fields of the combination's level or of the levels
    /// around it), then by every value, so ties never depend on the order rows arrived in.
    fn order(
        &self,
        order: &[(FieldRef, bool)],
        scope: &Scope<'a>,
        a: &Slots<'a>,
        b: &Slots<'a>,
    ) -> std::cmp::Ordering {
        let level = scope.len();
        for (field, descending) in order {
            let ordering = compare(
                self.side_value(field, scope, a, level),
                self.side_value(field, scope, b, level),
            );
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
            if *ra == NO_ROW || *rb == NO_ROW {
                let ordering = (*ra == NO_ROW).cmp(&(*rb == NO_ROW));
                if ordering.is_ne() {
                    return ordering;
                }
                continue;
            }
            for (x, y) in da.rows[*ra].values.iter().zip(&db.rows[*rb].values) {
                let ordering = compare(x, y);
                if ordering.is_ne() {
                    return ordering;
                }
            }
        }
        std::cmp::Ordering::Equal
    }

    /// A field's value with `side` standing for the level being ordered.
    fn side_value<'s>(
        &self,
        field: &FieldRef,
        scope: &'s Scope<'a>,
        side: &'s Slots<'a>,
        level: usize,
    ) -> &'s Value {
        if field.level != level {
            return self.value(field, scope);
        }
        let (data, row) = side[field.slot];
        if row == NO_ROW {
            &NULL
        } else {
            &data.rows[row].values[field.column]
        }
    }

    fn root(&self, scope: &Scope<'a>) -> (&'a TableData, usize) {
        scope[0].slots[0]
    }

    fn null_error(&self, field: &FieldRef, scope: &Scope<'a>, at: &Where) -> TransformError {
        let (root, row) = self.root(scope);
        let (data, _) = scope[field.level].slots[field.slot];
        TransformError::NullKey {
            item_type: at.item_type.to_string(),
            table: root.shape.name.clone(),
            row: row_key(root, row),
            field: if field.level == 0 && field.slot == 0 {
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

    fn value_error(&self, scope: &Scope<'a>, at: &Where, message: String) -> TransformError {
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

/// What a `one` found.
enum Found<'a> {
    Level(Level<'a>),
    Null,
    Omit,
}

/// The index of `data`'s rows on `columns` (rows with a NULL among them are in no index).
fn index(data: &TableData, columns: &[usize], format: &TimeFormat) -> Index {
    if let [column] = columns {
        let values = || data.rows.iter().map(|row| &row.values[*column]);
        if values().all(|v| matches!(v, Value::Int(_) | Value::Null)) {
            let mut index: HashMap<i64, Vec<usize>> = HashMap::new();
            for (i, value) in values().enumerate() {
                if let Value::Int(v) = value {
                    index.entry(*v).or_default().push(i);
                }
            }
            return Index::Ints(compact(index));
        }
    }
    let mut index: HashMap<Box<str>, Vec<usize>> = HashMap::new();
    let mut key = String::new();
    for (i, row) in data.rows.iter().enumerate() {
        key.clear();
        let values = columns.iter().map(|&c| &row.values[c]);
        if push_index_key(values, format, &mut key) {
            match index.get_mut(key.as_str()) {
                Some(rows) => rows.push(i),
                None => {
                    index.insert(key.as_str().into(), vec![i]);
                }
            }
        }
    }
    Index::Texts(compact(index))
}

/// An index as it is kept: no vector for a key that names one row.
fn compact<K: Eq + std::hash::Hash>(index: HashMap<K, Vec<usize>>) -> HashMap<K, Rows> {
    index
        .into_iter()
        .map(|(key, rows)| {
            let rows = match rows[..] {
                [row] => Rows::One(row),
                _ => Rows::Many(rows.into_boxed_slice()),
            };
            (key, rows)
        })
        .collect()
}

/// A row's slots, with room for the rows `joins` more joins will add (no regrowing).
fn slots(first: (&TableData, usize), joins: usize) -> Slots<'_> {
    let mut slots = Vec::with_capacity(1 + joins);
    slots.push(first);
    slots
}

/// Runs `f` with `level` as the innermost level of `scope`.
fn within<'a, T>(
    scope: &mut Scope<'a>,
    level: Level<'a>,
    f: impl FnOnce(&mut Scope<'a>) -> T,
) -> T {
    scope.push(level);
    let result = f(scope);
    scope.pop();
    result
}

/// Appends one element of a JSON object (`"name":value`) or array (`value`), after a comma
/// unless it is the first; when `value` writes nothing (the value is absent) the element is
/// taken back out. Returns the value's size.
fn element<E>(
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
        write_json_string(out, name);
        out.push(':');
    }
    let written = value(out)?;
    match written {
        Some(_) => *first = false,
        None => out.truncate(mark),
    }
    Ok(written)
}

/// Appends a value's DynamoDB JSON to `out`; returns its size.
fn leaf(value: &AttrValue, out: &mut String) -> usize {
    value.write_json(out);
    value.size()
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

//! How root rows become items: each item type's rows are joined, filtered and grouped
//! ([`Builder::roots`]), then each group becomes one item ([`Builder::item`]) whose attributes
//! are evaluated over the rows in scope and written as DynamoDB JSON as they are (keys are
//! single values, kept for the checks: [`Builder::key`]); nested lists and maps gather related
//! rows through hash indexes on their join columns.
//!
//! Here: the builder, its rules and the scope an item is evaluated in; `index.rs` the hash
//! indexes, `select.rs` which rows an item is built over, `eval.rs` the evaluation and JSON
//! writing, `errors.rs` the errors a row can make.

mod errors;
mod eval;
mod index;
mod select;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use foldhash::{HashMap, HashMapExt, HashSet};
use rayon::prelude::*;

use self::index::{index, Index};
use super::convert::{compare, text};
use super::tables::{TableData, Tables};
use crate::item::{json_name, AttrValue};
use crate::source::Value;
use crate::spec::{
    Expr, FieldRef, ItemSpec, ItemTypeId, Join, JoinId, Missing, Relation, RowSource, Spec,
    TimeFormat,
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

/// Rows in scope: level 0 the item's root row, then one level per nested relation; and what
/// the lists that are distinct across the item have kept so far.
#[derive(Default)]
pub struct Scope<'a> {
    levels: Vec<Level<'a>>,
    /// Per relation (by address in the spec), the distinct keys kept in this item.
    seen: HashMap<usize, HashSet<String>>,
}

impl<'a> std::ops::Deref for Scope<'a> {
    type Target = Vec<Level<'a>>;

    fn deref(&self) -> &Self::Target {
        &self.levels
    }
}

impl std::ops::DerefMut for Scope<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.levels
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

/// A rule that drops rows, as the usage code the accounting reads its name by.
#[derive(Clone, Copy)]
pub(super) struct RuleId(u16);

/// The rules of an item type, in code order: named `"{TYPE} {suffix}"` in reports.
#[derive(Clone, Copy)]
pub(super) enum ItemRule {
    Where,
    Join,
    Group,
}

impl ItemRule {
    const SUFFIXES: [&'static str; 3] = ["where", "join", "group"];
}

/// The rules of a relation (a nested list or `one`), in code order: named
/// `"{TYPE.attribute} {suffix}"` in reports.
#[derive(Clone, Copy)]
pub(super) enum RelationRule {
    Where,
    Join,
    Distinct,
    Limit,
}

impl RelationRule {
    const SUFFIXES: [&'static str; 4] = ["where", "join", "distinct", "limit"];
}

/// Identifies a relation of the spec by its address: the spec outlives the builder.
fn relation_id(relation: &Relation) -> usize {
    std::ptr::from_ref(relation) as usize
}

/// Usage code of the first rule; 0 is "untouched", 1 is "in an item".
const FIRST_RULE: u16 = 2;

/// Builds items; holds the lookup indexes, the rules that drop rows and the events counted.
pub struct Builder<'a> {
    spec: &'a Spec,
    tables: &'a Tables,
    indexes: Vec<Index>,
    /// Which index each `on` list of the spec looks up, by its id (`None`: not read here).
    index_of: Vec<Option<usize>>,
    rules: Vec<String>,
    /// Per item type, the code of its first rule.
    item_rules: Vec<u16>,
    /// Per relation (by address), the code of its first rule, and its `missing` event.
    relation_rules: HashMap<usize, (u16, Option<usize>)>,
    events: Vec<(String, AtomicU64)>,
    /// Per item type, its top-level attributes in name order: the order they are written in.
    attributes: Vec<Vec<TopAttribute<'a>>>,
}

/// A top-level attribute of an item type: its name, as JSON too (`"name":`), and what it holds.
struct TopAttribute<'a> {
    name: &'a str,
    json: Box<str>,
    attribute: Attribute<'a>,
}

/// An item type's top-level attributes in name order. The spec loader keeps the names of keys
/// (key attributes of the table and its indexes only), other attributes and the type attribute
/// apart.
fn attributes<'a>(spec: &'a Spec, item: &'a ItemSpec) -> Vec<TopAttribute<'a>> {
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
    all.into_iter()
        .map(|(name, attribute)| TopAttribute {
            name,
            json: json_name(name).into_boxed_str(),
            attribute,
        })
        .collect()
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
        // (table, columns, the spec's on list)
        let mut wanted: Vec<(String, Vec<usize>, JoinId)> = Vec::new();
        let join_wanted = |join: &Join| {
            (
                join.table.clone(),
                join.on.pairs.iter().map(|(c, _)| *c).collect(),
                join.on.id,
            )
        };
        // A window of one item type looks rows up only for that type's joins and relations.
        let mut item_rules = Vec::new();
        for (t, item) in spec.items.iter().enumerate() {
            item_rules.push(FIRST_RULE + rules.len() as u16);
            for suffix in ItemRule::SUFFIXES {
                rules.push(format!("{} {suffix}", item.name));
            }
            let indexed = tables.plans(ItemTypeId(t));
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
        let mut relation_rules = HashMap::new();
        for (relation, counts_missing, indexed) in &all {
            let first = FIRST_RULE + rules.len() as u16;
            for suffix in RelationRule::SUFFIXES {
                rules.push(format!("{} {suffix}", relation.rule));
            }
            let event = counts_missing.then(|| {
                events.push((format!("{} missing", relation.rule), AtomicU64::new(0)));
                events.len() - 1
            });
            relation_rules.insert(relation_id(relation), (first, event));
            if !indexed {
                continue;
            }
            if let RowSource::Table(table) = &relation.source {
                for on in &relation.on {
                    wanted.push((
                        table.clone(),
                        on.pairs.iter().map(|(c, _)| *c).collect(),
                        on.id,
                    ));
                }
            }
            wanted.extend(relation.joins.iter().map(join_wanted));
        }
        // Each (table, columns) is indexed once, the indexes all at once.
        let mut distinct: Vec<(String, Vec<usize>)> = Vec::new();
        let mut built: HashMap<(String, Vec<usize>), usize> = HashMap::new();
        let mut index_of = vec![None; wanted.iter().map(|w| w.2 .0 + 1).max().unwrap_or(0)];
        for (table, columns, id) in wanted {
            let at = *built
                .entry((table.clone(), columns.clone()))
                .or_insert_with(|| {
                    distinct.push((table, columns));
                    distinct.len() - 1
                });
            index_of[id.0] = Some(at);
        }
        let indexes = distinct
            .par_iter()
            .map(|(table, columns)| index(&tables.tables[table], columns, &spec.timestamps))
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
            item_rules,
            relation_rules,
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

    /// Rule `rule` of item type `t`.
    fn item_rule(&self, t: ItemTypeId, rule: ItemRule) -> RuleId {
        RuleId(self.item_rules[t] + rule as u16)
    }

    /// Rule `rule` of `relation`.
    fn relation_rule(&self, relation: &Relation, rule: RelationRule) -> RuleId {
        RuleId(self.relation_rules[&relation_id(relation)].0 + rule as u16)
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

    /// Orders two groups' root rows by primary key (every column without one), so an order
    /// over items never depends on how the rows arrived.
    pub fn root_order(&self, a: &Group<'a>, b: &Group<'a>) -> std::cmp::Ordering {
        let ((da, ra), (db, rb)) = (a[0][0], b[0][0]);
        let (va, vb) = (&da.rows[ra], &db.rows[rb]);
        da.shape
            .key_columns()
            .iter()
            .map(|&c| compare(&va[c], &vb[c]))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    }

    /// The scope an item of type `index` over `group` is evaluated in.
    fn scope(&self, index: ItemTypeId, group: &Group<'a>) -> Scope<'a> {
        // Only an item type that groups its roots lists its group (`list = "@group"`).
        let grouped = !self.spec.items[index].group_by.is_empty();
        // Room for the levels of nested relations: the scope is not grown as they are entered.
        let mut levels = Vec::with_capacity(4);
        levels.push(Level {
            slots: group[0].clone(),
            group: if grouped { group.clone() } else { Vec::new() },
        });
        Scope {
            levels,
            seen: HashMap::new(),
        }
    }

    fn value<'s>(&self, field: &FieldRef, scope: &'s Scope) -> &'s Value {
        let (data, row) = scope[field.level].slots[field.slot];
        if row == NO_ROW {
            &NULL
        } else {
            &data.rows[row][field.column]
        }
    }

    /// Counts a `one` of `relation` that found no row, when the relation counts them.
    fn count_missing(&self, relation: &Relation) {
        if let Some((_, Some(event))) = self.relation_rules.get(&relation_id(relation)) {
            self.events[*event].1.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn root(&self, scope: &Scope<'a>) -> (&'a TableData, usize) {
        scope[0].slots[0]
    }
}

/// A row's slots, with room for the rows `joins` more joins will add (no regrowing).
fn slots(first: (&TableData, usize), joins: usize) -> Slots<'_> {
    let mut slots = Vec::with_capacity(1 + joins);
    slots.push(first);
    slots
}

/// Names a row by its primary key (`id=7`, `word_id=7, sentence_id=3`), or by its position.
pub fn row_key(data: &TableData, row: usize) -> String {
    let values = &data.rows[row];
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
                crate::progress::clipped(&text(&values[c], &TimeFormat::Iso8601))
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

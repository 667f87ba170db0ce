//! Which rows an item is built over: roots joined, filtered, ordered and grouped, and the
//! related rows of nested lists and `one`s.

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use rayon::prelude::*;

use super::{
    relation_id, slots, Builder, Group, ItemRule, Level, RelationRule, RuleId, Scope, Slots,
    NO_ROW, NULL,
};
use crate::source::Value;
use crate::spec::{DistinctAcross, FieldRef, ItemTypeId, Join, Missing, Relation, RowSource};
use crate::transform::convert::{compare, push_sized_text};

/// Root rows joined and filtered per task: enough to be worth a task, small enough to spread.
const ROOTS_PER_TASK: usize = 4096;

/// `combos` grouped by their `keys` (one each), groups in order of first appearance.
fn grouped<'a>(keys: &[String], combos: Vec<Slots<'a>>) -> Vec<Vec<Slots<'a>>> {
    let mut groups: Vec<Vec<Slots<'a>>> = Vec::new();
    let mut at: HashMap<&str, usize> = HashMap::with_capacity(keys.len());
    for (key, combo) in keys.iter().zip(combos) {
        match at.get(key.as_str()) {
            Some(&i) => groups[i].push(combo),
            None => {
                at.insert(key, groups.len());
                groups.push(vec![combo]);
            }
        }
    }
    groups
}

impl<'a> Builder<'a> {
    /// The groups of root rows of item type `index`: one item each, built over its first row.
    /// `chosen` holds, per earlier item type, the root rows its items were built over (needed,
    /// and filled, only for the types a `with_item` or `without_item` names).
    pub fn roots(&self, index: ItemTypeId, chosen: &[HashSet<usize>]) -> Vec<Group<'a>> {
        let spec_item = &self.spec.items[index];
        let root = &self.tables.tables[&spec_item.root];
        let chosen_in = |combo: &Slots, other: ItemTypeId| {
            let other_root = &self.spec.items[other].root;
            combo
                .iter()
                .find(|(data, _)| &data.shape.name == other_root)
                .is_some_and(|(_, row)| chosen[other.0].contains(row))
        };
        // Root rows are joined and filtered a chunk at a time on every core, chunks in order.
        let rows: Vec<usize> = (0..root.roots.unwrap_or(root.rows.len())).collect();
        let chunks: Vec<Vec<Slots<'a>>> = rows
            .par_chunks(ROOTS_PER_TASK)
            .map(|rows| {
                let mut scope = Scope::default();
                let combos = rows
                    .iter()
                    .map(|&r| slots((root, r), spec_item.joins.len()))
                    .collect();
                let combos = self.join_all(
                    &spec_item.joins,
                    combos,
                    &mut scope,
                    self.item_rule(index, ItemRule::Join),
                );
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
                        self.drop_slots(&combo, self.item_rule(index, ItemRule::Where));
                    }
                }
                kept
            })
            .collect();
        let mut kept: Vec<Slots<'a>> = chunks.into_iter().flatten().collect();
        if spec_item.group_by.is_empty() {
            return kept.into_iter().map(|c| vec![c]).collect();
        }
        let scope = Scope::default();
        self.sort(&spec_item.order, &scope, &mut kept, true);
        let keys: Vec<String> = kept
            .par_iter()
            .map(|combo| self.key_of(&spec_item.group_by, combo, &scope))
            .collect();
        let groups = grouped(&keys, kept);
        for group in &groups {
            for rest in &group[1..] {
                self.drop_slots(rest, self.item_rule(index, ItemRule::Group));
            }
        }
        groups
    }

    /// Extends each combination of rows with the rows each join matches.
    pub(super) fn join_all(
        &self,
        joins: &[Join],
        mut combos: Vec<Slots<'a>>,
        scope: &mut Scope<'a>,
        rule: RuleId,
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
    pub(super) fn related(&self, relation: &Relation, scope: &mut Scope<'a>) -> Vec<Level<'a>> {
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
        combos = self.join_all(
            &relation.joins,
            combos,
            scope,
            self.relation_rule(relation, RelationRule::Join),
        );
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
                    self.drop_slots(&combo, self.relation_rule(relation, RelationRule::Where));
                }
            }
            combos = kept;
        }
        self.sort(&relation.order, scope, &mut combos, false);
        if !relation.distinct.is_empty() {
            // Across the item, the lists of this relation share one set, kept in the scope.
            let shared = relation.distinct_across == DistinctAcross::Item;
            let id = relation_id(relation);
            let mut seen = if shared {
                scope.seen.remove(&id).unwrap_or_default()
            } else {
                HashSet::new()
            };
            let mut kept = Vec::new();
            for combo in combos {
                let key = self.key_of(&relation.distinct, &combo, scope);
                if seen.insert(key) {
                    kept.push(combo);
                } else {
                    self.drop_slots(&combo, self.relation_rule(relation, RelationRule::Distinct));
                }
            }
            if shared {
                scope.seen.insert(id, seen);
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
                        self.drop_slots(combo, self.relation_rule(relation, RelationRule::Limit));
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

    /// The values of `fields` for `combo` as the innermost level, as one comparable key:
    /// each value's text after its length (`N` for NULL), so no two lists of values share one.
    pub(super) fn key_of(
        &self,
        fields: &[FieldRef],
        combo: &Slots<'a>,
        scope: &Scope<'a>,
    ) -> String {
        let mut key = String::new();
        for field in fields {
            match self.side_value(field, scope, combo, scope.len()) {
                Value::Null => key.push('N'),
                v => push_sized_text(v, &self.spec.timestamps, &mut key),
            }
        }
        key
    }

    /// Groups ordered combinations by `fields`, groups in order of first appearance.
    pub(super) fn group(
        &self,
        fields: &[FieldRef],
        combos: Vec<Slots<'a>>,
        scope: &Scope<'a>,
    ) -> Vec<Vec<Slots<'a>>> {
        let keys: Vec<String> = combos
            .iter()
            .map(|combo| self.key_of(fields, combo, scope))
            .collect();
        grouped(&keys, combos)
    }

    pub(super) fn drop_slots(&self, slots: &Slots, RuleId(code): RuleId) {
        for (data, row) in slots {
            if *row != NO_ROW {
                data.usage.dropped(*row, code);
            }
        }
    }

    /// Sorts combinations by `order` (fields of the combination's level or of the levels
    /// around it), then by each row's primary key (every value without one), so ties never
    /// depend on the order rows arrived in, nor on columns a windowed plan did not read. The
    /// sort is stable. Each combination's values are read once, not at every comparison, and
    /// fields of the levels around it (the same for every combination) are left out.
    pub(super) fn sort(
        &self,
        order: &[(FieldRef, bool)],
        scope: &Scope<'a>,
        combos: &mut Vec<Slots<'a>>,
        parallel: bool,
    ) {
        let Some(first) = combos.first().filter(|_| combos.len() > 1) else {
            return;
        };
        let level = scope.len();
        let fields: Vec<(&FieldRef, bool)> = order
            .iter()
            .filter(|(field, _)| field.level == level)
            .map(|(field, descending)| (field, *descending))
            .collect();
        // Every combination has the same tables in the same slots.
        let keys: Vec<std::borrow::Cow<'_, [usize]>> = first
            .iter()
            .map(|(data, _)| data.shape.key_columns())
            .collect();
        let (width, slots) = (fields.len(), first.len());
        let mut values: Vec<&'a Value> = Vec::with_capacity(combos.len() * width);
        let mut rows: Vec<Option<&'a [Value]>> = Vec::with_capacity(combos.len() * slots);
        for combo in combos.iter() {
            let start = rows.len();
            rows.extend(
                (combo.iter()).map(|&(data, row)| (row != NO_ROW).then(|| &data.rows[row])),
            );
            values.extend(fields.iter().map(|(field, _)| {
                rows[start + field.slot].map_or(&NULL, |row| &row[field.column])
            }));
        }
        let compare_at = |a: usize, b: usize| {
            let (va, vb) = (&values[a * width..][..width], &values[b * width..][..width]);
            for ((x, y), (_, descending)) in va.iter().zip(vb).zip(&fields) {
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
            let (ra, rb) = (&rows[a * slots..][..slots], &rows[b * slots..][..slots]);
            for ((x, y), key) in ra.iter().zip(rb).zip(&keys) {
                let (x, y) = match (x, y) {
                    (Some(x), Some(y)) => (x, y),
                    _ => match x.is_none().cmp(&y.is_none()) {
                        std::cmp::Ordering::Equal => continue,
                        ordering => return ordering,
                    },
                };
                for &c in key.iter() {
                    let ordering = compare(&x[c], &y[c]);
                    if ordering.is_ne() {
                        return ordering;
                    }
                }
            }
            std::cmp::Ordering::Equal
        };
        let mut numbered: Vec<(usize, Slots<'a>)> = combos.drain(..).enumerate().collect();
        if parallel {
            numbered.par_sort_by(|(a, _), (b, _)| compare_at(*a, *b));
        } else {
            numbered.sort_by(|(a, _), (b, _)| compare_at(*a, *b));
        }
        combos.extend(numbered.into_iter().map(|(_, combo)| combo));
    }

    /// A field's value with `side` standing for the level being ordered.
    pub(super) fn side_value<'s>(
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
            &data.rows[row][field.column]
        }
    }

    /// The level a `one` evaluates its item in: the first related row, or what `missing` says.
    pub(super) fn one(
        &self,
        relation: &Relation,
        missing: Missing,
        scope: &mut Scope<'a>,
    ) -> Found<'a> {
        match self.related(relation, scope).into_iter().next() {
            Some(level) => Found::Level(level),
            None => match missing {
                Missing::Null => Found::Null,
                Missing::Omit => Found::Omit,
                Missing::NullRow => {
                    self.count_missing(relation);
                    Found::Level(self.null_level(relation))
                }
            },
        }
    }

    /// A level whose rows are all missing, for `missing = "nulls"`.
    pub(super) fn null_level(&self, relation: &Relation) -> Level<'a> {
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
}

/// What a `one` found.
pub(super) enum Found<'a> {
    Level(Level<'a>),
    Null,
    Omit,
}

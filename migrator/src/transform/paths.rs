//! The rows an item type reads, as SQL a database streams in one pass: one query per table the
//! item type reaches (its root, the root's joins, every relation and its joins at any depth),
//! joined back to the root along the spec's `on` lists and ordered by the root's window key; a
//! table looked up by its primary key rides on the query of the table that names it, and of
//! each table a query selects only the columns the item type reads and its primary key.
//! Read in step, the queries give a window of root groups every row its items can look up, and
//! no table is scanned twice however many windows there are.

use std::collections::{BTreeMap, BTreeSet};

use crate::source::{quote_ident, ColumnType, Schema};
use crate::spec::{
    Condition, Expr, FieldRef, ItemSpec, Join, Piece, Relation, RowSource, Spec, Test,
};

/// How a window key column of type `ty` is read: whole numbers as they are unless `as_text`,
/// anything else as its text (which orders byte by byte the same in Postgres, with
/// `COLLATE "C"`, and here).
pub fn window_key_type(ty: &ColumnType, as_text: bool) -> ColumnType {
    match ty {
        ColumnType::Int if !as_text => ColumnType::Int,
        _ => ColumnType::Text,
    }
}

/// Rows an item type can reach, each preceded by its root row's window key: of the first of
/// `tables`, each row carrying the `columns` of every table in turn (those the item type
/// reads, and the primary key). A later table's columns are NULL where its row was looked up
/// by primary key and none was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathQuery {
    pub tables: Vec<String>,
    /// Per table of `tables`, the columns selected, in the table's order.
    pub columns: Vec<Vec<usize>>,
    pub sql: String,
}

/// A query being built: what it selects, its FROM clause and what follows it.
struct Draft {
    /// The slot it starts at and the slots its FROM clause reads, in order.
    lead: usize,
    from: Vec<usize>,
    /// Whether a later slot may ride on it: its table is not read whole.
    foldable: bool,
    /// The slots riding on it (each joined once: a slot index a later path reuses does not).
    folded: Vec<usize>,
    /// Slots of `from` its SQL leaves out (see [`Paths::skipped`]).
    skipped: Vec<usize>,
    tables: Vec<String>,
    /// The window key's columns, then the slots whose columns it selects, in turn.
    key: Vec<String>,
    selected: Vec<usize>,
    from_sql: String,
    tail: String,
}

/// A table of the FROM clause and how it joins the tables before it.
struct Slot {
    table: String,
    /// Pairs of (this table's column, the field of an earlier slot it equals).
    on: Vec<(usize, FieldRef)>,
    left: bool,
}

/// Builds the queries of one item type: slots in the order they join, levels of scope as the
/// slots each holds (a `@group` level holds the slots of the level it groups).
struct Paths<'s> {
    schema: &'s Schema,
    key: &'s [usize],
    /// The key is read as text, whole numbers too (see [`window_key_type`]).
    as_text: bool,
    /// A table's row count, by name.
    rows: &'s dyn Fn(&str) -> u64,
    /// Whether a table is read whole rather than by path.
    held: &'s dyn Fn(&str) -> bool,
    /// The item type's own conditions (`where`), which its roots must meet.
    conditions: &'s [Condition],
    slots: Vec<Slot>,
    levels: Vec<Vec<usize>>,
    drafts: Vec<Draft>,
    /// Per table, the columns the item type reads of it and its primary key's: what every
    /// query selects of the table (the same for each, as a window merges a table's rows).
    read: BTreeMap<String, BTreeSet<usize>>,
}

/// The queries that read everything item type `item` of `spec` can reach, each ordered by the
/// root columns `key` (the columns its windows are cut on; by their text when `as_text`);
/// `rows` gives a table's row count, and `held` whether a table is read whole instead (its
/// queries are still given, alone). The root's own query comes first.
pub fn path_queries(
    spec: &Spec,
    item: &ItemSpec,
    key: &[usize],
    as_text: bool,
    rows: &dyn Fn(&str) -> u64,
    held: &dyn Fn(&str) -> bool,
) -> Vec<PathQuery> {
    let Paths { drafts, read, .. } = walk(spec, item, key, as_text, rows, held);
    let queries = drafts.into_iter().map(|draft| {
        let columns: Vec<Vec<usize>> = draft
            .tables
            .iter()
            .map(|table| read[table].iter().copied().collect())
            .collect();
        let mut select = draft.key;
        for ((&s, table), columns) in draft.selected.iter().zip(&draft.tables).zip(&columns) {
            let shape = spec.schema.table(table).expect("checked");
            let names = columns.iter().map(|&c| &shape.columns[c].name);
            select.extend(names.map(|name| format!("s{s}.{}", quote_ident(name))));
        }
        PathQuery {
            tables: draft.tables,
            columns,
            sql: format!(
                "SELECT {} {}{}",
                select.join(", "),
                draft.from_sql,
                draft.tail
            ),
        }
    });
    queries.collect()
}

/// The columns `spec`'s item types read of each table they reach, and its primary key (every
/// column without one), in the table's order: all a plan needs of the table's rows.
pub fn columns_read(spec: &Spec) -> BTreeMap<String, Vec<usize>> {
    let mut read: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    for item in &spec.items {
        let root = spec
            .schema
            .table(&item.root)
            .expect("the spec checked its tables");
        let key = root.key_columns();
        let (rows, held) = (|_: &str| 0, |_: &str| false);
        for (table, columns) in walk(spec, item, &key, false, &rows, &held).read {
            read.entry(table).or_default().extend(columns);
        }
    }
    let read = read.into_iter();
    read.map(|(table, columns)| (table, columns.into_iter().collect()))
        .collect()
}

/// Goes through everything item type `item` reads: its queries drafted (as
/// [`path_queries`] takes them), and the columns of each table noted.
fn walk<'s>(
    spec: &'s Spec,
    item: &'s ItemSpec,
    key: &'s [usize],
    as_text: bool,
    rows: &'s dyn Fn(&str) -> u64,
    held: &'s dyn Fn(&str) -> bool,
) -> Paths<'s> {
    let mut paths = Paths {
        schema: &spec.schema,
        key,
        as_text,
        rows,
        held,
        conditions: &item.conditions,
        slots: vec![Slot {
            table: item.root.clone(),
            on: Vec::new(),
            left: false,
        }],
        levels: vec![vec![0]],
        drafts: Vec::new(),
        read: BTreeMap::new(),
    };
    paths.reads_slot(0);
    paths.emit(0);
    paths.joins(&item.joins);
    let level_0 = item.conditions.iter().map(|c| &c.field);
    let level_0 = level_0
        .chain(&item.group_by)
        .chain(item.order.iter().map(|(f, _)| f));
    level_0.for_each(|field| paths.reads(field));
    for (_, expr) in item.keys.iter().chain(&item.attributes) {
        paths.expr(expr);
    }
    paths
}

/// What every value that passes a condition is, in SQL, as far as NULL tells: `IS NOT NULL`
/// when NULL fails it, `IS NULL` when nothing else passes; `None` when NULL tells nothing.
fn null_test(test: &Test) -> Option<&'static str> {
    match test {
        Test::Equals(text) if !text.accepts(None) => Some("IS NOT NULL"),
        Test::Equals(text) if !text.negate && text.values.iter().all(Option::is_none) => {
            Some("IS NULL")
        }
        Test::Equals(_) => None,
        // NULL passes no comparison.
        Test::Compare(..) => Some("IS NOT NULL"),
    }
}

impl Paths<'_> {
    fn joins(&mut self, joins: &[Join]) {
        for join in joins {
            self.push_slot(Slot {
                table: join.table.clone(),
                on: join.on.pairs.clone(),
                left: join.left,
            });
        }
    }

    /// Adds `slot` to the innermost level and emits its query.
    fn push_slot(&mut self, slot: Slot) {
        self.slots.push(slot);
        let at = self.slots.len() - 1;
        self.levels
            .last_mut()
            .expect("level 0 is always there")
            .push(at);
        self.reads_slot(at);
        self.emit(at);
    }

    fn expr(&mut self, expr: &Expr) {
        match expr {
            Expr::Map(entries) => entries.iter().for_each(|(_, e)| self.expr(e)),
            Expr::List { relation, item } | Expr::One { relation, item, .. } => {
                self.relation(relation, item);
            }
            Expr::When { conditions, expr } => {
                self.reads_conditions(conditions);
                self.expr(expr);
            }
            Expr::Template { template, .. } => {
                for piece in &template.pieces {
                    if let Piece::Field { field, .. } = piece {
                        self.reads(field);
                    }
                }
            }
            Expr::Column { field, .. } => self.reads(field),
            Expr::Const(_) => {}
        }
    }

    /// Notes the fields a relation's rows are filtered, ordered, told apart and grouped by.
    fn reads_relation(&mut self, relation: &Relation) {
        self.reads_conditions(&relation.conditions);
        let order = relation.order.iter().map(|(field, _)| field);
        for field in order.chain(&relation.distinct).chain(&relation.group) {
            self.reads(field);
        }
    }

    /// A relation's level: once per `on` alternative (each a path of its own), or the slots of
    /// the enclosing level for `@group`.
    fn relation(&mut self, relation: &Relation, item: &Expr) {
        match &relation.source {
            RowSource::Group => {
                let grouped = self.levels.last().expect("level 0").clone();
                self.levels.push(grouped);
                self.reads_relation(relation);
                self.expr(item);
                self.levels.pop();
            }
            RowSource::Table(table) => {
                for on in &relation.on {
                    let (slots, levels) = (self.slots.len(), self.levels.len());
                    self.levels.push(Vec::new());
                    self.push_slot(Slot {
                        table: table.clone(),
                        on: on.pairs.clone(),
                        left: false,
                    });
                    self.joins(&relation.joins);
                    self.reads_relation(relation);
                    self.expr(item);
                    self.levels.truncate(levels);
                    self.slots.truncate(slots);
                }
            }
        }
    }

    /// The slot a field of the current scope reads.
    fn slot_of(&self, field: &FieldRef) -> usize {
        self.levels[field.level][field.slot]
    }

    /// The query for slot `target`: every slot of the levels in scope up to it, joined. The
    /// root itself is left out when the first table joined to it names the whole window key
    /// and nothing else reads the root (see [`Paths::lead`]). A slot that looks one row up by
    /// its table's primary key rides on the query before it instead (see [`Paths::folds`]).
    fn emit(&mut self, target: usize) {
        let mut from: Vec<usize> = self.levels.iter().flatten().copied().collect();
        from.sort_unstable();
        from.dedup();
        from.retain(|&s| s <= target);
        let (lead, key_columns) = self.lead(&from);
        from.retain(|&s| s >= lead);
        if self.folds(target, lead, &from) {
            let skipped = &self
                .drafts
                .last()
                .expect("folds onto the last query")
                .skipped;
            let join = format!(" LEFT JOIN {}", self.join(target, skipped));
            let draft = self.drafts.last_mut().expect("folds onto the last query");
            draft.selected.push(target);
            draft.from_sql += &join;
            draft.folded.push(target);
            draft.tables.push(self.slots[target].table.clone());
            return;
        }
        let shape = |s: usize| {
            self.schema
                .table(&self.slots[s].table)
                .expect("the spec checked its tables")
        };
        // Whole numbers order by value, anything else by its text, byte by byte: the order
        // the windows are cut in (see `window_key_type`).
        let key: Vec<String> = key_columns
            .iter()
            .map(|&c| {
                let column = &shape(lead).columns[c];
                match window_key_type(&column.ty, self.as_text) {
                    ColumnType::Int => format!("s{lead}.{}", quote_ident(&column.name)),
                    _ => format!("s{lead}.{}::text COLLATE \"C\"", quote_ident(&column.name)),
                }
            })
            .collect();
        let mut filters = Vec::new();
        if lead > 0 {
            // The join to the root dropped NULL keys; so does this.
            filters.extend(key_columns.iter().map(|&c| {
                let name = quote_ident(&shape(lead).columns[c].name);
                format!("s{lead}.{name} IS NOT NULL")
            }));
        }
        let mut tested = Vec::new();
        if !self.levels[0].contains(&target) {
            // A root that fails the item type's conditions has no item, so nothing reads
            // what it relates to: such rows need not be read.
            for condition in self.conditions.iter().filter(|c| c.field.level == 0) {
                let s = self.slot_of(&condition.field);
                if let (true, Some(test)) = (from.contains(&s), null_test(&condition.test)) {
                    let name = quote_ident(&shape(s).columns[condition.field.column].name);
                    filters.push(format!("s{s}.{name} {test}"));
                    tested.push(s);
                }
            }
        }
        let skipped = self.skipped(target, lead, &from, &tested);
        let mut sql = format!("FROM {} AS s{lead}", shape(lead).sql_name());
        for &s in from.iter().filter(|&&s| s > lead && !skipped.contains(&s)) {
            let kind = if self.slots[s].left {
                "LEFT JOIN"
            } else {
                "JOIN"
            };
            sql += &format!(" {kind} {}", self.join(s, &skipped));
        }
        let mut tail = String::new();
        if !filters.is_empty() {
            tail += &format!(" WHERE {}", filters.join(" AND "));
        }
        tail += &format!(" ORDER BY {}", key.join(", "));
        let table = &self.slots[target].table;
        let draft = Draft {
            lead,
            from,
            foldable: !(self.held)(table),
            folded: Vec::new(),
            skipped,
            tables: vec![table.clone()],
            key,
            selected: vec![target],
            from_sql: sql,
            tail,
        };
        self.drafts.push(draft);
    }

    /// Whether slot `target`, whose own query would read the slots `from` from slot `lead`
    /// on, rides on the last query instead: it is joined on its table's whole primary key
    /// (each column to one of the same type), so each row of that query finds at most one of
    /// its rows, and that query reads exactly the other slots of `from`, from the same slot.
    /// Left-joined there, its columns come NULL where no row matches, which is what the
    /// reader takes for "none" (a primary key is never NULL). A table read whole (`held`)
    /// neither rides nor carries.
    fn folds(&self, target: usize, lead: usize, from: &[usize]) -> bool {
        let Some(last) = self.drafts.last() else {
            return false;
        };
        self.looks_up(target)
            && last.foldable
            && !last.folded.contains(&target)
            && !(self.held)(&self.slots[target].table)
            && last.lead == lead
            && from.iter().filter(|&&s| s != target).eq(&last.from)
            && self.joins_without(target, &last.skipped)
    }

    /// Whether slot `s` is joined on its table's whole primary key, each column to one of the
    /// same type: each row it joins to finds at most one of its rows.
    fn looks_up(&self, s: usize) -> bool {
        let slot = &self.slots[s];
        let shape = self.schema.table(&slot.table).expect("checked");
        let by_key = !shape.primary_key.is_empty()
            && shape
                .primary_key
                .iter()
                .all(|k| slot.on.iter().any(|(c, _)| c == k));
        by_key
            && slot.on.iter().all(|(c, field)| {
                let other = &self.slots[self.slot_of(field)].table;
                let other = self.schema.table(other).expect("checked");
                shape.columns[*c].ty == other.columns[field.column].ty
            })
    }

    /// The slots of `from` (a query of `target` from slot `lead` on) its SQL can leave out:
    /// each looks a row up by primary key and serves only to join the slots after it, by a
    /// column it equals to one of an earlier slot, which they read instead. Left out, it no
    /// longer drops what finds no row there: those rows come too, and no item looks them up
    /// (as with rows naming no root, see [`Paths::lead`]). `kept` slots stay.
    fn skipped(&self, target: usize, lead: usize, from: &[usize], kept: &[usize]) -> Vec<usize> {
        let mut skipped = Vec::new();
        for &s in from.iter().rev() {
            if s == target || s == lead || kept.contains(&s) || !self.looks_up(s) {
                continue;
            }
            skipped.push(s);
            let joined = from.iter().filter(|&&o| o > lead && !skipped.contains(&o));
            if !joined.clone().all(|&o| self.joins_without(o, &skipped)) {
                skipped.pop();
            }
        }
        skipped
    }

    /// Whether each field slot `s` joins on can be read with the slots `skipped` left out.
    fn joins_without(&self, s: usize, skipped: &[usize]) -> bool {
        let on = &self.slots[s].on;
        on.iter().all(|(_, field)| {
            self.read_through(self.slot_of(field), field.column, skipped)
                .is_some()
        })
    }

    /// The slot and column that give column `column` of slot `slot`, through slots `skipped`
    /// left out, each to the column its join equals it to: `None` where a skipped slot's column
    /// is not one it joins on.
    fn read_through(
        &self,
        slot: usize,
        column: usize,
        skipped: &[usize],
    ) -> Option<(usize, usize)> {
        let mut at = (slot, column);
        while skipped.contains(&at.0) {
            let (_, field) = self.slots[at.0].on.iter().find(|(c, _)| *c == at.1)?;
            at = (self.slot_of(field), field.column);
        }
        Some(at)
    }

    /// Slot `s`'s table and how it joins the slots before it, the slots `skipped` left out:
    /// `"table" AS sN ON …`.
    fn join(&self, s: usize, skipped: &[usize]) -> String {
        let shape = |s: usize| {
            self.schema
                .table(&self.slots[s].table)
                .expect("the spec checked its tables")
        };
        let conditions: Vec<String> = self.slots[s]
            .on
            .iter()
            .map(|(column, field)| {
                let (other, right) = self
                    .read_through(self.slot_of(field), field.column, skipped)
                    .expect("checked by joins_without");
                let left = &shape(s).columns[*column];
                let right = &shape(other).columns[right];
                let (l, r) = (
                    format!("s{s}.{}", quote_ident(&left.name)),
                    format!("s{other}.{}", quote_ident(&right.name)),
                );
                if left.ty == right.ty {
                    format!("{l} = {r}")
                } else {
                    format!("{l}::text = {r}::text")
                }
            })
            .collect();
        format!(
            "{} AS s{s} ON {}",
            shape(s).sql_name(),
            conditions.join(" AND ")
        )
    }

    /// Notes that the item type reads `field`.
    fn reads(&mut self, field: &FieldRef) {
        let table = &self.slots[self.slot_of(field)].table;
        let read = self.read.get_mut(table).expect("each slot's table noted");
        read.insert(field.column);
    }

    /// Notes the columns slot `s` is read by: its table's primary key (every column without
    /// one), which tells its rows apart, and those it joins on, with the fields they equal.
    fn reads_slot(&mut self, s: usize) {
        let shape = self.schema.table(&self.slots[s].table).expect("checked");
        let read = self.read.entry(shape.name.clone()).or_default();
        read.extend(shape.key_columns().iter().copied());
        read.extend(self.slots[s].on.iter().map(|(c, _)| *c));
        for (_, field) in self.slots[s].on.clone() {
            self.reads(&field);
        }
    }

    /// Notes every field `conditions` test.
    fn reads_conditions(&mut self, conditions: &[Condition]) {
        conditions.iter().for_each(|c| self.reads(&c.field));
    }

    /// The slot a query of the slots `from` starts at, and its columns that give the window
    /// key. That is the root (slot 0) with the key's own columns, unless the first slot joined
    /// to the root is an inner join on exactly the window key, each column a whole number
    /// equal to one, and no later slot reads the root: then that slot's rows carry the key
    /// themselves and the join to the root is work Postgres need not do. (Rows naming no root,
    /// which the join dropped, now reach a window too, where no root looks them up.) The join
    /// stays when the slot may have more rows than the root: joined on its whole primary key
    /// (a parent of the root, say) and larger than the root.
    fn lead(&self, from: &[usize]) -> (usize, Vec<usize>) {
        let at_root = (0, self.key.to_vec());
        let Some((&first, later)) = from.get(1..).and_then(<[usize]>::split_first) else {
            return at_root;
        };
        let slot = &self.slots[first];
        let reads_root = |s: &usize| self.slots[*s].on.iter().any(|(_, f)| self.slot_of(f) == 0);
        let on_key_only = slot
            .on
            .iter()
            .all(|(_, f)| self.slot_of(f) == 0 && self.key.contains(&f.column));
        if slot.left || !on_key_only || later.iter().any(reads_root) {
            return at_root;
        }
        let root = self.schema.table(&self.slots[0].table).expect("checked");
        let shape = self.schema.table(&slot.table).expect("checked");
        let mut columns = Vec::new();
        for &k in self.key {
            // Equal whole numbers are the same key; equal numerics (2.5, 2.50) or texts (of a
            // case-blind type) may not be, and would be cut into other windows than their root.
            let equal = slot.on.iter().find(|(c, f)| {
                f.column == k
                    && shape.columns[*c].ty == ColumnType::Int
                    && root.columns[k].ty == ColumnType::Int
            });
            match equal {
                Some((c, _)) => columns.push(*c),
                None => return at_root,
            }
        }
        let one_per_key = shape.key_columns().iter().all(|c| columns.contains(c));
        if one_per_key && (self.rows)(&shape.name) > (self.rows)(&root.name) {
            return at_root;
        }
        (first, columns)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Rootski's spec, as `access-patterns/rootski` has it.
    pub(in crate::transform) fn rootski() -> Spec {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../access-patterns/rootski");
        crate::spec::load(&dir).expect("the Rootski spec loads")
    }

    /// Rootski's row counts at scale 1, for the tables these tests read.
    fn rows(table: &str) -> u64 {
        match table {
            "words" => 160_000,
            "word_to_breakdowns" => 77_221,
            _ => 1_000,
        }
    }

    fn queries_of(
        spec: &Spec,
        item: &str,
        key: &str,
        rows: &dyn Fn(&str) -> u64,
    ) -> Vec<PathQuery> {
        let item = spec.items.iter().find(|i| i.name == item).unwrap();
        let root = spec.schema.table(&item.root).unwrap();
        let key = [root.column_index(key).unwrap()];
        path_queries(spec, item, &key, false, rows, &|table| {
            table == "verb_pairs"
        })
    }

    #[test]
    fn a_table_is_read_with_the_columns_some_item_type_reads_and_its_primary_key() {
        let spec = rootski();
        let read = columns_read(&spec);
        let names = |table: &str| -> Vec<&str> {
            let shape = spec.schema.table(table).unwrap();
            read[table]
                .iter()
                .map(|&c| shape.columns[c].name.as_str())
                .collect()
        };
        // No item type reads a breakdown piece's type, a noun's or a breakdown's copy of the
        // word: only the word's own.
        assert_eq!(
            names("breakdowns"),
            ["id", "morpheme_id", "breakdown_id", "morpheme", "position"]
        );
        assert_eq!(names("nouns")[..2], ["word_id", "gender"]);
        assert_eq!(names("nouns").len(), 16);
        assert_eq!(
            names("word_to_breakdowns"),
            [
                "word_id",
                "breakdown_id",
                "submitted_by_user_email",
                "verified_by_user_email",
                "is_verified",
                "is_inference",
                "date_submitted",
                "date_verified"
            ]
        );
        // Joined on and looked up: a word's every column is read by some item type.
        assert_eq!(read["words"], [0, 1, 2, 3, 4, 5]);
        // A table of definitions' contents is read for its ids, type and position.
        assert_eq!(
            names("definition_contents"),
            ["definition_id", "child_type", "child_id", "position"]
        );
        assert_eq!(read.len(), spec.schema.tables.len());
    }

    #[test]
    fn a_relation_at_depth_two_starts_at_the_table_that_names_the_root_key() {
        let spec = rootski();
        let queries = queries_of(&spec, "WORD", "id", &rows);
        assert_eq!(
            queries[0].sql.split(" FROM ").nth(1).unwrap(),
            "\"words\" AS s0 ORDER BY s0.\"id\""
        );
        let child_definitions: Vec<&PathQuery> = queries
            .iter()
            .filter(|q| q.tables.contains(&"definition_contents".to_string()))
            .collect();
        assert_eq!(child_definitions.len(), 1, "{queries:#?}");
        // The definition each content names rides on the contents' query, looked up by id.
        assert_eq!(
            child_definitions[0].tables,
            ["definition_contents", "definitions"]
        );
        // The parent definition (s2) only joins the contents, by the id word_defs names too.
        assert_eq!(child_definitions[0].sql, "SELECT s1.\"word_id\", s3.\"definition_id\", s3.\"child_type\", s3.\"child_id\", s3.\"position\", s4.\"id\", s4.\"pos\", s4.\"definition\", s4.\"notes\" FROM \"word_defs\" AS s1 JOIN \"definition_contents\" AS s3 ON s3.\"definition_id\" = s1.\"definition_id\" LEFT JOIN \"definitions\" AS s4 ON s4.\"id\" = s3.\"child_id\" WHERE s1.\"word_id\" IS NOT NULL ORDER BY s1.\"word_id\"");
    }

    #[test]
    fn rows_looked_up_by_primary_key_ride_on_the_query_that_names_them() {
        let spec = rootski();
        let queries = queries_of(&spec, "WORD", "id", &rows);
        let tables: Vec<Vec<&str>> = queries
            .iter()
            .map(|q| q.tables.iter().map(String::as_str).collect())
            .collect();
        assert_eq!(
            tables,
            [
                vec!["words"],
                // verb_pairs is read whole: its two words ride on each other's query.
                vec!["verb_pairs"],
                vec!["words", "words"],
                vec!["verb_pairs"],
                vec!["words", "words"],
                // Read by their own word_id, the root not joined: nothing to ride on.
                vec!["conjugations"],
                vec!["nouns"],
                vec!["word_defs", "definitions"],
                vec!["definition_contents", "definitions"],
                vec!["word_to_sentence", "sentences"],
                // Many translations to a sentence: a query of their own.
                vec!["sentence_translations"],
                vec!["adjectives"],
            ],
            "{queries:#?}"
        );
    }

    #[test]
    fn a_row_looked_up_only_to_join_the_next_is_left_out_and_its_column_read_where_it_came_from() {
        let spec = rootski();
        let queries = queries_of(&spec, "WORD", "id", &rows);
        let translations = queries
            .iter()
            .find(|q| q.tables == ["sentence_translations"])
            .unwrap();
        // The spec joins translations on sentences.sentence_id, which equals the link's.
        assert_eq!(
            translations.sql.split(" FROM ").nth(1).unwrap(),
            "\"word_to_sentence\" AS s1 JOIN \"sentence_translations\" AS s3 ON s3.\"sentence_id\" = s1.\"sentence_id\" WHERE s1.\"word_id\" IS NOT NULL ORDER BY s1.\"word_id\""
        );
        // A table the condition reads stays, whatever it looks up.
        let spec = rootski();
        let item = spec.items.iter().find(|i| i.name == "BREAKDOWN").unwrap();
        let mut item = item.clone();
        let words_pos = FieldRef {
            level: 0,
            slot: 1,
            column: spec
                .schema
                .table("words")
                .unwrap()
                .column_index("pos")
                .unwrap(),
        };
        item.conditions = vec![Condition {
            field: words_pos,
            test: Test::Equals(crate::spec::ConditionText::parse("pos != NULL").unwrap()),
        }];
        let key = [spec
            .schema
            .table(&item.root)
            .unwrap()
            .column_index("word_id")
            .unwrap()];
        let queries = path_queries(&spec, &item, &key, false, &rows, &|_| false);
        assert_eq!(
            queries[1].sql.split(" FROM ").nth(1).unwrap(),
            "\"word_to_breakdowns\" AS s0 JOIN \"words\" AS s1 ON s1.\"id\" = s0.\"word_id\" JOIN \"breakdowns\" AS s2 ON s2.\"breakdown_id\" = s0.\"breakdown_id\" LEFT JOIN \"morphemes\" AS s3 ON s3.\"morpheme_id\" = s2.\"morpheme_id\" WHERE s1.\"pos\" IS NOT NULL ORDER BY s0.\"word_id\""
        );
    }

    #[test]
    fn what_only_roots_that_fail_the_conditions_reach_is_not_read() {
        let spec = rootski();
        let item = spec
            .items
            .iter()
            .find(|i| i.name == "UNOFFICIAL_USER_BREAKDOWN")
            .unwrap();
        let root = spec.schema.table(&item.root).unwrap();
        let key = [
            root.column_index("submitted_by_user_email").unwrap(),
            root.column_index("word_id").unwrap(),
        ];
        let queries = path_queries(&spec, item, &key, true, &rows, &|_| false);
        let wheres: Vec<(&str, Option<&str>)> = queries
            .iter()
            .map(|q| {
                let at = q.sql.split(" WHERE ").nth(1);
                (
                    q.tables[0].as_str(),
                    at.map(|w| w.split(" ORDER BY ").next().unwrap()),
                )
            })
            .collect();
        // The roots and the words they join are read whole, for the report to say which
        // condition dropped them; their breakdowns only for roots with a submitter.
        assert_eq!(
            wheres,
            [
                ("word_to_breakdowns", None),
                (
                    "breakdowns",
                    Some("s0.\"submitted_by_user_email\" IS NOT NULL")
                ),
            ],
            "{queries:#?}"
        );
        assert_eq!(queries[0].tables, ["word_to_breakdowns", "words"]);
    }

    #[test]
    fn a_query_selects_the_columns_the_item_type_reads_and_the_primary_key() {
        let spec = rootski();
        let queries = queries_of(&spec, "BREAKDOWN_ITEM", "breakdown_id", &rows);
        let names = |query: &PathQuery| -> Vec<Vec<String>> {
            let tables = query.tables.iter().zip(&query.columns);
            let names = tables.map(|(table, columns)| {
                let shape = spec.schema.table(table).unwrap();
                columns
                    .iter()
                    .map(|&c| shape.columns[c].name.clone())
                    .collect()
            });
            names.collect()
        };
        // Not a breakdown's type, nor the word's text, submitter's dates and verification.
        assert_eq!(
            names(&queries[0]),
            [
                vec!["id", "morpheme_id", "breakdown_id", "morpheme", "position"],
                vec!["word_id", "breakdown_id", "submitted_by_user_email"],
            ],
            "{queries:#?}"
        );
        assert!(queries[0].sql.starts_with(
            "SELECT s0.\"breakdown_id\", s0.\"id\", s0.\"morpheme_id\", s0.\"breakdown_id\", \
             s0.\"morpheme\", s0.\"position\", s1.\"word_id\", s1.\"breakdown_id\", \
             s1.\"submitted_by_user_email\" FROM"
        ));
        // Every `words` of WORD's queries selects what any of them reads: a window holds one
        // `words` whichever query brought a row.
        let word = queries_of(&spec, "WORD", "id", &rows);
        let pairs = word
            .iter()
            .find(|q| q.tables == ["words", "words"])
            .unwrap();
        assert_eq!(pairs.columns[0], word[0].columns[0]);
        assert_eq!(pairs.columns[0].len(), 6);
    }

    #[test]
    fn the_root_stays_joined_when_a_later_table_reads_it_or_the_first_may_have_more_rows() {
        let spec = rootski();
        let queries = queries_of(&spec, "BREAKDOWN", "word_id", &rows);
        let sql = |table: &str| {
            let found: Vec<&str> = queries
                .iter()
                .filter(|q| q.tables.iter().any(|t| t == table))
                .map(|q| q.sql.split(" FROM ").nth(1).unwrap())
                .collect();
            found[0].to_string()
        };
        // Joined on its whole primary key, words has more rows than the root: every word would
        // be read, not only those with a breakdown. It rides on the root's query instead.
        assert_eq!(
            sql("words"),
            "\"word_to_breakdowns\" AS s0 LEFT JOIN \"words\" AS s1 ON s1.\"id\" = s0.\"word_id\" ORDER BY s0.\"word_id\""
        );
        // breakdowns joins on the root's breakdown_id, which only the root has; the word each
        // root looks up joins nothing after it, so it is left out. Each piece's morpheme rides.
        assert_eq!(
            sql("breakdowns"),
            "\"word_to_breakdowns\" AS s0 JOIN \"breakdowns\" AS s2 ON s2.\"breakdown_id\" = s0.\"breakdown_id\" LEFT JOIN \"morphemes\" AS s3 ON s3.\"morpheme_id\" = s2.\"morpheme_id\" ORDER BY s0.\"word_id\""
        );
        // With fewer words than breakdowns, words carries the key itself.
        let fewer = |table: &str| if table == "words" { 10 } else { 1_000 };
        let queries = queries_of(&spec, "BREAKDOWN", "word_id", &fewer);
        let words = queries.iter().find(|q| q.tables == ["words"]).unwrap();
        assert_eq!(
            words.sql.split(" FROM ").nth(1).unwrap(),
            "\"words\" AS s1 WHERE s1.\"id\" IS NOT NULL ORDER BY s1.\"id\""
        );
    }
}

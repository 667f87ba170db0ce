//! The rows an item type reads, as SQL a database streams in one pass: one query per table the
//! item type reaches (its root, the root's joins, every relation and its joins at any depth),
//! joined back to the root along the spec's `on` lists and ordered by the root's window key.
//! Read in step, the queries give a window of root groups every row its items can look up, and
//! no table is scanned twice however many windows there are.

use crate::source::{quote_ident, ColumnType, Schema};
use crate::spec::{Expr, FieldRef, ItemSpec, Join, Relation, RowSource, Spec};

/// How a window key column of type `ty` is read: whole numbers as they are unless `as_text`,
/// anything else as its text (which orders byte by byte the same in Postgres, with
/// `COLLATE "C"`, and here).
pub fn window_key_type(ty: &ColumnType, as_text: bool) -> ColumnType {
    match ty {
        ColumnType::Int if !as_text => ColumnType::Int,
        _ => ColumnType::Text,
    }
}

/// The rows of `table` an item type can reach, each preceded by its root row's window key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathQuery {
    pub table: String,
    pub sql: String,
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
    slots: Vec<Slot>,
    levels: Vec<Vec<usize>>,
    queries: Vec<PathQuery>,
}

/// The queries that read everything item type `item` of `spec` can reach, each ordered by the
/// root columns `key` (the columns its windows are cut on; by their text when `as_text`);
/// `rows` gives a table's row count. The root's own query comes first.
pub fn path_queries(
    spec: &Spec,
    item: &ItemSpec,
    key: &[usize],
    as_text: bool,
    rows: &dyn Fn(&str) -> u64,
) -> Vec<PathQuery> {
    let mut paths = Paths {
        schema: &spec.schema,
        key,
        as_text,
        rows,
        slots: vec![Slot {
            table: item.root.clone(),
            on: Vec::new(),
            left: false,
        }],
        levels: vec![vec![0]],
        queries: Vec::new(),
    };
    paths.emit(0);
    paths.joins(&item.joins);
    for (_, expr) in item.keys.iter().chain(&item.attributes) {
        paths.expr(expr);
    }
    paths.queries
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
        self.emit(at);
    }

    fn expr(&mut self, expr: &Expr) {
        match expr {
            Expr::Map(entries) => entries.iter().for_each(|(_, e)| self.expr(e)),
            Expr::List { relation, item } | Expr::One { relation, item, .. } => {
                self.relation(relation, item);
            }
            Expr::When { expr, .. } => self.expr(expr),
            Expr::Template { .. } | Expr::Column { .. } | Expr::Const(_) => {}
        }
    }

    /// A relation's level: once per `on` alternative (each a path of its own), or the slots of
    /// the enclosing level for `@group`.
    fn relation(&mut self, relation: &Relation, item: &Expr) {
        match &relation.source {
            RowSource::Group => {
                let grouped = self.levels.last().expect("level 0").clone();
                self.levels.push(grouped);
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
    /// and nothing else reads the root (see [`Paths::lead`]).
    fn emit(&mut self, target: usize) {
        let mut from: Vec<usize> = self.levels.iter().flatten().copied().collect();
        from.sort_unstable();
        from.dedup();
        from.retain(|&s| s <= target);
        let shape = |s: usize| {
            self.schema
                .table(&self.slots[s].table)
                .expect("the spec checked its tables")
        };
        let (lead, key_columns) = self.lead(&from);
        from.retain(|&s| s >= lead);
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
        let columns: Vec<String> = shape(target)
            .columns
            .iter()
            .map(|c| format!("s{target}.{}", quote_ident(&c.name)))
            .collect();
        let mut sql = format!(
            "SELECT {} FROM {} AS s{lead}",
            key.iter()
                .chain(&columns)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            shape(lead).sql_name()
        );
        for &s in from.iter().filter(|&&s| s > lead) {
            let slot = &self.slots[s];
            let conditions: Vec<String> = slot
                .on
                .iter()
                .map(|(column, field)| {
                    let other = self.slot_of(field);
                    let left = &shape(s).columns[*column];
                    let right = &shape(other).columns[field.column];
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
            sql += &format!(
                " {} {} AS s{s} ON {}",
                if slot.left { "LEFT JOIN" } else { "JOIN" },
                shape(s).sql_name(),
                conditions.join(" AND ")
            );
        }
        if lead > 0 {
            // The join to the root dropped NULL keys; so does this.
            let not_null: Vec<String> = key_columns
                .iter()
                .map(|&c| {
                    format!(
                        "s{lead}.{} IS NOT NULL",
                        quote_ident(&shape(lead).columns[c].name)
                    )
                })
                .collect();
            sql += &format!(" WHERE {}", not_null.join(" AND "));
        }
        sql += &format!(" ORDER BY {}", key.join(", "));
        self.queries.push(PathQuery {
            table: self.slots[target].table.clone(),
            sql,
        });
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
        path_queries(spec, item, &[root.column_index(key).unwrap()], false, rows)
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
            .filter(|q| q.table == "definitions" && q.sql.contains("definition_contents"))
            .collect();
        assert_eq!(child_definitions.len(), 1, "{queries:#?}");
        assert_eq!(child_definitions[0].sql, "SELECT s1.\"word_id\", s4.\"id\", s4.\"pos\", s4.\"definition\", s4.\"notes\" FROM \"word_defs\" AS s1 JOIN \"definitions\" AS s2 ON s2.\"id\" = s1.\"definition_id\" JOIN \"definition_contents\" AS s3 ON s3.\"definition_id\" = s1.\"definition_id\" JOIN \"definitions\" AS s4 ON s4.\"id\" = s3.\"child_id\" WHERE s1.\"word_id\" IS NOT NULL ORDER BY s1.\"word_id\"");
    }

    #[test]
    fn the_root_stays_joined_when_a_later_table_reads_it_or_the_first_may_have_more_rows() {
        let spec = rootski();
        let queries = queries_of(&spec, "BREAKDOWN", "word_id", &rows);
        let sql = |table: &str| {
            let found: Vec<&str> = queries
                .iter()
                .filter(|q| q.table == table)
                .map(|q| q.sql.split(" FROM ").nth(1).unwrap())
                .collect();
            found[0].to_string()
        };
        // Joined on its whole primary key, words has more rows than the root: every word would
        // be read, not only those with a breakdown.
        assert_eq!(
            sql("words"),
            "\"word_to_breakdowns\" AS s0 JOIN \"words\" AS s1 ON s1.\"id\" = s0.\"word_id\" ORDER BY s0.\"word_id\""
        );
        // breakdowns joins on the root's breakdown_id, which only the root has.
        assert!(sql("breakdowns").starts_with("\"word_to_breakdowns\" AS s0 JOIN \"words\" AS s1"));
        // With fewer words than breakdowns, words carries the key itself.
        let fewer = |table: &str| if table == "words" { 10 } else { 1_000 };
        let queries = queries_of(&spec, "BREAKDOWN", "word_id", &fewer);
        let words = queries.iter().find(|q| q.table == "words").unwrap();
        assert_eq!(
            words.sql.split(" FROM ").nth(1).unwrap(),
            "\"words\" AS s1 WHERE s1.\"id\" IS NOT NULL ORDER BY s1.\"id\""
        );
    }
}

//! The rows an item type reads, as SQL a database streams in one pass: one query per table the
//! item type reaches (its root, the root's joins, every relation and its joins at any depth),
//! joined back to the root along the spec's `on` lists and ordered by the root's window key.
//! Read in step, the queries give a window of root groups every row its items can look up, and
//! no table is scanned twice however many windows there are.

use crate::source::{quote_ident, ColumnType, Schema};
use crate::spec::{Expr, FieldRef, ItemSpec, Join, Relation, RowSource, Spec};

/// How a window key column of type `ty` is read: whole numbers as they are, anything else as
/// its text (which orders byte by byte the same in Postgres, with `COLLATE "C"`, and here).
pub fn window_key_type(ty: &ColumnType) -> ColumnType {
    match ty {
        ColumnType::Int => ColumnType::Int,
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
    slots: Vec<Slot>,
    levels: Vec<Vec<usize>>,
    queries: Vec<PathQuery>,
}

/// The queries that read everything item type `item` of `spec` can reach, each ordered by the
/// root columns `key` (the columns its windows are cut on). The root's own query comes first.
pub fn path_queries(spec: &Spec, item: &ItemSpec, key: &[usize]) -> Vec<PathQuery> {
    let mut paths = Paths {
        schema: &spec.schema,
        key,
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
                on: join.on.clone(),
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
                        on: on.clone(),
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

    /// The query for slot `target`: every slot of the levels in scope up to it, joined.
    fn emit(&mut self, target: usize) {
        let mut from: Vec<usize> = self.levels.iter().flatten().copied().collect();
        from.sort_unstable();
        from.dedup();
        from.retain(|&s| s <= target);
        let root = &self.slots[0].table;
        let root_shape = self
            .schema
            .table(root)
            .expect("the spec checked its tables");
        let shape = |s: usize| {
            self.schema
                .table(&self.slots[s].table)
                .expect("the spec checked its tables")
        };
        // Whole numbers order by value, anything else by its text, byte by byte: the order
        // the windows are cut in (see `window_key_type`).
        let key: Vec<String> = self
            .key
            .iter()
            .map(|&c| {
                let column = &root_shape.columns[c];
                match window_key_type(&column.ty) {
                    ColumnType::Int => format!("s0.{}", quote_ident(&column.name)),
                    _ => format!("s0.{}::text COLLATE \"C\"", quote_ident(&column.name)),
                }
            })
            .collect();
        let columns: Vec<String> = shape(target)
            .columns
            .iter()
            .map(|c| format!("s{target}.{}", quote_ident(&c.name)))
            .collect();
        let mut sql = format!(
            "SELECT {} FROM {} AS s0",
            key.iter()
                .chain(&columns)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            root_shape.sql_name()
        );
        for &s in from.iter().filter(|&&s| s > 0) {
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
        sql += &format!(" ORDER BY {}", key.join(", "));
        self.queries.push(PathQuery {
            table: self.slots[target].table.clone(),
            sql,
        });
    }
}

/// `name` as a quoted SQL identifier.
#[cfg(test)]
mod tests {
    use super::*;

    fn rootski() -> Spec {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../access-patterns/rootski");
        crate::spec::load(&dir).expect("the Rootski spec loads")
    }

    #[test]
    fn a_relation_at_depth_two_is_joined_back_to_the_root() {
        let spec = rootski();
        let word = spec.items.iter().find(|i| i.name == "WORD").unwrap();
        let id = spec
            .schema
            .table("words")
            .unwrap()
            .column_index("id")
            .unwrap();
        let queries = path_queries(&spec, word, &[id]);
        assert_eq!(
            queries[0].sql.split(" FROM ").nth(1).unwrap(),
            "\"words\" AS s0 ORDER BY s0.\"id\""
        );
        let child_definitions: Vec<&PathQuery> = queries
            .iter()
            .filter(|q| q.table == "definitions" && q.sql.contains("definition_contents"))
            .collect();
        assert_eq!(child_definitions.len(), 1, "{queries:#?}");
        assert!(child_definitions[0].sql.ends_with(
            " FROM \"words\" AS s0 JOIN \"word_defs\" AS s1 ON s1.\"word_id\" = s0.\"id\" JOIN \"definitions\" AS s2 ON s2.\"id\" = s1.\"definition_id\" JOIN \"definition_contents\" AS s3 ON s3.\"definition_id\" = s1.\"definition_id\" JOIN \"definitions\" AS s4 ON s4.\"id\" = s3.\"child_id\" ORDER BY s0.\"id\""
        ), "{}", child_definitions[0].sql);
    }
}

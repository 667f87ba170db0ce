//! The typed spec: a table, item types built from rows, access patterns. Everything here is
//! already checked against the source schema: field references are resolved to positions.

use crate::item::{AttrValue, Name};

use super::template::Template;

/// The type of a key attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    S,
    N,
    B,
}

impl KeyType {
    /// The DynamoDB letter for the type.
    pub fn letter(self) -> &'static str {
        match self {
            KeyType::S => "S",
            KeyType::N => "N",
            KeyType::B => "B",
        }
    }
}

/// A key attribute: its name and type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAttr {
    pub name: String,
    pub ty: KeyType,
}

/// Billing mode of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Billing {
    OnDemand,
    Provisioned { read: u64, write: u64 },
}

/// Which attributes an index copies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Projection {
    All,
    KeysOnly,
    Include(Vec<String>),
}

/// A global secondary index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSpec {
    pub name: String,
    pub partition_key: KeyAttr,
    pub sort_key: Option<KeyAttr>,
    pub projection: Projection,
}

/// The target table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    pub name: String,
    pub partition_key: KeyAttr,
    pub sort_key: Option<KeyAttr>,
    pub indexes: Vec<IndexSpec>,
    pub billing: Billing,
    /// The attribute that names each item's type, when the design has one.
    pub type_attribute: Option<String>,
    pub ttl_attribute: Option<String>,
    /// What a new table is created with beyond its keys and billing.
    pub throughput: Throughput,
    /// What happens when two items of the plan have one key.
    pub on_key_clash: KeyClashPolicy,
}

/// What a plan does with items that share a key (`on_key_clash`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyClashPolicy {
    /// The plan fails, naming both items (the default).
    #[default]
    Error,
    /// The items of one key are ordered (item type in spec order, then the root row's primary
    /// key); the first keeps it and each next takes the next whole-number sort key no item of
    /// the plan has (the table's sort key is a number).
    NextSortKey,
}

/// A new table's throughput settings beyond its billing mode, for the table and each index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Throughput {
    /// On-demand maximum write request units per second (`OnDemandThroughput`): DynamoDB
    /// throttles above it, whatever the load asks.
    pub max_write_request_units: Option<u64>,
    /// Warm throughput (`WarmThroughput`): the writes and reads per second the table (and each
    /// index) can take at once, set ahead of a load. It cannot be lowered once raised.
    pub warm_write_units_per_second: Option<u64>,
    pub warm_read_units_per_second: Option<u64>,
}

impl Throughput {
    /// The settings in words, for reports: `on-demand maximum 40000 WRU/s, warm 12000 writes/s`;
    /// empty when there are none.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(max) = self.max_write_request_units {
            parts.push(format!("on-demand maximum {max} write request units/s"));
        }
        if let Some(warm) = self.warm_write_units_per_second {
            parts.push(format!("warm throughput {warm} writes/s"));
        }
        if let Some(warm) = self.warm_read_units_per_second {
            parts.push(format!("warm throughput {warm} reads/s"));
        }
        parts.join(", ")
    }
}

impl TableSpec {
    /// The sort keys of the table and its indexes: the keys whose values are compared in
    /// order (a Query's range, its order of items).
    pub fn sort_keys(&self) -> impl Iterator<Item = &KeyAttr> {
        self.sort_key
            .iter()
            .chain(self.indexes.iter().flat_map(|i| &i.sort_key))
    }

    /// Every key attribute of the table and its indexes, with its type.
    pub fn key_attributes(&self) -> impl Iterator<Item = &KeyAttr> {
        std::iter::once(&self.partition_key)
            .chain(&self.sort_key)
            .chain(
                self.indexes
                    .iter()
                    .flat_map(|i| std::iter::once(&i.partition_key).chain(&i.sort_key)),
            )
    }
}

/// What a NULL source value becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NullPolicy {
    /// A DynamoDB NULL.
    Null,
    /// No attribute (or, in a map, no entry).
    Omit,
}

/// How timestamps are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeFormat {
    /// `2022-02-15T05:45:18.740000`, always six fractional digits (with `Z` for
    /// time-zone-aware values, in UTC): fixed width, so the strings sort as the times do.
    Iso8601,
    /// `2022-02-15T05:45:18.740Z`, always three fractional digits: JavaScript's
    /// `toISOString()` for time-zone-aware values.
    Iso8601Millis,
    /// Seconds since 1970 as a number, rounded down.
    EpochSeconds,
    /// Seconds since 1970 as a number, rounded up: a TTL that never expires an item before
    /// its time (OneTable writes `ttl` fields so, with `Math.ceil`).
    EpochSecondsCeil,
    /// Milliseconds since 1970 as a number.
    EpochMillis,
    /// A chrono pattern such as `%Y-%m-%d %H:%M:%S%.6f`, checked when the spec loads.
    Pattern(TimePattern),
}

impl TimeFormat {
    /// Fails, saying why with two times, when the strings this format writes do not sort as
    /// the times they stand for; numbers (the epoch formats) always do.
    pub fn check_sorts_as_time(&self) -> Result<(), String> {
        let TimeFormat::Pattern(pattern) = self else {
            return Ok(());
        };
        let times = sample_times();
        let mut previous: Option<(String, &chrono::NaiveDateTime)> = None;
        for time in &times {
            let mut text = String::new();
            // TimePattern::parse checked the pattern writes every timestamp.
            let _ = pattern.write(time, &mut text);
            if let Some((before, at)) = &previous {
                if before.len() != text.len() || *before > text {
                    return Err(format!(
                        "\"{}\" writes {at} as \"{before}\" and the later {time} as \"{text}\", which do not sort as the times do",
                        pattern.as_str()
                    ));
                }
            }
            previous = Some((text, time));
        }
        Ok(())
    }
}

/// Times in order whose fields each cross the boundaries where a width or an order could
/// break: one digit to two, 9 to 10, the end of a month and of a year, fractions of every
/// length.
fn sample_times() -> Vec<chrono::NaiveDateTime> {
    let at = |y, mo, d, h, mi, s, micro| {
        chrono::NaiveDate::from_ymd_opt(y, mo, d)
            .and_then(|date| date.and_hms_micro_opt(h, mi, s, micro))
            .expect("a valid sample time")
    };
    let mut times = vec![
        at(1999, 12, 31, 23, 59, 59, 999_999),
        at(2000, 1, 2, 3, 4, 5, 0),
        at(2000, 1, 2, 3, 4, 5, 1),
        at(2000, 1, 2, 3, 4, 5, 250_000),
        at(2000, 1, 2, 3, 4, 6, 0),
        at(2000, 1, 2, 3, 9, 0, 0),
        at(2000, 1, 2, 3, 10, 0, 0),
        at(2000, 1, 2, 9, 0, 0, 0),
        at(2000, 1, 2, 10, 0, 0, 0),
        at(2000, 1, 9, 0, 0, 0, 0),
        at(2000, 1, 10, 0, 0, 0, 0),
        at(2000, 2, 1, 0, 0, 0, 0),
        at(2000, 9, 30, 0, 0, 0, 0),
        at(2000, 10, 1, 0, 0, 0, 0),
        at(2009, 12, 31, 0, 0, 0, 0),
        at(2010, 1, 1, 0, 0, 0, 0),
        at(2023, 3, 1, 9, 0, 0, 0),
        at(2023, 3, 1, 9, 5, 12, 250_000),
    ];
    times.sort();
    times
}

/// A chrono (strftime) pattern that can write every timestamp: parsed once when the spec
/// loads, so a bad one is an error there and never at run time.
#[derive(Debug, Clone)]
pub struct TimePattern {
    text: String,
    items: Vec<chrono::format::Item<'static>>,
}

impl TimePattern {
    /// Parses `text` and checks it can write a timestamp (in UTC, without a zone).
    ///
    /// # Errors
    /// A field chrono does not know (`%Q`), or one a timestamp without a zone cannot give
    /// (`%z`, `%Z`), said in a sentence.
    pub fn parse(text: &str) -> Result<Self, String> {
        let items = chrono::format::StrftimeItems::new(text)
            .parse_to_owned()
            .map_err(|_| {
                format!("\"{text}\" is not a time pattern chrono can read; use iso8601, epoch-seconds, epoch-millis or strftime fields such as \"%Y-%m-%dT%H:%M:%S%.6fZ\"")
            })?;
        let pattern = TimePattern {
            text: text.to_string(),
            items,
        };
        let sample = chrono::NaiveDate::from_ymd_opt(2024, 2, 29)
            .and_then(|d| d.and_hms_micro_opt(23, 59, 58, 123_456))
            .expect("a valid date and time");
        let mut out = String::new();
        if pattern.write(&sample, &mut out).is_err() {
            return Err(format!("\"{text}\" asks for a time zone (%z, %Z), but timestamps are written in UTC without one; write the zone as text, such as \"%Y-%m-%dT%H:%M:%SZ\""));
        }
        Ok(pattern)
    }

    /// Writes `time` (UTC) as the pattern says.
    pub fn write(&self, time: &chrono::NaiveDateTime, out: &mut String) -> std::fmt::Result {
        use std::fmt::Write as _;
        write!(out, "{}", time.format_with_items(self.items.iter()))
    }

    /// The pattern as the spec wrote it.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl PartialEq for TimePattern {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for TimePattern {}

/// A column of a row in scope: `level` 0 is the item's root row, each nested list or one adds
/// a level; `slot` is the table within the level (0 the related table, then its joins).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldRef {
    pub level: usize,
    pub slot: usize,
    pub column: usize,
}

/// A condition on one field, as written (`pos = noun`) and resolved to the field it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub field: FieldRef,
    pub test: Test,
}

/// What a condition asks of its field's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Test {
    /// `pos = noun|verb`, `email != NULL`: equal (or not) to one of the texts.
    Equals(super::ConditionText),
    /// `expires_at > NOW`, `score >= 50`: ordered against a value of the field's type (a NULL
    /// passes no comparison, as in SQL).
    Compare(super::Comparison, Against),
}

/// What a comparison compares with.
#[derive(Debug, Clone, PartialEq)]
pub enum Against {
    /// The plan's moment (`--as-of`, by default when the command started).
    Now,
    /// A value of the field's type, read from the spec's text.
    Value(crate::source::Value),
}

impl Eq for Against {}

/// A cast applied to a column's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cast {
    String,
    Number,
}

/// How an attribute's value is made from the rows in scope.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A string from a template; with `omit_if_null`, a NULL field without a default leaves
    /// the attribute out (a sparse index key) instead of failing.
    Template {
        template: Template<FieldRef>,
        omit_if_null: bool,
    },
    /// A column's value, typed.
    Column {
        field: FieldRef,
        cast: Option<Cast>,
        format: Option<TimeFormat>,
        join: Option<String>,
        nulls: NullPolicy,
        /// A NULL is an error naming the row, not a NULL or absent attribute.
        required: bool,
        /// When set, a value whose text is not one of these is an error naming the row.
        allowed: Option<Vec<String>>,
    },
    /// A constant.
    Const(AttrValue),
    /// A map of named values, in name order, each name once.
    Map(Vec<(Name, Expr)>),
    /// A list with one value per related row.
    List { relation: Relation, item: Box<Expr> },
    /// The value of the first related row, or what `missing` says when there is none.
    One {
        relation: Relation,
        item: Box<Expr>,
        missing: Missing,
    },
    /// The value only when every condition holds; absent otherwise.
    When {
        conditions: Vec<Condition>,
        expr: Box<Expr>,
    },
}

/// What a `one` gives when no row is related.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// A DynamoDB NULL.
    Null,
    /// No attribute.
    Omit,
    /// The item evaluated over an all-NULL row (a map of NULLs); counted in the report.
    NullRow,
}

/// Where a relation's rows come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowSource {
    /// Rows of a table, matched on columns.
    Table(String),
    /// The rows of the group the enclosing element stands for (`list = "@group"`).
    Group,
}

/// Related rows: rows of a table whose `on` columns equal fields of the enclosing scope (any
/// one of several alternatives), joined to further tables, filtered, ordered, de-duplicated,
/// grouped and capped.
#[derive(Debug, Clone, PartialEq)]
pub struct Relation {
    /// Names the relation in reports: `ITEM_TYPE.attribute`.
    pub rule: String,
    pub source: RowSource,
    /// The ways a related row is found: any one of them (none for `@group`).
    pub on: Vec<On>,
    pub joins: Vec<Join>,
    pub conditions: Vec<Condition>,
    pub order: Vec<(FieldRef, bool)>,
    pub distinct: Vec<FieldRef>,
    /// Where a `distinct` value may appear once: in this list, or anywhere in the item (every
    /// list of this relation in the item shares what it has seen, the first kept).
    pub distinct_across: DistinctAcross,
    /// One element per group of rows equal on these fields (empty: one per row).
    pub group: Vec<FieldRef>,
    pub limit: Option<usize>,
}

/// Where a list's `distinct` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DistinctAcross {
    /// Within each list: the same value may appear in two lists of the item.
    #[default]
    List,
    /// Across the whole item: a value one list of this relation kept is dropped from any list
    /// of it written after, in the item's order.
    Item,
}

/// A join of `table` on columns equal to fields already in scope; a left join keeps rows
/// without a match (the joined columns read as NULL).
#[derive(Debug, Clone, PartialEq)]
pub struct Join {
    pub table: String,
    pub on: On,
    pub left: bool,
}

/// An `on` list of the spec (a join's, or one of a relation's alternatives), numbered across
/// the whole spec in the order it is read: what a lookup's index is found by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct JoinId(pub usize);

/// How rows of a joined or related table are found: each pair is one of its columns and the
/// field in scope that column equals.
#[derive(Debug, Clone, PartialEq)]
pub struct On {
    pub id: JoinId,
    pub pairs: Vec<(usize, FieldRef)>,
}

/// An item type of a spec: its place among the spec's `[[items]]` (`Spec::items`), which is
/// also its place in every per-type list a plan keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemTypeId(pub usize);

/// A list with one entry per item type, indexed by [`ItemTypeId`].
impl<T> std::ops::Index<ItemTypeId> for Vec<T> {
    type Output = T;

    fn index(&self, ItemTypeId(t): ItemTypeId) -> &T {
        &self[t]
    }
}

impl<T> std::ops::IndexMut<ItemTypeId> for Vec<T> {
    fn index_mut(&mut self, ItemTypeId(t): ItemTypeId) -> &mut T {
        &mut self[t]
    }
}

/// One item type: one item per row of `root` (joined to `joins`) that passes `conditions`,
/// or, with `group_by`, one per group of such rows, built over the group's first row.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemSpec {
    pub name: String,
    pub root: String,
    pub joins: Vec<Join>,
    pub conditions: Vec<Condition>,
    /// Keep only rows whose row of this earlier item type's root table is one of its roots.
    pub with_item: Option<ItemTypeId>,
    /// Drop rows whose root row is a root of this earlier item type.
    pub without_item: Option<ItemTypeId>,
    pub group_by: Vec<FieldRef>,
    pub order: Vec<(FieldRef, bool)>,
    pub keys: Vec<(String, Expr)>,
    /// Each key as the spec wrote it, as a NoSQL Workbench facet's key alias (a template, or
    /// the value as TOML): what `export workbench` writes and `workbench = …` reads back.
    pub key_aliases: Vec<(String, String)>,
    pub attributes: Vec<(String, Expr)>,
    /// Line of the item type in the spec file.
    pub line: usize,
}

impl ItemSpec {
    /// The earlier item types whose roots this one's depend on (`with_item`, `without_item`).
    pub fn names_types(&self) -> impl Iterator<Item = ItemTypeId> {
        self.with_item.into_iter().chain(self.without_item)
    }
}

/// The operation an access pattern runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    GetItem,
    Query,
    BatchGetItem,
    /// Writes, checked without writing: the item the key addresses is read, and the
    /// pattern's condition evaluated on it.
    PutItem,
    UpdateItem,
    DeleteItem,
}

impl Operation {
    /// Whether the application writes with it (checked by reading the key it addresses).
    pub fn writes(self) -> bool {
        matches!(
            self,
            Operation::PutItem | Operation::UpdateItem | Operation::DeleteItem
        )
    }
}

/// The order a Query returns items in: by sort key, ascending (`ScanIndexForward`) or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    #[default]
    Ascending,
    Descending,
}

/// A write's condition, as far as it can be checked without writing: every attribute named
/// must exist, or must not, on the item the key addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteCondition {
    /// The expression as the spec (and the application) writes it.
    pub text: String,
    /// Each attribute, and whether it must exist.
    pub terms: Vec<(String, bool)>,
}

/// A condition on a key attribute in an access pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyCondition {
    Equals(Template<String>),
    BeginsWith(Template<String>),
}

/// A documented access pattern, with an example and the SQL that answers it from the source.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessPattern {
    pub name: String,
    pub operation: Operation,
    pub index: Option<String>,
    pub key: Vec<(String, KeyCondition)>,
    /// A Query's order (`ScanIndexForward`).
    pub order: Direction,
    /// The items a Query asks for, page after page (DynamoDB's `Limit`, paged until met).
    pub limit: Option<u32>,
    /// The attributes a read asks for (`ProjectionExpression`); all when empty.
    pub projection: Vec<String>,
    /// A Query's `FilterExpression`, `{field}` taking the example's values and `#name` an
    /// attribute's name.
    pub filter: Option<Template<String>>,
    /// A write's condition.
    pub condition: Option<WriteCondition>,
    pub example: Vec<(String, String)>,
    /// The example's values written as numbers (compared as numbers in a filter).
    pub example_numbers: Vec<String>,
    pub sql: String,
}

/// A whole spec: the table, the item types in order, the access patterns.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    pub table: TableSpec,
    pub items: Vec<ItemSpec>,
    pub access_patterns: Vec<AccessPattern>,
    /// How timestamps are written where an attribute does not say (and in templates).
    pub timestamps: TimeFormat,
    /// The source schema the spec was checked against.
    pub schema: crate::source::Schema,
    /// Where the schema file is.
    pub schema_path: std::path::PathBuf,
    /// The Postgres schemas where its unqualified tables are, in search order (`--schema`
    /// overrides); empty, the server's search path.
    pub postgres_schemas: Vec<String>,
    /// The moment `NOW` stands for in conditions and `{as_of}` in access patterns' SQL: when
    /// the spec was loaded, unless the command says (`--as-of`).
    pub as_of: chrono::DateTime<chrono::Utc>,
    /// The part of the items this run plans, loads and compares (`--shard I/N`); all when
    /// `None`.
    pub shard: Option<crate::item::Shard>,
}

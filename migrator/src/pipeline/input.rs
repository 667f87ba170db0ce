//! What a plan is made from, read the way a spec needs it: the source opened and checked
//! against the spec's schema, then its tables read whole, or (with a window) a plan made in
//! windows and kept on disk.

use std::path::PathBuf;

use super::memory::warn_if_too_large;
use crate::error::Error;
use crate::source::{PostgresSource, Schemas, Source, SourceLocation, SourceOptions};
use crate::spec::Spec;
use crate::transform::{self, window::Spilled, Plan, Planned, Tables};

/// A spec and the source its items are made from.
#[derive(Debug, Clone)]
pub struct Input {
    /// The spec's folder (or its spec.toml).
    pub spec: PathBuf,
    pub source: SourceLocation,
    /// The Postgres search path asked for (`--schema`); empty, the spec's or the server's.
    pub schemas: Vec<String>,
    /// Postgres connections reading in parallel, all on one snapshot.
    pub connections: u16,
    /// Root rows a window holds, when planning in windows.
    pub window: Option<usize>,
    /// The moment `NOW` stands for in the spec's conditions (`--as-of`); when absent, the
    /// moment the spec is loaded.
    pub as_of: Option<chrono::DateTime<chrono::Utc>>,
    /// A snapshot held elsewhere to read on (`--snapshot`).
    pub snapshot: Option<String>,
    /// The part of the items this run is for (`--shard`).
    pub shard: Option<crate::item::Shard>,
}

impl Input {
    /// Loads the spec, its `NOW` set to the input's moment.
    pub fn load_spec(&self) -> Result<Spec, Error> {
        let mut spec = crate::spec::load(&self.spec)?;
        if let Some(as_of) = self.as_of {
            spec.as_of = as_of;
        }
        spec.shard = self.shard;
        Ok(spec)
    }

    /// The schemas to read: `--schema`, else the spec's, and those its schema.sql qualifies.
    pub fn schemas(&self, spec: &Spec) -> Schemas {
        let search = if self.schemas.is_empty() {
            spec.postgres_schemas.clone()
        } else {
            self.schemas.clone()
        };
        Schemas::for_tables(search, &spec.schema)
    }

    /// Opens the source the way `spec` needs it (a CSV folder typed by the spec's schema) with
    /// `connections` connections, and checks it matches the spec's schema.
    async fn open(&self, spec: &Spec, connections: u16) -> Result<(SourceLocation, Source), Error> {
        let mut location = self.source.clone();
        if let SourceLocation::Csv { schema, .. } = &mut location {
            *schema = Some(spec.schema_path.clone());
        }
        let options = SourceOptions {
            connections: usize::from(connections),
            schemas: self.schemas(spec),
            snapshot: self.snapshot.clone(),
        };
        let source = Source::open(&location, options).await?;
        source.check_schema(&spec.schema, &spec.schema_path, &location)?;
        Ok((location, source))
    }

    /// Reads every table the spec reads, whole.
    pub async fn read_tables(&self, spec: &Spec) -> Result<(SourceLocation, Tables), Error> {
        let (location, source) = self.open(spec, self.connections).await?;
        // The hint asks the tables' sizes on a connection of its own while they are read.
        let hint = async {
            if let Source::Postgres(postgres) = &source {
                warn_if_too_large(spec, postgres).await;
            }
        };
        let ((), tables) = tokio::join!(hint, transform::read_tables(spec, &source));
        Ok((location, tables?))
    }

    /// Opens a Postgres source for a windowed plan; a CSV folder is refused.
    pub async fn open_windowed(
        &self,
        spec: &Spec,
    ) -> Result<(SourceLocation, PostgresSource), Error> {
        if let SourceLocation::Csv { dir, .. } = &self.source {
            return Err(Error::Usage(format!(
                "--window plans from Postgres, but {} is a folder of CSV files; plan it without --window",
                dir.display()
            )));
        }
        match self.open(spec, 1).await? {
            (location, Source::Postgres(postgres)) => Ok((location, postgres)),
            _ => unreachable!("a postgres:// location opens a Postgres source"),
        }
    }

    /// Reads the input as the window says: the tables whole, or a plan made in windows.
    pub async fn checked(&self, spec: &Spec) -> Result<(SourceLocation, Checked), Error> {
        let Some(window) = self.window else {
            let (location, tables) = self.read_tables(spec).await?;
            return Ok((location, Checked::Tables(tables)));
        };
        let (location, postgres) = self.open_windowed(spec).await?;
        let spilled = Spilled::plan(spec, &postgres, window).await?;
        Ok((location, Checked::Spilled(spilled)))
    }
}

/// What `migrate`, `verify` and `diff` plan from: the tables, read whole, or with a window, a
/// plan made in windows and kept on disk.
pub enum Checked {
    Tables(Tables),
    Spilled(Spilled),
}

impl Checked {
    /// The plan to load or compare: the windowed one, or one planned here over the tables
    /// (kept in `in_memory`).
    pub fn plan<'a>(
        &'a self,
        spec: &'a Spec,
        in_memory: &'a mut Option<Plan<'a>>,
    ) -> Result<&'a dyn Planned, Error> {
        match self {
            Checked::Tables(tables) => Ok(in_memory.insert(plan_tables(spec, tables)?)),
            Checked::Spilled(spilled) => Ok(spilled),
        }
    }
}

/// Plans every item of `spec` over `tables` (on this thread, with rayon's).
fn plan_tables<'a>(spec: &'a Spec, tables: &'a Tables) -> Result<Plan<'a>, Error> {
    Ok(tokio::task::block_in_place(|| {
        transform::plan(spec, tables)
    })?)
}

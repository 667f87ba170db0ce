//! `export workbench`: a spec and the plan it makes of a source, as a NoSQL Workbench data
//! model file (see [`crate::report::workbench_model`]).

use std::path::PathBuf;

use super::input::Input;
use crate::error::Error;
use crate::output::write_whole;
use crate::report::{to_json, workbench_model};

/// What `export workbench` is asked to do.
#[derive(Debug, Clone)]
pub struct WorkbenchRequest {
    pub input: Input,
    /// Where the model goes (`-` for stdout).
    pub out: PathBuf,
    /// Items shown per facet.
    pub samples: usize,
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkbenchExport {
    pub table: String,
    pub facets: usize,
    pub attributes: usize,
    pub samples: usize,
}

/// Plans the spec over its source and writes the model.
///
/// # Errors
/// A spec or source that cannot be read, items that cannot be made, an output that cannot be
/// written.
pub async fn export_workbench(request: &WorkbenchRequest) -> Result<WorkbenchExport, Error> {
    let spec = request.input.load_spec()?;
    let (_, checked) = request.input.checked(&spec).await?;
    let mut in_memory = None;
    let plan = checked.plan(&spec, &mut in_memory)?;
    let model = tokio::task::block_in_place(|| workbench_model(&spec, plan, request.samples))?;
    write_whole(&request.out, to_json(&model).as_bytes())?;
    let table = &model.data_model[0];
    Ok(WorkbenchExport {
        table: table.table_name.clone(),
        facets: table.table_facets.len(),
        attributes: table.non_key_attributes.len(),
        samples: table.table_facets.iter().map(|f| f.table_data.len()).sum(),
    })
}

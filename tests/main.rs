//! End-to-end tests against the real servers started by `scripts/servers` (one test binary).

mod architecture;
mod connection_lost;
mod dataset_load;
mod errors;
mod exits;
mod extract;
mod forum;
mod generate;
mod ioto;
mod load_faults;
mod migrate;
mod outputs;
mod plan;
mod rootski_items;
mod s3_import;
mod schemas;
mod shards;
mod snapshot;
mod spec_corruption;
mod spec_errors;
mod support;
mod tls;
mod types;
mod workbench;

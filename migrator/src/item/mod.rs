//! The item's vocabulary, below every stage that makes, writes or compares items: attribute
//! values and numbers as DynamoDB types them (`value.rs`), the one DynamoDB JSON writer
//! (`json.rs`), an item as a line with its key and hash (`line.rs`), and the one conversion to
//! and from the SDK's `AttributeValue` (`sdk.rs`), and which shard an item is in (`shard.rs`). It imports nothing of the crate above it.

mod json;
mod line;
mod sdk;
mod shard;
mod value;

pub use json::{
    json_name, write_json_map, write_json_string, write_number_value, write_string_value, Name,
};
pub use line::{attributes, line_hash, ItemKey, PlanLine, ScannedItem};
pub use sdk::{item_to_line, line_to_item, request_json, SdkItem};
pub use shard::Shard;
pub use value::{AttrValue, Number, NumberError, MAX_NUMBER_DIGITS};

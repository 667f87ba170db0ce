//! The errors a row can make, with the table, the row and the rule.

use super::{row_key, Builder, Scope};
use crate::spec::FieldRef;
use crate::transform::errors::TransformError;

impl<'a> Builder<'a> {
    pub(super) fn null_error(
        &self,
        field: &FieldRef,
        scope: &Scope<'a>,
        at: &Where,
    ) -> TransformError {
        let (root, row) = self.root(scope);
        let (data, _) = scope[field.level].slots[field.slot];
        TransformError::NullKey {
            item_type: at.item_type.to_string(),
            table: root.shape.name.clone(),
            row: row_key(root, row),
            field: if field.level == 0 && field.slot == 0 {
                data.shape.columns[field.column].name.clone()
            } else {
                format!(
                    "{}.{}",
                    data.shape.name, data.shape.columns[field.column].name
                )
            },
            attribute: at.attribute.to_string(),
        }
    }

    /// The column `field` reads, as messages name it.
    pub(super) fn column_name(&self, field: &FieldRef, scope: &Scope<'a>) -> String {
        let (data, _) = scope[field.level].slots[field.slot];
        data.shape.columns[field.column].name.clone()
    }

    pub(super) fn value_error(
        &self,
        scope: &Scope<'a>,
        at: &Where,
        message: String,
    ) -> TransformError {
        let (root, row) = self.root(scope);
        TransformError::Value {
            item_type: at.item_type.to_string(),
            table: root.shape.name.clone(),
            row: row_key(root, row),
            attribute: at.attribute.to_string(),
            message,
        }
    }
}

/// The item type and attribute being built, for messages.
pub(super) struct Where<'a> {
    pub(super) item_type: &'a str,
    pub(super) attribute: &'a str,
}

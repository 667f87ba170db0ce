//! A plan's record of one checked item, without its body.

/// One checked item of a plan without its body: enough to order, count, compare and rebuild it.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Partition and sort key as text (numbers canonical, binary in base64).
    pub key: (String, String),
    /// The item's line hash, as the verification digests sum them.
    pub hash: u128,
    /// The size DynamoDB counts for the item.
    pub bytes: u32,
    /// The root group the item is built from.
    pub(super) group: u32,
    /// Whether the key's sort key was moved off a key another item has (`on_key_clash`).
    pub(super) moved: bool,
}

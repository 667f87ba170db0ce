//! An order-independent digest of a set of lines: the wrapping sum of their SHA-256 hashes
//! (first 16 bytes each), so two sides agree whatever order they were read in.

use crate::item::line_hash;

/// A running digest; equal sets of lines give equal digests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Digest(u128);

impl Digest {
    /// Adds one line.
    pub fn add(&mut self, line: &str) {
        self.add_hash(line_hash(line));
    }

    /// Adds one line by its [`line_hash`].
    pub fn add_hash(&mut self, hash: u128) {
        self.0 = self.0.wrapping_add(hash);
    }

    /// The digest as 32 hex digits.
    pub fn hex(&self) -> String {
        format!("{:032x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Digest;

    #[test]
    fn order_does_not_matter_content_does() {
        let (mut a, mut b, mut c) = (Digest::default(), Digest::default(), Digest::default());
        for line in ["x", "y", "z"] {
            a.add(line);
        }
        for line in ["z", "x", "y"] {
            b.add(line);
        }
        for line in ["z", "x", "y2"] {
            c.add(line);
        }
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.hex().len(), 32);
    }
}

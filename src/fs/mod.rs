//! The file system as pinbatch uses it: the one way a file is replaced (atomic), the one
//! directory walker, and how generated files refer to media paths. A leaf: it imports nothing
//! of pinbatch.

pub(crate) mod atomic;
pub(crate) mod paths;
pub(crate) mod walk;

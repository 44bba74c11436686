//! SCIM PATCH (RFC 7644 §3.5.2): the path syntax, the request body, and applying operations
//! to a resource in canonical form.

pub mod apply;
pub mod members;
pub mod path;
pub mod request;

pub use path::{parse_patch_path, parse_patch_path_within, PatchPath, PathError};
pub use request::{parse_patch_request, PatchOp, PatchOperation};

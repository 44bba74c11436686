//! Lowercase hex, the one text form scimd gives bytes: key ids, hashes, digests, tags.

pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

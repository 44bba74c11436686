//! Any text given as a PATCH operation's `path`: parsing never panics or hangs, and whatever
//! parses prints back to text that parses to the same path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scimd::scim::patch::path::parse_patch_path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(path) = parse_patch_path(text) {
        let printed = path.to_string();
        match parse_patch_path(&printed) {
            Ok(reparsed) => assert_eq!(reparsed, path, "{text:?} printed as {printed:?}"),
            Err(error) => panic!("{text:?} printed as {printed:?}, which fails: {error}"),
        }
    }
});

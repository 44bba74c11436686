//! Any text given as `filter=`: parsing never panics or hangs; whatever parses prints back to
//! text that parses to the same tree (the proptests check this from generated trees, this from
//! arbitrary text); and a filter the schema accepts translates to SQL whose placeholders are
//! exactly the arguments it binds, and evaluates in memory, without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use projections::db::Dialect;
use scimd::scim::filter::eval::resource_matches;
use scimd::scim::filter::parse_filter;
use scimd::scim::filter::resolve::check_in_any;
use scimd::scim::filter::sql::SqlFilter;
use scimd::scim::schema::ResourceType;
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(filter) = parse_filter(text) else {
        return;
    };
    let printed = filter.to_string();
    match parse_filter(&printed) {
        Ok(reparsed) => assert_eq!(reparsed, filter, "{text:?} printed as {printed:?}"),
        Err(error) => panic!("{text:?} printed as {printed:?}, which fails: {error}"),
    }
    let resource = json!({
        "userName": "fuzz", "displayName": "fuzz", "active": true,
        "emails": [{"value": "fuzz@example.com", "primary": true}],
        "members": [{"value": "00000000-0000-0000-0000-000000000000"}],
        "meta": {"created": "2026-01-01T00:00:00Z"}
    });
    for resource_type in ResourceType::ALL {
        if check_in_any(&[resource_type], &filter).is_err() {
            continue;
        }
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            let mut args = Vec::new();
            let translation = SqlFilter::new(resource_type, dialect, &mut args).translate(&filter);
            let condition = translation.condition.unwrap_or_default();
            let highest = condition
                .split('$')
                .skip(1)
                .filter_map(|rest| {
                    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    digits.parse::<usize>().ok()
                })
                .max()
                .unwrap_or(0);
            assert_eq!(highest, args.len(), "{condition} binds {} arguments", args.len());
        }
        resource_matches(&filter, resource_type, &resource);
    }
});

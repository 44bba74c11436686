//! Any request body, as the User, Group, PATCH and Bulk endpoints decode it: no panic, no hang,
//! and a decoded resource decodes again to itself (PATCH results rely on that: they are
//! re-checked by decoding the canonical form).
#![no_main]

use libfuzzer_sys::fuzz_target;
use scimd::scim::bulk::request::parse_bulk_request;
use scimd::scim::filter::FilterLimits;
use scimd::scim::patch::apply::apply_operations;
use scimd::scim::patch::request::parse_patch_request;
use scimd::scim::resource::{decode, group_fields, user_profile};
use scimd::scim::schema::ResourceType;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    for resource_type in [ResourceType::User, ResourceType::Group] {
        if let Ok(decoded) = decode(resource_type, &body) {
            let canonical = Value::Object(decoded.attributes.clone());
            match decode(resource_type, &canonical) {
                Ok(again) => assert_eq!(again.attributes, decoded.attributes),
                Err(error) => panic!("canonical {canonical} fails to decode: {error:?}"),
            }
            match resource_type {
                ResourceType::User => drop(user_profile(decoded)),
                ResourceType::Group => drop(group_fields(decoded)),
            }
        }
    }
    if let Ok(operations) = parse_patch_request(&body, FilterLimits::default()) {
        for resource_type in [ResourceType::User, ResourceType::Group] {
            let mut resource = serde_json::Map::new();
            resource.insert("userName".into(), Value::from("fuzz"));
            resource.insert("displayName".into(), Value::from("fuzz"));
            let _ = apply_operations(resource_type, &mut resource, &operations);
        }
    }
    let _ = parse_bulk_request(&body, 1000);
});

//! Reading a JSON request body strictly: a member named twice in one object is refused
//! instead of the last one silently winning, so that `{"userName": "a", "userName": "b"}`
//! cannot mean one thing to scimd and another to whatever logged or checked it first. SCIM
//! attribute names ignore case (RFC 7643 §2.1), so `userName` and `USERNAME` are one name.
//!
//! Nesting is bounded by serde_json's recursion limit, numbers out of range of an f64 (such
//! as `1e400`) are refused by it, and invalid UTF-8 too.

use serde::de::{Deserialize, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::collections::HashSet;
use std::fmt;

/// The JSON value of `bytes`, refusing duplicate member names.
pub fn parse_strict(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let Strict(value) = Strict::deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Strict;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Strict, E> {
        Ok(Strict(Value::Null))
    }

    fn visit_bool<E>(self, flag: bool) -> Result<Strict, E> {
        Ok(Strict(Value::Bool(flag)))
    }

    fn visit_i64<E>(self, number: i64) -> Result<Strict, E> {
        Ok(Strict(Value::Number(number.into())))
    }

    fn visit_u64<E>(self, number: u64) -> Result<Strict, E> {
        Ok(Strict(Value::Number(number.into())))
    }

    fn visit_f64<E: serde::de::Error>(self, number: f64) -> Result<Strict, E> {
        Number::from_f64(number)
            .map(|number| Strict(Value::Number(number)))
            .ok_or_else(|| E::custom("a number must be finite"))
    }

    fn visit_str<E>(self, text: &str) -> Result<Strict, E> {
        Ok(Strict(Value::String(text.to_string())))
    }

    fn visit_string<E>(self, text: String) -> Result<Strict, E> {
        Ok(Strict(Value::String(text)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Strict, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or_default().min(1024));
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Strict(Value::Array(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Strict, A::Error> {
        let mut object = Map::new();
        let mut seen = HashSet::new();
        while let Some(name) = map.next_key::<String>()? {
            if !seen.insert(name.to_lowercase()) {
                return Err(A::Error::custom(format!(
                    "the member {name:?} appears twice in one object (names ignore case)"
                )));
            }
            let Strict(value) = map.next_value()?;
            object.insert(name, value);
        }
        Ok(Strict(Value::Object(object)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_what_serde_json_reads() {
        let text =
            r#"{"a": [1, -2, 3.5, 18446744073709551615, true, null, "é\u0041"], "b": {"c": {}}}"#;
        assert_eq!(
            parse_strict(text.as_bytes()).ok(),
            serde_json::from_str::<Value>(text).ok()
        );
        assert_eq!(parse_strict(b" 7 ").ok(), Some(json!(7)));
    }

    #[test]
    fn refuses_a_member_named_twice_in_any_case_at_any_depth() {
        for text in [
            r#"{"userName": "a", "userName": "b"}"#,
            r#"{"userName": "a", "USERNAME": "b"}"#,
            r#"{"name": {"givenName": "a", "givenname": "b"}}"#,
            r#"[{"x": 1}, {"y": 1, "y": 2}]"#,
        ] {
            let error = parse_strict(text.as_bytes()).expect_err(text);
            assert!(
                error.to_string().contains("appears twice"),
                "{text}: {error}"
            );
        }
        assert!(parse_strict(br#"[{"x": 1}, {"x": 2}]"#).is_ok());
    }

    #[test]
    fn refuses_what_is_not_json() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        for text in [
            &b"{\"a\": 1e400}"[..],
            b"{\"a\": \"\xff\"}",
            b"{\"a\": 1} trailing",
            b"",
            deep.as_bytes(),
        ] {
            assert!(
                parse_strict(text).is_err(),
                "{}",
                String::from_utf8_lossy(text)
            );
        }
    }
}

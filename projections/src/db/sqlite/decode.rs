//! Rows of a rusqlite query read into the same row types sqlx reads on PostgreSQL: each row
//! type derives `serde::Deserialize` beside `sqlx::FromRow`, and a row is handed to it as a
//! map from column name to value (or, for a tuple, as a sequence of values).
//!
//! SQLite has no boolean type; a `bool` field reads an integer as sqlx does (zero is false).

use rusqlite::types::ValueRef;
use rusqlite::Row;
use serde::de::{self, DeserializeOwned, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::forward_to_deserialize_any;

#[derive(Debug, thiserror::Error)]
#[error("cannot read column {column}: {message}")]
pub struct DecodeError {
    column: String,
    message: String,
}

impl de::Error for DecodeError {
    fn custom<T: std::fmt::Display>(message: T) -> Self {
        Self {
            column: "?".to_string(),
            message: message.to_string(),
        }
    }
}

/// Reads `row`, whose columns are named `columns`, as a `T`.
pub fn from_row<T: DeserializeOwned>(row: &Row<'_>, columns: &[String]) -> Result<T, DecodeError> {
    T::deserialize(RowReader { row, columns })
}

struct RowReader<'a, 'r> {
    row: &'a Row<'r>,
    columns: &'a [String],
}

impl<'a, 'r> RowReader<'a, 'r> {
    fn value(&self, index: usize) -> Result<ValueReader<'a>, DecodeError> {
        let column = self.columns.get(index).map_or("?", String::as_str);
        match self.row.get_ref(index) {
            Ok(value) => Ok(ValueReader {
                value: owned(value),
                column: column.to_string(),
            }),
            Err(error) => Err(DecodeError {
                column: column.to_string(),
                message: error.to_string(),
            }),
        }
    }
}

/// A column's value, copied out of the row so that the reader does not borrow the statement.
enum Value<'a> {
    Null,
    Integer(i64),
    Real(f64),
    Text(&'a [u8]),
    Blob(&'a [u8]),
}

fn owned(value: ValueRef<'_>) -> Value<'_> {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(integer) => Value::Integer(integer),
        ValueRef::Real(real) => Value::Real(real),
        ValueRef::Text(text) => Value::Text(text),
        ValueRef::Blob(blob) => Value::Blob(blob),
    }
}

impl<'de> de::Deserializer<'de> for RowReader<'_, '_> {
    type Error = DecodeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_map(Columns {
            reader: self,
            next: 0,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_seq(Columns {
            reader: self,
            next: 0,
        })
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.deserialize_seq(visitor)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct enum identifier ignored_any
    }
}

struct Columns<'a, 'r> {
    reader: RowReader<'a, 'r>,
    next: usize,
}

impl<'de> MapAccess<'de> for Columns<'_, '_> {
    type Error = DecodeError;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DecodeError> {
        let Some(name) = self.reader.columns.get(self.next) else {
            return Ok(None);
        };
        seed.deserialize(name.as_str().into_deserializer())
            .map(Some)
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, DecodeError> {
        let value = self.reader.value(self.next)?;
        self.next += 1;
        seed.deserialize(value)
    }
}

impl<'de> SeqAccess<'de> for Columns<'_, '_> {
    type Error = DecodeError;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DecodeError> {
        if self.next >= self.reader.columns.len() {
            return Ok(None);
        }
        let value = self.reader.value(self.next)?;
        self.next += 1;
        seed.deserialize(value).map(Some)
    }
}

struct ValueReader<'a> {
    value: Value<'a>,
    column: String,
}

impl ValueReader<'_> {
    fn wrong(&self, message: impl std::fmt::Display) -> DecodeError {
        DecodeError {
            column: self.column.clone(),
            message: message.to_string(),
        }
    }

    fn text(&self, bytes: &[u8]) -> Result<String, DecodeError> {
        String::from_utf8(bytes.to_vec()).map_err(|error| self.wrong(error))
    }
}

impl<'de> de::Deserializer<'de> for ValueReader<'_> {
    type Error = DecodeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        let column = self.column.clone();
        let visited = match self.value {
            Value::Null => visitor.visit_none(),
            Value::Integer(integer) => visitor.visit_i64(integer),
            Value::Real(real) => visitor.visit_f64(real),
            Value::Text(text) => visitor.visit_string(self.text(text)?),
            Value::Blob(blob) => visitor.visit_byte_buf(blob.to_vec()),
        };
        visited.map_err(|error: DecodeError| DecodeError {
            column,
            message: error.message,
        })
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.value {
            Value::Integer(integer) => visitor.visit_bool(integer != 0),
            _ => Err(self.wrong("expected a boolean (an integer)")),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        visitor.visit_newtype_struct(self)
    }

    forward_to_deserialize_any! {
        i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

/// For an `Option<bool>` column of a row type read through `#[serde(flatten)]`: serde buffers
/// a flattened row before reading it, and a buffered SQLite integer no longer reads as a
/// boolean. Use as `#[serde(default, deserialize_with = "…")]`.
pub fn optional_flag<'de, D: de::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<bool>, D::Error> {
    struct Flag;
    impl<'de> Visitor<'de> for Flag {
        type Value = Option<bool>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a boolean, an integer or null")
        }

        fn visit_bool<E: de::Error>(self, value: bool) -> Result<Option<bool>, E> {
            Ok(Some(value))
        }

        fn visit_i64<E: de::Error>(self, value: i64) -> Result<Option<bool>, E> {
            Ok(Some(value != 0))
        }

        fn visit_u64<E: de::Error>(self, value: u64) -> Result<Option<bool>, E> {
            Ok(Some(value != 0))
        }

        fn visit_none<E: de::Error>(self) -> Result<Option<bool>, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Option<bool>, E> {
            Ok(None)
        }

        fn visit_some<D: de::Deserializer<'de>>(self, inner: D) -> Result<Option<bool>, D::Error> {
            inner.deserialize_any(self)
        }
    }
    deserializer.deserialize_any(Flag)
}

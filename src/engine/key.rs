//! A compact key for the records the engine keeps per object or per cloud resource, by the
//! ten thousand: object UIDs and cloud IDs are UUIDs, 16 bytes as a number against 24 plus
//! a 48-byte allocation as a `String` (issue 12).
use std::fmt;

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    /// A UUID written in its canonical form (lowercase, hyphenated): only that one text maps
    /// to each number, so two different texts never share a key.
    Uuid(u128),
    /// Anything else, as given.
    Text(Box<str>),
}

impl Key {
    pub fn new(text: &str) -> Self {
        match uuid::Uuid::try_parse(text) {
            Ok(id) if id.hyphenated().encode_lower(&mut uuid::Uuid::encode_buffer()) == text => {
                Key::Uuid(id.as_u128())
            }
            _ => Key::Text(text.into()),
        }
    }
}

impl From<&str> for Key {
    fn from(text: &str) -> Self {
        Key::new(text)
    }
}

impl From<&String> for Key {
    fn from(text: &String) -> Self {
        Key::new(text)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Uuid(id) => fmt::Display::fmt(&uuid::Uuid::from_u128(*id).hyphenated(), f),
            Key::Text(text) => f.write_str(text),
        }
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_reads_back_as_itself_and_only_equal_texts_share_a_key() {
        let texts = [
            "0b6f8a52-4c1e-4d7a-9a3b-2f1e0c9d8b7a",
            "0B6F8A52-4C1E-4D7A-9A3B-2F1E0C9D8B7A",
            "0b6f8a524c1e4d7a9a3b2f1e0c9d8b7a",
            "{0b6f8a52-4c1e-4d7a-9a3b-2f1e0c9d8b7a}",
            "urn:uuid:0b6f8a52-4c1e-4d7a-9a3b-2f1e0c9d8b7a",
            "nb-1",
            "",
        ];
        for (i, a) in texts.iter().enumerate() {
            assert_eq!(Key::new(a).to_string(), *a);
            for (j, b) in texts.iter().enumerate() {
                assert_eq!(Key::new(a) == Key::new(b), i == j, "{a} / {b}");
            }
        }
        assert!(
            matches!(Key::new(texts[0]), Key::Uuid(_)),
            "the canonical form is a number"
        );
        assert!(
            matches!(Key::new(texts[1]), Key::Text(_)),
            "other spellings stay text"
        );
    }
}

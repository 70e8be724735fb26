//! How the drift snapshot keeps each cloud resource: as its struct, or, for a kind that says
//! how, as compact text LZ4-compressed against one earlier entry of the snapshot. At 10,000
//! notebooks the structs (each string its own allocation) were ~1 KiB an entry, the largest
//! part of the snapshot (issue 12); the text of similar notebooks compresses to a fraction.
use serde::{Serialize, de::DeserializeOwned};
use std::sync::OnceLock;

/// A cloud-side view the snapshot can hold. The defaults keep the struct as it is.
pub trait Pack: Clone + PartialEq + Sized {
    /// The value as text that [`Pack::from_text`] reads back equal; `None` keeps the struct.
    fn text(&self) -> Option<Vec<u8>> {
        None
    }
    /// The value back from [`Pack::text`]'s output; `None` only for text it did not write.
    fn from_text(_text: &[u8]) -> Option<Self> {
        None
    }
}

/// [`Pack::text`] for a serde type: its compact JSON.
pub fn json_text<T: Serialize>(value: &T) -> Option<Vec<u8>> {
    serde_json::to_vec(value).ok()
}

/// [`Pack::from_text`] for a serde type.
pub fn from_json<T: DeserializeOwned>(text: &[u8]) -> Option<T> {
    serde_json::from_slice(text).ok()
}

/// One stored value.
#[derive(Debug, Clone)]
pub enum Body<T> {
    Plain(Box<T>),
    /// The text, LZ4-compressed against the packer's dictionary, its length prepended.
    Packed(Box<[u8]>),
}

/// Packs the values of one snapshot against one dictionary: the first text it packs.
/// Resources of a kind share most of their text (keys, states, flavors, tag keys).
#[derive(Debug, Default)]
pub struct Packer {
    dictionary: OnceLock<Box<[u8]>>,
}

impl Packer {
    pub fn pack<T: Pack>(&self, value: &T) -> Body<T> {
        match value.text() {
            None => Body::Plain(Box::new(value.clone())),
            Some(text) => {
                let dictionary = self.dictionary.get_or_init(|| text.clone().into());
                let packed = lz4_flex::block::compress_prepend_size_with_dict(&text, dictionary);
                Body::Packed(packed.into_boxed_slice())
            }
        }
    }

    /// The value back; `None` (logged) only if the stored bytes do not decode, which only a
    /// bug could cause: callers then read from the cloud as for a missing entry.
    pub fn unpack<T: Pack>(&self, body: &Body<T>) -> Option<T> {
        match body {
            Body::Plain(value) => Some(T::clone(value)),
            Body::Packed(bytes) => {
                let dictionary = self.dictionary.get().map_or(&[][..], |d| &d[..]);
                let value = lz4_flex::block::decompress_size_prepended_with_dict(bytes, dictionary)
                    .ok()
                    .and_then(|text| T::from_text(&text));
                if value.is_none() {
                    tracing::error!(
                        bytes = bytes.len(),
                        "a snapshot entry does not decode; reading from the cloud instead"
                    );
                }
                value
            }
        }
    }

    /// Whether `stored` holds `value`, given `packed`, what [`Packer::pack`] made of it.
    /// Equal bytes are equal values; differing bytes are compared as values (text can differ
    /// for equal values, e.g. a JSON object's keys in another order).
    pub fn same<T: Pack>(&self, stored: &Body<T>, packed: &Body<T>, value: &T) -> bool {
        match (stored, packed) {
            (Body::Packed(a), Body::Packed(b)) if a == b => true,
            (Body::Plain(a), _) => **a == *value,
            (Body::Packed(_), _) => self.unpack(stored).is_some_and(|old| old == *value),
        }
    }
}

/// Bytes a body holds beyond its own slot (for tests and measurement).
pub fn stored_len<T>(body: &Body<T>) -> usize {
    match body {
        Body::Plain(_) => std::mem::size_of::<T>(),
        Body::Packed(bytes) => bytes.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::HashMap;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Item {
        id: String,
        state: String,
        labels: HashMap<String, String>,
    }

    impl Pack for Item {
        fn text(&self) -> Option<Vec<u8>> {
            json_text(self)
        }
        fn from_text(text: &[u8]) -> Option<Self> {
            from_json(text)
        }
    }

    #[derive(Debug, Clone, PartialEq)]
    struct Plain(u32);
    impl Pack for Plain {}

    fn item(n: usize) -> Item {
        Item {
            id: format!("{n:08}-3f1c-4a5e-9b1d-2c7e8f9a0b1c"),
            state: "RUNNING".into(),
            labels: (0..4)
                .map(|i| {
                    (
                        format!("modelarts.operator.dev/label-{i}"),
                        format!("value-{n}-{i}"),
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn similar_values_are_kept_in_a_fraction_of_their_text_and_each_unpacks_to_its_own() {
        let packer = Packer::default();
        let items: Vec<Item> = (0..100).map(item).collect();
        let bodies: Vec<Body<Item>> = items.iter().map(|i| packer.pack(i)).collect();
        for (i, body) in items.iter().zip(&bodies) {
            assert_eq!(packer.unpack(body).as_ref(), Some(i));
        }
        let text: usize = items.iter().map(|i| json_text(i).unwrap().len()).sum();
        let packed: usize = bodies.iter().map(stored_len).sum();
        assert!(packed * 2 < text, "{packed} bytes packed for {text} of text");
    }

    #[test]
    fn sameness_is_by_value_whatever_the_text() {
        let packer = Packer::default();
        let a = item(1);
        let stored = packer.pack(&a);
        assert!(packer.same(&stored, &packer.pack(&a), &a));
        let mut moved = a.clone();
        moved.state = "STOPPED".into();
        assert!(!packer.same(&stored, &packer.pack(&moved), &moved));
        // The same value whose text differs (keys in another order) is still the same.
        let reordered: Body<Item> = {
            let mut text = br#"{"labels":{},"state":"RUNNING","id":""#.to_vec();
            text.extend_from_slice(a.id.as_bytes());
            text.extend_from_slice(b"\"}");
            let dictionary = packer.dictionary.get().unwrap();
            Body::Packed(lz4_flex::block::compress_prepend_size_with_dict(&text, dictionary).into())
        };
        let mut bare = a.clone();
        bare.labels.clear();
        assert!(packer.same(&reordered, &packer.pack(&bare), &bare));
    }

    #[test]
    fn a_kind_without_text_is_kept_as_it_is() {
        let packer = Packer::default();
        let body = packer.pack(&Plain(7));
        assert!(matches!(body, Body::Plain(_)));
        assert_eq!(packer.unpack(&body), Some(Plain(7)));
        assert!(packer.same(&body, &packer.pack(&Plain(7)), &Plain(7)));
        assert!(!packer.same(&body, &packer.pack(&Plain(8)), &Plain(8)));
    }

    #[test]
    fn bytes_that_do_not_decode_are_no_value_not_a_panic() {
        let packer = Packer::default();
        packer.pack(&item(1));
        let corrupt: Body<Item> = Body::Packed(vec![9, 0, 0, 0, 1, 2, 3].into());
        assert_eq!(packer.unpack(&corrupt), None);
        assert!(!packer.same(&corrupt, &packer.pack(&item(1)), &item(1)));
    }
}

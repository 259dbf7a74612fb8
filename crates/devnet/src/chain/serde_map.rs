//! A map with non-string keys as a sequence of `(key, value)` pairs, so the state serializes
//! to JSON (whose object keys must be strings) in key order.

use imbl::OrdMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Writes the map as `[[key, value], ...]` in key order.
pub fn serialize<S, K, V>(map: &OrdMap<K, V>, s: S) -> Result<S::Ok, S::Error>
where
    S: Serializer,
    K: Serialize + Ord + Clone,
    V: Serialize + Clone,
{
    s.collect_seq(map.iter())
}

/// Reads `[[key, value], ...]`.
pub fn deserialize<'de, D, K, V>(d: D) -> Result<OrdMap<K, V>, D::Error>
where
    D: Deserializer<'de>,
    K: Deserialize<'de> + Ord + Clone,
    V: Deserialize<'de> + Clone,
{
    Ok(Vec::<(K, V)>::deserialize(d)?.into_iter().collect())
}

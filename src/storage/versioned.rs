//! The cache's map: sharded, each entry tagged with the version at which it became current,
//! read only by snapshots at or after that version (see `cache.rs`).

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::sync::RwLock;

use rustc_hash::FxBuildHasher;

const SHARDS: usize = 64;

pub(super) struct Versioned<T> {
    pub(super) version: u64,
    pub(super) value: T,
}

// FxHash: the keys are row ids and short bitmap keys made by the store, not by an attacker, and
// SipHash showed up in profiles of an inbox query.
type Shard<K, V> = RwLock<HashMap<K, Versioned<V>, FxBuildHasher>>;

pub(super) struct Map<K, V> {
    shards: Vec<Shard<K, V>>,
    hasher: FxBuildHasher,
    capacity: usize,
}

impl<K: Hash + Eq + Clone, V: Clone> Map<K, V> {
    pub(super) fn new(capacity: usize) -> Map<K, V> {
        Map {
            shards: (0..SHARDS).map(|_| RwLock::new(HashMap::default())).collect(),
            hasher: FxBuildHasher,
            capacity: capacity.max(SHARDS),
        }
    }

    fn shard(&self, key: &K) -> &Shard<K, V> {
        // The high bits: FxHash mixes into them, and the map itself uses the low ones.
        &self.shards[(self.hasher.hash_one(key) >> 58) as usize % SHARDS]
    }

    pub(super) fn get(&self, key: &K, version: u64) -> Option<V> {
        let shard = self.shard(key).read().unwrap_or_else(|e| e.into_inner());
        shard.get(key).filter(|e| e.version <= version).map(|e| e.value.clone())
    }

    #[cfg(test)]
    pub(super) fn contains(&self, key: &K) -> bool {
        self.shard(key).read().unwrap_or_else(|e| e.into_inner()).contains_key(key)
    }

    pub(super) fn insert(&self, key: K, version: u64, value: V) {
        let mut shard = self.shard(&key).write().unwrap_or_else(|e| e.into_inner());
        // A shard over its share of the capacity drops everything it holds: crude, but it
        // bounds memory without per-entry bookkeeping on the read path, and hot entries come
        // straight back.
        if shard.len() >= self.capacity / SHARDS && !shard.contains_key(&key) {
            shard.clear();
        }
        shard.insert(key, Versioned { version, value });
    }

    /// Removes `keys`; returns those that were cached, whose new values a commit installs.
    pub(super) fn remove_cached<'k>(
        &self,
        keys: impl IntoIterator<Item = &'k K>,
    ) -> std::collections::HashSet<K, FxBuildHasher>
    where
        K: 'k,
    {
        keys.into_iter().filter(|key| self.remove(key).is_some()).cloned().collect()
    }

    pub(super) fn remove(&self, key: &K) -> Option<V> {
        let mut shard = self.shard(key).write().unwrap_or_else(|e| e.into_inner());
        shard.remove(key).map(|e| e.value)
    }
}

//! One independently locked part of an [`InMemoryKeyValue`](super::InMemoryKeyValue):
//! the map plus its expiry and recency indexes, kept consistent by the only
//! methods that touch them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use bytes::Bytes;
use tokio::time::Instant;

#[derive(Debug)]
pub(super) struct Entry {
    pub(super) value: Bytes,
    pub(super) expires_at: Option<Instant>,
    /// Unique per stored version; second half of the expiry index key.
    born: u64,
    /// Last use; the recency index key (only maintained when bounded).
    used: u64,
}

#[derive(Debug)]
pub(super) struct Shard {
    pub(super) map: HashMap<Arc<str>, Entry>,
    expiries: BTreeMap<(Instant, u64), Arc<str>>,
    recency: BTreeMap<u64, Arc<str>>,
    tick: u64,
    capacity: Option<usize>,
}

impl Shard {
    pub(super) fn new(capacity: Option<usize>) -> Self {
        Shard {
            map: HashMap::new(),
            expiries: BTreeMap::new(),
            recency: BTreeMap::new(),
            tick: 0,
            capacity,
        }
    }

    fn next_tick(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }

    pub(super) fn purge_expired(&mut self, now: Instant) {
        while let Some(entry) = self.expiries.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let key = entry.remove();
            if let Some(old) = self.map.remove(&key) {
                self.recency.remove(&old.used);
            }
        }
    }

    /// The live value, marking it used.
    pub(super) fn get(&mut self, key: &str) -> Option<&Bytes> {
        let tick = self.next_tick();
        let bounded = self.capacity.is_some();
        let (stored_key, entry) = self.map.get_key_value(key)?;
        if bounded {
            let stored_key = Arc::clone(stored_key);
            let old = entry.used;
            self.recency.remove(&old);
            self.recency.insert(tick, stored_key);
        }
        let entry = self.map.get_mut(key)?;
        entry.used = tick;
        Some(&entry.value)
    }

    pub(super) fn remove(&mut self, key: &str) -> Option<Entry> {
        let entry = self.map.remove(key)?;
        if let Some(at) = entry.expires_at {
            self.expiries.remove(&(at, entry.born));
        }
        self.recency.remove(&entry.used);
        Some(entry)
    }

    /// Store `value`, replacing any entry and its TTL; evicts the least
    /// recently used entry first when a new key would overflow the bound.
    pub(super) fn insert(&mut self, key: &str, value: Bytes, expires_at: Option<Instant>) {
        let stored_key: Arc<str> = match self.map.get_key_value(key) {
            Some((k, _)) => Arc::clone(k),
            None => Arc::from(key),
        };
        if self.remove(key).is_none()
            && let Some(capacity) = self.capacity
            && self.map.len() >= capacity
            && let Some((_, victim)) = self.recency.pop_first()
        {
            self.remove(&victim);
        }
        let tick = self.next_tick();
        if let Some(at) = expires_at {
            self.expiries.insert((at, tick), Arc::clone(&stored_key));
        }
        if self.capacity.is_some() {
            self.recency.insert(tick, Arc::clone(&stored_key));
        }
        self.map.insert(
            stored_key,
            Entry {
                value,
                expires_at,
                born: tick,
                used: tick,
            },
        );
    }

    pub(super) fn set_expiry(&mut self, key: &str, expires_at: Option<Instant>) {
        let Some((stored_key, entry)) = self.map.get_key_value(key) else {
            return;
        };
        let stored_key = Arc::clone(stored_key);
        if let Some(at) = entry.expires_at {
            let born = entry.born;
            self.expiries.remove(&(at, born));
        }
        let born = self.next_tick();
        if let Some(at) = expires_at {
            self.expiries.insert((at, born), stored_key);
        }
        if let Some(entry) = self.map.get_mut(key) {
            entry.expires_at = expires_at;
            entry.born = born;
        }
    }
}

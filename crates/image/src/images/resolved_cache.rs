//! The manifest and config each image record stands for, kept once read: they are
//! content-addressed, so what a digest names never changes and the cache is never stale.
//! Without it every lookup of one image by name read and parsed the documents of every
//! image in the store. Bounded by the images there are: each full listing drops the
//! entries of records that are gone.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use crate::digest::Digest;

/// What decides a record's documents: its target, and the manifest muelle chose from an
/// index (a label), if any.
pub(super) type Key = (Digest, Option<String>);

/// Resolved documents by record key.
#[derive(Debug)]
pub(super) struct ResolvedCache<T> {
    map: Mutex<HashMap<Key, Arc<T>>>,
}

impl<T> Default for ResolvedCache<T> {
    fn default() -> Self {
        ResolvedCache {
            map: Mutex::new(HashMap::new()),
        }
    }
}

impl<T> ResolvedCache<T> {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Arc<T>>> {
        // Every writer inserts or removes whole entries: a poisoned map is still whole.
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The entry for `key`, read with `read` (outside the lock) when there is none.
    pub(super) fn get_or_read<E>(
        &self,
        key: Key,
        read: impl FnOnce() -> Result<T, E>,
    ) -> Result<Arc<T>, E> {
        if let Some(hit) = self.lock().get(&key) {
            return Ok(hit.clone());
        }
        let value = Arc::new(read()?);
        self.lock().insert(key, value.clone());
        Ok(value)
    }

    /// Keeps only the entries of `live` keys (the records a full listing saw).
    pub(super) fn retain(&self, live: &HashSet<Key>) {
        self.lock().retain(|k, _| live.contains(k));
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> Key {
        let hex = format!("{n:02x}").repeat(32);
        (Digest::parse(&format!("sha256:{hex}")).unwrap(), None)
    }

    #[test]
    fn reads_once_and_forgets_what_is_gone() {
        let cache = ResolvedCache::<u32>::default();
        let mut reads = 0;
        for _ in 0..3 {
            let v = cache
                .get_or_read::<()>(key(1), || {
                    reads += 1;
                    Ok(7)
                })
                .unwrap();
            assert_eq!(*v, 7);
        }
        assert_eq!(reads, 1);
        assert!(cache.get_or_read(key(2), || Err("unreadable")).is_err());
        assert_eq!(cache.len(), 1);
        cache.get_or_read::<()>(key(3), || Ok(9)).unwrap();
        cache.retain(&HashSet::from([key(3)]));
        assert_eq!(cache.len(), 1);
        assert_eq!(*cache.get_or_read::<()>(key(3), || Ok(0)).unwrap(), 9);
    }
}

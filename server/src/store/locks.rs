//! Locks by key within one process: what [`super::Store::lock_fulfillment`] holds on SQLite, and what
//! PostgreSQL's lock is queued behind so that only one request per instance waits on the server.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::OwnedMutexGuard;

/// One async mutex per key, made on first use and forgotten once nobody holds or awaits it.
#[derive(Debug, Default)]
pub(crate) struct KeyedLocks {
    map: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl KeyedLocks {
    /// Waits for the key's lock (in the order asked), and holds it until the guard is dropped.
    pub(crate) async fn lock(self: &Arc<Self>, key: &str) -> KeyGuard {
        let mutex = {
            let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
            // Keys whose waiters gave up (a cancelled wait has no guard to forget them).
            map.retain(|_, mutex| Arc::strong_count(mutex) > 1);
            map.entry(key.to_owned()).or_default().clone()
        };
        KeyGuard {
            guard: Some(mutex.lock_owned().await),
            key: key.to_owned(),
            locks: self.clone(),
        }
    }

    /// How many keys are remembered (held or awaited).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// A key held; let go when dropped.
#[derive(Debug)]
pub(crate) struct KeyGuard {
    guard: Option<OwnedMutexGuard<()>>,
    key: String,
    locks: Arc<KeyedLocks>,
}

impl Drop for KeyGuard {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut map = self
            .locks
            .map
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Only the map's own reference left: nobody holds or awaits the key.
        if map
            .get(&self.key)
            .is_some_and(|mutex| Arc::strong_count(mutex) == 1)
        {
            map.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::KeyedLocks;

    #[tokio::test]
    async fn one_holder_per_key_and_nothing_remembered_after() {
        let locks = Arc::new(KeyedLocks::default());
        let held = locks.lock("a").await;
        // Another key is free.
        drop(locks.lock("b").await);
        let waiter = {
            let locks = locks.clone();
            tokio::spawn(async move { drop(locks.lock("a").await) })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        drop(held);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(locks.len(), 0);
    }
}

//! Decoded tiles kept for the next region that needs them: a model's
//! tiles are smaller than a slide's stored tiles (96 or 224 pixels against
//! 240 to 1024), so neighbouring regions decode the same stored tile again
//! and again without it. Bounded in bytes; the least recently used tile
//! goes first (OpenSlide keeps such a cache too).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A stored tile: its level and index.
type Key = (usize, u64);

/// The decoded tiles, at most `capacity` bytes of them.
#[derive(Debug)]
pub(super) struct TileCache {
    inner: Mutex<Inner>,
    capacity: usize,
}

#[derive(Debug, Default)]
struct Inner {
    tiles: HashMap<Key, (Arc<Vec<u8>>, u64)>,
    bytes: usize,
    /// A clock for "least recently used".
    clock: u64,
}

impl TileCache {
    pub(super) fn new(capacity: usize) -> TileCache {
        TileCache {
            inner: Mutex::new(Inner::default()),
            capacity,
        }
    }

    pub(super) fn capacity(&self) -> usize {
        self.capacity
    }

    /// The tile, if kept (and marks it used).
    pub(super) fn get(&self, key: Key) -> Option<Arc<Vec<u8>>> {
        let mut inner = self.inner.lock().ok()?;
        inner.clock += 1;
        let now = inner.clock;
        let (tile, used) = inner.tiles.get_mut(&key)?;
        *used = now;
        Some(Arc::clone(tile))
    }

    /// Keeps `tile`, dropping the least recently used ones to stay within
    /// the capacity; a tile larger than the capacity is not kept.
    pub(super) fn put(&self, key: Key, tile: Arc<Vec<u8>>) {
        if tile.len() > self.capacity {
            return;
        }
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        inner.clock += 1;
        let now = inner.clock;
        let size = tile.len();
        if let Some((old, _)) = inner.tiles.insert(key, (tile, now)) {
            inner.bytes -= old.len();
        }
        inner.bytes += size;
        while inner.bytes > self.capacity {
            let Some((&oldest, _)) = inner.tiles.iter().min_by_key(|(_, (_, used))| *used) else {
                break;
            };
            if let Some((gone, _)) = inner.tiles.remove(&oldest) {
                inner.bytes -= gone.len();
            }
        }
    }

    /// Bytes held.
    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.inner.lock().map(|i| i.bytes).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_recently_used_goes_first_and_bytes_stay_bounded() {
        let cache = TileCache::new(30);
        let tile = |n: usize, v: u8| Arc::new(vec![v; n]);
        cache.put((0, 1), tile(10, 1));
        cache.put((0, 2), tile(10, 2));
        cache.put((0, 3), tile(10, 3));
        assert_eq!(cache.bytes(), 30);
        // Tile 1 used: tile 2 is now the oldest and goes.
        assert_eq!(cache.get((0, 1)).unwrap()[0], 1);
        cache.put((1, 1), tile(10, 4));
        assert!(cache.get((0, 2)).is_none());
        assert!(cache.get((0, 1)).is_some() && cache.get((0, 3)).is_some());
        assert_eq!(cache.get((1, 1)).unwrap()[0], 4);
        assert_eq!(cache.bytes(), 30);
        // Replacing a tile counts its bytes once; too large is not kept.
        cache.put((1, 1), tile(5, 5));
        assert_eq!(cache.bytes(), 25);
        cache.put((2, 0), tile(31, 6));
        assert!(cache.get((2, 0)).is_none());
        assert_eq!(cache.bytes(), 25);
        // A capacity of 0 keeps nothing.
        let none = TileCache::new(0);
        none.put((0, 0), tile(1, 1));
        assert!(none.get((0, 0)).is_none());
    }
}

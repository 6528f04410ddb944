//! Sharded free lists of slot indices, with module affinity.
//!
//! Free slots are spread over several shards, each behind its own mutex. A thread allocates from and
//! frees to its own shard (chosen once per thread), and steals from the others only when its shard is
//! empty, so threads instantiating at once rarely wait on the same lock. A free slot may carry an
//! affinity (the id of the memory image it still holds): an allocation asking for that affinity gets
//! such a slot first, then a slot with no affinity, and only then evicts another module's slot.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// One shard's free slots.
#[derive(Default)]
struct Shard {
    /// Free slots holding nothing in particular.
    plain: Vec<u32>,
    /// Free slots by the affinity they hold (never an empty list).
    affine: HashMap<u64, Vec<u32>>,
}

impl Shard {
    fn take(&mut self, affinity: Option<u64>) -> Option<(u32, bool)> {
        if let Some(a) = affinity {
            if let Some(list) = self.affine.get_mut(&a) {
                let slot = list.pop().expect("affinity lists are never empty");
                if list.is_empty() {
                    self.affine.remove(&a);
                }
                return Some((slot, true));
            }
        }
        if let Some(slot) = self.plain.pop() {
            return Some((slot, false));
        }
        // Evict another affinity's slot.
        let (&a, list) = self.affine.iter_mut().next()?;
        let slot = list.pop().expect("affinity lists are never empty");
        if list.is_empty() {
            self.affine.remove(&a);
        }
        Some((slot, false))
    }

    fn put(&mut self, slot: u32, affinity: Option<u64>) {
        match affinity {
            Some(a) => self.affine.entry(a).or_default().push(slot),
            None => self.plain.push(slot),
        }
    }
}

/// A value on a cache line (two, for adjacent-line prefetching) of its own, so that threads working
/// on neighbouring shards do not make the line bounce between their cores.
#[repr(align(128))]
pub struct CachePadded<T>(pub T);

impl<T> std::ops::Deref for CachePadded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Free slot indices `0..total`, sharded.
pub struct IndexAllocator {
    shards: Box<[CachePadded<Mutex<Shard>>]>,
}

/// Hands each thread its shard number, round robin.
static NEXT_THREAD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static THREAD_NUMBER: Cell<usize> = const { Cell::new(usize::MAX) };
}

fn thread_number() -> usize {
    THREAD_NUMBER.with(|n| {
        if n.get() == usize::MAX {
            n.set(NEXT_THREAD.fetch_add(1, Ordering::Relaxed));
        }
        n.get()
    })
}

impl IndexAllocator {
    /// All of `0..total` free, with no affinity, over a number of shards suited to the host.
    pub fn new(total: u32) -> IndexAllocator {
        let cpus = std::thread::available_parallelism().map_or(4, |n| n.get());
        let shards = (cpus * 2).clamp(1, 64).min(total.max(1) as usize);
        let mut lists: Vec<Shard> = (0..shards).map(|_| Shard::default()).collect();
        // Lowest indices last, so they are handed out first.
        for slot in (0..total).rev() {
            lists[slot as usize % shards].plain.push(slot);
        }
        IndexAllocator { shards: lists.into_iter().map(|s| CachePadded(Mutex::new(s))).collect() }
    }

    /// The calling thread's shard.
    pub fn home(&self) -> usize {
        thread_number() % self.shards.len()
    }

    /// The number of shards.
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// A free slot, preferring one with `affinity`; the flag says whether it has that affinity.
    /// `None` when every slot is in use.
    pub fn alloc(&self, affinity: Option<u64>) -> Option<(u32, bool)> {
        let home = self.home();
        let n = self.shards.len();
        (0..n).find_map(|i| self.shards[(home + i) % n].lock().unwrap().take(affinity))
    }

    /// Returns `slot`, which now holds `affinity`.
    pub fn free(&self, slot: u32, affinity: Option<u64>) {
        self.shards[self.home()].lock().unwrap().put(slot, affinity);
    }

    #[cfg(test)]
    /// How many slots are free (for tests and diagnostics; racy under concurrent use).
    pub fn free_count(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                let s = s.lock().unwrap();
                s.plain.len() + s.affine.values().map(Vec::len).sum::<usize>()
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::IndexAllocator;

    #[test]
    fn affinity_and_exhaustion() {
        let a = IndexAllocator::new(3);
        let (x, hit) = a.alloc(Some(7)).unwrap();
        assert!(!hit);
        let (y, _) = a.alloc(None).unwrap();
        let (z, _) = a.alloc(None).unwrap();
        assert!(a.alloc(None).is_none());
        a.free(y, None);
        a.free(x, Some(7));
        assert_eq!(a.alloc(Some(7)), Some((x, true)));
        assert_eq!(a.alloc(Some(7)), Some((y, false)));
        a.free(z, Some(9));
        assert_eq!(a.alloc(Some(7)), Some((z, false)));
        assert_eq!(a.free_count(), 0);
    }
}

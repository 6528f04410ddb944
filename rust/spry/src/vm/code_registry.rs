//! A process-wide registry of the address ranges that hold compiled Wasm code, with their trap sites
//! and function ranges, readable from a signal handler (no lock, no allocation on the read path).

use std::cmp::Ordering as CmpOrdering;
use std::collections::HashMap;
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::trap::{FrameInfo, TrapCode};

/// An instruction that traps, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrapSite {
    /// Offset of the instruction from the start of the registered code region.
    pub offset: u32,
    /// The trap it raises.
    pub code: TrapCode,
}

/// The machine code of one Wasm function inside a registered code region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FunctionRange {
    /// Offset of the function's first byte from the start of the region.
    pub start: u32,
    /// Offset just past the function's last byte.
    pub end: u32,
    /// The function's index in its module's function index space.
    pub func_index: u32,
}

/// What the runtime knows about one registered code region.
#[derive(Clone, Debug, Default)]
pub struct CodeInfo {
    /// Trap sites, sorted by offset.
    pub traps: Vec<TrapSite>,
    /// Wasm functions, sorted by start and not overlapping. Trampolines are not listed here.
    pub functions: Vec<FunctionRange>,
    /// The module's name, from its name section.
    pub module_name: Option<String>,
    /// Function names from the module's name section, by function index.
    pub func_names: Arc<HashMap<u32, String>>,
}

impl CodeInfo {
    fn trap_code(&self, offset: u32) -> Option<TrapCode> {
        let i = self.traps.binary_search_by_key(&offset, |t| t.offset).ok()?;
        Some(self.traps[i].code)
    }

    fn function(&self, offset: u32) -> Option<&FunctionRange> {
        let i =
            self.functions.binary_search_by(|f| range_cmp(f.start as usize, f.end as usize, offset as usize)).ok()?;
        Some(&self.functions[i])
    }
}

/// A registered code region. Dropping it removes the region from the registry.
#[derive(Debug)]
#[must_use = "dropping a CodeRegistration unregisters the code at once"]
pub struct CodeRegistration {
    /// The entry's id; `None` for an empty region, which is not registered.
    id: Option<u64>,
}

/// One registered region: `[start, end)` in the address space.
struct Entry {
    start: usize,
    end: usize,
    id: u64,
    info: Arc<CodeInfo>,
}

/// An immutable snapshot of the registry, sorted by `start`.
struct Table {
    entries: Vec<Entry>,
}

// Why the read path is safe without a lock.
//
// `TABLE` points to an immutable `Table` (or is null: nothing registered). Writers, serialized by
// `WRITER`, build a new table, `swap` it in, then wait until `READERS` is 0 before freeing the old
// one. Readers increment `READERS` *before* loading `TABLE` and decrement it after their last use of
// the table. All five operations are SeqCst, so they sit in one total order S. If a reader loaded
// the old pointer, its load precedes the writer's swap in S (a later load would see the new pointer
// or a newer one), hence so does its increment (program order). Every load of `READERS` that the
// writer makes after its swap therefore counts that increment until the reader's decrement, which
// comes after the reader's last access: the writer cannot see 0 while such a reader still holds the
// old table. Readers that loaded the new pointer do not matter to this writer. A reader never
// allocates, locks or blocks, so it is async-signal-safe; a writer may spin briefly (yielding) while
// a lookup is in flight, and lookups are a handful of binary-search steps.
static TABLE: AtomicPtr<Table> = AtomicPtr::new(ptr::null_mut());
static READERS: AtomicUsize = AtomicUsize::new(0);
/// Serializes writers and holds the next registration id.
static WRITER: Mutex<u64> = Mutex::new(0);

/// Marks a read section: `READERS` stays incremented while it lives.
struct ReadGuard;

impl ReadGuard {
    fn new() -> ReadGuard {
        READERS.fetch_add(1, Ordering::SeqCst);
        ReadGuard
    }

    /// The current entries, valid while the guard lives.
    fn entries(&self) -> &[Entry] {
        let table = TABLE.load(Ordering::SeqCst);
        if table.is_null() {
            return &[];
        }
        // SAFETY: `table` came from `Box::into_raw` in `publish` and is freed only by a writer that has
        // seen `READERS == 0` after swapping it out; our increment happened before this load, so it is
        // not freed before `self` drops (see the comment on `TABLE`). Tables are never mutated.
        unsafe { &(*table).entries }
    }
}

impl Drop for ReadGuard {
    fn drop(&mut self) {
        READERS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Compares the range `[start, end)` with `pc` for a binary search: `Equal` when `pc` is inside.
fn range_cmp(start: usize, end: usize, pc: usize) -> CmpOrdering {
    if pc < start {
        CmpOrdering::Greater
    } else if pc >= end {
        CmpOrdering::Less
    } else {
        CmpOrdering::Equal
    }
}

/// The entry whose range holds `pc`, and `pc`'s offset in it.
fn find(entries: &[Entry], pc: usize) -> Option<(&Entry, u32)> {
    let i = entries.binary_search_by(|e| range_cmp(e.start, e.end, pc)).ok()?;
    let entry = &entries[i];
    // The range is at most `u32::MAX` long (checked by `register`).
    Some((entry, (pc - entry.start) as u32))
}

/// Registers the code region `[start, start + len)` and what is known about it, until the returned
/// registration is dropped. An empty region (a module without code) registers nothing.
///
/// # Panics
///
/// If `len` is larger than `u32::MAX`, or if the region overlaps a registered one.
pub fn register(start: usize, len: usize, info: Arc<CodeInfo>) -> CodeRegistration {
    assert!(len <= u32::MAX as usize, "code region of {len} bytes cannot be registered");
    if len == 0 {
        return CodeRegistration { id: None };
    }
    let end = start.checked_add(len).expect("code region wraps around the address space");
    debug_assert!(info.traps.windows(2).all(|w| w[0].offset < w[1].offset), "trap sites must be sorted");
    debug_assert!(
        info.functions.windows(2).all(|w| w[0].end <= w[1].start)
            && info.functions.iter().all(|f| f.start < f.end && f.end as usize <= len),
        "function ranges must be sorted, disjoint and inside the region"
    );
    let mut next_id = WRITER.lock().unwrap_or_else(|e| e.into_inner());
    let id = *next_id;
    *next_id += 1;
    let mut entries = snapshot();
    let at = entries.partition_point(|e| e.start < start);
    let overlaps_prev = at > 0 && entries[at - 1].end > start;
    let overlaps_next = at < entries.len() && entries[at].start < end;
    assert!(!overlaps_prev && !overlaps_next, "code region {start:#x}..{end:#x} overlaps a registered one");
    entries.insert(at, Entry { start, end, id, info });
    publish(entries);
    CodeRegistration { id: Some(id) }
}

impl Drop for CodeRegistration {
    fn drop(&mut self) {
        let Some(id) = self.id else {
            return;
        };
        let _writer = WRITER.lock().unwrap_or_else(|e| e.into_inner());
        let mut entries = snapshot();
        entries.retain(|e| e.id != id);
        publish(entries);
    }
}

/// A copy of the current entries. Must be called with `WRITER` held.
fn snapshot() -> Vec<Entry> {
    let guard = ReadGuard::new();
    guard.entries().iter().map(|e| Entry { start: e.start, end: e.end, id: e.id, info: e.info.clone() }).collect()
}

/// Replaces the published table with `entries`. Must be called with `WRITER` held.
fn publish(entries: Vec<Entry>) {
    let new = if entries.is_empty() { ptr::null_mut() } else { Box::into_raw(Box::new(Table { entries })) };
    let old = TABLE.swap(new, Ordering::SeqCst);
    while READERS.load(Ordering::SeqCst) != 0 {
        std::thread::yield_now();
    }
    if !old.is_null() {
        // SAFETY: `old` came from `Box::into_raw` here, is no longer published, and no reader can still
        // hold it: every reader that loaded it has decremented `READERS` (see the comment on `TABLE`).
        // Writers are serialized by `WRITER`, so no one else frees it.
        drop(unsafe { Box::from_raw(old) });
    }
}

/// The trap code of the instruction at exactly `pc`, if `pc` is a registered trap site.
///
/// Async-signal-safe: no allocation, no lock.
pub(crate) fn lookup_trap_code(pc: usize) -> Option<TrapCode> {
    let guard = ReadGuard::new();
    let (entry, offset) = find(guard.entries(), pc)?;
    entry.info.trap_code(offset)
}

/// Whether `pc` lies inside a registered Wasm function (`start <= pc < end`; for a return address,
/// pass `pc - 1`).
///
/// Async-signal-safe: no allocation, no lock.
pub(crate) fn is_wasm_function_pc(pc: usize) -> bool {
    let guard = ReadGuard::new();
    find(guard.entries(), pc).is_some_and(|(entry, offset)| entry.info.function(offset).is_some())
}

/// The Wasm frame at `pc` (for a caller's frame, pass its return address minus 1), for a trap's
/// backtrace. Allocates: not for signal handlers.
pub fn frame_info(pc: usize) -> Option<FrameInfo> {
    let (info, offset) = {
        let guard = ReadGuard::new();
        let (entry, offset) = find(guard.entries(), pc)?;
        (entry.info.clone(), offset)
    };
    let func = info.function(offset)?;
    Some(FrameInfo {
        func_index: func.func_index,
        func_name: info.func_names.get(&func.func_index).cloned(),
        module_name: info.module_name.clone(),
        code_offset: offset - func.start,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Fake addresses: the registry never dereferences the ranges it holds. Each test uses its own
    // addresses because tests run in parallel.
    fn info() -> Arc<CodeInfo> {
        Arc::new(CodeInfo {
            traps: vec![
                TrapSite { offset: 4, code: TrapCode::UnreachableCodeReached },
                TrapSite { offset: 20, code: TrapCode::MemoryOutOfBounds },
            ],
            functions: vec![
                FunctionRange { start: 0, end: 16, func_index: 3 },
                FunctionRange { start: 16, end: 40, func_index: 7 },
            ],
            module_name: Some("m".to_string()),
            func_names: Arc::new(HashMap::from([(7, "seven".to_string())])),
        })
    }

    #[test]
    fn lookups() {
        let base = 0x7000_1000_0000;
        let reg = register(base, 64, info());
        assert_eq!(lookup_trap_code(base + 4), Some(TrapCode::UnreachableCodeReached));
        assert_eq!(lookup_trap_code(base + 20), Some(TrapCode::MemoryOutOfBounds));
        assert_eq!(lookup_trap_code(base + 5), None);
        assert_eq!(lookup_trap_code(base - 60), None);
        assert!(is_wasm_function_pc(base));
        assert!(is_wasm_function_pc(base + 39));
        assert!(!is_wasm_function_pc(base + 40), "past the last function: a trampoline");
        assert!(!is_wasm_function_pc(base + 64));
        let frame = frame_info(base + 21).unwrap();
        assert_eq!(
            frame,
            FrameInfo { func_index: 7, func_name: Some("seven".into()), module_name: Some("m".into()), code_offset: 5 }
        );
        assert_eq!(frame_info(base + 2).unwrap().func_name, None);
        drop(reg);
        assert_eq!(lookup_trap_code(base + 4), None);
        assert!(frame_info(base + 21).is_none());
    }

    #[test]
    fn many_regions_stay_sorted() {
        let base = 0x7000_2000_0000;
        let regs: Vec<_> = [5, 1, 3, 0, 4, 2].iter().map(|i| (i, register(base + i * 0x1000, 64, info()))).collect();
        for i in 0..6 {
            assert_eq!(lookup_trap_code(base + i * 0x1000 + 4), Some(TrapCode::UnreachableCodeReached));
        }
        for (i, reg) in regs {
            drop(reg);
            assert_eq!(lookup_trap_code(base + i * 0x1000 + 4), None);
        }
    }

    #[test]
    #[should_panic(expected = "overlaps")]
    fn overlapping_regions_are_refused() {
        let base = 0x7000_3000_0000;
        let _a = register(base, 64, info());
        let _b = register(base + 32, 64, info());
    }

    #[test]
    fn empty_region_registers_nothing() {
        let reg = register(0x7000_5000_0000, 0, Arc::new(CodeInfo::default()));
        assert!(!is_wasm_function_pc(0x7000_5000_0000));
        drop(reg);
    }

    #[test]
    fn concurrent_readers_and_writers() {
        let base = 0x7000_4000_0000;
        let _keep = register(base, 64, info());
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    for _ in 0..20_000 {
                        assert_eq!(lookup_trap_code(base + 4), Some(TrapCode::UnreachableCodeReached));
                        assert!(is_wasm_function_pc(base + 17));
                    }
                });
            }
            s.spawn(|| {
                for i in 0..2_000 {
                    let reg = register(base + 0x1000 + (i % 7) * 0x100, 64, info());
                    drop(reg);
                }
            });
        });
    }
}

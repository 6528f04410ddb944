//! Settings that shape generated code and the runtime's memory layout.

/// Settings that shape generated code, derived from the engine's `Config`.
#[derive(Clone, Copy)]
pub struct Tunables {
    /// Whether memories are reserved with guard pages, so most bounds checks compile away.
    pub guard_pages: bool,
    /// With guard pages, the address space reserved for each memory (which it grows within), in
    /// bytes: a multiple of 64 KiB, at most 4 GiB. 0 without guard pages.
    pub memory_reservation: u64,
    /// Size of the guard region after a memory's reservation, in bytes (0 without guard pages).
    pub guard_size: u64,
    /// Whether functions check the store's interrupt word at entry and at loop headers.
    pub interruptible: bool,
    /// Whether functions charge fuel per basic block and trap when the store's fuel runs out.
    pub consume_fuel: bool,
    /// Whether modules get copy-on-write memory images of their data segments when they qualify.
    pub memory_images: bool,
    /// The target's frontend configuration (pointer width), for `FunctionBuilder::finalize`.
    pub frontend_config: cranelift_codegen::isa::TargetFrontendConfig,
}

impl Tunables {
    /// Whether an access ending `end` bytes past a 32-bit index (static offset plus access size) is
    /// always inside the memory's reservation plus guard region, so that, out of bounds, it faults
    /// instead of reaching other memory, and needs no explicit bounds check. The largest index is
    /// 2^32 - 1, so the access's last byte is below 2^32 + end - 1.
    pub fn elide_bounds_check(&self, end: u64) -> bool {
        self.guard_pages
            && (1u64 << 32)
                .checked_add(end)
                .is_some_and(|last| last <= self.memory_reservation.saturating_add(self.guard_size))
    }
}

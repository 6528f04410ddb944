//! Debug switches, all in one place. Each reads an environment variable once.

use std::sync::OnceLock;

fn flag(cell: &OnceLock<bool>, var: &str) -> bool {
    *cell.get_or_init(|| std::env::var_os(var).is_some_and(|v| v != "0"))
}

/// `SPRY_PRINT_CLIF=1`: print each function's Cranelift IR before it is compiled.
pub fn print_clif() -> bool {
    static CELL: OnceLock<bool> = OnceLock::new();
    flag(&CELL, "SPRY_PRINT_CLIF")
}

/// `SPRY_PRINT_ASM=1`: print each function's machine code (Cranelift's disassembly of its VCode)
/// after it is compiled.
pub fn print_asm() -> bool {
    static CELL: OnceLock<bool> = OnceLock::new();
    flag(&CELL, "SPRY_PRINT_ASM")
}

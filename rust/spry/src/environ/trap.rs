//! Traps: the ways Wasm execution stops abnormally, and the error value that reports one.
//!
//! A [`TrapCode`] is recorded per code offset at compile time (Cranelift's own codes for the checks it
//! emits, user codes for Spry's) and turned back into a [`Trap`] when a signal or a libcall raises it.
//! In `environ/` because both layers use them: the compiler attaches trap codes to instructions, the
//! runtime (`vm/traphandlers.rs`, `vm/code_registry.rs`) builds the [`Trap`] and its [`FrameInfo`]s
//! that the embedding API returns (`spry::Trap`).

use std::fmt;

/// Why Wasm execution trapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
#[non_exhaustive]
pub enum TrapCode {
    /// The Wasm stack (bounded by `Config::max_wasm_stack` and the thread's stack) was exhausted.
    StackOverflow = 1,
    /// A load or store, or a bulk memory operation, was out of the memory's bounds.
    MemoryOutOfBounds,
    /// A table access, or a bulk table operation, was out of the table's bounds.
    TableOutOfBounds,
    /// `call_indirect` found a null entry in the table.
    IndirectCallToNull,
    /// `call_indirect` found a function of another type than the one expected.
    BadSignature,
    /// Integer overflow (`i32.div_s(INT_MIN, -1)`, or a float-to-int conversion out of range).
    IntegerOverflow,
    /// Integer division or remainder by zero.
    IntegerDivisionByZero,
    /// A float-to-int conversion of NaN.
    BadConversionToInteger,
    /// The `unreachable` instruction was executed.
    UnreachableCodeReached,
    /// Execution was interrupted by the embedder (an `InterruptHandle`; in Go, a cancelled context).
    Interrupt,
    /// A null reference was dereferenced.
    NullReference,
    /// A host function returned an error; the error is carried in the trap.
    HostError,
    /// An invariant of the runtime was violated while it served Wasm code (a panic in a builtin such
    /// as `memory.fill` or `table.grow`): a bug in Spry, reported as a trap instead of aborting the
    /// process. The instance's state is whatever the operation left (it may be half done).
    Internal,
    /// The store ran out of fuel (`Config::consume_fuel`, `Store::set_fuel`): checked at function
    /// entries and loop headers.
    OutOfFuel,
}

impl TrapCode {
    /// All trap codes, in declaration order.
    pub const ALL: [TrapCode; 14] = [
        TrapCode::StackOverflow,
        TrapCode::MemoryOutOfBounds,
        TrapCode::TableOutOfBounds,
        TrapCode::IndirectCallToNull,
        TrapCode::BadSignature,
        TrapCode::IntegerOverflow,
        TrapCode::IntegerDivisionByZero,
        TrapCode::BadConversionToInteger,
        TrapCode::UnreachableCodeReached,
        TrapCode::Interrupt,
        TrapCode::NullReference,
        TrapCode::HostError,
        TrapCode::Internal,
        TrapCode::OutOfFuel,
    ];

    /// The code as a small integer (stable across versions: the C surface exposes it).
    pub fn as_u8(self) -> u8 {
        self as u8
    }

    /// The inverse of [`TrapCode::as_u8`].
    pub fn from_u8(v: u8) -> Option<TrapCode> {
        TrapCode::ALL.get((v as usize).wrapping_sub(1)).copied()
    }

    /// The message the WebAssembly specification's test suite uses for this trap.
    pub fn message(self) -> &'static str {
        match self {
            TrapCode::StackOverflow => "call stack exhausted",
            TrapCode::MemoryOutOfBounds => "out of bounds memory access",
            TrapCode::TableOutOfBounds => "out of bounds table access",
            TrapCode::IndirectCallToNull => "uninitialized element",
            TrapCode::BadSignature => "indirect call type mismatch",
            TrapCode::IntegerOverflow => "integer overflow",
            TrapCode::IntegerDivisionByZero => "integer divide by zero",
            TrapCode::BadConversionToInteger => "invalid conversion to integer",
            TrapCode::UnreachableCodeReached => "unreachable",
            TrapCode::Interrupt => "interrupted",
            TrapCode::NullReference => "null reference",
            TrapCode::HostError => "host function error",
            TrapCode::Internal => "internal runtime error",
            TrapCode::OutOfFuel => "all fuel consumed by WebAssembly",
        }
    }

    /// The Cranelift trap code the compiler attaches to instructions that raise this trap.
    pub fn to_clif(self) -> cranelift_codegen::ir::TrapCode {
        use cranelift_codegen::ir::TrapCode as C;
        match self {
            TrapCode::StackOverflow => C::STACK_OVERFLOW,
            TrapCode::MemoryOutOfBounds => C::HEAP_OUT_OF_BOUNDS,
            TrapCode::IntegerOverflow => C::INTEGER_OVERFLOW,
            TrapCode::IntegerDivisionByZero => C::INTEGER_DIVISION_BY_ZERO,
            TrapCode::BadConversionToInteger => C::BAD_CONVERSION_TO_INTEGER,
            other => C::unwrap_user(other as u8),
        }
    }

    /// The inverse of [`TrapCode::to_clif`].
    pub fn from_clif(code: cranelift_codegen::ir::TrapCode) -> Option<TrapCode> {
        use cranelift_codegen::ir::TrapCode as C;
        Some(match code {
            C::STACK_OVERFLOW => TrapCode::StackOverflow,
            C::HEAP_OUT_OF_BOUNDS => TrapCode::MemoryOutOfBounds,
            C::INTEGER_OVERFLOW => TrapCode::IntegerOverflow,
            C::INTEGER_DIVISION_BY_ZERO => TrapCode::IntegerDivisionByZero,
            C::BAD_CONVERSION_TO_INTEGER => TrapCode::BadConversionToInteger,
            other => TrapCode::from_u8(other.as_raw().get())?,
        })
    }
}

impl fmt::Display for TrapCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// One Wasm frame of a trap's backtrace, innermost first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameInfo {
    /// The function's index in its module's function index space.
    pub func_index: u32,
    /// The function's name from the module's name section, if it has one.
    pub func_name: Option<String>,
    /// The module's name from its name section, if it has one.
    pub module_name: Option<String>,
    /// Offset of the instruction within the function's machine code.
    pub code_offset: u32,
}

impl fmt::Display for FrameInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let module = self.module_name.as_deref().unwrap_or("<module>");
        match &self.func_name {
            Some(name) => write!(f, "{module}!{name}"),
            None => write!(f, "{module}!<wasm function {}>", self.func_index),
        }
    }
}

/// A Wasm trap: the error a call returns when Wasm execution stopped abnormally.
///
/// Calls return `anyhow::Error`; a trap is recovered with `err.downcast_ref::<Trap>()`.
#[derive(Debug)]
pub struct Trap {
    code: TrapCode,
    message: String,
    backtrace: Vec<FrameInfo>,
    source: Option<anyhow::Error>,
}

impl Trap {
    /// A trap with `code` and the code's standard message.
    pub fn new(code: TrapCode) -> Trap {
        Trap { code, message: code.message().to_string(), backtrace: Vec::new(), source: None }
    }

    /// A trap raised by a host function's error.
    pub fn host(err: anyhow::Error) -> Trap {
        Trap { code: TrapCode::HostError, message: format!("{err:#}"), backtrace: Vec::new(), source: Some(err) }
    }

    pub(crate) fn with_backtrace(mut self, backtrace: Vec<FrameInfo>) -> Trap {
        self.backtrace = backtrace;
        self
    }

    /// Why execution stopped.
    pub fn code(&self) -> TrapCode {
        self.code
    }

    /// A description of the trap (for [`TrapCode::HostError`], the host's error message).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The Wasm frames active when the trap happened, innermost first (at most 64).
    pub fn backtrace(&self) -> &[FrameInfo] {
        &self.backtrace
    }

    /// The host error behind a [`TrapCode::HostError`] trap.
    pub fn host_error(&self) -> Option<&anyhow::Error> {
        self.source.as_ref()
    }

    /// Takes the host error out of a [`TrapCode::HostError`] trap.
    pub fn into_host_error(self) -> Option<anyhow::Error> {
        self.source
    }
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "wasm trap: {}", self.message)?;
        if !self.backtrace.is_empty() {
            write!(f, "\nwasm backtrace:")?;
            for (i, frame) in self.backtrace.iter().enumerate() {
                write!(f, "\n  {i}: {frame}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for Trap {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e.as_ref() as _)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clif_codes_round_trip() {
        for code in TrapCode::ALL {
            assert_eq!(TrapCode::from_clif(code.to_clif()), Some(code));
            assert_eq!(TrapCode::from_u8(code.as_u8()), Some(code));
        }
        assert_eq!(TrapCode::from_u8(0), None);
        // The numbers are part of the C surface: existing codes keep theirs.
        assert_eq!(TrapCode::HostError.as_u8(), 12);
        assert_eq!(TrapCode::Internal.as_u8(), 13);
        assert_eq!(TrapCode::OutOfFuel.as_u8(), 14);
        assert_eq!(TrapCode::from_u8(15), None);
    }
}

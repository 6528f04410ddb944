//! Matching the messages the test suite expects against the errors Spry returns.
//!
//! An expected message matches when Spry's message contains it, or through one of the [`ALIASES`],
//! where Spry's wording legitimately differs from the reference interpreter's. `assert_trap` and
//! `assert_exhaustion` require the error to be a [`Trap`] (found anywhere in the error's chain);
//! `assert_unlinkable` requires it not to be one. `assert_invalid` and `assert_malformed` only
//! require an error (see `runner.rs`); their messages are compared with [`matches`] for the verbose
//! output only.

use anyhow::{bail, Result};
use spry::{Trap, TrapCode};

/// `(expected prefix, accepted wording)`: an expected message starting with the prefix also matches
/// an engine message containing the accepted wording.
const ALIASES: &[(&str, &str)] = &[
    // `call_indirect` through an index past the table's end: the reference interpreter says
    // "undefined element", Spry reports the failed table bounds check.
    ("undefined element", "out of bounds table access"),
    // The reference interpreter appends the element index ("uninitialized element 2"); Spry's trap
    // does not carry it.
    ("uninitialized element", "uninitialized element"),
    // Whether an import of the right name but the wrong kind is "unknown" (lookup by name and kind)
    // or "incompatible" (lookup by name, then type check) is a choice of the linker's design.
    ("incompatible import type", "unknown import"),
    ("unknown import", "incompatible import type"),
];

/// Whether the engine's message `actual` matches the suite's `expected` one.
pub fn matches(expected: &str, actual: &str) -> bool {
    actual.contains(expected)
        || ALIASES.iter().any(|(prefix, accepted)| expected.starts_with(prefix) && actual.contains(accepted))
}

/// The trap `err` carries, if any.
pub fn find_trap(err: &anyhow::Error) -> Option<&Trap> {
    err.downcast_ref::<Trap>().or_else(|| err.chain().find_map(|e| e.downcast_ref::<Trap>()))
}

/// Checks that `err` is a trap whose message matches `expected`.
pub fn check_trap(err: &anyhow::Error, expected: &str) -> Result<()> {
    let Some(trap) = find_trap(err) else {
        bail!("expected trap {expected:?}, got an error that is not a trap: {err:#}");
    };
    if !matches(expected, trap.message()) {
        bail!("expected trap {expected:?}, got trap {:?} ({:?})", trap.message(), trap.code());
    }
    Ok(())
}

/// Checks that `err` is a stack-overflow trap whose message matches `expected`.
pub fn check_exhaustion(err: &anyhow::Error, expected: &str) -> Result<()> {
    check_trap(err, expected)?;
    match find_trap(err).map(Trap::code) {
        Some(TrapCode::StackOverflow) => Ok(()),
        code => bail!("expected a {:?} trap, got {code:?}", TrapCode::StackOverflow),
    }
}

/// Checks that `err` is a link error (not a trap) whose message matches `expected`.
pub fn check_link_error(err: &anyhow::Error, expected: &str) -> Result<()> {
    if let Some(trap) = find_trap(err) {
        bail!("expected link error {expected:?}, got trap {:?}", trap.message());
    }
    let actual = format!("{err:#}");
    if !matches(expected, &actual) {
        bail!("expected link error {expected:?}, got {actual:?}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn aliases() {
        assert!(matches("integer divide by zero", "wasm trap: integer divide by zero"));
        assert!(matches("uninitialized element 2", "uninitialized element"));
        assert!(matches("undefined element", "out of bounds table access"));
        assert!(matches("incompatible import type", "unknown import: `spectest::foo` has the wrong kind"));
        assert!(!matches("integer overflow", "integer divide by zero"));
        assert!(!matches("out of bounds memory access", "out of bounds table access"));
    }
}

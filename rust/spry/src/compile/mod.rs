//! Compilation: validate → translate each function to Cranelift IR → compile it to machine code (in
//! parallel, one Cranelift context per worker) → lay the functions out in one blob and resolve the
//! calls between them.
//!
//! [`compile_module`] is the whole pipeline; each step lives in its own file: `environ` (module-level
//! validation and declarations), `func_translator` (+ `numeric`, `memory`, `func_env`: one function's
//! IR), `trampolines` (entry and host-call stubs per signature), and `link` below.

mod environ;
mod func_env;
mod func_translator;
mod memory;
mod numeric;
pub mod trampolines;

pub use crate::environ::Tunables;
pub use environ::{features, wasm_error};

use crate::environ::info::ModuleInfo;
use crate::trap::TrapCode;
use anyhow::{anyhow, bail, Context as _, Result};
use cranelift_codegen::binemit::Reloc;
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::{ExternalName, Function, LibCall, UserExternalNameRef};
use cranelift_codegen::isa::TargetIsa;
use cranelift_codegen::{Context, FinalizedRelocTarget};
use environ::FunctionInput;
use func_translator::FuncTranslator;
use rayon::prelude::*;

/// What a relocation in a compiled function refers to.
#[derive(Clone, Copy, Debug)]
pub enum RelocTarget {
    /// Another function of the module, by function index.
    Func(u32),
    /// A math routine Cranelift calls when the CPU lacks an instruction.
    LibCall(LibCall),
}

/// A relocation to resolve when the blob is laid out.
#[derive(Clone, Copy, Debug)]
pub struct Relocation {
    /// Offset of the patched field from the function start.
    pub offset: u32,
    /// How to patch it.
    pub kind: Reloc,
    /// What it refers to.
    pub target: RelocTarget,
    /// Addend.
    pub addend: i64,
}

/// One function's machine code, before layout.
pub struct CompiledFunction {
    /// The code.
    pub code: Vec<u8>,
    /// Its relocations.
    pub relocs: Vec<Relocation>,
    /// Trap sites: offset from the function start and code.
    pub traps: Vec<(u32, TrapCode)>,
}

/// A module's code laid out in one blob, relocated except for absolute addresses.
pub struct CompiledCode {
    /// The blob.
    pub code: Vec<u8>,
    /// Start and end offset of each defined function in the blob.
    pub functions: Vec<(u32, u32)>,
    /// Trap sites, sorted by offset in the blob.
    pub traps: Vec<(u32, TrapCode)>,
    /// Absolute relocations (libcalls) still to apply once the blob's address is known: offset in blob, target.
    pub absolute: Vec<(u32, LibCall)>,
}

/// Compiles a module: returns what it declares and its code.
pub fn compile_module(
    isa: &dyn TargetIsa,
    tunables: &Tunables,
    parallel: bool,
    wasm: &[u8],
) -> Result<(ModuleInfo, CompiledCode)> {
    let (info, bodies) = environ::translate_module(wasm)?;
    let compile_one = |state: &mut (FuncTranslator, Context), (i, input): (usize, FunctionInput<'_>)| {
        compile_function(isa, tunables, &info, state, i as u32, input)
    };
    let functions: Vec<CompiledFunction> = if parallel && bodies.len() > 1 {
        bodies
            .into_par_iter()
            .enumerate()
            .map_init(|| (FuncTranslator::default(), Context::new()), compile_one)
            .collect::<Result<_>>()?
    } else {
        let mut state = (FuncTranslator::default(), Context::new());
        bodies.into_iter().enumerate().map(|x| compile_one(&mut state, x)).collect::<Result<_>>()?
    };
    let code = link(&info, functions)?;
    Ok((info, code))
}

fn compile_function(
    isa: &dyn TargetIsa,
    tunables: &Tunables,
    info: &ModuleInfo,
    (translator, ctx): &mut (FuncTranslator, Context),
    defined_index: u32,
    input: FunctionInput<'_>,
) -> Result<CompiledFunction> {
    let func = translator.translate(info, tunables, defined_index, input)?;
    if crate::debug::print_clif() {
        eprintln!("{}", func.display());
    }
    let func_index = info.num_imported_funcs + defined_index;
    compile_ir(isa, ctx, func).with_context(|| format!("compiling wasm function {func_index}"))
}

/// Compiles one Cranelift function and copies out its code, relocations and trap sites.
pub fn compile_ir(isa: &dyn TargetIsa, ctx: &mut Context, func: Function) -> Result<CompiledFunction> {
    ctx.clear();
    ctx.func = func;
    let names = ctx.func.params.user_named_funcs().clone();
    let print_asm = crate::debug::print_asm();
    ctx.set_disasm(print_asm);
    let compiled = ctx
        .compile(isa, &mut ControlPlane::default())
        .map_err(|e| anyhow!("Cranelift failed: {}", cranelift_codegen::print_errors::pretty_error(e.func, e.inner)))?;
    if print_asm {
        eprintln!("{}", compiled.vcode.as_deref().unwrap_or("(no disassembly)"));
    }
    let mut relocs = Vec::new();
    for r in compiled.buffer.relocs() {
        let target = match &r.target {
            FinalizedRelocTarget::ExternalName(ExternalName::User(nref)) => {
                let name = &names[UserExternalNameRef::from_u32(nref.as_u32())];
                RelocTarget::Func(name.index)
            }
            FinalizedRelocTarget::ExternalName(ExternalName::LibCall(lc)) => RelocTarget::LibCall(*lc),
            other => bail!("unsupported relocation target {other:?}"),
        };
        relocs.push(Relocation { offset: r.offset, kind: r.kind, target, addend: r.addend });
    }
    let mut traps = Vec::new();
    for t in compiled.buffer.traps() {
        let code = TrapCode::from_clif(t.code).ok_or_else(|| anyhow!("unknown trap code {}", t.code))?;
        traps.push((t.offset, code));
    }
    Ok(CompiledFunction { code: compiled.code_buffer().to_vec(), relocs, traps })
}

/// Function alignment in the blob.
const FUNCTION_ALIGN: usize = 16;

/// Lays the functions out back to back and resolves the calls between them.
pub fn link(info: &ModuleInfo, functions: Vec<CompiledFunction>) -> Result<CompiledCode> {
    let mut starts = Vec::with_capacity(functions.len());
    let mut at = 0usize;
    for f in &functions {
        at = at.next_multiple_of(FUNCTION_ALIGN);
        starts.push(at);
        at += f.code.len();
    }
    let mut code = vec![0u8; at];
    let mut traps = Vec::new();
    let mut absolute = Vec::new();
    let mut ranges = Vec::with_capacity(functions.len());
    for (f, &start) in functions.iter().zip(&starts) {
        code[start..start + f.code.len()].copy_from_slice(&f.code);
        ranges.push((start as u32, (start + f.code.len()) as u32));
        traps.extend(f.traps.iter().map(|(off, c)| (start as u32 + off, *c)));
        for r in &f.relocs {
            let at = start + r.offset as usize;
            match (r.kind, r.target) {
                (Reloc::X86CallPCRel4, RelocTarget::Func(callee)) => {
                    let defined = info.defined_func(callee).ok_or_else(|| anyhow!("direct call to an import"))?;
                    let target = starts[defined.index()] as i64;
                    let rel = target + r.addend - at as i64;
                    let rel = i32::try_from(rel).context("module code larger than 2 GiB")?;
                    code[at..at + 4].copy_from_slice(&rel.to_le_bytes());
                }
                (Reloc::Abs8, RelocTarget::LibCall(lc)) if r.addend == 0 => absolute.push((at as u32, lc)),
                (kind, target) => bail!("unsupported relocation {kind:?} to {target:?}"),
            }
        }
    }
    traps.sort_by_key(|t| t.0);
    Ok(CompiledCode { code, functions: ranges, traps, absolute })
}

#[cfg(test)]
mod tests {
    use super::Tunables;

    fn tunables(guard_pages: bool, memory_reservation: u64, guard_size: u64) -> Tunables {
        Tunables {
            guard_pages,
            memory_reservation,
            guard_size,
            interruptible: true,
            consume_fuel: false,
            memory_images: true,
            frontend_config: cranelift_native::builder()
                .unwrap()
                .finish(cranelift_codegen::settings::Flags::new(cranelift_codegen::settings::builder()))
                .unwrap()
                .frontend_config(),
        }
    }

    /// A bounds check is left out only when the largest index plus the access's end stays inside the
    /// reservation plus the guard.
    #[test]
    fn bounds_check_elision_follows_the_reservation() {
        let g = 1u64 << 30;
        let default = tunables(true, 4 << 30, 2 * g);
        assert!(default.elide_bounds_check(8));
        assert!(default.elide_bounds_check(2 * g));
        assert!(!default.elide_bounds_check(2 * g + 1));
        assert!(!default.elide_bounds_check(u64::MAX));
        // Smaller reservations: the guard must make up the difference.
        assert!(tunables(true, 3 << 30, 2 * g).elide_bounds_check(g));
        assert!(!tunables(true, 3 << 30, 2 * g).elide_bounds_check(g + 1));
        assert!(!tunables(true, 64 << 20, 0).elide_bounds_check(1));
        assert!(!tunables(true, 4 << 30, 0).elide_bounds_check(1));
        // No guard pages: always checked.
        assert!(!tunables(false, 4 << 30, 2 * g).elide_bounds_check(1));
    }
}

//! [`Module`]: a validated, compiled WebAssembly module, ready to be instantiated any number of times.

mod cache;
pub use crate::environ::info;
pub mod serialize;

use crate::compile::{self, CompiledCode};
use crate::engine::Engine;
use crate::types::{ExportType, ExternType, ImportType, ValType};
use crate::vm::code_memory::CodeMemory;
use crate::vm::code_registry::{self, CodeInfo, CodeRegistration, FunctionRange, TrapSite};
use crate::vm::instance::{Imports, InstanceHandle};
use crate::vm::libcalls;
use crate::vm::memory_image::MemoryImage;
use crate::vm::module_runtime::{ModuleRuntime, ModuleRuntimeInfo};
use crate::vm::table::TableTemplate;
use crate::vm::vmcontext::VMStoreContext;
use anyhow::{anyhow, Context as _, Result};
use cranelift_codegen::ir::LibCall;
use info::{ConstExpr, ElementMode, EntityIndex, ModuleInfo};
use std::any::Any;
use std::path::Path;
use std::sync::Arc;

/// A compiled WebAssembly module. Cheap to clone; shareable across threads.
#[derive(Clone)]
pub struct Module {
    inner: Arc<ModuleInner>,
}

struct ModuleInner {
    engine: Engine,
    /// What instances need: metadata, code pointers, type ids, memory image, table templates.
    runtime: ModuleRuntimeInfo,
    /// Trap sites and function ranges of `code` (also registered in the code registry).
    code_info: Arc<CodeInfo>,
    /// The absolute relocations applied to `code` when it was mapped, for [`Module::serialize`].
    absolute: Box<[(u32, LibCall)]>,
    // Dropped before `code`: unregisters the range before it is unmapped.
    _registration: CodeRegistration,
    code: CodeMemory,
}

// SAFETY: `runtime` is a field, never replaced (a `ModuleInner` is immutable once built).
unsafe impl ModuleRuntime for ModuleInner {
    fn runtime_info(&self) -> &ModuleRuntimeInfo {
        &self.runtime
    }
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module").field("name", &self.name()).finish_non_exhaustive()
    }
}

impl Module {
    /// Validates and compiles the binary module `wasm`.
    ///
    /// An invalid or malformed module is an error naming the problem and its byte offset.
    pub fn new(engine: &Engine, wasm: impl AsRef<[u8]>) -> Result<Module> {
        let wasm = wasm.as_ref();
        match &engine.inner.config.cache_dir {
            Some(dir) => cache::load_or_compile(engine, dir, wasm),
            None => Module::compile(engine, wasm),
        }
    }

    /// Validates and compiles `wasm`, bypassing the compile cache.
    fn compile(engine: &Engine, wasm: &[u8]) -> Result<Module> {
        let e = &engine.inner;
        let (info, mut compiled) = compile::compile_module(&*e.isa, &e.tunables, e.config.parallel_compilation, wasm)?;
        let code = std::mem::take(&mut compiled.code);
        Module::from_compiled(engine, info, compiled, &code)
    }

    /// Writes the module's compiled form: an artifact that [`Module::deserialize`] loads without
    /// compiling, in an engine with the same settings that shape code, on a CPU with the same features
    /// (see `module/serialize.rs` for the format).
    pub fn serialize(&self) -> Result<Vec<u8>> {
        let inner = &*self.inner;
        let compiled = CompiledCode {
            code: inner.code.bytes().to_vec(),
            functions: inner.runtime.functions.clone(),
            traps: inner.code_info.traps.iter().map(|t| (t.offset, t.code)).collect(),
            absolute: inner.absolute.to_vec(),
        };
        let trampolines = inner.engine.trampoline_section(&inner.runtime.info.types)?;
        Ok(serialize::serialize(&inner.engine, &inner.runtime.info, &compiled, &trampolines))
    }

    /// Loads a module from an artifact of [`Module::serialize`], in time proportional to its code and
    /// data size (nothing is compiled; the memory image is rebuilt from the data segments).
    ///
    /// An artifact that is truncated, corrupt (checked with a 64-bit checksum) or was written by
    /// another Spry version, for other engine settings that shape code or for another CPU is an error.
    ///
    /// # Safety
    ///
    /// The artifact's machine code runs as is: `bytes` must come from [`Module::serialize`] of a
    /// trusted Spry. The checks above catch accidents, not malice: a crafted artifact with a valid
    /// checksum can run arbitrary code.
    pub unsafe fn deserialize(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module> {
        // The image section is not used here: the image is rebuilt in a memfd from the segments.
        let a = serialize::deserialize(engine, bytes.as_ref(), true)?;
        engine.adopt_trampolines(&a.info.types, &a.trampolines)?;
        Module::from_compiled(engine, a.info, a.compiled, a.code)
    }

    /// [`Module::deserialize`] of the contents of the file at `path`, which is mapped, not read: the
    /// code runs from the file's pages (shared with the page cache and with other processes that load
    /// the same file), so loading costs the checks and the module's tables, not a copy of its code.
    ///
    /// # Safety
    ///
    /// As for [`Module::deserialize`]; in addition the file must not be modified while the module (or
    /// anything made from it) lives: replace it with a new file (rename), as the compile cache does.
    pub unsafe fn deserialize_file(engine: &Engine, path: impl AsRef<Path>) -> Result<Module> {
        // SAFETY: forwarded from the caller.
        unsafe { Module::load_file(engine, path.as_ref(), true) }
    }

    /// [`Module::deserialize_file`], checking the bulk checksum (of the code and the image) only when
    /// `verify_bulk`: the compile cache skips it (see `cache.rs`), and then maps the file without
    /// reading it all.
    ///
    /// # Safety
    ///
    /// As for [`Module::deserialize_file`].
    unsafe fn load_file(engine: &Engine, path: &Path, verify_bulk: bool) -> Result<Module> {
        let file = std::fs::File::open(path).with_context(|| format!("failed to open {}", path.display()))?;
        let len = file.metadata().with_context(|| format!("failed to stat {}", path.display()))?.len();
        let len = usize::try_from(len).context("compiled module file too large")?;
        if len == 0 {
            // An empty mapping is invalid; `deserialize` reports the empty input.
            // SAFETY: forwarded from the caller.
            return unsafe { Module::deserialize(engine, []) };
        }
        // Populated at once when every byte is read (the bulk checksum); else only the metadata is
        // read, and the code and image are mapped again on their own.
        let populate = if verify_bulk { rustix::mm::MapFlags::POPULATE } else { rustix::mm::MapFlags::empty() };
        // SAFETY: a fresh private read-only mapping of a file we opened; the caller guarantees that
        // the file is not modified.
        let ptr = unsafe {
            rustix::mm::mmap(
                std::ptr::null_mut(),
                len,
                rustix::mm::ProtFlags::READ,
                rustix::mm::MapFlags::PRIVATE | populate,
                &file,
                0,
            )
        }
        .with_context(|| format!("failed to map {}", path.display()))?;
        // SAFETY: the mapping is `len` readable bytes, alive until the `munmap` below.
        let bytes = unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) };
        let module = serialize::deserialize(engine, bytes, verify_bulk).and_then(|a| {
            let serialize::Artifact { info, compiled, code, trampolines, image } = a;
            engine.adopt_trampolines(&info.types, &trampolines)?;
            let offset = code.as_ptr() as usize - bytes.as_ptr() as usize;
            // SAFETY: the code lies in the file at `offset` (page-aligned by the format, checked by
            // `map_file`); the caller keeps the file unchanged while the module lives.
            let code = unsafe {
                CodeMemory::map_file(&file, offset as u64, code.len(), |base, bytes| {
                    apply_absolute(&compiled, base, bytes)
                })
            }?;
            // The memory image, mapped from the file too (when its place suits this host's pages).
            let page = rustix::param::page_size();
            let image = match image {
                Some(im)
                    if engine.inner.tunables.memory_images
                        && im.offset.is_multiple_of(page)
                        && im.bytes.len().is_multiple_of(page)
                        && !im.bytes.is_empty() =>
                {
                    let file_offset = (im.bytes.as_ptr() as usize - bytes.as_ptr() as usize) as u64;
                    let file = file.try_clone().context("failed to duplicate the file descriptor")?;
                    Some(Some((im.memory, MemoryImage::from_file(file, file_offset, im.offset, im.bytes.len()))))
                }
                _ => None,
            };
            Module::from_code(engine, info, compiled, code, image)
        });
        // SAFETY: our own mapping; nothing refers to it any more (what the module needs was copied
        // out, and its code is a mapping of its own).
        unsafe {
            let _ = rustix::mm::munmap(ptr, len);
        }
        module.with_context(|| format!("failed to load the compiled module {}", path.display()))
    }

    /// The module of `info` and its `compiled` code, from [`Module::new`] or [`Module::deserialize`]:
    /// maps and registers the code, and prepares what instantiation needs.
    /// `code` is the code blob (`compiled.code` is ignored: a deserialized module's code stays in the
    /// artifact until it is mapped).
    fn from_compiled(engine: &Engine, info: ModuleInfo, compiled: CompiledCode, code: &[u8]) -> Result<Module> {
        let code = CodeMemory::new(code, |base, bytes| apply_absolute(&compiled, base, bytes))?;
        Module::from_code(engine, info, compiled, code, None)
    }

    /// The module of `info` and its `compiled` tables, with its code mapped in `code`: registers the
    /// code and prepares what instantiation needs. `image` is the memory image when it was loaded
    /// with the code (else it is built from the data segments, if the engine uses images).
    fn from_code(
        engine: &Engine,
        info: ModuleInfo,
        compiled: CompiledCode,
        code: CodeMemory,
        image: Option<Option<(u32, MemoryImage)>>,
    ) -> Result<Module> {
        let e = &engine.inner;
        let code_info = Arc::new(CodeInfo {
            traps: compiled.traps.iter().map(|&(offset, code)| TrapSite { offset, code }).collect(),
            functions: compiled
                .functions
                .iter()
                .enumerate()
                .map(|(i, &(start, end))| FunctionRange { start, end, func_index: info.num_imported_funcs + i as u32 })
                .collect(),
            module_name: info.name.clone(),
            func_names: info.func_names.clone(), // shared, not copied
        });
        let registration = code_registry::register(code.base(), code.len(), code_info.clone());
        let type_ids = info.types.iter().map(|t| engine.type_id(t)).collect();
        let entry_trampolines = engine.trampolines(&info.types)?.iter().map(|t| t.entry).collect();
        let memory_image = match image {
            Some(image) => image,
            None if e.tunables.memory_images => MemoryImage::new(&info)?,
            None => None,
        };
        let table_templates = table_templates(&info);
        Ok(Module {
            inner: Arc::new(ModuleInner {
                engine: engine.clone(),
                runtime: ModuleRuntimeInfo {
                    info,
                    code_base: code.base(),
                    functions: compiled.functions,
                    type_ids,
                    entry_trampolines,
                    memory_image,
                    table_templates,
                    allocator: e.allocator.clone(),
                    tunables: e.tunables,
                },
                code_info,
                absolute: compiled.absolute.into_boxed_slice(),
                _registration: registration,
                code,
            }),
        })
    }

    /// Checks that `wasm` is a valid module Spry can run, without compiling it.
    pub fn validate(_engine: &Engine, wasm: &[u8]) -> Result<()> {
        let mut validator = wasmparser::Validator::new_with_features(compile::features());
        validator.validate_all(wasm).map_err(compile::wasm_error)?;
        Ok(())
    }

    /// The module's name from its name section.
    pub fn name(&self) -> Option<&str> {
        self.info().name.as_deref()
    }

    /// The module's imports, in order.
    pub fn imports(&self) -> impl ExactSizeIterator<Item = ImportType> + '_ {
        let info = self.info();
        info.imports.iter().map(move |i| ImportType {
            module: i.module.clone(),
            name: i.name.clone(),
            ty: self.entity_type(i.index),
        })
    }

    /// The module's exports, in order.
    pub fn exports(&self) -> impl ExactSizeIterator<Item = ExportType> + '_ {
        self.info()
            .exports
            .iter()
            .map(move |(name, index)| ExportType { name: name.clone(), ty: self.entity_type(*index) })
    }

    pub(crate) fn entity_type(&self, index: EntityIndex) -> ExternType {
        let info = self.info();
        match index {
            EntityIndex::Func(f) => ExternType::Func(info.func_type(f).clone()),
            EntityIndex::Table(t) => ExternType::Table(info.tables[t as usize]),
            EntityIndex::Memory(m) => ExternType::Memory(info.memories[m as usize]),
            EntityIndex::Global(g) => ExternType::Global(info.globals[g as usize].ty),
        }
    }

    /// The engine the module was compiled for.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    pub(crate) fn info(&self) -> &ModuleInfo {
        &self.inner.runtime.info
    }

    /// A new instance of the module in the store of `store`/`store_ctx` (see
    /// [`InstanceHandle::new`]).
    pub(crate) fn new_instance(
        &self,
        store: *mut (),
        store_ctx: *mut VMStoreContext,
        imports: Imports<'_>,
    ) -> Result<InstanceHandle> {
        InstanceHandle::new(&self.inner, store, store_ctx, imports)
    }

    /// The module an instance's owner is (see [`crate::vm::instance::Instance::module`]), or `None`
    /// if it is not a `Module`'s.
    pub(crate) fn from_runtime(owner: &Arc<dyn ModuleRuntime>) -> Option<Module> {
        let owner: Arc<dyn Any + Send + Sync> = owner.clone();
        owner.downcast::<ModuleInner>().ok().map(|inner| Module { inner })
    }

    /// Test and diagnostic hook, not a stable API: the id of the module's copy-on-write memory image,
    /// `None` when it has none (images disabled, or data segments that do not qualify). An instance's
    /// memory that starts from the image reports the same id in [`crate::Memory::mapped_image_id`].
    #[doc(hidden)]
    pub fn memory_image_id(&self) -> Option<u64> {
        self.inner.runtime.memory_image().map(|(_, image)| image.id())
    }
}

/// Writes the absolute addresses (libcalls) into `bytes`, the code as mapped at `base`.
fn apply_absolute(compiled: &CompiledCode, _base: usize, bytes: &mut [u8]) -> Result<()> {
    for &(offset, lc) in &compiled.absolute {
        let addr = libcalls::libcall_address(lc).ok_or_else(|| anyhow!("unsupported libcall {lc:?}"))?;
        bytes[offset as usize..offset as usize + 8].copy_from_slice(&(addr as u64).to_le_bytes());
    }
    Ok(())
}

/// The initial contents of the module's defined tables (see [`crate::vm::table`]), for applying its
/// active element segments lazily: one template per defined `funcref` table that segments write to.
/// Only when every active segment goes to a defined `funcref` table at a constant offset, fits that
/// table's initial size and holds only `ref.func` and `ref.null` items: then no segment can trap, and
/// applying them all at once is what applying them in order does. Otherwise `None`: instantiation
/// applies them one by one (and may stop at one that does not fit).
fn table_templates(info: &ModuleInfo) -> Option<Box<[Option<Box<TableTemplate>>]>> {
    let defined = info.tables.len() - info.num_imported_tables as usize;
    let mut templates: Vec<Vec<u32>> = vec![Vec::new(); defined];
    let mut any = false;
    for seg in &info.elements {
        let ElementMode::Active { table, offset } = &seg.mode else { continue };
        let ConstExpr::I32(offset) = *offset else { return None };
        let ty = info.tables[*table as usize];
        let index = table.checked_sub(info.num_imported_tables)? as usize;
        let start = offset as u32 as usize;
        let end = start.checked_add(seg.items.len())?;
        if ty.element != ValType::FuncRef || end > ty.minimum as usize {
            return None;
        }
        let template = &mut templates[index];
        if template.len() < end {
            template.resize(end, 0);
        }
        for (slot, item) in template[start..end].iter_mut().zip(seg.items.iter()) {
            *slot = match *item {
                ConstExpr::RefFunc(f) => f + 1,
                ConstExpr::RefNull => 0,
                _ => return None,
            };
        }
        any = true;
    }
    any.then(|| templates.into_iter().map(|t| (!t.is_empty()).then(|| t.into_boxed_slice())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Linker, Store};

    /// An instance's owner, as `vm/` holds it, is the module it was made from; another
    /// `ModuleRuntime` is not taken for a module.
    #[test]
    fn an_instance_knows_its_module() {
        let engine = Engine::default();
        let wasm = wat::parse_str(r#"(module (memory 1) (data (i32.const 0) "x") (func (export "f")))"#).unwrap();
        let module = Module::new(&engine, wasm).unwrap();
        let mut store = Store::new(&engine);
        let instance = Linker::new(&engine).instantiate(&mut store, &module).unwrap();
        let back = instance.module(&store).expect("the instance's module");
        assert!(Arc::ptr_eq(&back.inner, &module.inner));

        struct Other(ModuleRuntimeInfo);
        // SAFETY: `runtime_info` returns a field.
        unsafe impl ModuleRuntime for Other {
            fn runtime_info(&self) -> &ModuleRuntimeInfo {
                &self.0
            }
        }
        let r = &module.inner.runtime;
        let other: Arc<dyn ModuleRuntime> = Arc::new(Other(ModuleRuntimeInfo {
            info: ModuleInfo::default(),
            code_base: r.code_base,
            functions: Vec::new(),
            type_ids: Box::new([]),
            entry_trampolines: Box::new([]),
            memory_image: None,
            table_templates: None,
            allocator: r.allocator.clone(),
            tunables: r.tunables,
        }));
        assert!(Module::from_runtime(&other).is_none());
    }
}

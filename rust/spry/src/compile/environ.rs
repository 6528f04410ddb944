//! Module-level translation: validates a module's sections with wasmparser and records what it
//! declares in a [`ModuleInfo`], handing the function bodies on for parallel compilation.

use crate::environ::info::*;
use crate::environ::vmoffsets::{VMCounts, VMOffsets};
use crate::types::{FuncType, GlobalType, MemoryType, TableType, ValType};
use anyhow::{bail, Result};
use wasmparser::{
    BinaryReaderError, FuncToValidate, FunctionBody, KnownCustom, Name, Parser, Payload, TypeRef, ValidPayload,
    Validator, ValidatorResources, WasmFeatures,
};

/// A function body waiting to be validated and compiled.
pub struct FunctionInput<'a> {
    /// Validates the body while it is translated.
    pub validator: FuncToValidate<ValidatorResources>,
    /// The body.
    pub body: FunctionBody<'a>,
}

/// The WebAssembly features Spry implements: WebAssembly 2.0 without SIMD.
pub fn features() -> WasmFeatures {
    WasmFeatures::WASM2 - WasmFeatures::SIMD
}

/// A validation or decoding error, with the byte offset where it was found.
pub fn wasm_error(e: BinaryReaderError) -> anyhow::Error {
    anyhow::anyhow!("invalid WebAssembly: {} (at offset 0x{:x})", e.message(), e.offset())
}

fn const_expr(expr: &wasmparser::ConstExpr<'_>) -> Result<ConstExpr> {
    use wasmparser::Operator as O;
    let mut ops = expr.get_operators_reader();
    let c = match ops.read().map_err(wasm_error)? {
        O::I32Const { value } => ConstExpr::I32(value),
        O::I64Const { value } => ConstExpr::I64(value),
        O::F32Const { value } => ConstExpr::F32(value.bits()),
        O::F64Const { value } => ConstExpr::F64(value.bits()),
        O::RefNull { .. } => ConstExpr::RefNull,
        O::RefFunc { function_index } => ConstExpr::RefFunc(function_index),
        O::GlobalGet { global_index } => ConstExpr::GlobalGet(global_index),
        other => bail!("unsupported constant expression {other:?}"),
    };
    match ops.read().map_err(wasm_error)? {
        O::End => Ok(c),
        other => bail!("unsupported constant expression: {other:?} after {c:?}"),
    }
}

fn table_type(t: &wasmparser::TableType) -> Result<TableType> {
    Ok(TableType {
        element: ValType::from_ref_type(t.element_type)?,
        minimum: u32::try_from(t.initial)?,
        maximum: t.maximum.map(u32::try_from).transpose()?,
    })
}

fn memory_type(m: &wasmparser::MemoryType) -> MemoryType {
    MemoryType { minimum: m.initial, maximum: m.maximum }
}

fn global_type(g: &wasmparser::GlobalType) -> Result<GlobalType> {
    Ok(GlobalType { content: ValType::from_wasmparser(g.content_type)?, mutable: g.mutable })
}

/// Validates `wasm` and records its declarations. Function bodies are returned unvalidated: each is
/// validated as it is translated (see `compile::func_translator`).
pub fn translate_module(wasm: &[u8]) -> Result<(ModuleInfo, Vec<FunctionInput<'_>>)> {
    let mut validator = Validator::new_with_features(features());
    let mut info = ModuleInfo::default();
    let mut bodies = Vec::new();
    let mut escaped = std::collections::BTreeSet::new();
    let mut parser = Parser::new(0);
    // The reader must decode with the same features the validator checks (Wasm 2.0 encodings).
    parser.set_features(features());
    for payload in parser.parse_all(wasm) {
        let payload = payload.map_err(wasm_error)?;
        match validator.payload(&payload).map_err(wasm_error)? {
            ValidPayload::Func(validator, body) => {
                bodies.push(FunctionInput { validator, body });
                continue;
            }
            ValidPayload::End(_) => break,
            _ => {}
        }
        match payload {
            Payload::TypeSection(s) => {
                for ty in s.into_iter_err_on_gc_types() {
                    info.types.push(FuncType::from_wasmparser(&ty.map_err(wasm_error)?)?);
                }
            }
            Payload::ImportSection(s) => {
                for import in s.into_imports() {
                    let import = import.map_err(wasm_error)?;
                    let index = match import.ty {
                        TypeRef::Func(t) | TypeRef::FuncExact(t) => {
                            info.functions.push(t);
                            info.num_imported_funcs += 1;
                            EntityIndex::Func(info.functions.len() as u32 - 1)
                        }
                        TypeRef::Table(t) => {
                            info.tables.push(table_type(&t)?);
                            info.num_imported_tables += 1;
                            EntityIndex::Table(info.tables.len() as u32 - 1)
                        }
                        TypeRef::Memory(m) => {
                            info.memories.push(memory_type(&m));
                            info.num_imported_memories += 1;
                            EntityIndex::Memory(info.memories.len() as u32 - 1)
                        }
                        TypeRef::Global(g) => {
                            info.globals.push(GlobalInfo { ty: global_type(&g)?, init: None });
                            info.num_imported_globals += 1;
                            EntityIndex::Global(info.globals.len() as u32 - 1)
                        }
                        TypeRef::Tag(_) => bail!("exception handling is not supported"),
                    };
                    info.imports.push(Import { module: import.module.into(), name: import.name.into(), index });
                }
            }
            Payload::FunctionSection(s) => {
                for t in s {
                    info.functions.push(t.map_err(wasm_error)?);
                }
            }
            Payload::TableSection(s) => {
                for t in s {
                    let t = t.map_err(wasm_error)?;
                    if !matches!(t.init, wasmparser::TableInit::RefNull) {
                        bail!("table initializer expressions are not supported");
                    }
                    info.tables.push(table_type(&t.ty)?);
                }
            }
            Payload::MemorySection(s) => {
                for m in s {
                    info.memories.push(memory_type(&m.map_err(wasm_error)?));
                }
            }
            Payload::GlobalSection(s) => {
                for g in s {
                    let g = g.map_err(wasm_error)?;
                    let init = const_expr(&g.init_expr)?;
                    if let ConstExpr::RefFunc(f) = init {
                        escaped.insert(f);
                    }
                    info.globals.push(GlobalInfo { ty: global_type(&g.ty)?, init: Some(init) });
                }
            }
            Payload::ExportSection(s) => {
                for e in s {
                    let e = e.map_err(wasm_error)?;
                    let index = match e.kind {
                        wasmparser::ExternalKind::Func | wasmparser::ExternalKind::FuncExact => {
                            escaped.insert(e.index);
                            EntityIndex::Func(e.index)
                        }
                        wasmparser::ExternalKind::Table => EntityIndex::Table(e.index),
                        wasmparser::ExternalKind::Memory => EntityIndex::Memory(e.index),
                        wasmparser::ExternalKind::Global => EntityIndex::Global(e.index),
                        wasmparser::ExternalKind::Tag => bail!("exception handling is not supported"),
                    };
                    info.exports.push((e.name.to_string(), index));
                }
            }
            Payload::StartSection { func, .. } => {
                // The start function is called through its function reference.
                escaped.insert(func);
                info.start = Some(func);
            }
            Payload::ElementSection(s) => {
                for e in s {
                    let e = e.map_err(wasm_error)?;
                    let items: Vec<ConstExpr> = match e.items {
                        wasmparser::ElementItems::Functions(fs) => fs
                            .into_iter()
                            .map(|f| f.map(ConstExpr::RefFunc).map_err(wasm_error))
                            .collect::<Result<_>>()?,
                        wasmparser::ElementItems::Expressions(_, es) => {
                            es.into_iter().map(|e| const_expr(&e.map_err(wasm_error)?)).collect::<Result<_>>()?
                        }
                    };
                    for item in &items {
                        if let ConstExpr::RefFunc(f) = item {
                            escaped.insert(*f);
                        }
                    }
                    let mode = match e.kind {
                        wasmparser::ElementKind::Passive => ElementMode::Passive,
                        wasmparser::ElementKind::Declared => ElementMode::Declared,
                        wasmparser::ElementKind::Active { table_index, offset_expr } => {
                            ElementMode::Active { table: table_index.unwrap_or(0), offset: const_expr(&offset_expr)? }
                        }
                    };
                    info.elements.push(ElementSegment { mode, items: items.into() });
                }
            }
            Payload::DataSection(s) => {
                for d in s {
                    let d = d.map_err(wasm_error)?;
                    let start = info.data_bytes.len();
                    info.data_bytes.extend_from_slice(d.data);
                    let mode = match d.kind {
                        wasmparser::DataKind::Passive => DataMode::Passive,
                        wasmparser::DataKind::Active { memory_index, offset_expr } => {
                            DataMode::Active { memory: memory_index, offset: const_expr(&offset_expr)? }
                        }
                    };
                    info.data.push(DataSegment { mode, bytes: start..info.data_bytes.len() });
                }
            }
            Payload::CustomSection(c) => {
                if let KnownCustom::Name(names) = c.as_known() {
                    // A malformed name section is ignored, as the specification asks.
                    let _ = read_names(names, &mut info);
                }
            }
            _ => {}
        }
    }

    // Escaping defined functions get a VMFuncRef in the VMContext.
    let mut escape_index = vec![u32::MAX; info.num_defined_funcs() as usize];
    let mut n = 0;
    for f in escaped {
        if let Some(d) = info.defined_func(f) {
            escape_index[d.index()] = n;
            n += 1;
        }
    }
    info.escape_index = escape_index;
    info.offsets = VMOffsets::new(VMCounts {
        imported_functions: info.num_imported_funcs,
        imported_tables: info.num_imported_tables,
        imported_memories: info.num_imported_memories,
        imported_globals: info.num_imported_globals,
        defined_tables: info.tables.len() as u32 - info.num_imported_tables,
        defined_memories: info.memories.len() as u32 - info.num_imported_memories,
        defined_globals: info.globals.len() as u32 - info.num_imported_globals,
        escaped_funcs: n,
    });
    Ok((info, bodies))
}

fn read_names(names: wasmparser::NameSectionReader<'_>, info: &mut ModuleInfo) -> wasmparser::Result<()> {
    for name in names {
        match name? {
            Name::Module { name, .. } => info.name = Some(name.to_string()),
            Name::Function(map) => {
                for naming in map {
                    let naming = naming?;
                    std::sync::Arc::make_mut(&mut info.func_names).insert(naming.index, naming.name.to_string());
                }
            }
            _ => {}
        }
    }
    Ok(())
}

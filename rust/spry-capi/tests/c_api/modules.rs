//! Compiling modules: errors with offsets, import and export types, names.

use crate::helpers::*;
use spry_capi::*;
use std::ptr::{null, null_mut};

#[test]
fn version_is_the_crate_version() {
    // SAFETY: a static NUL-terminated string.
    let v = unsafe { std::ffi::CStr::from_ptr(spry_version()) };
    assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
}

#[test]
fn compile_errors_name_the_offset() {
    let engine = engine();
    let bad_type = wat::parse_str(r#"(module (func (result i32) i64.const 1))"#).unwrap();
    // SAFETY: `engine` is live; the byte arrays outlive the calls; misuse is deliberate and checked.
    unsafe {
        let mut module = null_mut();
        let msg = take_message(spry_module_new(engine, bad_type.as_ptr(), bad_type.len(), &mut module));
        assert!(msg.contains("type mismatch") && msg.contains("offset 0x"), "{msg}");
        assert!(module.is_null(), "out written on failure");
        let msg = take_message(spry_module_validate(engine, bad_type.as_ptr(), bad_type.len()));
        assert!(msg.contains("offset"), "{msg}");
        let truncated = b"\0asm\x01\0\0\0\x01";
        let msg = take_message(spry_module_new(engine, truncated.as_ptr(), truncated.len(), &mut module));
        assert!(msg.contains("offset"), "{msg}");
        let msg = take_message(spry_module_new(engine, null(), 8, &mut module));
        assert!(msg.contains("wasm is NULL"), "{msg}");
        let msg = take_message(spry_module_new(null(), bad_type.as_ptr(), bad_type.len(), &mut module));
        assert!(msg.contains("engine is NULL"), "{msg}");
        let good = wat::parse_str("(module)").unwrap();
        let msg = take_message(spry_module_new(engine, good.as_ptr(), good.len(), null_mut()));
        assert!(msg.contains("out is NULL"), "{msg}");
        ok(spry_module_validate(engine, good.as_ptr(), good.len()));
        // An empty slice is not a module.
        assert!(take_message(spry_module_validate(engine, null(), 0)).contains("offset"));
        spry_engine_delete(engine);
    }
}

#[test]
fn module_imports_and_exports() {
    let engine = engine();
    let m = module(
        engine,
        r#"(module $demo
            (import "env" "f" (func (param i32 i64) (result f32)))
            (import "env" "g" (global (mut i64)))
            (import "" "t" (table 1 2 funcref))
            (import "env" "m" (memory 1))
            (func (export "run") (param f64 externref))
            (global (export "c") f32 (f32.const 1))
            (table (export "refs") 3 externref)
            (export "mem" (memory 0)))"#,
    );
    // SAFETY: `m` is live; the out-parameters are valid; pointers read while `m` lives.
    unsafe {
        let (mut name, mut len) = (null(), 0);
        assert!(spry_module_name(m, &mut name, &mut len));
        assert_eq!(string(name, len).as_deref(), Some("demo"));

        assert_eq!(spry_module_imports_len(m), 4);
        let mut imports = Vec::new();
        for i in 0..4 {
            let mut t = std::mem::zeroed::<spry_importtype_t>();
            assert!(spry_module_import(m, i, &mut t));
            imports.push(t);
        }
        let mut t = std::mem::zeroed::<spry_importtype_t>();
        assert!(!spry_module_import(m, 4, &mut t));
        assert!(!spry_module_import(m, 0, null_mut()));
        assert!(!spry_module_import(null(), 0, &mut t));

        let names: Vec<_> = imports
            .iter()
            .map(|i| (string(i.module, i.module_len).unwrap_or_default(), string(i.name, i.name_len).unwrap()))
            .collect();
        assert_eq!(
            names,
            [("env", "f"), ("env", "g"), ("", "t"), ("env", "m")].map(|(a, b)| (a.to_string(), b.to_string()))
        );
        assert!(imports[2].module.is_null(), "an empty name is NULL with length 0");

        let f = imports[0].r#type;
        assert_eq!(f.kind, SPRY_EXTERN_FUNC);
        assert_eq!(kinds(f.func.params, f.func.nparams), [SPRY_I32, SPRY_I64]);
        assert_eq!(kinds(f.func.results, f.func.nresults), [SPRY_F32]);
        let g = imports[1].r#type;
        assert_eq!((g.kind, g.global_content, g.global_mutable), (SPRY_EXTERN_GLOBAL, SPRY_I64, true));
        let t = imports[2].r#type;
        assert_eq!(
            (t.kind, t.table_element, t.table_min, t.table_has_max, t.table_max),
            (SPRY_EXTERN_TABLE, SPRY_FUNCREF, 1, true, 2)
        );
        let mem = imports[3].r#type;
        assert_eq!((mem.kind, mem.memory_min, mem.memory_has_max), (SPRY_EXTERN_MEMORY, 1, false));

        assert_eq!(spry_module_exports_len(m), 4);
        let mut exports = Vec::new();
        for i in 0..4 {
            let mut e = std::mem::zeroed::<spry_exporttype_t>();
            assert!(spry_module_export(m, i, &mut e));
            exports.push((string(e.name, e.name_len).unwrap(), e.r#type));
        }
        let mut e = std::mem::zeroed::<spry_exporttype_t>();
        assert!(!spry_module_export(m, 4, &mut e));
        assert_eq!(exports.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(), ["run", "c", "refs", "mem"]);
        let run = exports[0].1.func;
        assert_eq!(kinds(run.params, run.nparams), [SPRY_F64, SPRY_EXTERNREF]);
        assert!(run.results.is_null() && run.nresults == 0);
        assert_eq!((exports[1].1.global_content, exports[1].1.global_mutable), (SPRY_F32, false));
        assert_eq!(
            (exports[2].1.table_element, exports[2].1.table_min, exports[2].1.table_has_max),
            (SPRY_EXTERNREF, 3, false)
        );
        assert_eq!(
            (exports[3].1.kind, exports[3].1.memory_min, exports[3].1.memory_has_max),
            (SPRY_EXTERN_MEMORY, 1, false)
        );

        // The pointers are stable: asking again gives the same arrays.
        let mut again = std::mem::zeroed::<spry_importtype_t>();
        assert!(spry_module_import(m, 0, &mut again));
        assert_eq!(again.r#type.func.params, imports[0].r#type.func.params);

        let nameless = module(engine, "(module)");
        assert!(!spry_module_name(nameless, &mut name, &mut len));
        assert_eq!(spry_module_imports_len(nameless), 0);
        assert_eq!(spry_module_imports_len(null()), 0);
        spry_module_delete(nameless);
        spry_module_delete(m);
        spry_engine_delete(engine);
    }
}

//! Nested calls (host → Wasm → host → Wasm ...) through a host function's `Caller`: every level
//! mutates the store (host data, new functions, externrefs, instances, memory, a global) and the
//! outer levels see those changes after the inner calls return. See docs/store-ownership.md for the
//! ownership rule this exercises: nothing up the stack holds a `&mut` into the store while an inner
//! level runs, so each level re-derives its access after the call it made returns.

use spry::*;

/// What the host functions record, in the store's host data.
#[derive(Default)]
struct Log {
    events: Vec<String>,
    /// Runs of the start function of the module instantiated from inside a host function.
    starts: u32,
}

const DEPTH: i32 = 4;
/// Externrefs each level makes: enough that the store's tables reallocate while outer levels wait.
const REFS_PER_LEVEL: usize = 300;

const MAIN: &str = r#"(module
  (import "env" "host" (func $host (param i32) (result i32)))
  (memory (export "mem") 1)
  (global $g (export "g") (mut i32) (i32.const 0))
  (func (export "enter") (param $d i32) (result i32)
    ;; mem[4 * depth] = 100 + depth; g += 1; then the host function, and 1 more than it returned.
    (i32.store (i32.mul (local.get $d) (i32.const 4)) (i32.add (local.get $d) (i32.const 100)))
    (global.set $g (i32.add (global.get $g) (i32.const 1)))
    (i32.add (call $host (local.get $d)) (i32.const 1))))"#;

/// Instantiated at level 2, from inside a host function: its start function calls back to the host.
const STARTER: &str = r#"(module
  (import "env" "started" (func $started))
  (func $start (call $started))
  (start $start))"#;

fn log<'a>(caller: &'a mut Caller<'_>) -> &'a mut Log {
    caller.data_mut::<Log>().expect("the store's data is a Log")
}

#[test]
fn three_deep_nested_calls_mutate_the_store_at_every_level() {
    let engine = Engine::default();
    let main = Module::new(&engine, wat::parse_str(MAIN).unwrap()).unwrap();
    let starter = Module::new(&engine, wat::parse_str(STARTER).unwrap()).unwrap();
    let mut linker = Linker::new(&engine);
    linker
        .func_new("env", "host", FuncType::new([ValType::I32], [ValType::I32]), move |mut caller, args, out| {
            let depth = args[0].i32().unwrap();
            log(&mut caller).events.push(format!("enter {depth}"));
            // Grow the store's tables while outer levels are suspended in their calls.
            let refs: Vec<ExternRef> = (0..REFS_PER_LEVEL).map(|i| ExternRef::new(&mut caller, (depth, i))).collect();
            let helper = Func::new(&mut caller, FuncType::new([], [ValType::I32]), move |_, _, out| {
                out[0] = Val::I32(depth * 1000);
                Ok(())
            })?;
            if depth == 2 {
                // Instantiation from a host function, whose start function calls the host again.
                let started = Func::new(&mut caller, FuncType::new([], []), |mut caller, _, _| {
                    log(&mut caller).starts += 1;
                    log(&mut caller).events.push("start".into());
                    Ok(())
                })?;
                Instance::new(&mut caller, &starter, &[started.into()])?;
            }
            let mut result = depth * 10;
            if depth < DEPTH {
                let enter = caller.get_export("enter").unwrap().into_func().unwrap();
                let mut inner = [Val::I32(0)];
                enter.call(&mut caller, &[Val::I32(depth + 1)], &mut inner)?;
                // The inner levels' changes are visible here, through a fresh access.
                let events = &log(&mut caller).events;
                assert_eq!(events.last().map(String::as_str), Some(format!("leave {}", depth + 1).as_str()));
                result += inner[0].i32().unwrap();
                let mem = caller.get_export("mem").unwrap().into_memory().unwrap();
                let word = |d: i32| {
                    let at = 4 * d as usize;
                    i32::from_le_bytes(mem.data(&caller)[at..at + 4].try_into().unwrap())
                };
                assert_eq!(word(depth + 1), 101 + depth);
                assert_eq!(word(DEPTH), 100 + DEPTH);
            }
            // Everything this level made before the nested call is still there and still its own.
            for (i, r) in refs.iter().enumerate() {
                let data = r.data(&caller).unwrap().downcast_ref::<(i32, usize)>().unwrap();
                assert_eq!(*data, (depth, i));
            }
            let mut h = [Val::I32(0)];
            helper.call(&mut caller, &[], &mut h)?;
            assert_eq!(h[0], Val::I32(depth * 1000));
            log(&mut caller).events.push(format!("leave {depth}"));
            out[0] = Val::I32(result);
            Ok(())
        })
        .unwrap();

    let mut store = Store::new(&engine);
    store.set_data(Log::default());
    let instance = linker.instantiate(&mut store, &main).unwrap();
    let enter = instance.get_func(&mut store, "enter").unwrap();
    let mut out = [Val::I32(0)];
    enter.call(&mut store, &[Val::I32(1)], &mut out).unwrap();

    // enter(d) returns host(d) + 1, and host(d) = 10 d + enter(d + 1) (the last level: 10 d).
    let expected = (1..=DEPTH).map(|d| 10 * d + 1).sum::<i32>();
    assert_eq!(out[0], Val::I32(expected));
    let log = store.data::<Log>().unwrap();
    let mut want: Vec<String> = (1..=DEPTH).map(|d| format!("enter {d}")).collect();
    want.insert(2, "start".into()); // level 2 instantiates before calling level 3
    want.extend((1..=DEPTH).rev().map(|d| format!("leave {d}")));
    assert_eq!(log.events, want);
    assert_eq!(log.starts, 1);
    let g = instance.get_global(&mut store, "g").unwrap();
    assert_eq!(g.get(&mut store), Val::I32(DEPTH));
    let mem = instance.get_memory(&mut store, "mem").unwrap();
    for d in 1..=DEPTH {
        let at = 4 * d as usize;
        assert_eq!(i32::from_le_bytes(mem.data(&store)[at..at + 4].try_into().unwrap()), 100 + d);
    }
    // The store is still usable for a new outermost call.
    store.data_mut::<Log>().unwrap().events.clear();
    enter.call(&mut store, &[Val::I32(DEPTH)], &mut out).unwrap();
    assert_eq!(out[0], Val::I32(10 * DEPTH + 1));
    assert_eq!(store.data::<Log>().unwrap().events, [format!("enter {DEPTH}"), format!("leave {DEPTH}")]);
}

/// The same nesting through a `StoreContextMut` held across the call, and through raw slots.
#[test]
fn a_context_held_across_a_call_stays_usable() {
    let engine = Engine::default();
    let main = Module::new(&engine, wat::parse_str(MAIN).unwrap()).unwrap();
    let mut linker = Linker::new(&engine);
    // SAFETY: the host function writes an i32 result, as its type says.
    unsafe {
        linker
            .func_new_unchecked("env", "host", FuncType::new([ValType::I32], [ValType::I32]), |mut caller, slots| {
                let depth = slots[0] as i32;
                log(&mut caller).events.push(format!("raw {depth}"));
                let mut result = depth;
                if depth < 3 {
                    let enter = caller.get_export("enter").unwrap().into_func().unwrap();
                    let mut inner = [(depth + 1) as u64];
                    enter.call_unchecked(&mut caller, &mut inner)?;
                    result += inner[0] as i32;
                }
                slots[0] = result as u64;
                Ok(())
            })
            .unwrap();
    }
    let mut store = Store::new(&engine);
    store.set_data(Log::default());
    let mut cx = store.as_context_mut();
    let instance = linker.instantiate(&mut cx, &main).unwrap();
    let enter = instance.get_func(&mut cx, "enter").unwrap();
    let mut out = [Val::I32(0)];
    enter.call(&mut cx, &[Val::I32(1)], &mut out).unwrap();
    // host(d) = d + enter(d + 1), enter(d) = host(d) + 1: 1 + (2 + (3 + 1) + 1) + 1.
    assert_eq!(out[0], Val::I32(9));
    // The context is used again after the nested levels mutated the store.
    let extra = ExternRef::new(&mut cx, 7u8);
    assert_eq!(extra.data(&cx).unwrap().downcast_ref::<u8>(), Some(&7));
    let g = instance.get_global(&mut cx, "g").unwrap();
    assert_eq!(g.get(&mut cx), Val::I32(3));
    assert_eq!(store.data::<Log>().unwrap().events, ["raw 1", "raw 2", "raw 3"]);
}

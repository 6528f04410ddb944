//! Fuel (`Config::consume_fuel`, `Store::set_fuel`, `Store::fuel`): exact costs per operator,
//! deterministic counts, the `OutOfFuel` trap at loop headers and function entries, fuel across host
//! calls and `call_indirect`, artifacts that record the setting, and independence from interrupts.

use spry::*;

const WAT: &str = r#"(module
    (type $t (func (param i32) (result i32)))
    (import "env" "host" (func $host (param i32) (result i32)))
    (table 1 funcref)
    (elem (i32.const 0) $add1)
    ;; local.get, i32.const, i32.add: 3
    (func $add1 (export "add1") (type $t) local.get 0 i32.const 1 i32.add)
    ;; 7 per iteration (local.get, i32.const, i32.add, local.tee, local.get, i32.lt_u, br_if)
    (func (export "count") (param i32) (local i32)
        (loop $l local.get 1 i32.const 1 i32.add local.tee 1 local.get 0 i32.lt_u br_if $l))
    ;; local.get, call: 2, plus nothing for the host function
    (func (export "call_host") (param i32) (result i32) local.get 0 call $host)
    ;; local.get, i32.const, call_indirect: 3, plus $add1's 3
    (func (export "indirect") (param i32) (result i32) local.get 0 i32.const 0 call_indirect (type $t))
    ;; nop, drop, block, end are free: i32.const 1
    (func (export "free") nop (block (i32.const 1) drop) nop)
    (func (export "spin") (loop $l br $l))
    ;; A loop that exits with br_if and continues with br: 9 per iteration (local.get, local.get,
    ;; i32.ge_u, br_if; local.get, i32.const, i32.add, local.set; br), 4 for the exit test.
    (func (export "count_br") (param $n i32) (local $i i32)
        (block $done (loop $l
            (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $l))))
    ;; br_if taken: local.get, br_if (2); not taken: also i32.const (drop is free): 3
    (func (export "maybe") (param i32) (block (br_if 0 (local.get 0)) (drop (i32.const 5)))))"#;

fn engine(fuel: bool) -> Engine {
    Engine::new(Config::new().consume_fuel(fuel)).unwrap()
}

/// The host function sets the store's fuel to its argument when it is nonzero.
fn instantiate(engine: &Engine, module: &Module) -> (Store, Instance) {
    let mut store = Store::new(engine);
    let mut linker = Linker::new(engine);
    linker
        .func_new("env", "host", FuncType::new([ValType::I32], [ValType::I32]), |mut caller, args, out| {
            let mut cx = caller.as_context_mut();
            let seen = cx.fuel()?;
            if let Val::I32(n) = args[0] {
                if n > 0 {
                    cx.set_fuel(n as u64)?;
                }
            }
            out[0] = Val::I32(seen as i32);
            Ok(())
        })
        .unwrap();
    let instance = linker.instantiate(&mut store, module).unwrap();
    (store, instance)
}

fn call(store: &mut Store, instance: Instance, name: &str, args: &[Val]) -> anyhow::Result<Option<i32>> {
    let f = instance.get_func(&mut *store, name).unwrap();
    let n = f.ty(&*store).results().len();
    let mut out = vec![Val::I32(0); n];
    f.call(&mut *store, args, &mut out)?;
    Ok(out.first().map(|v| if let Val::I32(x) = v { *x } else { panic!("i32") }))
}

/// Fuel consumed by one call of `name`.
fn cost(store: &mut Store, instance: Instance, name: &str, args: &[Val]) -> u64 {
    store.set_fuel(1_000_000).unwrap();
    call(store, instance, name, args).unwrap();
    1_000_000 - store.fuel().unwrap()
}

fn trap_code(err: &anyhow::Error) -> Option<TrapCode> {
    err.downcast_ref::<Trap>().map(|t| t.code())
}

#[test]
fn operators_cost_what_the_model_says() {
    let engine = engine(true);
    let module = Module::new(&engine, wat::parse_str(WAT).unwrap()).unwrap();
    let (mut store, instance) = instantiate(&engine, &module);
    assert_eq!(cost(&mut store, instance, "add1", &[Val::I32(1)]), 3);
    assert_eq!(cost(&mut store, instance, "count", &[Val::I32(10)]), 70);
    assert_eq!(cost(&mut store, instance, "count", &[Val::I32(1000)]), 7000);
    assert_eq!(cost(&mut store, instance, "free", &[]), 1);
    assert_eq!(cost(&mut store, instance, "count_br", &[Val::I32(0)]), 4);
    assert_eq!(cost(&mut store, instance, "count_br", &[Val::I32(10)]), 94);
    assert_eq!(cost(&mut store, instance, "maybe", &[Val::I32(1)]), 2);
    assert_eq!(cost(&mut store, instance, "maybe", &[Val::I32(0)]), 3);
    assert_eq!(cost(&mut store, instance, "indirect", &[Val::I32(1)]), 6);
}

#[test]
fn set_fuel_reads_back_and_requires_the_setting() {
    let engine = engine(true);
    let mut store = Store::new(&engine);
    assert_eq!(store.fuel().unwrap(), 0, "a store starts with no fuel");
    store.set_fuel(12345).unwrap();
    assert_eq!(store.fuel().unwrap(), 12345);
    store.set_fuel(u64::MAX).unwrap();
    assert_eq!(store.fuel().unwrap(), i64::MAX as u64);

    let mut plain = Store::new(&spry::Engine::default());
    let err = plain.set_fuel(10).unwrap_err().to_string();
    assert!(err.contains("consume_fuel"), "{err}");
    assert!(plain.fuel().is_err());
}

#[test]
fn the_same_program_consumes_the_same_fuel() {
    let engine = engine(true);
    let module = Module::new(&engine, wat::parse_str(WAT).unwrap()).unwrap();
    let runs: Vec<u64> = (0..2)
        .map(|_| {
            let (mut store, instance) = instantiate(&engine, &module);
            store.set_fuel(10_000_000).unwrap();
            for n in [3, 100, 5000] {
                call(&mut store, instance, "count", &[Val::I32(n)]).unwrap();
                call(&mut store, instance, "indirect", &[Val::I32(n)]).unwrap();
            }
            store.fuel().unwrap()
        })
        .collect();
    assert_eq!(runs[0], runs[1]);
    assert_eq!(runs[0], 10_000_000 - 7 * 5103 - 3 * 6);
}

#[test]
fn running_out_traps() {
    let engine = engine(true);
    let module = Module::new(&engine, wat::parse_str(WAT).unwrap()).unwrap();
    let (mut store, instance) = instantiate(&engine, &module);
    // An endless loop stops at a loop header.
    store.set_fuel(1000).unwrap();
    let err = call(&mut store, instance, "spin", &[]).unwrap_err();
    assert_eq!(trap_code(&err), Some(TrapCode::OutOfFuel), "{err:#}");
    assert_eq!(store.fuel().unwrap(), 0);
    // With no fuel left, a call stops at the function's entry.
    let err = call(&mut store, instance, "add1", &[Val::I32(1)]).unwrap_err();
    assert_eq!(trap_code(&err), Some(TrapCode::OutOfFuel));
    // Exactly enough fuel: the call completes and leaves none.
    store.set_fuel(3).unwrap();
    assert_eq!(call(&mut store, instance, "add1", &[Val::I32(1)]).unwrap(), Some(2));
    assert_eq!(store.fuel().unwrap(), 0);
    // A loop that needs more than it has stops part way, and the store stays usable.
    store.set_fuel(50).unwrap();
    let err = call(&mut store, instance, "count", &[Val::I32(100)]).unwrap_err();
    assert_eq!(trap_code(&err), Some(TrapCode::OutOfFuel));
    store.set_fuel(100).unwrap();
    assert_eq!(call(&mut store, instance, "add1", &[Val::I32(41)]).unwrap(), Some(42));
    assert_eq!(store.fuel().unwrap(), 97);
}

#[test]
fn host_functions_see_and_set_the_fuel_of_their_caller() {
    let engine = engine(true);
    let module = Module::new(&engine, wat::parse_str(WAT).unwrap()).unwrap();
    let (mut store, instance) = instantiate(&engine, &module);
    // The host sees what was left at the call (local.get and call charged), and Wasm continues
    // with what the host set.
    store.set_fuel(100).unwrap();
    assert_eq!(call(&mut store, instance, "call_host", &[Val::I32(0)]).unwrap(), Some(98));
    assert_eq!(store.fuel().unwrap(), 98);
    assert_eq!(call(&mut store, instance, "call_host", &[Val::I32(5000)]).unwrap(), Some(96));
    assert_eq!(store.fuel().unwrap(), 5000);
}

#[test]
fn artifacts_record_the_setting() {
    let fuel = engine(true);
    let bytes = Module::new(&fuel, wat::parse_str(WAT).unwrap()).unwrap().serialize().unwrap();
    // SAFETY: the artifact was just made by this process.
    let loaded = unsafe { Module::deserialize(&fuel, &bytes) }.unwrap();
    let (mut store, instance) = instantiate(&fuel, &loaded);
    assert_eq!(cost(&mut store, instance, "count", &[Val::I32(10)]), 70);

    let plain = engine(false);
    // SAFETY: as above; it must be refused, not run.
    let Err(err) = (unsafe { Module::deserialize(&plain, &bytes) }) else {
        panic!("loaded into an engine without fuel")
    };
    let err = err.to_string();
    assert!(err.contains("consume_fuel"), "{err}");
    let theirs = Module::new(&plain, wat::parse_str(WAT).unwrap()).unwrap().serialize().unwrap();
    // SAFETY: as above.
    assert!(unsafe { Module::deserialize(&fuel, &theirs) }.is_err());
}

#[test]
fn fuel_and_interrupts_are_independent() {
    let engine = engine(true);
    let module = Module::new(&engine, wat::parse_str(WAT).unwrap()).unwrap();
    let (mut store, instance) = instantiate(&engine, &module);
    store.set_fuel(u64::MAX).unwrap();
    store.interrupt_handle().interrupt();
    let err = call(&mut store, instance, "spin", &[]).unwrap_err();
    assert_eq!(trap_code(&err), Some(TrapCode::Interrupt));
    assert!(store.fuel().unwrap() > 0);
}

#[test]
fn without_the_setting_code_runs_unmetered() {
    let engine = engine(false);
    let module = Module::new(&engine, wat::parse_str(WAT).unwrap()).unwrap();
    let (mut store, instance) = instantiate(&engine, &module);
    // A store without fuel would trap at once if the code checked it.
    call(&mut store, instance, "count", &[Val::I32(1000)]).unwrap();
}

/// Joins: the cost of the code after an `if`, a `block` reached by `br_if` or `br_table`, is added
/// to the charges of the paths into it; every path must still pay exactly its own operators, and a
/// call right after a join or inside an arm must see exactly what was consumed before it.
const JOINS: &str = r#"(module
    (import "env" "host" (func $host (param i32) (result i32)))
    ;; local.get, if (2); then: i32.const, local.set (2); after: local.get, i32.const, i32.add (3)
    (func (export "if_no_else") (param i32) (result i32) (local i32)
        (if (local.get 0) (then (local.set 1 (i32.const 7))))
        (i32.add (local.get 1) (i32.const 1)))
    ;; then: local.get, if, i32.const, i32.const, i32.mul (5); else: 2 more (7)
    (func (export "if_else") (param i32) (result i32)
        (if (result i32) (local.get 0) (then (i32.const 1)) (else (i32.const 2) (i32.const 3) (i32.add)))
        (i32.const 10) (i32.mul))
    ;; taken: local.get, if, i32.const, call (4 at the call), local.set, local.get, i32.const, i32.add
    ;; (8); not taken: local.get, if, local.get, i32.const, i32.add (5)
    (func (export "call_in_arm") (param i32) (result i32) (local i32)
        (if (local.get 0) (then (local.set 1 (call $host (i32.const 0)))))
        (i32.add (local.get 1) (i32.const 0)))
    ;; taken: local.get, if, i32.const, i32.const, call (5 at the call); not taken: 4
    (func (export "call_after_join") (param i32) (result i32)
        (if (local.get 0) (then (nop) (drop (i32.const 1))))
        (call $host (i32.const 0)))
    ;; taken: local.get, br_if, i32.const (3); not taken: 2 more (5)
    (func (export "br_if_join") (param i32) (result i32)
        (block $b (br_if $b (local.get 0)) (drop (i32.const 1)) (drop (i32.const 2)))
        (i32.const 5))
    ;; to $a: local.get, br_table, i32.const (3); to $b: i32.const 1 more (4)
    (func (export "table") (param i32) (result i32)
        (block $a (block $b (br_table $a $b (local.get 0))) (drop (i32.const 1)))
        (i32.const 9))
    ;; The sieve's outer loop: 14 per odd i, 18 per even i, 5 for the exit test and the result.
    (func (export "evens") (param $n i32) (result i32) (local $i i32) (local $c i32)
        (block $done (loop $l
            (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
            (if (i32.eqz (i32.and (local.get $i) (i32.const 1)))
                (then (local.set $c (i32.add (local.get $c) (i32.const 1)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $l)))
        (local.get $c))
    ;; A loop whose body ends in an if/else, then a join before the back edge: per iteration
    ;; local.get, local.get, i32.ge_u, br_if (4), local.get, i32.const, i32.and, if (4), then
    ;; i32.const, local.set (2) or else i32.const, i32.const, i32.add, local.set (4), then
    ;; local.get, i32.const, i32.add, local.set, br (5): 15 for odd i, 17 for even; exit: 4 +
    ;; local.get (5).
    (func (export "diamond") (param $n i32) (result i32) (local $i i32) (local $x i32)
        (block $done (loop $l
            (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
            (if (i32.and (local.get $i) (i32.const 1))
                (then (local.set $x (i32.const 1)))
                (else (local.set $x (i32.add (i32.const 2) (i32.const 3)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $l)))
        (local.get $x))
    ;; An arm that leaves the enclosing block: local.get, if, br, i32.const (4); not taken:
    ;; local.get, if, i32.const, i32.const, i32.add, i32.const (6)
    (func (export "arm_exits") (param i32) (result i32)
        (block $out (if (local.get 0) (then (br $out))) (drop (i32.add (i32.const 1) (i32.const 1))))
        (i32.const 2))
    ;; Nested ifs without else: (1, 1) 11, (1, 0) 9, (0, _) 3
    (func (export "nested") (param i32 i32) (result i32) (local i32)
        (if (local.get 0) (then
            (if (local.get 1) (then (local.set 2 (i32.const 1))))
            (local.set 2 (i32.add (local.get 2) (i32.const 2)))))
        (local.get 2))
    ;; not taken: local.get, if, i32.const (3)
    (func (export "arm_traps") (param i32) (result i32)
        (if (local.get 0) (then unreachable))
        (i32.const 3))
    ;; A branch to the if's own end: 0: 5; 2: local.get, if, local.get, i32.const, i32.eq, br_if,
    ;; local.get, i32.const, i32.add (9); 1: i32.const, local.set more (11)
    (func (export "if_br_self") (param i32) (result i32) (local i32)
        (if (local.get 0) (then
            (br_if 0 (i32.eq (local.get 0) (i32.const 2)))
            (local.set 1 (i32.const 5))))
        (i32.add (local.get 1) (i32.const 1)))
    ;; A loop in an arm: 0: local.get, if, local.get (3); n: 2 + 7 per iteration + 1. The loop
    ;; header's check must count the 2 before the if.
    (func (export "arm_loop") (param i32) (result i32) (local i32)
        (if (local.get 0) (then
            (loop $l (br_if $l (i32.lt_u (local.tee 1 (i32.add (local.get 1) (i32.const 1))) (local.get 0))))))
        (local.get 1)))"#;

#[test]
fn joins_charge_each_path_its_own_operators() {
    let engine = engine(true);
    let module = Module::new(&engine, wat::parse_str(JOINS).unwrap()).unwrap();
    let (mut store, instance) = instantiate(&engine, &module);
    let i = |n: i32| [Val::I32(n)];
    assert_eq!(cost(&mut store, instance, "if_no_else", &i(1)), 7);
    assert_eq!(cost(&mut store, instance, "if_no_else", &i(0)), 5);
    assert_eq!(cost(&mut store, instance, "if_else", &i(1)), 5);
    assert_eq!(cost(&mut store, instance, "if_else", &i(0)), 7);
    assert_eq!(cost(&mut store, instance, "call_in_arm", &i(1)), 8);
    assert_eq!(cost(&mut store, instance, "call_in_arm", &i(0)), 5);
    assert_eq!(cost(&mut store, instance, "call_after_join", &i(1)), 5);
    assert_eq!(cost(&mut store, instance, "call_after_join", &i(0)), 4);
    assert_eq!(cost(&mut store, instance, "br_if_join", &i(1)), 3);
    assert_eq!(cost(&mut store, instance, "br_if_join", &i(0)), 5);
    assert_eq!(cost(&mut store, instance, "table", &i(0)), 3);
    assert_eq!(cost(&mut store, instance, "table", &i(1)), 4);
    assert_eq!(cost(&mut store, instance, "table", &i(7)), 4);
    assert_eq!(cost(&mut store, instance, "evens", &i(0)), 5);
    assert_eq!(cost(&mut store, instance, "evens", &i(10)), 5 * 18 + 5 * 14 + 5);
    assert_eq!(cost(&mut store, instance, "diamond", &i(0)), 5);
    assert_eq!(cost(&mut store, instance, "diamond", &i(10)), 5 * 15 + 5 * 17 + 5);

    assert_eq!(cost(&mut store, instance, "arm_exits", &i(1)), 4);
    assert_eq!(cost(&mut store, instance, "arm_exits", &i(0)), 6);
    let ii = |x: i32, y: i32| [Val::I32(x), Val::I32(y)];
    assert_eq!(cost(&mut store, instance, "nested", &ii(1, 1)), 11);
    assert_eq!(cost(&mut store, instance, "nested", &ii(1, 0)), 9);
    assert_eq!(cost(&mut store, instance, "nested", &ii(0, 1)), 3);
    assert_eq!(cost(&mut store, instance, "arm_traps", &i(0)), 3);
    assert_eq!(cost(&mut store, instance, "if_br_self", &i(0)), 5);
    assert_eq!(cost(&mut store, instance, "if_br_self", &i(2)), 9);
    assert_eq!(cost(&mut store, instance, "if_br_self", &i(1)), 11);
    assert_eq!(cost(&mut store, instance, "arm_loop", &i(0)), 3);
    assert_eq!(cost(&mut store, instance, "arm_loop", &i(5)), 38);
    // The loop header in the arm sees the 2 operators before the `if`: with 2 it stops at once,
    // with 38 it completes and leaves none.
    store.set_fuel(2).unwrap();
    let err = call(&mut store, instance, "arm_loop", &i(5)).unwrap_err();
    assert_eq!(trap_code(&err), Some(TrapCode::OutOfFuel));
    store.set_fuel(38).unwrap();
    assert_eq!(call(&mut store, instance, "arm_loop", &i(5)).unwrap(), Some(5));
    assert_eq!(store.fuel().unwrap(), 0);

    // What the host sees at a call in an arm or after a join: the operators before the call.
    store.set_fuel(1000).unwrap();
    assert_eq!(call(&mut store, instance, "call_in_arm", &i(1)).unwrap(), Some(996));
    store.set_fuel(1000).unwrap();
    assert_eq!(call(&mut store, instance, "call_after_join", &i(1)).unwrap(), Some(995));
    store.set_fuel(1000).unwrap();
    assert_eq!(call(&mut store, instance, "call_after_join", &i(0)).unwrap(), Some(996));

    // A loop with joins still runs out, at a loop header, and leaves none.
    store.set_fuel(100).unwrap();
    let err = call(&mut store, instance, "evens", &i(1000)).unwrap_err();
    assert_eq!(trap_code(&err), Some(TrapCode::OutOfFuel));
    assert_eq!(store.fuel().unwrap(), 0);
}

#[test]
fn an_interrupt_stops_code_that_has_fuel_left() {
    // With both on, one compare checks the fuel against the interrupt flag: an interrupt must stop
    // a loop whatever fuel is left, not only near i64::MAX.
    let engine = engine(true);
    let module = Module::new(&engine, wat::parse_str(WAT).unwrap()).unwrap();
    let (mut store, instance) = instantiate(&engine, &module);
    for fuel in [1_000_000u64, 1 << 40] {
        store.set_fuel(fuel).unwrap();
        store.interrupt_handle().interrupt();
        let err = call(&mut store, instance, "spin", &[]).unwrap_err();
        assert_eq!(trap_code(&err), Some(TrapCode::Interrupt), "{err:#}");
        assert_eq!(store.fuel().unwrap(), fuel, "nothing ran: the check is at the function entry");
        // The flag is cleared by the trap: with fuel left the loop now runs until it runs out.
        store.set_fuel(1000).unwrap();
        let err = call(&mut store, instance, "spin", &[]).unwrap_err();
        assert_eq!(trap_code(&err), Some(TrapCode::OutOfFuel), "{err:#}");
    }
}

#[test]
fn fuel_without_interrupt_checks_still_runs_out() {
    let engine = Engine::new(Config::new().consume_fuel(true).interruptible(false)).unwrap();
    let module = Module::new(&engine, wat::parse_str(WAT).unwrap()).unwrap();
    let (mut store, instance) = instantiate(&engine, &module);
    store.set_fuel(1000).unwrap();
    let err = call(&mut store, instance, "spin", &[]).unwrap_err();
    assert_eq!(trap_code(&err), Some(TrapCode::OutOfFuel), "{err:#}");
    assert_eq!(store.fuel().unwrap(), 0);
    assert_eq!(cost(&mut store, instance, "count", &[Val::I32(10)]), 70);
}

//! The main example: compile a module from WAT, give it a host function, instantiate it and call an
//! export. Run it with `./build.sh` (or `cargo run --release -p spry --example hello`).

use spry::{Engine, FuncType, Linker, Module, Store, Val, ValType};

fn main() -> anyhow::Result<()> {
    let engine = Engine::default();
    let wasm = wat::parse_str(
        r#"(module
             (import "host" "log" (func $log (param i32)))
             (func $fib (export "fib") (param $n i32) (result i32)
               (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
                 (then (local.get $n))
                 (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                                (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
             (func (export "main") (param $n i32) (result i32)
               (call $log (local.get $n))
               (call $fib (local.get $n))))"#,
    )?;
    let module = Module::new(&engine, &wasm)?;

    let mut linker = Linker::new(&engine);
    linker.func_new("host", "log", FuncType::new([ValType::I32], []), |_caller, args, _results| {
        println!("wasm asked for fib({})", args[0].i32().unwrap_or_default());
        Ok(())
    })?;

    let mut store = Store::new(&engine);
    let instance = linker.instantiate(&mut store, &module)?;
    let main = instance.get_func(&mut store, "main").expect("exported");
    let mut result = [Val::I32(0)];
    main.call(&mut store, &[Val::I32(20)], &mut result)?;
    println!("fib(20) = {}", result[0].i32().unwrap_or_default());
    Ok(())
}

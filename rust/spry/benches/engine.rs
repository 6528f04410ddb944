//! Engine benchmarks: compile throughput (MB of Wasm per second), the cost of an empty call from the
//! host, and of a call from Wasm to a host function, and instantiation (with a copy-on-write memory
//! image of 1 MiB of data segments, and with the segments copied). Run with `./build.sh bench` (or
//! `cargo bench -p spry --bench engine`); figures print one per line.

use spry::{Config, Engine, FuncType, InstanceAllocationStrategy, Linker, Module, PoolingConfig, Store, Val, ValType};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// A synthetic module of `n` functions mixing arithmetic, memory, control flow and calls.
fn synthetic_module(n: usize) -> Vec<u8> {
    let mut wat = String::from("(module (memory 1) (table 16 funcref)\n");
    for i in 0..n {
        let callee = if i > 0 { i - 1 } else { 0 };
        wat.push_str(&format!(
            r#"(func $f{i} (param $a i32) (param $b i32) (result i32) (local $i i32) (local $acc i64)
                 (block $done (loop $l
                   (br_if $done (i32.ge_u (local.get $i) (local.get $b)))
                   (local.set $acc (i64.add (local.get $acc)
                     (i64.mul (i64.extend_i32_u (i32.load offset={off} (i32.and (local.get $i) (i32.const 1023))))
                              (i64.const {i}))))
                   (i32.store offset=8 (i32.and (local.get $a) (i32.const 4095)) (i32.wrap_i64 (local.get $acc)))
                   (if (i32.eqz (i32.rem_u (local.get $i) (i32.const 7)))
                     (then (local.set $a (call $f{callee} (local.get $a) (i32.const 0))))
                     (else (local.set $a (i32.xor (local.get $a) (i32.rotl (local.get $i) (i32.const 3))))))
                   (local.set $i (i32.add (local.get $i) (i32.const 1)))
                   (br $l)))
                 (f64.lt (f64.convert_i32_s (local.get $a)) (f64.sqrt (f64.const {i}.5)))
                 (select (local.get $a) (i32.wrap_i64 (local.get $acc))))
"#,
            off = (i % 64) * 4
        ));
    }
    wat.push(')');
    wat::parse_str(&wat).expect("valid module")
}

fn time_per_iter(min_time: Duration, mut f: impl FnMut()) -> f64 {
    // Warm up, then run batches until `min_time` has passed.
    f();
    let mut iters = 0u64;
    let mut batch = 1u64;
    let start = Instant::now();
    while start.elapsed() < min_time {
        for _ in 0..batch {
            f();
        }
        iters += batch;
        batch = (batch * 2).min(1 << 20);
    }
    start.elapsed().as_secs_f64() / iters as f64
}

fn compile_throughput() {
    let wasm = synthetic_module(2000);
    let mb = wasm.len() as f64 / 1e6;
    for (label, parallel) in [("parallel", true), ("one thread", false)] {
        let engine = Engine::new(Config::new().parallel_compilation(parallel)).unwrap();
        let secs = time_per_iter(Duration::from_secs(3), || {
            black_box(Module::new(&engine, &wasm).unwrap());
        });
        println!(
            "compile ({label}): {:.2} MB/s  ({} bytes, 2000 functions, {:.1} ms per module)",
            mb / secs,
            wasm.len(),
            secs * 1e3
        );
    }
}

/// Ahead-of-time compilation: serializing the synthetic 2000-function module, and loading it back
/// (`Module::deserialize`), against compiling it.
fn serialization() {
    let wasm = synthetic_module(2000);
    let engine = Engine::default();
    let module = Module::new(&engine, &wasm).unwrap();
    let bytes = module.serialize().unwrap();
    let ser = time_per_iter(Duration::from_secs(2), || {
        black_box(module.serialize().unwrap());
    });
    let de = time_per_iter(Duration::from_secs(2), || {
        // SAFETY: the artifact was just serialized by this Spry for this engine.
        black_box(unsafe { Module::deserialize(&engine, &bytes) }.unwrap());
    });
    println!(
        "serialize (2000 functions, {} byte artifact): {:.2} ms; deserialize: {:.2} ms ({:.0} MB/s)",
        bytes.len(),
        ser * 1e3,
        de * 1e3,
        bytes.len() as f64 / 1e6 / de
    );
}

fn calls() {
    let engine = Engine::default();
    let wasm = wat::parse_str(
        r#"(module
             (import "env" "host" (func $host (param i32) (result i32)))
             (func (export "nop"))
             (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
             (func (export "call_host") (param $n i32) (result i32) (local $acc i32)
               (block $done (loop $l
                 (br_if $done (i32.eqz (local.get $n)))
                 (local.set $acc (i32.add (local.get $acc) (call $host (local.get $n))))
                 (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                 (br $l)))
               (local.get $acc))
             (func (export "host_once") (param i32) (result i32) (call $host (local.get 0))))"#,
    )
    .unwrap();
    let module = Module::new(&engine, &wasm).unwrap();
    let mut linker = Linker::new(&engine);
    // SAFETY: the host function writes an i32 result, as its type says.
    unsafe {
        linker
            .func_new_unchecked("env", "host", FuncType::new([ValType::I32], [ValType::I32]), |_, slots| {
                slots[0] = (slots[0] as u32).wrapping_add(1) as u64;
                Ok(())
            })
            .unwrap();
    }
    let mut store = Store::new(&engine);
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let nop = instance.get_func(&mut store, "nop").unwrap();
    let add = instance.get_func(&mut store, "add").unwrap();
    let call_host = instance.get_func(&mut store, "call_host").unwrap();
    let host_once = instance.get_func(&mut store, "host_once").unwrap();
    let min = Duration::from_secs(2);

    let mut slots = [0u64; 2];
    // SAFETY: `nop` takes and returns nothing; `add` takes two i32 slots.
    let t = time_per_iter(min, || unsafe { nop.call_unchecked(&mut store, &mut slots).unwrap() });
    println!("empty call (raw slots): {:.1} ns", t * 1e9);
    let t = time_per_iter(min, || nop.call(&mut store, &[], &mut []).unwrap());
    println!("empty call (Val): {:.1} ns", t * 1e9);
    let t = time_per_iter(min, || {
        slots = [1, 2];
        // SAFETY: as above.
        unsafe { add.call_unchecked(&mut store, &mut slots).unwrap() };
    });
    println!("add(i32, i32) call (raw slots): {:.1} ns", t * 1e9);
    let mut out = [Val::I32(0)];
    let t = time_per_iter(min, || add.call(&mut store, &[Val::I32(1), Val::I32(2)], &mut out).unwrap());
    println!("add(i32, i32) call (Val): {:.1} ns", t * 1e9);

    const N: i32 = 10_000;
    let t = time_per_iter(min, || call_host.call(&mut store, &[Val::I32(N)], &mut out).unwrap());
    println!("wasm -> host call (raw host function, in a loop): {:.1} ns", t * 1e9 / N as f64);
    let t = time_per_iter(min, || {
        slots = [5, 0];
        // SAFETY: `host_once` takes an i32 and returns an i32.
        unsafe { host_once.call_unchecked(&mut store, &mut slots).unwrap() };
    });
    println!("host -> wasm -> host round trip (raw): {:.1} ns", t * 1e9);
}

fn instantiation() {
    let engine = Engine::default();
    let wasm = wat::parse_str(
        r#"(module (memory 1) (data (i32.const 0) "hello") (global (mut i32) (i32.const 1))
             (func (export "f") (result i32) (i32.load (i32.const 0))))"#,
    )
    .unwrap();
    let small = wasm.clone();
    let module = Module::new(&engine, &wasm).unwrap();
    let linker = Linker::new(&engine);
    let t = time_per_iter(Duration::from_secs(2), || {
        let mut store = Store::new(&engine);
        black_box(linker.instantiate(&mut store, &module).unwrap());
    });
    println!("new store + instantiate + drop (on-demand, 1 page + data segment): {:.2} us", t * 1e6);
    let engine = Engine::new(Config::new().memory_images(false)).unwrap();
    let module = Module::new(&engine, &wasm).unwrap();
    let linker = Linker::new(&engine);
    let t = time_per_iter(Duration::from_secs(2), || {
        let mut store = Store::new(&engine);
        black_box(linker.instantiate(&mut store, &module).unwrap());
    });
    println!("new store + instantiate + drop (on-demand, 1 page + data segment, copied): {:.2} us", t * 1e6);

    // 1 MiB of data segments (16 segments of 64 KiB) in a 32-page memory, with and without images.
    let mut wat = String::from("(module (memory 32)\n");
    for i in 0..16 {
        let bytes: String = (0..65536).map(|j| format!("\\{:02x}", (i * 31 + j * 7) as u8)).collect();
        wat.push_str(&format!("(data (i32.const {}) \"{bytes}\")\n", (i + 1) * 65536));
    }
    wat.push_str("(func (export \"f\") (result i32) (i32.load (i32.const 65536))))");
    let wasm = wat::parse_str(&wat).unwrap();
    for (label, images) in [("memory image", true), ("copied segments", false)] {
        let engine = Engine::new(Config::new().memory_images(images)).unwrap();
        let module = Module::new(&engine, &wasm).unwrap();
        let linker = Linker::new(&engine);
        let t = time_per_iter(Duration::from_secs(2), || {
            let mut store = Store::new(&engine);
            black_box(linker.instantiate(&mut store, &module).unwrap());
        });
        println!("new store + instantiate + drop (on-demand, 32 pages + 1 MiB of data, {label}): {:.2} us", t * 1e6);
    }
    pooling_instantiation(&small, &wasm);
}

/// Instantiate + drop with the pooling allocator against on-demand, on one thread and on two.
fn pooling_instantiation(small: &[u8], big: &[u8]) {
    let strategies = [
        ("on-demand", InstanceAllocationStrategy::OnDemand),
        ("pooling", InstanceAllocationStrategy::Pooling(PoolingConfig::default())),
    ];
    for (label, strategy) in strategies {
        let engine = Engine::new(Config::new().allocation_strategy(strategy)).unwrap();
        for (what, wasm) in [("1 page + data segment", small), ("32 pages + 1 MiB of data, image", big)] {
            let module = Module::new(&engine, wasm).unwrap();
            let linker = Linker::new(&engine);
            let run = || {
                time_per_iter(Duration::from_secs(2), || {
                    let mut store = Store::new(&engine);
                    black_box(linker.instantiate(&mut store, &module).unwrap());
                })
            };
            let t = run();
            println!("new store + instantiate + drop ({label}, {what}): {:.2} us", t * 1e6);
            let per_thread = std::thread::scope(|s| {
                let threads: Vec<_> = (0..2).map(|_| s.spawn(run)).collect();
                threads.into_iter().map(|t| t.join().unwrap()).sum::<f64>() / 2.0
            });
            println!(
                "new store + instantiate + drop ({label}, {what}, 2 threads): {:.2} us per thread",
                per_thread * 1e6
            );
        }
    }
}

/// Fuel's overhead (`Config::consume_fuel`) on compute loops: the same functions run without and
/// with fuel accounting (the store given `u64::MAX` fuel). `loop` is a tight arithmetic loop (a
/// charge and a check per iteration, the worst case); `sieve` marks primes in memory (nested loops,
/// loads and stores); `calls` calls a small function each iteration (the counter is stored before and
/// reloaded after each call).
fn fuel_overhead() {
    let wasm = wat::parse_str(
        r#"(module (memory 1)
             (func (export "loop") (param $n i32) (result i32) (local $i i32) (local $x i32)
               (loop $l
                 (local.set $x (i32.add (i32.mul (local.get $x) (i32.const 1103515245)) (i32.const 12345)))
                 (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 7))))
                 (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
               (local.get $x))
             (func (export "sieve") (param $n i32) (result i32) (local $i i32) (local $j i32) (local $count i32)
               (memory.fill (i32.const 0) (i32.const 0) (local.get $n))
               (local.set $i (i32.const 2))
               (block $done (loop $outer
                 (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
                 (if (i32.eqz (i32.load8_u (local.get $i)))
                   (then
                     (local.set $count (i32.add (local.get $count) (i32.const 1)))
                     (local.set $j (i32.mul (local.get $i) (local.get $i)))
                     (block $end (loop $inner
                       (br_if $end (i32.ge_u (local.get $j) (local.get $n)))
                       (i32.store8 (local.get $j) (i32.const 1))
                       (local.set $j (i32.add (local.get $j) (local.get $i)))
                       (br $inner)))))
                 (local.set $i (i32.add (local.get $i) (i32.const 1)))
                 (br $outer)))
               (local.get $count))
             (func $step (param i32) (result i32) (i32.add (i32.mul (local.get 0) (i32.const 31)) (i32.const 7)))
             (func (export "calls") (param $n i32) (result i32) (local $i i32) (local $x i32)
               (loop $l
                 (local.set $x (call $step (local.get $x)))
                 (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
               (local.get $x)))"#,
    )
    .unwrap();
    for (name, n) in [("loop", 10_000_000), ("sieve", 60_000), ("calls", 10_000_000)] {
        // Both setups side by side, measured in alternating rounds, the best round of each kept:
        // other load on the machine then skews neither.
        let mut setups: Vec<_> = [false, true]
            .into_iter()
            .map(|fuel| {
                let engine = Engine::new(Config::new().consume_fuel(fuel)).unwrap();
                let module = Module::new(&engine, &wasm).unwrap();
                let mut store = Store::new(&engine);
                if fuel {
                    store.set_fuel(u64::MAX).unwrap();
                }
                let instance = Linker::new(&engine).instantiate(&mut store, &module).unwrap();
                let f = instance.get_func(&mut store, name).unwrap();
                (store, f)
            })
            .collect();
        let mut best = [f64::INFINITY; 2];
        for _round in 0..7 {
            for ((store, f), best) in setups.iter_mut().zip(&mut best) {
                let mut out = [Val::I32(0)];
                // The thread's CPU time, not wall time: time spent descheduled (the machine shared
                // with other work) does not count.
                let cpu = || {
                    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
                    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
                };
                let start = cpu();
                let mut iters = 0u32;
                while cpu() - start < 0.3 {
                    f.call(&mut *store, &[Val::I32(n)], &mut out).unwrap();
                    black_box(&out);
                    iters += 1;
                }
                *best = best.min((cpu() - start) / f64::from(iters));
            }
        }
        println!(
            "fuel overhead ({name}, n = {n}): {:.2} ms without, {:.2} ms with fuel: {:+.1} % (thread CPU time, best of 7 alternating rounds)",
            best[0] * 1e3,
            best[1] * 1e3,
            (best[1] / best[0] - 1.0) * 100.0
        );
    }
}

fn main() {
    // `cargo bench` passes `--bench`; under `cargo test` (no flag) there is nothing to check.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    // Other arguments name the groups to run (all when none is named): `-- fuel`.
    let only: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let groups: [(&str, fn()); 5] = [
        ("compile", compile_throughput),
        ("serialize", serialization),
        ("calls", calls),
        ("instantiate", instantiation),
        ("fuel", fuel_overhead),
    ];
    for (name, group) in groups {
        if only.is_empty() || only.iter().any(|o| o == name) {
            group();
        }
    }
}

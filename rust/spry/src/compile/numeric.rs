//! Translation of the WebAssembly 2.0 numeric operators (constants, integer and float arithmetic,
//! comparisons, conversions, reinterpretations and sign extensions) to Cranelift IR. Cranelift's own
//! semantics match Wasm's here, traps included (division, float-to-int truncation).
use cranelift_codegen::ir::{self, condcodes::*, types::*, InstBuilder, Value};
use cranelift_frontend::FunctionBuilder;
use wasmparser::Operator;

/// Translates `op` if it is a numeric operator: pops its operands from the end of `stack` and pushes its result.
/// Returns false (touching nothing) for any other operator.
pub(crate) fn translate_numeric(op: &Operator<'_>, b: &mut FunctionBuilder<'_>, stack: &mut Vec<Value>) -> bool {
    use Operator as O;
    match *op {
        // Constants. A narrow `iconst` holds its immediate zero-extended (the builder would mask it anyway).
        O::I32Const { value } => stack.push(b.ins().iconst(I32, i64::from(value.cast_unsigned()))),
        O::I64Const { value } => stack.push(b.ins().iconst(I64, value)),
        O::F32Const { value } => stack.push(b.ins().f32const(ir::immediates::Ieee32::with_bits(value.bits()))),
        O::F64Const { value } => stack.push(b.ins().f64const(ir::immediates::Ieee64::with_bits(value.bits()))),

        // Integer comparisons (i32 and i64 share the Cranelift instruction).
        O::I32Eqz | O::I64Eqz => eqz(b, stack),
        O::I32Eq | O::I64Eq => icmp(b, stack, IntCC::Equal),
        O::I32Ne | O::I64Ne => icmp(b, stack, IntCC::NotEqual),
        O::I32LtS | O::I64LtS => icmp(b, stack, IntCC::SignedLessThan),
        O::I32LtU | O::I64LtU => icmp(b, stack, IntCC::UnsignedLessThan),
        O::I32GtS | O::I64GtS => icmp(b, stack, IntCC::SignedGreaterThan),
        O::I32GtU | O::I64GtU => icmp(b, stack, IntCC::UnsignedGreaterThan),
        O::I32LeS | O::I64LeS => icmp(b, stack, IntCC::SignedLessThanOrEqual),
        O::I32LeU | O::I64LeU => icmp(b, stack, IntCC::UnsignedLessThanOrEqual),
        O::I32GeS | O::I64GeS => icmp(b, stack, IntCC::SignedGreaterThanOrEqual),
        O::I32GeU | O::I64GeU => icmp(b, stack, IntCC::UnsignedGreaterThanOrEqual),

        // Float comparisons: all ordered (false on NaN) except `ne`, which is true on NaN.
        O::F32Eq | O::F64Eq => fcmp(b, stack, FloatCC::Equal),
        O::F32Ne | O::F64Ne => fcmp(b, stack, FloatCC::NotEqual),
        O::F32Lt | O::F64Lt => fcmp(b, stack, FloatCC::LessThan),
        O::F32Gt | O::F64Gt => fcmp(b, stack, FloatCC::GreaterThan),
        O::F32Le | O::F64Le => fcmp(b, stack, FloatCC::LessThanOrEqual),
        O::F32Ge | O::F64Ge => fcmp(b, stack, FloatCC::GreaterThanOrEqual),

        // Integer unary.
        O::I32Clz | O::I64Clz => unop(b, stack, |b, x| b.ins().clz(x)),
        O::I32Ctz | O::I64Ctz => unop(b, stack, |b, x| b.ins().ctz(x)),
        O::I32Popcnt | O::I64Popcnt => unop(b, stack, |b, x| b.ins().popcnt(x)),

        // Integer binary. Division traps like Wasm: by zero (`int_divz`), and `div_s` of MIN by -1
        // (`int_ovf`); `rem_s` of MIN by -1 is 0. Shift and rotate amounts are taken modulo the width.
        O::I32Add | O::I64Add => binop(b, stack, |b, x, y| b.ins().iadd(x, y)),
        O::I32Sub | O::I64Sub => binop(b, stack, |b, x, y| b.ins().isub(x, y)),
        O::I32Mul | O::I64Mul => binop(b, stack, |b, x, y| b.ins().imul(x, y)),
        O::I32DivS | O::I64DivS => binop(b, stack, |b, x, y| b.ins().sdiv(x, y)),
        O::I32DivU | O::I64DivU => binop(b, stack, |b, x, y| b.ins().udiv(x, y)),
        O::I32RemS | O::I64RemS => binop(b, stack, |b, x, y| b.ins().srem(x, y)),
        O::I32RemU | O::I64RemU => binop(b, stack, |b, x, y| b.ins().urem(x, y)),
        O::I32And | O::I64And => binop(b, stack, |b, x, y| b.ins().band(x, y)),
        O::I32Or | O::I64Or => binop(b, stack, |b, x, y| b.ins().bor(x, y)),
        O::I32Xor | O::I64Xor => binop(b, stack, |b, x, y| b.ins().bxor(x, y)),
        O::I32Shl | O::I64Shl => binop(b, stack, |b, x, y| b.ins().ishl(x, y)),
        O::I32ShrS | O::I64ShrS => binop(b, stack, |b, x, y| b.ins().sshr(x, y)),
        O::I32ShrU | O::I64ShrU => binop(b, stack, |b, x, y| b.ins().ushr(x, y)),
        O::I32Rotl | O::I64Rotl => binop(b, stack, |b, x, y| b.ins().rotl(x, y)),
        O::I32Rotr | O::I64Rotr => binop(b, stack, |b, x, y| b.ins().rotr(x, y)),

        // Float unary.
        O::F32Abs | O::F64Abs => unop(b, stack, |b, x| b.ins().fabs(x)),
        O::F32Neg | O::F64Neg => unop(b, stack, |b, x| b.ins().fneg(x)),
        O::F32Ceil | O::F64Ceil => unop(b, stack, |b, x| b.ins().ceil(x)),
        O::F32Floor | O::F64Floor => unop(b, stack, |b, x| b.ins().floor(x)),
        O::F32Trunc | O::F64Trunc => unop(b, stack, |b, x| b.ins().trunc(x)),
        O::F32Nearest | O::F64Nearest => unop(b, stack, |b, x| b.ins().nearest(x)),
        O::F32Sqrt | O::F64Sqrt => unop(b, stack, |b, x| b.ins().sqrt(x)),

        // Float binary. Cranelift's `fmin`/`fmax` propagate NaN and order -0 below +0, as Wasm does.
        O::F32Add | O::F64Add => binop(b, stack, |b, x, y| b.ins().fadd(x, y)),
        O::F32Sub | O::F64Sub => binop(b, stack, |b, x, y| b.ins().fsub(x, y)),
        O::F32Mul | O::F64Mul => binop(b, stack, |b, x, y| b.ins().fmul(x, y)),
        O::F32Div | O::F64Div => binop(b, stack, |b, x, y| b.ins().fdiv(x, y)),
        O::F32Min | O::F64Min => binop(b, stack, |b, x, y| b.ins().fmin(x, y)),
        O::F32Max | O::F64Max => binop(b, stack, |b, x, y| b.ins().fmax(x, y)),
        O::F32Copysign | O::F64Copysign => binop(b, stack, |b, x, y| b.ins().fcopysign(x, y)),

        // Integer width changes.
        O::I32WrapI64 => unop(b, stack, |b, x| b.ins().ireduce(I32, x)),
        O::I64ExtendI32S => unop(b, stack, |b, x| b.ins().sextend(I64, x)),
        O::I64ExtendI32U => unop(b, stack, |b, x| b.ins().uextend(I64, x)),

        // Trapping float-to-int: NaN traps with `bad_toint`, out of range with `int_ovf`.
        O::I32TruncF32S | O::I32TruncF64S => unop(b, stack, |b, x| b.ins().fcvt_to_sint(I32, x)),
        O::I32TruncF32U | O::I32TruncF64U => unop(b, stack, |b, x| b.ins().fcvt_to_uint(I32, x)),
        O::I64TruncF32S | O::I64TruncF64S => unop(b, stack, |b, x| b.ins().fcvt_to_sint(I64, x)),
        O::I64TruncF32U | O::I64TruncF64U => unop(b, stack, |b, x| b.ins().fcvt_to_uint(I64, x)),

        // Saturating float-to-int: NaN gives 0, out-of-range values clamp.
        O::I32TruncSatF32S | O::I32TruncSatF64S => unop(b, stack, |b, x| b.ins().fcvt_to_sint_sat(I32, x)),
        O::I32TruncSatF32U | O::I32TruncSatF64U => unop(b, stack, |b, x| b.ins().fcvt_to_uint_sat(I32, x)),
        O::I64TruncSatF32S | O::I64TruncSatF64S => unop(b, stack, |b, x| b.ins().fcvt_to_sint_sat(I64, x)),
        O::I64TruncSatF32U | O::I64TruncSatF64U => unop(b, stack, |b, x| b.ins().fcvt_to_uint_sat(I64, x)),

        // Int-to-float (rounding to nearest, ties to even) and float width changes.
        O::F32ConvertI32S | O::F32ConvertI64S => unop(b, stack, |b, x| b.ins().fcvt_from_sint(F32, x)),
        O::F32ConvertI32U | O::F32ConvertI64U => unop(b, stack, |b, x| b.ins().fcvt_from_uint(F32, x)),
        O::F64ConvertI32S | O::F64ConvertI64S => unop(b, stack, |b, x| b.ins().fcvt_from_sint(F64, x)),
        O::F64ConvertI32U | O::F64ConvertI64U => unop(b, stack, |b, x| b.ins().fcvt_from_uint(F64, x)),
        O::F32DemoteF64 => unop(b, stack, |b, x| b.ins().fdemote(F32, x)),
        O::F64PromoteF32 => unop(b, stack, |b, x| b.ins().fpromote(F64, x)),

        // Reinterpretations keep every bit.
        O::I32ReinterpretF32 => reinterpret(b, stack, I32),
        O::I64ReinterpretF64 => reinterpret(b, stack, I64),
        O::F32ReinterpretI32 => reinterpret(b, stack, F32),
        O::F64ReinterpretI64 => reinterpret(b, stack, F64),

        // Sign extension from the low bits.
        O::I32Extend8S => sign_extend(b, stack, I8, I32),
        O::I32Extend16S => sign_extend(b, stack, I16, I32),
        O::I64Extend8S => sign_extend(b, stack, I8, I64),
        O::I64Extend16S => sign_extend(b, stack, I16, I64),
        O::I64Extend32S => sign_extend(b, stack, I32, I64),

        _ => return false,
    }
    true
}

/// Pops one operand; the validator guarantees it is there.
fn pop(stack: &mut Vec<Value>) -> Value {
    stack.pop().expect("numeric operator on an empty operand stack (the validator should have caught this)")
}

/// Pops `x`, pushes `f(x)`.
fn unop(b: &mut FunctionBuilder<'_>, stack: &mut Vec<Value>, f: impl FnOnce(&mut FunctionBuilder<'_>, Value) -> Value) {
    let x = pop(stack);
    let r = f(b, x);
    stack.push(r);
}

/// Pops `y` then `x` (so `x` was pushed first), pushes `f(x, y)`.
fn binop(
    b: &mut FunctionBuilder<'_>,
    stack: &mut Vec<Value>,
    f: impl FnOnce(&mut FunctionBuilder<'_>, Value, Value) -> Value,
) {
    let y = pop(stack);
    let x = pop(stack);
    let r = f(b, x, y);
    stack.push(r);
}

/// Widens a comparison's i8 result to Wasm's i32 0/1.
fn bool_to_i32(b: &mut FunctionBuilder<'_>, c: Value) -> Value {
    b.ins().uextend(I32, c)
}

/// `x == 0` on an i32 or i64, as an i32 0/1.
fn eqz(b: &mut FunctionBuilder<'_>, stack: &mut Vec<Value>) {
    unop(b, stack, |b, x| {
        let ty = b.func.dfg.value_type(x);
        let zero = b.ins().iconst(ty, 0);
        let c = b.ins().icmp(IntCC::Equal, x, zero);
        bool_to_i32(b, c)
    });
}

/// An integer comparison, as an i32 0/1.
fn icmp(b: &mut FunctionBuilder<'_>, stack: &mut Vec<Value>, cc: IntCC) {
    binop(b, stack, |b, x, y| {
        let c = b.ins().icmp(cc, x, y);
        bool_to_i32(b, c)
    });
}

/// A float comparison, as an i32 0/1.
fn fcmp(b: &mut FunctionBuilder<'_>, stack: &mut Vec<Value>, cc: FloatCC) {
    binop(b, stack, |b, x, y| {
        let c = b.ins().fcmp(cc, x, y);
        bool_to_i32(b, c)
    });
}

/// Reinterprets the bits of the top value as `ty` (same width, int <-> float).
fn reinterpret(b: &mut FunctionBuilder<'_>, stack: &mut Vec<Value>, ty: Type) {
    unop(b, stack, |b, x| b.ins().bitcast(ty, ir::MemFlagsData::new(), x));
}

/// Sign-extends the low `narrow` bits of the top value to `wide`.
fn sign_extend(b: &mut FunctionBuilder<'_>, stack: &mut Vec<Value>, narrow: Type, wide: Type) {
    unop(b, stack, |b, x| {
        let low = b.ins().ireduce(narrow, x);
        b.ins().sextend(wide, low)
    });
}

#[cfg(test)]
mod tests {
    //! A tiny JIT: each test body is a WAT function whose params are read with `local.get`; the harness
    //! passes every param as raw bits in an i64 and returns the result's raw bits in an i64.
    use super::translate_numeric;
    use cranelift_codegen::control::ControlPlane;
    use cranelift_codegen::ir::{self, types, AbiParam, Function, InstBuilder, Signature, TrapCode, UserFuncName};
    use cranelift_codegen::isa::{CallConv, OwnedTargetIsa};
    use cranelift_codegen::settings::{self, Configurable};
    use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
    use rustix::mm::{self, MapFlags, MprotectFlags, ProtFlags};
    use std::ffi::c_void;
    use std::sync::OnceLock;
    use wasmparser::{Operator, Parser, Payload, ValType};
    use V::{F32, F64, I32, I64};

    /// A Wasm value. Equality is bitwise (so -0.0 != 0.0), except that any NaN matches any NaN.
    #[derive(Clone, Copy, Debug)]
    enum V {
        I32(i32),
        I64(i64),
        F32(f32),
        F64(f64),
    }

    impl PartialEq for V {
        fn eq(&self, want: &V) -> bool {
            match (*self, *want) {
                (I32(a), I32(b)) => a == b,
                (I64(a), I64(b)) => a == b,
                (F32(a), F32(b)) => a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                (F64(a), F64(b)) => a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                _ => false,
            }
        }
    }

    impl V {
        fn ty(self) -> ValType {
            match self {
                I32(_) => ValType::I32,
                I64(_) => ValType::I64,
                F32(_) => ValType::F32,
                F64(_) => ValType::F64,
            }
        }

        fn bits(self) -> u64 {
            match self {
                I32(x) => u64::from(x.cast_unsigned()),
                I64(x) => x.cast_unsigned(),
                F32(x) => u64::from(x.to_bits()),
                F64(x) => x.to_bits(),
            }
        }

        fn from_bits(ty: ValType, bits: u64) -> V {
            match ty {
                ValType::I32 => I32((bits as u32).cast_signed()),
                ValType::I64 => I64(bits.cast_signed()),
                ValType::F32 => F32(f32::from_bits(bits as u32)),
                ValType::F64 => F64(f64::from_bits(bits)),
                _ => panic!("unsupported type {ty:?}"),
            }
        }
    }

    /// The host ISA, with `opt_level=speed` and the verifier on.
    fn isa() -> &'static OwnedTargetIsa {
        static ISA: OnceLock<OwnedTargetIsa> = OnceLock::new();
        ISA.get_or_init(|| {
            let mut flags = settings::builder();
            flags.set("opt_level", "speed").unwrap();
            flags.enable("enable_verifier").unwrap();
            cranelift_native::builder().unwrap().finish(settings::Flags::new(flags)).unwrap()
        })
    }

    /// Up to this many Wasm params; the native function always takes this many i64s.
    const MAX_PARAMS: usize = 3;

    /// A compiled test function, mapped read+exec.
    struct Jit {
        code: *mut c_void,
        len: usize,
        params: Vec<ValType>,
        result: ValType,
        /// (offset in the code, trap code) of every trap site.
        traps: Vec<(u32, TrapCode)>,
    }

    impl Jit {
        /// Compiles `(func <func>)`, e.g. `(param i32) (result i32) (i32.clz (local.get 0))`.
        fn new(func: &str) -> Jit {
            let wasm = wat::parse_str(format!("(module (func {func}))")).unwrap();
            wasmparser::Validator::new().validate_all(&wasm).unwrap_or_else(|e| panic!("{func}: {e}"));
            let (mut params, mut results, mut ops) = (Vec::new(), Vec::new(), Vec::new());
            for payload in Parser::new(0).parse_all(&wasm) {
                match payload.unwrap() {
                    Payload::TypeSection(types) => {
                        let ty = types.into_iter_err_on_gc_types().next().unwrap().unwrap();
                        params = ty.params().to_vec();
                        results = ty.results().to_vec();
                    }
                    Payload::CodeSectionEntry(body) => {
                        let mut reader = body.get_operators_reader().unwrap();
                        while !reader.eof() {
                            ops.push(reader.read().unwrap());
                        }
                    }
                    _ => {}
                }
            }
            assert!(params.len() <= MAX_PARAMS && results.len() == 1, "{func}: unsupported signature");

            let mut sig = Signature::new(CallConv::SystemV);
            sig.params.extend([AbiParam::new(types::I64); MAX_PARAMS]);
            sig.returns.push(AbiParam::new(types::I64));
            let mut func_ir = Function::with_name_signature(UserFuncName::user(0, 0), sig);
            let mut fbc = FunctionBuilderContext::new();
            let mut b = FunctionBuilder::new(&mut func_ir, &mut fbc);
            let entry = b.create_block();
            b.append_block_params_for_function_params(entry);
            b.switch_to_block(entry);
            b.seal_block(entry);
            let raw = b.block_params(entry).to_vec();
            let locals: Vec<_> = params.iter().zip(raw).map(|(&ty, x)| from_i64_bits(&mut b, ty, x)).collect();
            let mut stack = Vec::new();
            for op in &ops {
                match *op {
                    Operator::LocalGet { local_index } => stack.push(locals[local_index as usize]),
                    Operator::End => break,
                    ref op => assert!(translate_numeric(op, &mut b, &mut stack), "{func}: not numeric: {op:?}"),
                }
            }
            assert_eq!(stack.len(), 1, "{func}: stack at the end");
            let ret = to_i64_bits(&mut b, results[0], stack[0]);
            b.ins().return_(&[ret]);
            b.finalize(isa().frontend_config());

            let mut ctx = cranelift_codegen::Context::for_function(func_ir);
            let compiled = match ctx.compile(&**isa(), &mut ControlPlane::default()) {
                Ok(compiled) => compiled,
                Err(e) => panic!("{func}: {}", cranelift_codegen::print_errors::pretty_error(e.func, e.inner)),
            };
            let code = compiled.code_buffer();
            let traps = compiled.buffer.traps().iter().map(|t| (t.offset, t.code)).collect();
            let len = code.len().next_multiple_of(4096);
            // SAFETY: a fresh private anonymous mapping, not aliased by anything.
            let p = unsafe {
                mm::mmap_anonymous(std::ptr::null_mut(), len, ProtFlags::READ | ProtFlags::WRITE, MapFlags::PRIVATE)
            }
            .unwrap();
            // SAFETY: `p` is a writable mapping of `len >= code.len()` bytes that `code` does not overlap; it then
            // becomes read+exec (never writable and executable at once).
            unsafe {
                std::ptr::copy_nonoverlapping(code.as_ptr(), p.cast::<u8>(), code.len());
                mm::mprotect(p, len, MprotectFlags::READ | MprotectFlags::EXEC).unwrap();
            }
            Jit { code: p, len, params, result: results[0], traps }
        }

        fn call(&self, args: &[V]) -> V {
            assert_eq!(args.iter().map(|a| a.ty()).collect::<Vec<_>>(), self.params, "argument types");
            let mut raw = [0u64; MAX_PARAMS];
            for (r, a) in raw.iter_mut().zip(args) {
                *r = a.bits();
            }
            // SAFETY: `code` holds a function compiled for the host with the SystemV convention, taking
            // MAX_PARAMS (= 3) i64s and returning one i64, which is this Rust type.
            let f = unsafe { std::mem::transmute::<*mut c_void, extern "C" fn(u64, u64, u64) -> u64>(self.code) };
            V::from_bits(self.result, f(raw[0], raw[1], raw[2]))
        }
    }

    impl Drop for Jit {
        fn drop(&mut self) {
            // SAFETY: `code`/`len` is the mapping made in `new`; no function pointer into it outlives `self`.
            unsafe { mm::munmap(self.code, self.len) }.unwrap();
        }
    }

    /// The Wasm value of type `ty` whose bits are in the low bits of the i64 `x`.
    fn from_i64_bits(b: &mut FunctionBuilder<'_>, ty: ValType, x: ir::Value) -> ir::Value {
        let flags = ir::MemFlagsData::new();
        match ty {
            ValType::I32 => b.ins().ireduce(types::I32, x),
            ValType::I64 => x,
            ValType::F32 => {
                let low = b.ins().ireduce(types::I32, x);
                b.ins().bitcast(types::F32, flags, low)
            }
            ValType::F64 => b.ins().bitcast(types::F64, flags, x),
            _ => panic!("unsupported type {ty:?}"),
        }
    }

    /// The bits of the Wasm value `x` of type `ty`, zero-extended to an i64.
    fn to_i64_bits(b: &mut FunctionBuilder<'_>, ty: ValType, x: ir::Value) -> ir::Value {
        let flags = ir::MemFlagsData::new();
        match ty {
            ValType::I32 => b.ins().uextend(types::I64, x),
            ValType::I64 => x,
            ValType::F32 => {
                let bits = b.ins().bitcast(types::I32, flags, x);
                b.ins().uextend(types::I64, bits)
            }
            ValType::F64 => b.ins().bitcast(types::I64, flags, x),
            _ => panic!("unsupported type {ty:?}"),
        }
    }

    /// Compiles `func` once and checks every `(args, expected)` case.
    fn check<const N: usize>(func: &str, cases: &[([V; N], V)]) {
        let jit = Jit::new(func);
        for (args, want) in cases {
            let got = jit.call(args);
            assert_eq!(got, *want, "{func} with {args:?}");
        }
    }

    impl From<i32> for V {
        fn from(x: i32) -> V {
            I32(x)
        }
    }
    impl From<i64> for V {
        fn from(x: i64) -> V {
            I64(x)
        }
    }
    impl From<f32> for V {
        fn from(x: f32) -> V {
            F32(x)
        }
    }
    impl From<f64> for V {
        fn from(x: f64) -> V {
            F64(x)
        }
    }
    /// A Wasm boolean: i32 0 or 1.
    impl From<bool> for V {
        fn from(x: bool) -> V {
            I32(i32::from(x))
        }
    }

    fn wat_type(x: impl Into<V>) -> String {
        x.into().ty().to_string()
    }

    /// Checks the one-param function `func` on `(x, expected)` cases.
    fn un_fn<A: Into<V> + Copy, R: Into<V> + Copy>(func: &str, cases: &[(A, R)]) {
        check(func, &cases.iter().map(|&(x, want)| ([x.into()], want.into())).collect::<Vec<_>>());
    }

    /// Checks the two-param function `func` on `(x, y, expected)` cases.
    fn bin_fn<A: Into<V> + Copy, R: Into<V> + Copy>(func: &str, cases: &[(A, A, R)]) {
        let cases: Vec<_> = cases.iter().map(|&(x, y, want)| ([x.into(), y.into()], want.into())).collect();
        check(func, &cases);
    }

    /// Checks `(op x)` on `(x, expected)` cases; the types come from the Rust types of the cases.
    fn un_to<A: Into<V> + Copy, R: Into<V> + Copy>(op: &str, cases: &[(A, R)]) {
        let (a, r) = (wat_type(cases[0].0), wat_type(cases[0].1));
        un_fn(&format!("(param {a}) (result {r}) ({op} (local.get 0))"), cases);
    }

    /// Checks `(op x y)` on `(x, y, expected)` cases; the types come from the Rust types of the cases.
    fn bin_to<A: Into<V> + Copy, R: Into<V> + Copy>(op: &str, cases: &[(A, A, R)]) {
        let (a, r) = (wat_type(cases[0].0), wat_type(cases[0].2));
        bin_fn(&format!("(param {a} {a}) (result {r}) ({op} (local.get 0) (local.get 1))"), cases);
    }

    /// [`un_to`] for an operator whose result has the type of its operand.
    fn un<T: Into<V> + Copy>(op: &str, cases: &[(T, T)]) {
        un_to(op, cases);
    }

    /// [`bin_to`] for an operator whose result has the type of its operands.
    fn bin<T: Into<V> + Copy>(op: &str, cases: &[(T, T, T)]) {
        bin_to(op, cases);
    }

    /// Checks a function without params.
    fn nullary(func: &str, want: impl Into<V>) {
        check(func, &[([], want.into())]);
    }

    /// Hex bit patterns as signed Wasm integers.
    const fn h32(x: u32) -> i32 {
        x.cast_signed()
    }
    const fn h64(x: u64) -> i64 {
        x.cast_signed()
    }

    #[test]
    fn constants() {
        nullary("(result i32) (i32.const -1)", -1);
        nullary("(result i32) (i32.const -2147483648)", i32::MIN);
        nullary("(result i32) (i32.const 0x7fffffff)", i32::MAX);
        nullary("(result i64) (i64.const -9223372036854775808)", i64::MIN);
        nullary("(result i64) (i64.const -2)", -2_i64);
        nullary("(result f32) (f32.const 1.5)", 1.5_f32);
        nullary("(result f32) (f32.const -0)", -0.0_f32);
        nullary("(result f64) (f64.const 0x1p-1074)", f64::from_bits(1));
        nullary("(result f64) (f64.const -inf)", f64::NEG_INFINITY);
        // NaN payloads survive exactly.
        nullary("(result i32) (i32.reinterpret_f32 (f32.const nan:0x200001))", 0x7fa0_0001);
        nullary("(result i32) (i32.reinterpret_f32 (f32.const -nan))", h32(0xffc0_0000));
        nullary("(result i64) (i64.reinterpret_f64 (f64.const nan:0x1))", 0x7ff0_0000_0000_0001_i64);
        // Constants feeding other operators (constant folding at opt_level=speed must agree).
        nullary("(result i32) (i32.add (i32.const 0x7fffffff) (i32.const 1))", i32::MIN);
        nullary("(result i64) (i64.mul (i64.const 3) (i64.const -5))", -15_i64);
    }

    #[test]
    fn i32_arith() {
        let (min, max) = (i32::MIN, i32::MAX);
        bin("i32.add", &[(1, 2, 3), (max, 1, min), (-1, -1, -2)]);
        bin("i32.sub", &[(0, 1, -1), (min, 1, max), (3, 5, -2)]);
        let (x, y) = (0x1234_5678, 0x09ab_cdef);
        bin("i32.mul", &[(0x1_0000, 0x1_0000, 0), (max, 2, -2), (-3, 7, -21), (x, y, x.wrapping_mul(y))]);
        bin("i32.div_s", &[(7, 2, 3), (-7, 2, -3), (7, -2, -3), (min, 2, -0x4000_0000), (min, 1, min)]);
        bin("i32.div_u", &[(-1, 2, max), (min, 2, 0x4000_0000), (7, 2, 3), (-7, 2, 0x7fff_fffc), (5, -1, 0)]);
        bin("i32.rem_s", &[(7, 2, 1), (-7, 2, -1), (7, -2, 1), (-7, -2, -1), (min, -1, 0), (min, 3, -2)]);
        bin("i32.rem_u", &[(-1, 3, 0), (-7, 10, 9), (min, -1, min), (7, 2, 1)]);
        bin("i32.and", &[(x, 0xff00, 0x5600), (-1, min, min)]);
        bin("i32.or", &[(x, 0xff, 0x1234_56ff), (0, min, min)]);
        bin("i32.xor", &[(x, -1, !x), (x, x, 0)]);
    }

    #[test]
    fn i32_shifts_and_bits() {
        let min = i32::MIN;
        bin("i32.shl", &[(1, 31, min), (1, 32, 1), (1, 33, 2), (1, -1, min), (3, 0, 3)]);
        bin("i32.shr_s", &[(min, 31, -1), (min, 32, min), (-8, 1, -4), (8, 35, 1)]);
        bin("i32.shr_u", &[(min, 31, 1), (min, 32, min), (-1, 28, 0xf), (-8, -1, 1)]);
        let x = 0x1234_5678;
        let x_r4 = h32(0x8123_4567);
        bin("i32.rotl", &[(h32(0x8000_0001), 1, 3), (x, 36, 0x2345_6781), (x, 0, x), (x, -4, x_r4)]);
        bin("i32.rotr", &[(3, 1, h32(0x8000_0001)), (x, 4, x_r4), (x, 32, x), (1, -1, 2)]);
        un("i32.clz", &[(0, 32), (-1, 0), (1, 31), (0x8000, 16)]);
        un("i32.ctz", &[(0, 32), (-1, 0), (min, 31), (0x8000, 15)]);
        un("i32.popcnt", &[(0, 0), (-1, 32), (0x5555_5555, 16), (min, 1)]);
        un_to("i32.eqz", &[(0, true), (1, false), (min, false), (-1, false)]);
    }

    #[test]
    fn i64_arith() {
        let (min, max) = (i64::MIN, i64::MAX);
        bin("i64.add", &[(1, 2, 3), (max, 1, min), (-1, -1, -2), (0xffff_ffff, 1, 0x1_0000_0000)]);
        bin("i64.sub", &[(0, 1, -1), (min, 1, max)]);
        let (x, y) = (0x1234_5678_9abc_def0_i64, 0x0fed_cba9_8765_4321);
        bin("i64.mul", &[(1 << 32, 1 << 32, 0), (max, 2, -2), (x, y, x.wrapping_mul(y))]);
        bin("i64.div_s", &[(7, 2, 3), (-7, 2, -3), (min, 2, min / 2), (min, 1, min)]);
        bin("i64.div_u", &[(-1, 2, max), (min, 2, 1 << 62), (-7, 2, h64(u64::MAX / 2 - 3)), (5, -1, 0)]);
        bin("i64.rem_s", &[(7, 2, 1), (-7, 2, -1), (7, -2, 1), (min, -1, 0), (min, 3, -2)]);
        bin("i64.rem_u", &[(-1, 3, 0), (-7, 10, 9), (min, -1, min)]);
        bin("i64.and", &[(x, 0xffff_0000_0000, 0x5678_0000_0000_i64)]);
        bin("i64.or", &[(x, 0xf, 0x1234_5678_9abc_deff_i64)]);
        bin("i64.xor", &[(x, -1, !x)]);
    }

    #[test]
    fn i64_shifts_and_bits() {
        let min = i64::MIN;
        bin("i64.shl", &[(1, 63, min), (1, 64, 1), (1, 65, 2), (1, 32, 1 << 32), (1, -1, min)]);
        bin("i64.shr_s", &[(min, 63, -1), (min, 64, min), (-8, 1, -4)]);
        bin("i64.shr_u", &[(min, 63, 1), (min, 64, min), (-1, 60, 0xf), (-1, -1, 1)]);
        let x = 0x1234_5678_9abc_def0_i64;
        let (x_l4, x_r4) = (x.rotate_left(4), x.rotate_right(4));
        bin("i64.rotl", &[(min | 1, 1, 3), (x, 68, x_l4), (x, 0, x), (x, -4, x_r4)]);
        bin("i64.rotr", &[(3, 1, min | 1), (x, 4, x_r4), (x, 64, x), (1, -1, 2)]);
        un("i64.clz", &[(0_i64, 64_i64), (-1, 0), (1, 63), (1 << 32, 31)]);
        un("i64.ctz", &[(0_i64, 64_i64), (-1, 0), (min, 63), (1 << 32, 32)]);
        un("i64.popcnt", &[(0_i64, 0_i64), (-1, 64), (0x5555_5555_5555_5555, 32)]);
        un_to("i64.eqz", &[(0, true), (1 << 32, false), (min, false)]);
    }

    #[test]
    fn int_comparisons() {
        use std::cmp::Ordering;
        type Cmp = fn(Ordering) -> bool;
        // (name, unsigned?, expected from the ordering of the operands)
        let ops: [(&str, bool, Cmp); 10] = [
            ("eq", false, Ordering::is_eq),
            ("ne", false, Ordering::is_ne),
            ("lt_s", false, Ordering::is_lt),
            ("lt_u", true, Ordering::is_lt),
            ("gt_s", false, Ordering::is_gt),
            ("gt_u", true, Ordering::is_gt),
            ("le_s", false, Ordering::is_le),
            ("le_u", true, Ordering::is_le),
            ("ge_s", false, Ordering::is_ge),
            ("ge_u", true, Ordering::is_ge),
        ];
        let pairs32 = [(-1, 1), (1, -1), (5, 5), (i32::MIN, i32::MAX), (0, i32::MIN), (-1, -1)];
        let pairs64 = [(-1, 1), (1, -1), (5, 5), (i64::MIN, i64::MAX), (0, i64::MIN), (1 << 32, 1)];
        for (name, unsigned, f) in ops {
            let cmp32 = |a: i32, b: i32| if unsigned { a.cast_unsigned().cmp(&b.cast_unsigned()) } else { a.cmp(&b) };
            bin_to(&format!("i32.{name}"), &pairs32.map(|(a, b)| (a, b, f(cmp32(a, b)))));
            let cmp64 = |a: i64, b: i64| if unsigned { a.cast_unsigned().cmp(&b.cast_unsigned()) } else { a.cmp(&b) };
            bin_to(&format!("i64.{name}"), &pairs64.map(|(a, b)| (a, b, f(cmp64(a, b)))));
        }
        // Written out, so the tables above are not only checked against Rust.
        bin_to("i32.lt_u", &[(-1, 1, false), (1, -1, true)]);
        bin_to("i64.ge_s", &[(i64::MIN, 0, false), (0, i64::MIN, true)]);
    }

    #[test]
    fn float_comparisons() {
        type Cmp = fn(f64, f64) -> bool;
        // Rust's float operators have Wasm's semantics: false on NaN, except `!=`.
        let ops: [(&str, Cmp); 6] = [
            ("eq", |a, b| a == b),
            ("ne", |a, b| a != b),
            ("lt", |a, b| a < b),
            ("gt", |a, b| a > b),
            ("le", |a, b| a <= b),
            ("ge", |a, b| a >= b),
        ];
        let (nan, inf) = (f64::NAN, f64::INFINITY);
        let pairs = [(1.0, 2.0), (2.0, 1.0), (2.0, 2.0), (nan, 1.0), (1.0, nan), (nan, nan), (-0.0, 0.0), (-inf, inf)];
        for (name, f) in ops {
            bin_to(&format!("f32.{name}"), &pairs.map(|(a, b)| (a as f32, b as f32, f(a, b))));
            bin_to(&format!("f64.{name}"), &pairs.map(|(a, b)| (a, b, f(a, b))));
        }
        // Written out.
        bin_to("f32.ne", &[(f32::NAN, f32::NAN, true), (1.0, 1.0, false), (f32::NAN, 1.0, true)]);
        bin_to("f64.eq", &[(nan, nan, false), (-0.0, 0.0, true)]);
        bin_to("f64.ge", &[(nan, 1.0, false), (1.0, nan, false), (1.0, 1.0, true)]);
        bin_to("f32.lt", &[(f32::NAN, 1.0, false), (-0.0, 0.0, false), (-1.0, 0.0, true)]);
    }

    /// `(op x)` on the bits of a float: `(param iN) (result iN)`, so NaN payloads and signs are checked exactly.
    fn float_bits_un(op: &str) -> String {
        let (f, i) = if op.starts_with("f32") { ("f32", "i32") } else { ("f64", "i64") };
        format!("(param {i}) (result {i}) ({i}.reinterpret_{f} ({op} ({f}.reinterpret_{i} (local.get 0))))")
    }

    #[test]
    fn f32_unary() {
        let (nan, inf) = (f32::NAN, f32::INFINITY);
        un("f32.abs", &[(-0.0, 0.0), (-1.5, 1.5), (-inf, inf), (nan, nan)]);
        un("f32.neg", &[(0.0, -0.0), (-0.0, 0.0), (1.5, -1.5), (inf, -inf)]);
        un("f32.ceil", &[(1.1, 2.0), (-1.1, -1.0), (-0.5, -0.0), (0.0, 0.0), (inf, inf), (nan, nan)]);
        un("f32.floor", &[(1.9, 1.0), (-1.1, -2.0), (0.5, 0.0), (-0.0, -0.0), (-inf, -inf)]);
        un("f32.trunc", &[(1.9, 1.0), (-1.9, -1.0), (-0.5, -0.0), (nan, nan)]);
        let ties = [(2.5_f32, 2.0_f32), (3.5, 4.0), (-2.5, -2.0), (1.5, 2.0), (0.5, 0.0), (-0.5, -0.0)];
        un("f32.nearest", &ties);
        un("f32.nearest", &[(0.499_999_97, 0.0), (8_388_609.0, 8_388_609.0), (-inf, -inf), (nan, nan)]);
        un("f32.sqrt", &[(4.0, 2.0), (2.0, 2.0_f32.sqrt()), (-1.0, nan), (-0.0, -0.0), (inf, inf)]);
        // abs and neg only touch the sign bit, NaNs included.
        un_fn(&float_bits_un("f32.abs"), &[(h32(0xffc0_0001), 0x7fc0_0001)]);
        un_fn(&float_bits_un("f32.neg"), &[(0x7fc0_0001, h32(0xffc0_0001)), (0x7fa0_0000, h32(0xffa0_0000))]);
    }

    #[test]
    fn f64_unary() {
        let (nan, inf) = (f64::NAN, f64::INFINITY);
        un("f64.abs", &[(-0.0, 0.0), (-1.5, 1.5), (-inf, inf), (nan, nan)]);
        un("f64.neg", &[(0.0, -0.0), (-0.0, 0.0), (1.5, -1.5)]);
        un("f64.ceil", &[(1.1, 2.0), (-1.1, -1.0), (-0.5, -0.0), (nan, nan)]);
        un("f64.floor", &[(1.9, 1.0), (-1.1, -2.0), (0.5, 0.0), (-0.0, -0.0)]);
        un("f64.trunc", &[(1.9, 1.0), (-1.9, -1.0), (-0.5, -0.0), (1e300, 1e300)]);
        let ties = [(2.5, 2.0), (3.5, 4.0), (-2.5, -2.0), (0.5, 0.0), (-0.5, -0.0), (-0.4, -0.0)];
        un("f64.nearest", &ties);
        un("f64.nearest", &[(0.499_999_999_999_999_94, 0.0), (4_503_599_627_370_497.0, 4_503_599_627_370_497.0)]);
        un("f64.sqrt", &[(4.0, 2.0), (2.0, 2.0_f64.sqrt()), (-1.0, nan), (-0.0, -0.0), (inf, inf)]);
        let nan_neg = h64(0xfff8_0000_0000_0001);
        un_fn(&float_bits_un("f64.abs"), &[(nan_neg, 0x7ff8_0000_0000_0001_i64)]);
        un_fn(&float_bits_un("f64.neg"), &[(0x7ff8_0000_0000_0001_i64, nan_neg)]);
    }

    #[test]
    fn f32_binary() {
        let (nan, inf) = (f32::NAN, f32::INFINITY);
        bin("f32.add", &[(1.5, 2.25, 3.75), (inf, -inf, nan), (0.1, 0.2, 0.1_f32 + 0.2), (-0.0, -0.0, -0.0)]);
        bin("f32.sub", &[(0.0, 0.0, 0.0), (-0.0, 0.0, -0.0), (1.0, nan, nan)]);
        bin("f32.mul", &[(-0.0, 5.0, -0.0), (inf, 0.0, nan), (1e30, 1e30, inf)]);
        bin("f32.div", &[(1.0, 0.0, inf), (-1.0, 0.0, -inf), (0.0, 0.0, nan), (1.0, 3.0, 1.0 / 3.0)]);
        let zeros_min = [(-0.0_f32, 0.0_f32, -0.0_f32), (0.0, -0.0, -0.0)];
        bin("f32.min", &zeros_min);
        bin("f32.min", &[(nan, 1.0, nan), (1.0, nan, nan), (1.0, 2.0, 1.0), (-inf, 5.0, -inf)]);
        let zeros_max = [(-0.0_f32, 0.0_f32, 0.0_f32), (0.0, -0.0, 0.0)];
        bin("f32.max", &zeros_max);
        bin("f32.max", &[(nan, 1.0, nan), (1.0, nan, nan), (1.0, 2.0, 2.0), (inf, 5.0, inf)]);
        bin("f32.copysign", &[(1.5, -0.0, -1.5), (-1.5, 0.0, 1.5), (0.0, -1.0, -0.0), (-inf, nan, inf)]);
        // copysign is bitwise: a NaN keeps its payload and takes the sign.
        let bits = "(param i32 i32) (result i32) (i32.reinterpret_f32 \
                    (f32.copysign (f32.reinterpret_i32 (local.get 0)) (f32.reinterpret_i32 (local.get 1))))";
        bin_fn(bits, &[(0x7fa0_0001, -1, h32(0xffa0_0001)), (-1, 0, 0x7fff_ffff)]);
    }

    #[test]
    fn f64_binary() {
        let (nan, inf) = (f64::NAN, f64::INFINITY);
        bin("f64.add", &[(1.5, 2.25, 3.75), (inf, -inf, nan), (0.1, 0.2, 0.1 + 0.2)]);
        bin("f64.sub", &[(-0.0, 0.0, -0.0), (0.0, 0.0, 0.0)]);
        bin("f64.mul", &[(-0.0, 5.0, -0.0), (inf, 0.0, nan), (1e200, 1e200, inf)]);
        bin("f64.div", &[(1.0, 0.0, inf), (-1.0, 0.0, -inf), (0.0, 0.0, nan), (1.0, 3.0, 1.0 / 3.0)]);
        bin("f64.min", &[(-0.0, 0.0, -0.0), (0.0, -0.0, -0.0), (nan, 1.0, nan), (1.0, nan, nan), (1.0, 2.0, 1.0)]);
        bin("f64.max", &[(-0.0, 0.0, 0.0), (0.0, -0.0, 0.0), (nan, 1.0, nan), (1.0, nan, nan), (1.0, 2.0, 2.0)]);
        bin("f64.copysign", &[(1.5, -0.0, -1.5), (-1.5, 0.0, 1.5), (0.0, -2.0, -0.0)]);
        let bits = "(param i64 i64) (result i64) (i64.reinterpret_f64 \
                    (f64.copysign (f64.reinterpret_i64 (local.get 0)) (f64.reinterpret_i64 (local.get 1))))";
        bin_fn(bits, &[(0x7ff0_0000_0000_0001_i64, -1, h64(0xfff0_0000_0000_0001))]);
    }

    #[test]
    fn int_conversions() {
        un_to("i32.wrap_i64", &[(0x1_0000_0005_i64, 5_i32), (-1, -1), (0x8000_0000, i32::MIN), (i64::MIN, 0)]);
        un_to("i64.extend_i32_s", &[(-1_i32, -1_i64), (i32::MIN, i64::from(i32::MIN)), (7, 7)]);
        un_to("i64.extend_i32_u", &[(-1_i32, 0xffff_ffff_i64), (i32::MIN, 0x8000_0000), (7, 7)]);
    }

    #[test]
    fn sign_extension() {
        un("i32.extend8_s", &[(0x80, -128), (0x7f, 127), (0x1234_5680, -128), (0xff, -1), (0x100, 0)]);
        un("i32.extend16_s", &[(0x8000, -32768), (0x1234_7fff, 0x7fff), (-1, -1)]);
        un("i64.extend8_s", &[(0x80_i64, -128_i64), (0x7f, 127), (0x1234_5678_9abc_de80, -128)]);
        un("i64.extend16_s", &[(0x8000_i64, -32768_i64), (0x1_7fff, 0x7fff)]);
        un("i64.extend32_s", &[(0x8000_0000_i64, -0x8000_0000_i64), (0x1_7fff_ffff, 0x7fff_ffff), (0xffff_ffff, -1)]);
    }

    #[test]
    fn trunc_in_range() {
        // Truncation is toward zero, so anything above -1.0 becomes -0, which is in range for `_u`.
        un_to("i32.trunc_f32_s", &[(-1.9_f32, -1), (2_147_483_520.0, 2_147_483_520), (-2_147_483_648.0, i32::MIN)]);
        un_to("i32.trunc_f32_u", &[(-0.9_f32, 0), (4_294_967_040.0, h32(4_294_967_040)), (3.9, 3), (-0.0, 0)]);
        un_to("i32.trunc_f64_s", &[(2_147_483_647.9, i32::MAX), (-2_147_483_648.9, i32::MIN), (-3.9, -3)]);
        un_to("i32.trunc_f64_u", &[(4_294_967_295.9, -1), (-0.9, 0), (2_147_483_648.0, i32::MIN)]);
        let two63 = 9_223_372_036_854_775_808.0;
        un_to("i64.trunc_f32_s", &[(-1.9_f32, -1_i64), (-two63 as f32, i64::MIN), (1e18, 1e18_f32 as i64)]);
        un_to(
            "i64.trunc_f32_u",
            &[(-0.9_f32, 0_i64), (two63 as f32, i64::MIN), (1.844_674_3e19, h64(1.844_674_3e19_f32 as u64))],
        );
        un_to(
            "i64.trunc_f64_s",
            &[(9_223_372_036_854_774_784.0, 9_223_372_036_854_774_784_i64), (-two63, i64::MIN), (-1.5, -1)],
        );
        un_to(
            "i64.trunc_f64_u",
            &[(18_446_744_073_709_549_568.0, h64(18_446_744_073_709_549_568)), (-0.9, 0), (two63, i64::MIN)],
        );
    }

    #[test]
    fn trunc_sat() {
        // Rust's `as` casts from float to int saturate and map NaN to 0, exactly like Wasm's trunc_sat.
        let (nan, inf) = (f64::NAN, f64::INFINITY);
        let xs = [
            nan,
            inf,
            -inf,
            1e10,
            -1e10,
            1e20,
            -1e20,
            -1.5,
            -0.9,
            3.9,
            2_147_483_647.5,
            4_294_967_295.5,
            -2_147_483_648.5,
        ];
        let ys = xs.map(|x| x as f32);
        un_to("i32.trunc_sat_f32_s", &ys.map(|y| (y, y as i32)));
        un_to("i32.trunc_sat_f32_u", &ys.map(|y| (y, (y as u32).cast_signed())));
        un_to("i32.trunc_sat_f64_s", &xs.map(|x| (x, x as i32)));
        un_to("i32.trunc_sat_f64_u", &xs.map(|x| (x, (x as u32).cast_signed())));
        un_to("i64.trunc_sat_f32_s", &ys.map(|y| (y, y as i64)));
        un_to("i64.trunc_sat_f32_u", &ys.map(|y| (y, (y as u64).cast_signed())));
        un_to("i64.trunc_sat_f64_s", &xs.map(|x| (x, x as i64)));
        un_to("i64.trunc_sat_f64_u", &xs.map(|x| (x, (x as u64).cast_signed())));
        // Written out.
        let (nan32, inf32) = (f32::NAN, f32::INFINITY);
        un_to("i32.trunc_sat_f32_s", &[(nan32, 0), (inf32, i32::MAX), (-inf32, i32::MIN), (1e10, i32::MAX)]);
        un_to("i32.trunc_sat_f32_u", &[(nan32, 0), (inf32, -1), (-inf32, 0), (-5.0, 0)]);
        un_to("i64.trunc_sat_f64_s", &[(nan, 0_i64), (1e20, i64::MAX), (-1e20, i64::MIN), (-inf, i64::MIN)]);
        un_to("i64.trunc_sat_f64_u", &[(nan, 0_i64), (1e20, -1), (-1e20, 0), (inf, -1)]);
    }

    #[test]
    fn int_to_float() {
        // Rust's `as` casts from int to float round to nearest, ties to even, like Wasm's convert.
        let xs = [0, 1, -1, i32::MIN, i32::MAX, 16_777_217, -16_777_217, 16_777_219];
        un_to("f32.convert_i32_s", &xs.map(|x| (x, x as f32)));
        un_to("f32.convert_i32_u", &xs.map(|x| (x, x.cast_unsigned() as f32)));
        un_to("f64.convert_i32_s", &xs.map(|x| (x, f64::from(x))));
        un_to("f64.convert_i32_u", &xs.map(|x| (x, f64::from(x.cast_unsigned()))));
        let ys = [
            0,
            -1,
            i64::MIN,
            i64::MAX,
            (1 << 53) + 1,
            0x0020_0000_2000_0001, // rounding via f64 first would give a different f32
            h64(0x8000_0080_0000_0001),
            h64(0x8000_0000_0000_0401),
            h64(0xffff_ff7f_ffff_ffff),
        ];
        un_to("f32.convert_i64_s", &ys.map(|y| (y, y as f32)));
        un_to("f32.convert_i64_u", &ys.map(|y| (y, y.cast_unsigned() as f32)));
        un_to("f64.convert_i64_s", &ys.map(|y| (y, y as f64)));
        un_to("f64.convert_i64_u", &ys.map(|y| (y, y.cast_unsigned() as f64)));
        // Written out: u32::MAX and u64::MAX round up to powers of two.
        un_to("f32.convert_i32_u", &[(-1, 4_294_967_296.0_f32), (16_777_217, 16_777_216.0)]);
        un_to("f64.convert_i32_u", &[(-1, 4_294_967_295.0_f64)]);
        un_to(
            "f32.convert_i64_u",
            &[(-1_i64, 18_446_744_073_709_551_616.0_f32), (0x0020_0000_2000_0001, 9_007_200_328_482_816.0)],
        );
        un_to(
            "f64.convert_i64_u",
            &[(-1_i64, 18_446_744_073_709_551_616.0_f64), (i64::MIN, 9_223_372_036_854_775_808.0)],
        );
        un_to(
            "f64.convert_i64_s",
            &[(i64::MIN, -9_223_372_036_854_775_808.0_f64), ((1 << 53) + 1, 9_007_199_254_740_992.0)],
        );
    }

    #[test]
    fn float_width_changes() {
        let tie = f64::from_bits(0x3ff0_0000_1000_0000); // exactly halfway between two f32s: rounds to even
        let (inf, nan) = (f32::INFINITY, f32::NAN);
        un_to(
            "f32.demote_f64",
            &[(1e40, inf), (-f64::MAX, -inf), (0.1, 0.1), (-0.0, -0.0), (1e-50, 0.0), (tie, 1.0), (f64::NAN, nan)],
        );
        let tiny = f32::MIN_POSITIVE / 2.0; // subnormal
        un_to(
            "f64.promote_f32",
            &[
                (0.1_f32, f64::from(0.1_f32)),
                (-0.0, -0.0),
                (inf, f64::INFINITY),
                (nan, f64::NAN),
                (tiny, f64::from(tiny)),
            ],
        );
    }

    #[test]
    fn reinterpret() {
        un_to("f32.reinterpret_i32", &[(0x3fc0_0000, 1.5_f32), (i32::MIN, -0.0)]);
        un_to("i32.reinterpret_f32", &[(-0.0_f32, i32::MIN), (1.5, 0x3fc0_0000)]);
        un_to("f64.reinterpret_i64", &[(0x3ff8_0000_0000_0000_i64, 1.5_f64), (i64::MIN, -0.0)]);
        un_to("i64.reinterpret_f64", &[(-1.5_f64, h64(0xbff8_0000_0000_0000))]);
        // Round trips keep every bit, signalling NaNs included.
        let rt32 = "(param i32) (result i32) (i32.reinterpret_f32 (f32.reinterpret_i32 (local.get 0)))";
        un_fn(rt32, &[0x7fa0_0001, h32(0xffc0_0000), i32::MIN, 1, -1].map(|x| (x, x)));
        let rt64 = "(param i64) (result i64) (i64.reinterpret_f64 (f64.reinterpret_i64 (local.get 0)))";
        un_fn(rt64, &[0x7ff0_0000_0000_0001, h64(0xfff8_0000_0000_0000), i64::MIN, -1].map(|x| (x, x)));
        let rtf = "(param f64) (result f64) (f64.reinterpret_i64 (i64.reinterpret_f64 (local.get 0)))";
        un_fn(rtf, &[(-0.0, -0.0), (f64::from_bits(1), f64::from_bits(1))]);
    }

    #[test]
    fn mixed_expression() {
        // i64(i32_sat(f64(x) * 2.5 + f64(z))) > u64(y), across three param types.
        let body = "(param i64 i32 f32) (result i32)
            (i64.gt_s
              (i64.extend_i32_s (i32.trunc_sat_f64_s
                (f64.add (f64.mul (f64.convert_i64_s (local.get 0)) (f64.const 2.5)) (f64.promote_f32 (local.get 2)))))
              (i64.extend_i32_u (local.get 1)))";
        let (t, f) = (I32(1), I32(0));
        check(
            body,
            &[([I64(4), I32(9), F32(0.5)], t), ([I64(4), I32(10), F32(0.5)], f), ([I64(-4), I32(-1), F32(0.0)], f)],
        );
    }

    #[test]
    fn other_operators_are_left_alone() {
        let mut func = Function::new();
        let mut fbc = FunctionBuilderContext::new();
        let mut b = FunctionBuilder::new(&mut func, &mut fbc);
        let block = b.create_block();
        b.switch_to_block(block);
        let x = b.ins().iconst(types::I32, 1);
        let mut stack = vec![x, x];
        let others = [
            Operator::Nop,
            Operator::Drop,
            Operator::Select,
            Operator::Return,
            Operator::Unreachable,
            Operator::LocalGet { local_index: 0 },
            Operator::GlobalSet { global_index: 0 },
            Operator::MemorySize { mem: 0 },
            Operator::RefIsNull,
            Operator::I32x4Add,
        ];
        let before = b.func.dfg.num_insts();
        for op in &others {
            assert!(!translate_numeric(op, &mut b, &mut stack), "{op:?}");
        }
        assert_eq!(stack, [x, x]);
        assert_eq!(b.func.dfg.num_insts(), before);
    }

    /// Traps, one case per child process: the child maps the faulting PC back to its trap code and exits with it.
    #[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
    mod traps {
        use super::{Jit, F32, F64, I32, I64, V};
        use cranelift_codegen::ir::TrapCode;
        use std::ffi::c_void;
        use std::sync::OnceLock;

        const CHILD_ENV: &str = "SPRY_NUMERIC_TRAP_CASE";

        /// (function, arguments, expected trap)
        type TrapCase = (&'static str, &'static [V], TrapCode);

        fn trap_cases() -> Vec<TrapCase> {
            const DIVZ: TrapCode = TrapCode::INTEGER_DIVISION_BY_ZERO;
            const OVF: TrapCode = TrapCode::INTEGER_OVERFLOW;
            const BAD: TrapCode = TrapCode::BAD_CONVERSION_TO_INTEGER;
            const DIV_S32: &str = "(param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1))";
            const DIV_U32: &str = "(param i32 i32) (result i32) (i32.div_u (local.get 0) (local.get 1))";
            const REM_S32: &str = "(param i32 i32) (result i32) (i32.rem_s (local.get 0) (local.get 1))";
            const REM_U32: &str = "(param i32 i32) (result i32) (i32.rem_u (local.get 0) (local.get 1))";
            const DIV_S64: &str = "(param i64 i64) (result i64) (i64.div_s (local.get 0) (local.get 1))";
            const DIV_U64: &str = "(param i64 i64) (result i64) (i64.div_u (local.get 0) (local.get 1))";
            const REM_S64: &str = "(param i64 i64) (result i64) (i64.rem_s (local.get 0) (local.get 1))";
            const REM_U64: &str = "(param i64 i64) (result i64) (i64.rem_u (local.get 0) (local.get 1))";
            const T32F32S: &str = "(param f32) (result i32) (i32.trunc_f32_s (local.get 0))";
            const T32F32U: &str = "(param f32) (result i32) (i32.trunc_f32_u (local.get 0))";
            const T32F64S: &str = "(param f64) (result i32) (i32.trunc_f64_s (local.get 0))";
            const T32F64U: &str = "(param f64) (result i32) (i32.trunc_f64_u (local.get 0))";
            const T64F32S: &str = "(param f32) (result i64) (i64.trunc_f32_s (local.get 0))";
            const T64F32U: &str = "(param f32) (result i64) (i64.trunc_f32_u (local.get 0))";
            const T64F64S: &str = "(param f64) (result i64) (i64.trunc_f64_s (local.get 0))";
            const T64F64U: &str = "(param f64) (result i64) (i64.trunc_f64_u (local.get 0))";
            vec![
                (DIV_S32, &[I32(1), I32(0)], DIVZ),
                (DIV_S32, &[I32(i32::MIN), I32(-1)], OVF),
                (DIV_U32, &[I32(1), I32(0)], DIVZ),
                (REM_S32, &[I32(1), I32(0)], DIVZ),
                (REM_S32, &[I32(i32::MIN), I32(0)], DIVZ),
                (REM_U32, &[I32(1), I32(0)], DIVZ),
                (DIV_S64, &[I64(1), I64(0)], DIVZ),
                (DIV_S64, &[I64(i64::MIN), I64(-1)], OVF),
                (DIV_U64, &[I64(1), I64(0)], DIVZ),
                (REM_S64, &[I64(1), I64(0)], DIVZ),
                (REM_U64, &[I64(1), I64(0)], DIVZ),
                (T32F32S, &[F32(f32::NAN)], BAD),
                (T32F32S, &[F32(2_147_483_648.0)], OVF),
                (T32F32S, &[F32(-2_147_483_904.0)], OVF),
                (T32F32S, &[F32(f32::NEG_INFINITY)], OVF),
                (T32F32U, &[F32(f32::NAN)], BAD),
                (T32F32U, &[F32(-1.0)], OVF),
                (T32F32U, &[F32(4_294_967_296.0)], OVF),
                (T32F64S, &[F64(f64::NAN)], BAD),
                (T32F64S, &[F64(2_147_483_648.0)], OVF),
                (T32F64S, &[F64(-2_147_483_649.0)], OVF),
                (T32F64U, &[F64(f64::NAN)], BAD),
                (T32F64U, &[F64(-1.0)], OVF),
                (T32F64U, &[F64(4_294_967_296.0)], OVF),
                (T64F32S, &[F32(f32::NAN)], BAD),
                (T64F32S, &[F32(9_223_372_036_854_775_808.0)], OVF),
                (T64F32S, &[F32(f32::NEG_INFINITY)], OVF),
                (T64F32U, &[F32(f32::NAN)], BAD),
                (T64F32U, &[F32(-1.0)], OVF),
                (T64F32U, &[F32(18_446_744_073_709_551_616.0)], OVF),
                (T64F64S, &[F64(f64::NAN)], BAD),
                (T64F64S, &[F64(9_223_372_036_854_775_808.0)], OVF),
                (T64F64S, &[F64(-9_223_372_036_854_777_856.0)], OVF),
                (T64F64U, &[F64(f64::NAN)], BAD),
                (T64F64U, &[F64(-1.0)], OVF),
                (T64F64U, &[F64(18_446_744_073_709_551_616.0)], OVF),
                (T64F64U, &[F64(f64::INFINITY)], OVF),
            ]
        }

        /// Absolute addresses of the trap sites of the function the child runs, with their raw trap codes.
        static TRAP_SITES: OnceLock<Vec<(usize, u8)>> = OnceLock::new();

        /// The PC at which the signal was raised.
        ///
        /// # Safety
        /// `ctx` must be the `ucontext_t` pointer passed to an `SA_SIGINFO` handler.
        unsafe fn faulting_pc(ctx: *mut c_void) -> usize {
            let uc = ctx.cast::<libc::ucontext_t>();
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the caller passes the kernel's ucontext_t.
            let pc = unsafe { (*uc).uc_mcontext.gregs[libc::REG_RIP as usize] as usize };
            #[cfg(target_arch = "aarch64")]
            // SAFETY: the caller passes the kernel's ucontext_t.
            let pc = unsafe { (*uc).uc_mcontext.pc as usize };
            pc
        }

        /// SIGILL/SIGFPE handler for the child: exits with the trap code recorded at the faulting PC, or 1.
        extern "C" fn on_trap(_sig: libc::c_int, _info: *mut libc::siginfo_t, ctx: *mut c_void) {
            // SAFETY: installed with SA_SIGINFO, so `ctx` is the ucontext_t.
            let pc = unsafe { faulting_pc(ctx) };
            let code =
                TRAP_SITES.get().and_then(|sites| sites.iter().find(|s| s.0 == pc)).map_or(1, |s| i32::from(s.1));
            // SAFETY: `_exit` is async-signal-safe; nothing else runs after it.
            unsafe { libc::_exit(code) }
        }

        /// The child: runs one case, which should trap; exits with status 0 if it returns.
        fn run_trap_child(case: &TrapCase) -> ! {
            let jit = Jit::new(case.0);
            let base = jit.code as usize;
            TRAP_SITES
                .set(jit.traps.iter().map(|&(off, code)| (base + off as usize, code.as_raw().get())).collect())
                .unwrap();
            for sig in [libc::SIGILL, libc::SIGFPE] {
                // SAFETY: an all-zero sigaction is "no flags, empty mask"; we then set a valid SA_SIGINFO handler.
                unsafe {
                    let mut sa: libc::sigaction = std::mem::zeroed();
                    sa.sa_sigaction = on_trap as *const () as usize;
                    sa.sa_flags = libc::SA_SIGINFO;
                    assert_eq!(libc::sigaction(sig, &sa, std::ptr::null_mut()), 0);
                }
            }
            let result = jit.call(case.1);
            eprintln!("no trap: returned {result:?}");
            std::process::exit(0)
        }

        #[test]
        fn each_case_traps_with_its_code() {
            let cases = trap_cases();
            if let Ok(i) = std::env::var(CHILD_ENV) {
                run_trap_child(&cases[i.parse::<usize>().unwrap()]);
            }
            let name = format!("{}::each_case_traps_with_its_code", module_path!().split_once("::").unwrap().1);
            let exe = std::env::current_exe().unwrap();
            for (i, (func, args, code)) in cases.iter().enumerate() {
                let jit = Jit::new(func);
                assert!(jit.traps.iter().any(|t| t.1 == *code), "{func}: no {code} site in {:?}", jit.traps);
                let out = std::process::Command::new(&exe)
                    .args(["--exact", &name, "--nocapture", "--test-threads=1"])
                    .env(CHILD_ENV, i.to_string())
                    .output()
                    .unwrap();
                let want = i32::from(code.as_raw().get());
                assert_eq!(
                    out.status.code(),
                    Some(want),
                    "{func} with {args:?} should trap with {code}; child: {:?}, stderr: {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
}

//! Ahead-of-time compiled artifacts: the byte format of [`crate::Module::serialize`] and
//! [`crate::Module::deserialize`].
//!
//! An artifact is, in order (all integers little-endian):
//!
//! | field            | encoding                                                                 |
//! |------------------|--------------------------------------------------------------------------|
//! | magic            | the 8 bytes `SPRYAOT\0`                                                  |
//! | format version   | `u32` ([`FORMAT_VERSION`])                                               |
//! | bulk sections    | `u64` offset and `u64` length in the artifact of the code bytes, then of the memory image's bytes (0, 0 without one) |
//! | fingerprint      | `u32` count, then that many `(key, value)` strings (see [`fingerprint`]) |
//! | module info      | [`ModuleInfo`], field by field (see `write_info`)                        |
//! | code             | `u64` length, `u32` padding length, that many zeros (the code starts at a multiple of [`CODE_ALIGN`] in the artifact, so that a file can be mapped), the bytes: relocated except the absolute libcall fields, which are zero |
//! | function ranges  | `u32` count, `(start, end)` pairs of `u32`                               |
//! | trap sites       | `u32` count, `(offset u32, trap code u8)` pairs                          |
//! | absolute relocs  | `u32` count, `(offset u32, libcall u8)` pairs, re-applied at load        |
//! | trampolines      | `u32` count, then per distinct function type `(type index, entry offset, entry length, host offset, host length)` as `u32`s; then the code they point into as a byte array: the entry and wasm-to-host trampolines of the module's types (position-independent, no relocations), so that loading the module, and instantiating it with host functions, compiles nothing |
//! | memory image     | `u8` 0, or 1 then `u32` memory, `u64` offset in linear memory, `u64` length, `u32` padding length, that many zeros (the image starts at a multiple of [`CODE_ALIGN`]), the image's bytes: what [`crate::vm::memory_image::MemoryImage`] maps, so that a file maps it directly |
//! | bulk checksum    | `u64`: [`checksum_seeded`] of the code bytes, then chained over the image's bytes |
//! | checksum         | `u64`: [`checksum_seeded`] of every byte before it but the bulk sections' bytes (chained over the pieces between them) |
//!
//! Strings and byte arrays are a `u32` length then the bytes. Loading checks the magic, the format
//! version, the checksum (everything the loader interprets: every offset, count, range and
//! relocation, the trampolines, the data segments), then that the fingerprint equals the loading
//! engine's, then decodes with a bounds check on every read: every count is checked against the input
//! that remains before anything is allocated, so a truncated or corrupt artifact is an error, never
//! a panic or a huge allocation. The bulk checksum (the code and the image: most of a large
//! artifact's bytes, which the loader maps but does not read) is checked too, except for entries of
//! the compile cache (see `cache.rs`, which says what protects them instead). These checks catch
//! accidents (a truncated download, a flipped bit, an artifact of another Spry version, engine
//! settings or CPU), not malice: the code in an artifact runs as is.

use crate::compile::CompiledCode;
use crate::engine::Engine;
use crate::environ::info::{
    ConstExpr, DataMode, DataSegment, ElementMode, ElementSegment, EntityIndex, GlobalInfo, Import, ModuleInfo,
};
use crate::environ::vmoffsets::{VMCounts, VMOffsets};
use crate::trap::TrapCode;
use crate::types::{FuncType, GlobalType, MemoryType, TableType, ValType};
use crate::vm::memory_image::ImagePlan;
use anyhow::{anyhow, bail, ensure, Result};
use cranelift_codegen::ir::LibCall;

/// The first bytes of every artifact.
pub const MAGIC: &[u8; 8] = b"SPRYAOT\0";

/// Where the code starts in an artifact: a multiple of this (the largest page size of the hosts Spry
/// runs on), so that [`crate::Module::deserialize_file`] maps it straight from the file.
pub const CODE_ALIGN: usize = 64 << 10;

/// The version of the byte format; bumped on every change to it.
pub const FORMAT_VERSION: u32 = 6;

/// The trampolines section of an artifact: the code of the entry and wasm-to-host trampolines of a
/// module's function types (see [`crate::engine::Engine::trampoline_section`]).
#[derive(Default)]
pub struct TrampolineSection {
    /// Their code, one blob.
    pub code: Vec<u8>,
    /// One per distinct type.
    pub entries: Vec<TrampolineEntry>,
}

/// The trampolines of one type in a [`TrampolineSection`].
pub struct TrampolineEntry {
    /// The index of the type in the module's types.
    pub type_index: u32,
    /// The entry trampoline: offset in the section's code, length.
    pub entry: (u32, u32),
    /// The wasm-to-host trampoline: offset, length.
    pub host: (u32, u32),
}

/// The libcalls an artifact may refer to, by their index in this list.
const LIBCALLS: [LibCall; 10] = [
    LibCall::FloorF32,
    LibCall::FloorF64,
    LibCall::CeilF32,
    LibCall::CeilF64,
    LibCall::TruncF32,
    LibCall::TruncF64,
    LibCall::NearestF32,
    LibCall::NearestF64,
    LibCall::FmaF32,
    LibCall::FmaF64,
];

/// What must be equal between the engine that wrote an artifact and the one that loads it: the Spry
/// version, the settings that shape generated code, and the target ISA with its enabled flags (the CPU
/// features the code may use).
/// Computed once per engine (it formats every ISA flag).
pub fn fingerprint(engine: &Engine) -> &[(&'static str, String)] {
    engine.inner.fingerprint.get_or_init(|| compute_fingerprint(engine))
}

fn compute_fingerprint(engine: &Engine) -> Vec<(&'static str, String)> {
    let e = &engine.inner;
    let t = &e.tunables;
    let isa = &*e.isa;
    // The verifier checks code without changing it: debug and release builds share artifacts.
    let shared: Vec<String> =
        isa.flags().iter().filter(|v| v.name != "enable_verifier").map(|v| v.to_string()).collect();
    let isa_flags: Vec<String> = isa.isa_flags().iter().map(|v| v.to_string()).collect();
    vec![
        ("spry version", env!("CARGO_PKG_VERSION").to_string()),
        ("guard_pages", t.guard_pages.to_string()),
        ("memory_reservation", t.memory_reservation.to_string()),
        ("guard_size", t.guard_size.to_string()),
        ("interruptible", t.interruptible.to_string()),
        ("consume_fuel", t.consume_fuel.to_string()),
        ("opt_level", e.config.opt_level.to_string()),
        ("isa", format!("{} {}", isa.name(), isa.triple())),
        ("shared flags", shared.join(",")),
        ("isa flags", isa_flags.join(",")),
    ]
}

/// A 64-bit checksum of `bytes` whose initial state is changed by `seed` (artifacts chain it over
/// the pieces they cover, each seeded with the previous result): FNV-style multiply-xor over
/// little-endian 64-bit words, in four lanes per 1 MiB block, the blocks' hashes folded in order with
/// the length.
///
/// Any change confined to one 8-byte word always changes the result (a flipped bit or byte is always
/// detected); it runs at memory speed (several GB/s per core, blocks in parallel for large inputs).
/// Not cryptographic: it detects accidents, not tampering.
pub fn checksum_seeded(seed: u64, bytes: &[u8]) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    // Blocks of 1 MiB hashed independently (in parallel for large inputs: hashing is bound by memory
    // bandwidth, which one core does not use up), then their hashes folded in order with the length.
    // A change confined to one 8-byte word changes its block's hash (see `checksum_block`), and each
    // folding step is a bijection of the running state for a given block hash, so it changes the
    // result.
    const BLOCK: usize = 1 << 20;
    let fold = |hashes: &mut dyn Iterator<Item = u64>| {
        let mut h = 0xcbf2_9ce4_8422_2325 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        for b in hashes {
            h = (h ^ b).wrapping_mul(PRIME);
        }
        h = (h ^ bytes.len() as u64).wrapping_mul(PRIME);
        // Final avalanche (from MurmurHash3's fmix64), so nearby inputs differ in many bits.
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h
    };
    if bytes.len() >= 8 * BLOCK {
        use rayon::prelude::*;
        let hashes: Vec<u64> = bytes.par_chunks(BLOCK).map(|b| checksum_block(seed, b)).collect();
        fold(&mut hashes.into_iter())
    } else {
        fold(&mut bytes.chunks(BLOCK).map(|b| checksum_block(seed, b)))
    }
}

/// The hash of one block of [`checksum_seeded`]: four independent lanes (words 0, 1, 2, 3 of each
/// 32-byte group), so that the multiplications overlap. Each step `h = (h ^ word) * prime` is a
/// bijection of `h` for a given word, and so is each step of folding the lanes and the tail, so any
/// change confined to one 8-byte word changes the result.
fn checksum_block(seed: u64, bytes: &[u8]) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let base = 0xcbf2_9ce4_8422_2325 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut lanes = [base, base ^ 1, base ^ 2, base ^ 3];
    let mut groups = bytes.chunks_exact(32);
    for group in &mut groups {
        for (lane, word) in lanes.iter_mut().zip(group.chunks_exact(8)) {
            *lane = (*lane ^ u64::from_le_bytes(word.try_into().expect("8 bytes"))).wrapping_mul(PRIME);
        }
    }
    let mut h = lanes[0];
    for lane in &lanes[1..] {
        h = (h ^ lane).wrapping_mul(PRIME);
    }
    let mut words = groups.remainder().chunks_exact(8);
    for w in &mut words {
        h = (h ^ u64::from_le_bytes(w.try_into().expect("8 bytes"))).wrapping_mul(PRIME);
    }
    let mut tail = [0u8; 8];
    tail[..words.remainder().len()].copy_from_slice(words.remainder());
    (h ^ u64::from_le_bytes(tail)).wrapping_mul(PRIME)
}

/// Writes the artifact of a module: its info and its code (`code` as mapped, with the absolute
/// relocation fields in it zeroed here so that the artifact does not depend on where it was loaded).
pub fn serialize(
    engine: &Engine,
    info: &ModuleInfo,
    compiled: &CompiledCode,
    trampolines: &TrampolineSection,
) -> Vec<u8> {
    let mut w = Writer { out: Vec::with_capacity(compiled.code.len() + info.data_bytes.len() + 4096) };
    w.out.extend_from_slice(MAGIC);
    w.u32(FORMAT_VERSION);
    // The bulk sections' places, written once known.
    let bulk_header = w.out.len();
    w.out.resize(bulk_header + 32, 0);
    let fp = fingerprint(engine);
    w.u32(fp.len() as u32);
    for (k, v) in fp {
        w.str(k);
        w.str(v);
    }
    write_info(&mut w, info);
    w.u64(compiled.code.len() as u64);
    let pad = (CODE_ALIGN - (w.out.len() + 4) % CODE_ALIGN) % CODE_ALIGN;
    w.u32(pad as u32);
    w.out.resize(w.out.len() + pad, 0);
    let code_start = w.out.len();
    w.out.extend_from_slice(&compiled.code);
    for &(offset, _) in &compiled.absolute {
        let at = code_start + offset as usize;
        w.out[at..at + 8].fill(0);
    }
    w.u32(compiled.functions.len() as u32);
    for &(s, e) in &compiled.functions {
        w.u32(s);
        w.u32(e);
    }
    w.u32(compiled.traps.len() as u32);
    for &(offset, code) in &compiled.traps {
        w.u32(offset);
        w.u8(code.as_u8());
    }
    w.u32(compiled.absolute.len() as u32);
    for &(offset, lc) in &compiled.absolute {
        w.u32(offset);
        // `Module::new` only accepts the libcalls of `LIBCALLS` (those `libcall_address` provides).
        w.u8(LIBCALLS.iter().position(|l| *l == lc).expect("a supported libcall") as u8);
    }
    w.u32(trampolines.entries.len() as u32);
    for e in &trampolines.entries {
        for v in [e.type_index, e.entry.0, e.entry.1, e.host.0, e.host.1] {
            w.u32(v);
        }
    }
    w.bytes(&trampolines.code);
    let mut image_range = None;
    match ImagePlan::new(info) {
        None => w.u8(0),
        Some(plan) => {
            w.u8(1);
            w.u32(plan.memory);
            w.u64(plan.offset as u64);
            w.u64(plan.len as u64);
            let pad = (CODE_ALIGN - (w.out.len() + 4) % CODE_ALIGN) % CODE_ALIGN;
            w.u32(pad as u32);
            w.out.resize(w.out.len() + pad, 0);
            let at = w.out.len();
            w.out.resize(at + plan.len, 0);
            plan.write(info, &mut w.out[at..]);
            image_range = Some((at, plan.len));
        }
    }
    let code_range = (code_start, compiled.code.len());
    let image_range = image_range.unwrap_or((0, 0));
    for (i, v) in [code_range.0, code_range.1, image_range.0, image_range.1].into_iter().enumerate() {
        let at = bulk_header + 8 * i;
        w.out[at..at + 8].copy_from_slice(&(v as u64).to_le_bytes());
    }
    let bulk = bulk_checksum(&w.out, code_range, image_range);
    w.u64(bulk);
    let sum = metadata_checksum(&w.out, code_range, image_range);
    w.u64(sum);
    w.out
}

/// The bulk checksum of an artifact: over its code bytes, then its image bytes.
fn bulk_checksum(bytes: &[u8], code: (usize, usize), image: (usize, usize)) -> u64 {
    let h = checksum_seeded(1, &bytes[code.0..code.0 + code.1]);
    checksum_seeded(h, &bytes[image.0..image.0 + image.1])
}

/// The checksum of `bytes` but the bulk sections (ranges in it, code then image, ordered and in
/// bounds), chained over the pieces around them.
fn metadata_checksum(bytes: &[u8], code: (usize, usize), image: (usize, usize)) -> u64 {
    let mut h = 0;
    let mut at = 0;
    for (start, len) in [code, image] {
        if len == 0 {
            continue;
        }
        h = checksum_seeded(h, &bytes[at..start]);
        at = start + len;
    }
    checksum_seeded(h, &bytes[at..])
}

/// The memory image section of an artifact: the memory, where the image goes in it, and its bytes
/// (a slice of the artifact).
pub struct ImageSection<'b> {
    /// The (defined) memory.
    pub memory: u32,
    /// Where the image starts in linear memory.
    pub offset: usize,
    /// The image.
    pub bytes: &'b [u8],
}

/// Checks and decodes an artifact written by [`serialize`] for an engine with the same fingerprint.
///
/// The code is returned as a slice of `bytes` (the returned `CompiledCode::code` is empty), so that it
/// is copied once, into its executable mapping.
///
/// `verify_bulk` says whether the bulk checksum (of the code and the image) is checked: always, but
/// for the compile cache's entries (see `cache.rs`).
pub fn deserialize<'b>(engine: &Engine, bytes: &'b [u8], verify_bulk: bool) -> Result<Artifact<'b>> {
    const NOT_AN_ARTIFACT: &str = "not a Spry compiled module (bad magic bytes)";
    ensure!(bytes.len() >= MAGIC.len(), "{NOT_AN_ARTIFACT}; the input is only {} bytes", bytes.len());
    ensure!(&bytes[..MAGIC.len()] == MAGIC, NOT_AN_ARTIFACT);
    let mut r = Reader { bytes: &bytes[MAGIC.len()..] };
    let version = r.u32().map_err(|_| anyhow!("truncated Spry compiled module (no format version)"))?;
    ensure!(
        version == FORMAT_VERSION,
        "compiled module has format version {version}, this Spry version reads version {FORMAT_VERSION}"
    );
    const CORRUPT: &str = "Spry compiled module is corrupt or truncated (checksum mismatch)";
    ensure!(bytes.len() >= MAGIC.len() + 4 + 32 + 16, "truncated Spry compiled module ({} bytes)", bytes.len());
    let (body, sum) = bytes.split_at(bytes.len() - 8);
    let sum = u64::from_le_bytes(sum.try_into().expect("8 bytes"));
    // The bulk sections' places: ordered, inside the body, before the bulk checksum.
    let mut r = Reader { bytes: &body[MAGIC.len() + 4..] };
    let (code_range, image_range) = ((r.u64()?, r.u64()?), (r.u64()?, r.u64()?));
    let limit = (body.len() - 8) as u64;
    let code_end = code_range.0.checked_add(code_range.1).filter(|&e| e <= limit);
    let image_end = image_range.0.checked_add(image_range.1).filter(|&e| e <= limit);
    let header_end = (MAGIC.len() + 4 + 32) as u64;
    let ordered = match (code_end, image_end) {
        (Some(ce), Some(_)) => code_range.0 >= header_end && (image_range.1 == 0 || image_range.0 >= ce),
        _ => false,
    };
    ensure!(ordered, CORRUPT);
    let code_range = (code_range.0 as usize, code_range.1 as usize);
    let image_range = (image_range.0 as usize, image_range.1 as usize);
    ensure!(metadata_checksum(body, code_range, image_range) == sum, CORRUPT);
    if verify_bulk {
        let bulk = u64::from_le_bytes(body[body.len() - 8..].try_into().expect("8 bytes"));
        ensure!(bulk_checksum(body, code_range, image_range) == bulk, CORRUPT);
    }
    let body = &body[..body.len() - 8];
    let mut r = Reader { bytes: &body[MAGIC.len() + 4 + 32..] };

    let expected = fingerprint(engine);
    let n = r.count(2)?;
    let mut found = Vec::with_capacity(n);
    for _ in 0..n {
        found.push((r.string()?, r.string()?));
    }
    for (k, v) in expected {
        match found.iter().find(|(fk, _)| fk == k) {
            Some((_, fv)) if fv == v => {}
            Some((_, fv)) => {
                bail!("compiled module is incompatible with this engine: it was compiled with {k} {fv:?}, the engine has {v:?}")
            }
            None => bail!("compiled module is incompatible with this engine: its header lacks {k}"),
        }
    }
    ensure!(found.len() == expected.len(), "compiled module is incompatible with this engine: unknown header fields");

    let info = read_info(&mut r)?;
    let code_len = r.u64()?;
    let pad = r.u32()? as usize;
    ensure!(pad < CODE_ALIGN, "corrupt compiled module: code padding of {pad} bytes");
    r.take(pad)?;
    ensure!(code_len <= r.bytes.len() as u64, "truncated Spry compiled module (code)");
    let code = r.take(code_len as usize)?;
    let offset_in = |part: &[u8]| part.as_ptr() as usize - bytes.as_ptr() as usize;
    ensure!(
        (offset_in(code), code.len()) == code_range,
        "corrupt compiled module: the code is not where its header says"
    );
    let n = r.count(8)?;
    let mut functions = Vec::with_capacity(n);
    for _ in 0..n {
        let (s, e) = (r.u32()?, r.u32()?);
        ensure!(s <= e && e as usize <= code.len(), "corrupt compiled module: function range {s}..{e}");
        functions.push((s, e));
    }
    ensure!(functions.len() == info.num_defined_funcs() as usize, "corrupt compiled module: function count");
    // Decoded in bulk: a large module has a trap site per memory access (ruby.wasm: over a million).
    let n = r.count(5)?;
    let mut traps = Vec::with_capacity(n);
    let mut previous = 0;
    for site in r.take(n * 5)?.chunks_exact(5) {
        let offset = u32::from_le_bytes(site[..4].try_into().expect("4 bytes"));
        let code =
            TrapCode::from_u8(site[4]).ok_or_else(|| anyhow!("corrupt compiled module: trap code {}", site[4]))?;
        ensure!(offset >= previous, "corrupt compiled module: unsorted trap sites");
        previous = offset;
        traps.push((offset, code));
    }
    let n = r.count(5)?;
    let mut absolute = Vec::with_capacity(n);
    for _ in 0..n {
        let offset = r.u32()?;
        ensure!(offset as usize + 8 <= code.len(), "corrupt compiled module: relocation at {offset}");
        let lc = *LIBCALLS.get(r.u8()? as usize).ok_or_else(|| anyhow!("corrupt compiled module: libcall"))?;
        absolute.push((offset, lc));
    }
    let n = r.count(20)?;
    let mut entries = Vec::with_capacity(n);
    for _ in 0..n {
        let (type_index, entry, host) = (r.u32()?, (r.u32()?, r.u32()?), (r.u32()?, r.u32()?));
        ensure!((type_index as usize) < info.types.len(), "corrupt compiled module: trampoline type {type_index}");
        entries.push(TrampolineEntry { type_index, entry, host });
    }
    let n = r.u32()? as usize;
    let tcode = r.take(n)?;
    ensure!(
        entries.iter().all(|e| [e.entry, e.host]
            .iter()
            .all(|&(off, len)| len > 0 && u64::from(off) + u64::from(len) <= tcode.len() as u64)),
        "corrupt compiled module: trampoline range"
    );
    let trampolines = TrampolineSection { code: tcode.to_vec(), entries };
    let image = match r.u8()? {
        0 => None,
        1 => {
            let memory = r.u32()?;
            let (offset, len) = (r.u64()?, r.u64()?);
            let pad = r.u32()? as usize;
            ensure!(pad < CODE_ALIGN, "corrupt compiled module: image padding of {pad} bytes");
            r.take(pad)?;
            ensure!(len <= r.bytes.len() as u64, "truncated Spry compiled module (memory image)");
            let ty = info.memories.get(memory as usize);
            ensure!(
                memory >= info.num_imported_memories
                    && ty
                        .is_some_and(|t| offset.saturating_add(len) <= t.minimum.saturating_mul(crate::WASM_PAGE_SIZE)),
                "corrupt compiled module: memory image out of place"
            );
            let image = r.take(len as usize)?;
            ensure!(
                (offset_in(image), image.len()) == image_range || image.is_empty() && image_range.1 == 0,
                "corrupt compiled module: the memory image is not where its header says"
            );
            Some(ImageSection { memory, offset: offset as usize, bytes: image })
        }
        b => bail!("corrupt compiled module: memory image flag {b}"),
    };
    ensure!(image.is_some() || image_range.1 == 0, "corrupt compiled module: a memory image without its section");
    ensure!(r.bytes.is_empty(), "corrupt compiled module: {} trailing bytes", r.bytes.len());
    Ok(Artifact {
        info,
        compiled: CompiledCode { code: Vec::new(), functions, traps, absolute },
        code,
        trampolines,
        image,
    })
}

/// What [`deserialize`] decodes from an artifact.
pub struct Artifact<'b> {
    /// The module's metadata.
    pub info: ModuleInfo,
    /// Its function ranges, trap sites and relocations (`code` is empty: see `code`).
    pub compiled: CompiledCode,
    /// The code, a slice of the artifact.
    pub code: &'b [u8],
    /// The trampolines of the module's types.
    pub trampolines: TrampolineSection,
    /// The memory image, if the artifact has one.
    pub image: Option<ImageSection<'b>>,
}

struct Writer {
    out: Vec<u8>,
}

impl Writer {
    fn u8(&mut self, v: u8) {
        self.out.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.u32(u32::try_from(b.len()).expect("less than 4 GiB"));
        self.out.extend_from_slice(b);
    }
    fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
    fn opt_u32(&mut self, v: Option<u32>) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                self.u32(v);
            }
        }
    }
    fn opt_u64(&mut self, v: Option<u64>) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                self.u64(v);
            }
        }
    }
    fn val_type(&mut self, t: ValType) {
        self.u8(match t {
            ValType::I32 => 0,
            ValType::I64 => 1,
            ValType::F32 => 2,
            ValType::F64 => 3,
            ValType::FuncRef => 4,
            ValType::ExternRef => 5,
        });
    }
    fn const_expr(&mut self, e: &ConstExpr) {
        match *e {
            ConstExpr::I32(v) => {
                self.u8(0);
                self.u32(v as u32);
            }
            ConstExpr::I64(v) => {
                self.u8(1);
                self.u64(v as u64);
            }
            ConstExpr::F32(v) => {
                self.u8(2);
                self.u32(v);
            }
            ConstExpr::F64(v) => {
                self.u8(3);
                self.u64(v);
            }
            ConstExpr::RefNull => self.u8(4),
            ConstExpr::RefFunc(f) => {
                self.u8(5);
                self.u32(f);
            }
            ConstExpr::GlobalGet(g) => {
                self.u8(6);
                self.u32(g);
            }
        }
    }
    fn entity(&mut self, e: EntityIndex) {
        let (tag, i) = match e {
            EntityIndex::Func(i) => (0, i),
            EntityIndex::Table(i) => (1, i),
            EntityIndex::Memory(i) => (2, i),
            EntityIndex::Global(i) => (3, i),
        };
        self.u8(tag);
        self.u32(i);
    }
}

fn write_info(w: &mut Writer, info: &ModuleInfo) {
    match &info.name {
        None => w.u8(0),
        Some(n) => {
            w.u8(1);
            w.str(n);
        }
    }
    w.u32(info.types.len() as u32);
    for t in &info.types {
        for list in [t.params(), t.results()] {
            w.u32(list.len() as u32);
            for &v in list {
                w.val_type(v);
            }
        }
    }
    w.u32(info.functions.len() as u32);
    for &f in &info.functions {
        w.u32(f);
    }
    w.u32(info.tables.len() as u32);
    for t in &info.tables {
        w.val_type(t.element);
        w.u32(t.minimum);
        w.opt_u32(t.maximum);
    }
    w.u32(info.memories.len() as u32);
    for m in &info.memories {
        w.u64(m.minimum);
        w.opt_u64(m.maximum);
    }
    w.u32(info.globals.len() as u32);
    for g in &info.globals {
        w.val_type(g.ty.content);
        w.u8(g.ty.mutable as u8);
        match &g.init {
            None => w.u8(0),
            Some(e) => {
                w.u8(1);
                w.const_expr(e);
            }
        }
    }
    w.u32(info.imports.len() as u32);
    for i in &info.imports {
        w.str(&i.module);
        w.str(&i.name);
        w.entity(i.index);
    }
    w.u32(info.exports.len() as u32);
    for (name, index) in &info.exports {
        w.str(name);
        w.entity(*index);
    }
    w.opt_u32(info.start);
    w.u32(info.elements.len() as u32);
    for e in &info.elements {
        match &e.mode {
            ElementMode::Passive => w.u8(0),
            ElementMode::Active { table, offset } => {
                w.u8(1);
                w.u32(*table);
                w.const_expr(offset);
            }
            ElementMode::Declared => w.u8(2),
        }
        w.u32(e.items.len() as u32);
        for item in e.items.iter() {
            w.const_expr(item);
        }
    }
    w.u32(info.data.len() as u32);
    for d in &info.data {
        match &d.mode {
            DataMode::Passive => w.u8(0),
            DataMode::Active { memory, offset } => {
                w.u8(1);
                w.u32(*memory);
                w.const_expr(offset);
            }
        }
        w.u64(d.bytes.start as u64);
        w.u64(d.bytes.end as u64);
    }
    w.u64(info.data_bytes.len() as u64);
    w.out.extend_from_slice(&info.data_bytes);
    let mut names: Vec<(&u32, &String)> = info.func_names.iter().collect();
    names.sort();
    w.u32(names.len() as u32);
    for (i, n) in names {
        w.u32(*i);
        w.str(n);
    }
    w.u32(info.num_imported_funcs);
    w.u32(info.num_imported_tables);
    w.u32(info.num_imported_memories);
    w.u32(info.num_imported_globals);
    w.u32(info.escape_index.len() as u32);
    for &e in &info.escape_index {
        w.u32(e);
    }
}

/// A bounds-checked little-endian reader: every read fails cleanly at the end of the input.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        ensure!(n <= self.bytes.len(), "truncated or corrupt Spry compiled module");
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    fn bool(&mut self) -> Result<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            b => bail!("corrupt compiled module: {b} is not a boolean"),
        }
    }
    /// A count of items that each take at least `min_size` bytes, checked against the remaining input
    /// so that a corrupt count cannot cause a huge allocation.
    fn count(&mut self, min_size: usize) -> Result<usize> {
        let n = self.u32()? as usize;
        ensure!(
            n.saturating_mul(min_size) <= self.bytes.len(),
            "truncated or corrupt Spry compiled module (a count of {n} exceeds the input)"
        );
        Ok(n)
    }
    fn string(&mut self) -> Result<String> {
        let n = self.u32()? as usize;
        let b = self.take(n)?;
        String::from_utf8(b.to_vec()).map_err(|_| anyhow!("corrupt compiled module: a name is not UTF-8"))
    }
    fn opt_u32(&mut self) -> Result<Option<u32>> {
        Ok(if self.bool()? { Some(self.u32()?) } else { None })
    }
    fn opt_u64(&mut self) -> Result<Option<u64>> {
        Ok(if self.bool()? { Some(self.u64()?) } else { None })
    }
    fn val_type(&mut self) -> Result<ValType> {
        Ok(match self.u8()? {
            0 => ValType::I32,
            1 => ValType::I64,
            2 => ValType::F32,
            3 => ValType::F64,
            4 => ValType::FuncRef,
            5 => ValType::ExternRef,
            b => bail!("corrupt compiled module: value type {b}"),
        })
    }
    fn const_expr(&mut self) -> Result<ConstExpr> {
        Ok(match self.u8()? {
            0 => ConstExpr::I32(self.u32()? as i32),
            1 => ConstExpr::I64(self.u64()? as i64),
            2 => ConstExpr::F32(self.u32()?),
            3 => ConstExpr::F64(self.u64()?),
            4 => ConstExpr::RefNull,
            5 => ConstExpr::RefFunc(self.u32()?),
            6 => ConstExpr::GlobalGet(self.u32()?),
            b => bail!("corrupt compiled module: constant expression {b}"),
        })
    }
    fn entity(&mut self) -> Result<EntityIndex> {
        let tag = self.u8()?;
        let i = self.u32()?;
        Ok(match tag {
            0 => EntityIndex::Func(i),
            1 => EntityIndex::Table(i),
            2 => EntityIndex::Memory(i),
            3 => EntityIndex::Global(i),
            b => bail!("corrupt compiled module: entity kind {b}"),
        })
    }
}

fn read_info(r: &mut Reader<'_>) -> Result<ModuleInfo> {
    let mut info = ModuleInfo { name: if r.bool()? { Some(r.string()?) } else { None }, ..Default::default() };
    let n = r.count(8)?;
    info.types.reserve(n);
    for _ in 0..n {
        let np = r.count(1)?;
        let params = (0..np).map(|_| r.val_type()).collect::<Result<Vec<_>>>()?;
        let nr = r.count(1)?;
        let results = (0..nr).map(|_| r.val_type()).collect::<Result<Vec<_>>>()?;
        info.types.push(FuncType::new(params, results));
    }
    let n = r.count(4)?;
    info.functions = (0..n).map(|_| r.u32()).collect::<Result<_>>()?;
    ensure!(
        info.functions.iter().all(|&t| (t as usize) < info.types.len()),
        "corrupt compiled module: function type index"
    );
    let n = r.count(6)?;
    for _ in 0..n {
        info.tables.push(TableType { element: r.val_type()?, minimum: r.u32()?, maximum: r.opt_u32()? });
    }
    let n = r.count(9)?;
    for _ in 0..n {
        info.memories.push(MemoryType { minimum: r.u64()?, maximum: r.opt_u64()? });
    }
    let n = r.count(3)?;
    for _ in 0..n {
        let ty = GlobalType { content: r.val_type()?, mutable: r.bool()? };
        let init = if r.bool()? { Some(r.const_expr()?) } else { None };
        info.globals.push(GlobalInfo { ty, init });
    }
    let n = r.count(13)?;
    for _ in 0..n {
        info.imports.push(Import { module: r.string()?, name: r.string()?, index: r.entity()? });
    }
    let n = r.count(9)?;
    for _ in 0..n {
        info.exports.push((r.string()?, r.entity()?));
    }
    info.start = r.opt_u32()?;
    let n = r.count(5)?;
    for _ in 0..n {
        let mode = match r.u8()? {
            0 => ElementMode::Passive,
            1 => ElementMode::Active { table: r.u32()?, offset: r.const_expr()? },
            2 => ElementMode::Declared,
            b => bail!("corrupt compiled module: element mode {b}"),
        };
        let ni = r.count(1)?;
        let items = (0..ni).map(|_| r.const_expr()).collect::<Result<_>>()?;
        info.elements.push(ElementSegment { mode, items });
    }
    let n = r.count(17)?;
    for _ in 0..n {
        let mode = match r.u8()? {
            0 => DataMode::Passive,
            1 => DataMode::Active { memory: r.u32()?, offset: r.const_expr()? },
            b => bail!("corrupt compiled module: data mode {b}"),
        };
        let (start, end) = (r.u64()?, r.u64()?);
        info.data.push(DataSegment { mode, bytes: start as usize..end as usize });
    }
    let n = r.u64()?;
    ensure!(n <= r.bytes.len() as u64, "truncated Spry compiled module (data)");
    info.data_bytes = r.take(n as usize)?.to_vec();
    ensure!(
        info.data.iter().all(|d| d.bytes.start <= d.bytes.end && d.bytes.end <= info.data_bytes.len()),
        "corrupt compiled module: data segment range"
    );
    let n = r.count(8)?;
    let mut names = std::collections::HashMap::with_capacity(n);
    for _ in 0..n {
        let i = r.u32()?;
        names.insert(i, r.string()?);
    }
    info.func_names = std::sync::Arc::new(names);
    info.num_imported_funcs = r.u32()?;
    info.num_imported_tables = r.u32()?;
    info.num_imported_memories = r.u32()?;
    info.num_imported_globals = r.u32()?;
    ensure!(
        info.num_imported_funcs as usize <= info.functions.len()
            && info.num_imported_tables as usize <= info.tables.len()
            && info.num_imported_memories as usize <= info.memories.len()
            && info.num_imported_globals as usize <= info.globals.len(),
        "corrupt compiled module: import counts"
    );
    let n = r.count(4)?;
    info.escape_index = (0..n).map(|_| r.u32()).collect::<Result<_>>()?;
    ensure!(n == info.num_defined_funcs() as usize, "corrupt compiled module: escape index");
    let escaped_funcs = info.escape_index.iter().filter(|&&e| e != u32::MAX).count() as u32;
    // The layout is recomputed, exactly as `compile::environ` computes it.
    let counts = VMCounts {
        imported_functions: info.num_imported_funcs,
        imported_tables: info.num_imported_tables,
        imported_memories: info.num_imported_memories,
        imported_globals: info.num_imported_globals,
        defined_tables: info.tables.len() as u32 - info.num_imported_tables,
        defined_memories: info.memories.len() as u32 - info.num_imported_memories,
        defined_globals: info.globals.len() as u32 - info.num_imported_globals,
        escaped_funcs,
    };
    ensure!(
        info.escape_index.iter().filter(|&&e| e != u32::MAX).all(|&e| e < escaped_funcs),
        "corrupt compiled module: escape index"
    );
    info.offsets = VMOffsets::new(counts);
    Ok(info)
}

//! include/spry.h is generated from the sources by cbindgen and committed: this test regenerates it in
//! memory and fails if the committed file differs.

#[path = "../header/generate.rs"]
mod generate;

#[test]
fn header_is_up_to_date() {
    let generated = generate::generate(&generate::crate_dir());
    let path = generate::header_path();
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let line = committed.lines().zip(generated.lines()).position(|(a, b)| a != b);
        panic!(
            "{} is out of date (first difference at line {}): regenerate it with `./build.sh header` \
             (cargo run -p spry-capi --features header --bin spry-header)",
            path.display(),
            line.map_or("end".to_string(), |l| (l + 1).to_string()),
        );
    }
}

#[test]
fn header_has_the_plan() {
    let header = generate::generate(&generate::crate_dir());
    for needle in [
        "#ifndef SPRY_H",
        "#include <stdint.h>",
        "#include <stdbool.h>",
        "#include <stddef.h>",
        "typedef struct spry_engine spry_engine_t;",
        "typedef struct spry_val spry_val_t;",
        "#define SPRY_I32 0",
        "#define SPRY_EXTERNREF 5",
        "#define SPRY_EXTERN_MEMORY 3",
        "#define SPRY_TRAP_HOST_ERROR 12",
        "typedef spry_trap_t *(*spry_host_callback_t)(uintptr_t env,",
        "typedef void (*spry_finalizer_t)(uintptr_t env);",
        "spry_externtype_t type;",
    ] {
        assert!(header.contains(needle), "the header lacks `{needle}`");
    }
}

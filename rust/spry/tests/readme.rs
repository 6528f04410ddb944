//! README.md's Rust code is the example `examples/hello.rs`, which `cargo test` compiles: this test
//! keeps the README's copy equal to it, so the README shows code that compiles.

#[test]
fn readme_rust_block_is_the_hello_example() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).expect("README.md");
    let example = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/hello.rs")).expect("hello.rs");
    let mut blocks = Vec::new();
    let mut rest = readme.as_str();
    while let Some(start) = rest.find("\n```rust\n") {
        let body = &rest[start + "\n```rust\n".len()..];
        let end = body.find("\n```\n").expect("a ```rust block of README.md is never closed");
        blocks.push(&body[..end + 1]);
        rest = &body[end..];
    }
    assert!(!blocks.is_empty(), "README.md has no ```rust block");
    for block in blocks {
        assert_eq!(block, example, "README.md's ```rust block differs from rust/spry/examples/hello.rs");
    }
}

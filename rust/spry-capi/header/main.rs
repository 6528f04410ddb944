//! `spry-header`: regenerates include/spry.h (`./build.sh header`, or
//! `cargo run -p spry-capi --features header --bin spry-header`).

mod generate;

fn main() {
    let header = generate::generate(&generate::crate_dir());
    let path = generate::header_path();
    std::fs::create_dir_all(path.parent().expect("the header has a directory")).expect("include/ can be created");
    std::fs::write(&path, header).expect("include/spry.h can be written");
    println!("wrote {}", path.display());
}

fn main() {
  napi_build::setup();
  // The RocksDB version this addon links, for `versions.rocksdb`: the build
  // metadata of rust-librocksdb-sys's version in Cargo.lock ("0.49.0+11.12.0").
  println!("cargo:rerun-if-changed=Cargo.lock");
  let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
  let version = lock
    .split("[[package]]")
    .find(|package| package.contains("name = \"rust-librocksdb-sys\""))
    .and_then(|package| {
      package
        .lines()
        .find_map(|line| line.strip_prefix("version = \""))
    })
    .and_then(|version| version.trim_end_matches('"').split('+').nth(1))
    .unwrap_or("unknown")
    .to_string();
  println!("cargo:rustc-env=ROCKSDB_VERSION={version}");
}

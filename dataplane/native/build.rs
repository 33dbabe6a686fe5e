// Linker flags for a Node addon (napi-rs); nothing else is generated at build time.
fn main() {
    napi_build::setup();
}

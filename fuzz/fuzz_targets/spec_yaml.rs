//! The spec loader (`apply`, the API's `apply` mutation): any bytes are loaded or refused
//! with positioned errors, never a panic.
#![no_main]
#![forbid(unsafe_code)]

use af_operator::spec::load::Loader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = match af_operator::spec::yaml::decode_utf8(data) {
        Ok(t) => t,
        Err(e) => {
            assert!(e.position.line >= 1 && e.offset < data.len());
            return;
        }
    };
    let mut loader = Loader::new();
    loader.add_text("fuzz.yaml", text);
    if let Err(errors) = loader.finish() {
        assert!(!errors.0.is_empty());
        for e in &errors.0 {
            assert!(e.position.line >= 1, "unplaced error {e}");
        }
    }
});

//! SDL conversion (`sdl convert`, and every rendered SDL): any text either converts (and its
//! outputs serialize) or is refused with every issue placed at a line and column.
#![no_main]
#![forbid(unsafe_code)]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The fast YAML reader either leaves a text to the full parser or reads it exactly as
    // the full parser does.
    if let Some(d) = af_akash::sdl::fast_reader_disagreement(text) {
        panic!("{d}");
    }
    match af_akash::sdl::convert(text) {
        Ok(c) => {
            serde_json::to_vec(&c).expect("a conversion serializes");
        }
        Err(e) => {
            let issues = e.issues();
            assert!(!issues.is_empty(), "a refusal names a problem");
            for i in issues {
                assert!(i.line >= 1 && i.column >= 1, "unplaced issue {i:?}");
            }
        }
    }
});

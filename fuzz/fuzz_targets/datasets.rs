//! See `acula_trainer::fuzzing::datasets`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acula_trainer::fuzzing::datasets(data));

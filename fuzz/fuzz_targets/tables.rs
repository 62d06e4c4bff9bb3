//! See `acula_trainer::fuzzing::tables`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acula_trainer::fuzzing::tables(data));

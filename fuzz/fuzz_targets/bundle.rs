//! See `acula_trainer::fuzzing::bundle`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acula_trainer::fuzzing::bundle(data));

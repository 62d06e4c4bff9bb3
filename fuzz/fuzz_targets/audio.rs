//! See `acula_trainer::fuzzing::audio`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acula_trainer::fuzzing::audio(data));

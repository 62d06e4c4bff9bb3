//! `acula synth`: synthetic auscultation recordings in the ICBHI and CirCor layouts.

/// A file at the root of every synthetic dataset; loaders mark such datasets as synthetic.
pub const MARKER: &str = "SYNTHETIC.txt";

//! The 60/20/20 split by subject that `acula export` (task heads) and `acula eval` (the probe's
//! subject split) both use: a subject's part is drawn from a seeded hash of a key naming it, so a
//! subject never sits on two sides and the split does not depend on the order of the records.

use crate::rng::Rng;

/// One part of a three-way split.
pub const TRAIN: usize = 0;
/// The validation part.
pub const VALIDATION: usize = 1;
/// The test part.
pub const TEST: usize = 2;

/// Which part (0 train, 60 %; 1 validation, 20 %; 2 test, 20 %) the item `key` (a string naming a
/// subject, e.g. `head-split-{subject}`) is in under `seed`.
pub fn part(seed: u64, key: &str) -> usize {
    let u = Rng::for_item(seed, key).uniform();
    if u < 0.6 {
        TRAIN
    } else if u < 0.8 {
        VALIDATION
    } else {
        TEST
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_stable_and_near_60_20_20() {
        let keys: Vec<String> = (0..1000).map(|i| format!("s{i}")).collect();
        let parts: Vec<usize> = keys.iter().map(|k| part(3, k)).collect();
        for (k, p) in keys.iter().zip(&parts) {
            assert_eq!(part(3, k), *p);
        }
        let n = |x: usize| parts.iter().filter(|p| **p == x).count();
        assert!((540..660).contains(&n(TRAIN)), "{}", n(TRAIN));
        assert!((150..250).contains(&n(VALIDATION)), "{}", n(VALIDATION));
        assert!((150..250).contains(&n(TEST)), "{}", n(TEST));
    }
}

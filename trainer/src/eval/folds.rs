//! How a task's units are split, always by subject: the dataset's official split where it has one,
//! leave-one-subject-out below a number of subjects (and for every regression task), else 60/20/20
//! by a hash of the subject ([`crate::data::split`]).

use serde::Serialize;

use super::tasks::Unit;
use crate::data::{self, split};

/// The folds of a task: regression tasks always leave one subject out (the protocol's
/// leave-one-subject-out MAE, official split or not); classification as [`folds`] decides.
pub(super) fn task_folds(
    mut keys: Vec<Key>,
    regression: bool,
    loso_below: usize,
) -> (Protocol, Vec<[Vec<usize>; 3]>) {
    if regression {
        for k in &mut keys {
            k.1 = None;
        }
        return folds(&keys, usize::MAX);
    }
    folds(&keys, loso_below)
}

/// How a task's units are split.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Protocol {
    /// The dataset's official train/validation/test split.
    Official,
    /// 60/20/20 by a hash of the subject.
    SubjectSplit,
    /// Leave one subject out (validation: 20 % of the other subjects).
    Loso,
}

/// Which part (0 train, 1 validation, 2 test) a subject is in, for 60/20/20 splits.
pub(crate) fn part(subject: &str, salt: &str) -> usize {
    split::part(0, &format!("eval-split-{salt}-{subject}"))
}

/// A unit's subject and official split: all that decides its fold.
pub(super) type Key<'a> = (&'a str, Option<data::Split>);

/// Folds of (train, validation, test) indices of `keys`.
pub(super) fn folds(keys: &[Key], loso_below: usize) -> (Protocol, Vec<[Vec<usize>; 3]>) {
    let official = !keys.is_empty() && keys.iter().all(|k| k.1.is_some());
    if official {
        let mut f: [Vec<usize>; 3] = Default::default();
        for (i, (_, split)) in keys.iter().enumerate() {
            let k = match split {
                Some(data::Split::Train) => 0,
                Some(data::Split::Val) => 1,
                _ => 2,
            };
            f[k].push(i);
        }
        // An official split without a validation part: take one from training, by subject.
        if f[1].is_empty() {
            let (tr, va): (Vec<usize>, Vec<usize>) =
                f[0].iter().partition(|&&i| part(keys[i].0, "val") != 1);
            f[0] = tr;
            f[1] = va;
        }
        return (Protocol::Official, vec![f]);
    }
    let mut subjects: Vec<&str> = keys.iter().map(|k| k.0).collect();
    subjects.sort_unstable();
    subjects.dedup();
    if subjects.len() < loso_below {
        let folds = subjects
            .iter()
            .map(|&held| {
                let mut f: [Vec<usize>; 3] = Default::default();
                for (i, (subject, _)) in keys.iter().enumerate() {
                    let k = if *subject == held {
                        2
                    } else if part(subject, held) == 2 {
                        1
                    } else {
                        0
                    };
                    f[k].push(i);
                }
                f
            })
            .collect();
        return (Protocol::Loso, folds);
    }
    let mut f: [Vec<usize>; 3] = Default::default();
    for (i, (subject, _)) in keys.iter().enumerate() {
        f[part(subject, "split")].push(i);
    }
    (Protocol::SubjectSplit, vec![f])
}

/// The fold keys of units.
pub(super) fn keys(units: &[Unit]) -> Vec<Key<'_>> {
    units
        .iter()
        .map(|u| (u.subject.as_str(), u.split))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use acula_core::Features;

    fn unit(subject: &str, split: Option<data::Split>) -> Unit {
        Unit {
            dataset: "d".into(),
            record_id: subject.into(),
            subject: subject.into(),
            label: 0,
            value: f64::NAN,
            split,
            features: Features {
                frames: 0,
                n_mels: 64,
                data: Vec::new(),
            },
        }
    }

    #[test]
    fn no_subject_sits_on_two_sides_of_any_fold() {
        let many: Vec<Unit> = (0..300)
            .map(|i| unit(&format!("s{}", i % 120), None))
            .collect();
        let few: Vec<Unit> = (0..40)
            .map(|i| unit(&format!("p{}", i % 20), None))
            .collect();
        for (units, want) in [(&many, 1usize), (&few, 20)] {
            let (_, folds) = folds(&keys(units), 60);
            assert_eq!(folds.len(), want);
            for f in &folds {
                let side = |k: usize| -> std::collections::BTreeSet<&str> {
                    f[k].iter().map(|&i| units[i].subject.as_str()).collect()
                };
                let (a, b, c) = (side(0), side(1), side(2));
                assert!(a.is_disjoint(&b) && a.is_disjoint(&c) && b.is_disjoint(&c));
                assert_eq!(f[0].len() + f[1].len() + f[2].len(), units.len());
            }
        }
        let official: Vec<Unit> = (0..10)
            .map(|i| {
                unit(
                    &format!("o{i}"),
                    Some(if i < 7 {
                        data::Split::Train
                    } else {
                        data::Split::Test
                    }),
                )
            })
            .collect();
        let (p, f) = folds(&keys(&official), 60);
        assert!(matches!(p, Protocol::Official));
        assert_eq!(f[0][2], vec![7, 8, 9]);
        assert!(!f[0][1].is_empty() || f[0][0].len() == 7);
    }
}

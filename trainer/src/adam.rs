//! Adam (Kingma & Ba, 2015) on one flat f64 parameter vector: the optimiser of the small linear
//! heads fitted in plain Rust (the export's task heads and the evaluation's linear probe).

/// Adam's moments and step count for a parameter vector of fixed length.
#[derive(Debug, Clone)]
pub struct Adam {
    m: Vec<f64>,
    v: Vec<f64>,
    t: i32,
}

impl Adam {
    /// First-moment decay.
    const B1: f64 = 0.9;
    /// Second-moment decay.
    const B2: f64 = 0.999;
    /// Added to the root of the second moment.
    const EPS: f64 = 1e-8;

    /// Zero moments for `len` parameters.
    pub fn new(len: usize) -> Self {
        Self {
            m: vec![0.0; len],
            v: vec![0.0; len],
            t: 0,
        }
    }

    /// One bias-corrected step of size `lr` along `grads`.
    pub fn step(&mut self, params: &mut [f64], grads: &[f64], lr: f64) {
        assert_eq!(params.len(), self.m.len(), "Adam: parameter count");
        assert_eq!(grads.len(), self.m.len(), "Adam: gradient count");
        self.t += 1;
        let (b1, b2) = (Self::B1, Self::B2);
        let (c1, c2) = (1.0 - b1.powi(self.t), 1.0 - b2.powi(self.t));
        for (((p, g), m), v) in params
            .iter_mut()
            .zip(grads)
            .zip(&mut self.m)
            .zip(&mut self.v)
        {
            *m = b1 * *m + (1.0 - b1) * g;
            *v = b2 * *v + (1.0 - b2) * g * g;
            *p -= lr * (*m / c1) / ((*v / c2).sqrt() + Self::EPS);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_step_moves_each_parameter_by_about_lr() {
        // Step 1: m̂ = g and v̂ = g², so the step is lr · g / (|g| + ε) ≈ lr · sign(g).
        let mut p = vec![1.0, 1.0, 1.0];
        let mut adam = Adam::new(3);
        adam.step(&mut p, &[2.0, -0.5, 0.0], 0.1);
        assert!((p[0] - 0.9).abs() < 1e-8, "{p:?}");
        assert!((p[1] - 1.1).abs() < 1e-7, "{p:?}");
        assert_eq!(p[2], 1.0);
    }

    #[test]
    fn it_minimises_a_quadratic() {
        // f(p) = (p − 3)², gradient 2 (p − 3).
        let mut p = vec![0.0];
        let mut adam = Adam::new(1);
        for _ in 0..2000 {
            let g = [2.0 * (p[0] - 3.0)];
            adam.step(&mut p, &g, 0.05);
        }
        assert!((p[0] - 3.0).abs() < 1e-3, "{p:?}");
    }
}

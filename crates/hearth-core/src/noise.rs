//! Exact discrete Gaussian noise for the counts a group shares.
//!
//! The sampler follows Canonne, Kamath and Steinke, "The Discrete Gaussian for Differential
//! Privacy" (NeurIPS 2020), Algorithms 1–3: every step is a Bernoulli trial with a *rational*
//! probability decided by comparing a uniformly drawn integer, so no floating-point number is
//! ever involved and the output distribution is exactly N_Z(0, σ²). Floating-point samplers
//! such as `-b·ln(U)` leak through the gaps in their output (Mironov 2012); this one has none.
//!
//! The random source is a parameter: production passes the operating system's generator, tests
//! a seeded one so statistical tests are repeatable. Only cryptographic generators are accepted.

use rand_core::{CryptoRng, RngCore};

/// σ in tenths, so that σ² is the exact rational `tenths² / 100`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sigma(u32);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("σ must be from 1.0 to 1000.0 in steps of 0.1")]
pub struct BadSigma;

impl Sigma {
    pub fn from_tenths(tenths: u32) -> Result<Self, BadSigma> {
        if (10..=10_000).contains(&tenths) {
            Ok(Sigma(tenths))
        } else {
            Err(BadSigma)
        }
    }
    pub fn tenths(self) -> u32 {
        self.0
    }
    pub fn as_f64(self) -> f64 {
        f64::from(self.0) / 10.0
    }
    /// σ² as a fraction (numerator, denominator).
    fn variance(self) -> (u128, u128) {
        (u128::from(self.0) * u128::from(self.0), 100)
    }
}

impl std::fmt::Display for Sigma {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.0 / 10, self.0 % 10)
    }
}

/// A uniformly distributed integer in `0..n` (n > 0), by rejection: exact for any n.
fn uniform_below<R: RngCore + CryptoRng>(rng: &mut R, n: u128) -> u128 {
    debug_assert!(n > 0);
    if n == 1 {
        return 0;
    }
    let bits = 128 - (n - 1).leading_zeros();
    let mask = if bits == 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    };
    loop {
        let v = ((u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64())) & mask;
        if v < n {
            return v;
        }
    }
}

/// True with probability num/den (num ≤ den, den > 0).
fn bernoulli<R: RngCore + CryptoRng>(rng: &mut R, num: u128, den: u128) -> bool {
    uniform_below(rng, den) < num
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// True with probability exp(−num/den) (Algorithm 1).
fn bernoulli_exp<R: RngCore + CryptoRng>(rng: &mut R, num: u128, den: u128) -> bool {
    let g = gcd(num, den).max(1);
    let (num, den) = (num / g, den / g);
    if num <= den {
        // exp(−γ) for γ ≤ 1: count the run of Bernoulli(γ/k) successes; an odd stop is true.
        let mut k: u128 = 1;
        loop {
            let Some(d) = den.checked_mul(k) else {
                // Unreachable in practice (k grows like a Poisson count); stopping here
                // biases by less than γ^k/k!, far below anything measurable.
                return k % 2 == 1;
            };
            if !bernoulli(rng, num, d) {
                return k % 2 == 1;
            }
            k += 1;
        }
    } else {
        for _ in 0..num / den {
            if !bernoulli_exp(rng, 1, 1) {
                return false;
            }
        }
        bernoulli_exp(rng, num % den, den)
    }
}

/// Discrete Laplace with scale t: P(y) ∝ exp(−|y|/t) (Algorithm 2 with s = 1).
fn discrete_laplace<R: RngCore + CryptoRng>(rng: &mut R, t: u128) -> i128 {
    loop {
        let u = uniform_below(rng, t);
        if !bernoulli_exp(rng, u, t) {
            continue;
        }
        let mut v: u128 = 0;
        while bernoulli_exp(rng, 1, 1) {
            v += 1;
        }
        let x = u + t * v;
        let negative = bernoulli(rng, 1, 2);
        if negative && x == 0 {
            continue;
        }
        let x = i128::try_from(x).unwrap_or(i128::MAX);
        return if negative { -x } else { x };
    }
}

/// One draw from the discrete Gaussian N_Z(0, σ²) (Algorithm 3).
pub fn discrete_gaussian<R: RngCore + CryptoRng>(rng: &mut R, sigma: Sigma) -> i64 {
    let (var_num, var_den) = sigma.variance();
    let t = u128::from(sigma.0 / 10) + 1;
    loop {
        let y = discrete_laplace(rng, t);
        // Accept with probability exp(−(|y| − σ²/t)² / (2σ²)), as an exact fraction:
        // (|y|·den·t − num)² / (2·num·den·t²).
        let abs = y.unsigned_abs();
        let Some(scaled) = abs.checked_mul(var_den * t) else {
            continue; // |y| beyond 10^30: acceptance probability is 0 to any precision.
        };
        let diff = scaled.abs_diff(var_num);
        let Some(num) = diff.checked_mul(diff) else {
            continue;
        };
        let den = 2 * var_num * var_den * t * t;
        if bernoulli_exp(rng, num, den) {
            return i64::try_from(y).unwrap_or(0);
        }
    }
}

/// The exact probability of `x` under N_Z(0, σ²), for tests and for showing people what the
/// noise looks like. Floating point is fine here: nothing is sampled from it.
pub fn discrete_gaussian_pmf(sigma: Sigma, x: i64) -> f64 {
    let s2 = sigma.as_f64().powi(2);
    let w = |k: f64| (-k * k / (2.0 * s2)).exp();
    let bound = (sigma.as_f64() * 40.0).ceil() as i64;
    let norm: f64 = (-bound..=bound).map(|k| w(k as f64)).sum();
    w(x as f64) / norm
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn rng(seed: u64) -> StdRng {
        StdRng::seed_from_u64(seed)
    }

    #[test]
    fn sigma_is_bounded() {
        assert!(Sigma::from_tenths(9).is_err());
        assert!(Sigma::from_tenths(10_001).is_err());
        assert_eq!(Sigma::from_tenths(65).unwrap().to_string(), "6.5");
    }

    #[test]
    fn uniform_below_covers_its_range_evenly() {
        let mut r = rng(1);
        let mut counts = [0u32; 7];
        for _ in 0..70_000 {
            counts[uniform_below(&mut r, 7) as usize] += 1;
        }
        for c in counts {
            assert!((9_500..10_500).contains(&c), "{counts:?}");
        }
    }

    #[test]
    fn bernoulli_exp_matches_its_probability() {
        let n = 200_000;
        for (num, den) in [(0u128, 1u128), (3, 10), (1, 1), (27, 10), (9, 2)] {
            let mut r = rng(num as u64 * 31 + den as u64);
            let hits = (0..n).filter(|_| bernoulli_exp(&mut r, num, den)).count();
            let p = (-(num as f64) / den as f64).exp();
            let sd = (p * (1.0 - p) / n as f64).sqrt().max(1e-9);
            let got = hits as f64 / n as f64;
            assert!(
                (got - p).abs() < 5.0 * sd + 1e-9,
                "exp(-{num}/{den}) = {p}, got {got}"
            );
        }
    }

    #[test]
    fn discrete_laplace_has_its_distribution() {
        let t = 3u128;
        let n = 200_000;
        let mut r = rng(7);
        let mut zero = 0usize;
        let mut one = 0usize;
        let mut sum = 0i128;
        for _ in 0..n {
            let y = discrete_laplace(&mut r, t);
            sum += y;
            zero += usize::from(y == 0);
            one += usize::from(y == 1);
        }
        // P(0) = (1 − e^(−1/t)) / (1 + e^(−1/t)); P(1) = P(0)·e^(−1/t).
        let q = (-1.0 / t as f64).exp();
        let p0 = (1.0 - q) / (1.0 + q);
        assert!(((zero as f64 / n as f64) - p0).abs() < 0.005, "{zero}");
        assert!(((one as f64 / n as f64) - p0 * q).abs() < 0.005, "{one}");
        assert!((sum as f64 / n as f64).abs() < 0.05);
    }

    /// The samples fit the exact pmf (chi-square over every value with expected count ≥ 20),
    /// have integer support, mean 0 and variance σ².
    #[test]
    fn discrete_gaussian_matches_its_pmf_mean_and_variance() {
        for (tenths, seed) in [(65u32, 11u64), (130, 12), (25, 13)] {
            let sigma = Sigma::from_tenths(tenths).unwrap();
            let n = 100_000usize;
            let mut r = rng(seed);
            let mut hist = std::collections::BTreeMap::<i64, usize>::new();
            let (mut sum, mut sq) = (0f64, 0f64);
            for _ in 0..n {
                let x = discrete_gaussian(&mut r, sigma);
                *hist.entry(x).or_default() += 1;
                sum += x as f64;
                sq += (x as f64).powi(2);
            }
            let mean = sum / n as f64;
            let var = sq / n as f64 - mean * mean;
            let s2 = sigma.as_f64().powi(2);
            assert!(
                mean.abs() < 4.0 * (s2 / n as f64).sqrt(),
                "σ={sigma} mean {mean}"
            );
            // The variance of a sample variance is about 2σ⁴/n.
            let tol = 5.0 * (2.0 * s2 * s2 / n as f64).sqrt();
            assert!((var - s2).abs() < tol, "σ={sigma} variance {var} vs {s2}");

            let mut chi = 0.0;
            let mut cells = 0;
            let (mut tail_seen, mut tail_expected) = (0f64, 0f64);
            let bound = (sigma.as_f64() * 12.0) as i64;
            for x in -bound..=bound {
                let expected = discrete_gaussian_pmf(sigma, x) * n as f64;
                let seen = *hist.get(&x).unwrap_or(&0) as f64;
                if expected >= 20.0 {
                    chi += (seen - expected).powi(2) / expected;
                    cells += 1;
                } else {
                    tail_seen += seen;
                    tail_expected += expected;
                }
            }
            if tail_expected > 0.0 {
                chi += (tail_seen - tail_expected).powi(2) / tail_expected.max(1.0);
                cells += 1;
            }
            // Critical value at p = 0.001 is below df + 4·√(2·df) for these sizes.
            let df = f64::from(cells - 1);
            let critical = df + 4.0 * (2.0 * df).sqrt();
            assert!(
                chi < critical,
                "σ={sigma}: χ²={chi:.1} over {cells} cells, limit {critical:.1}"
            );
            assert!(hist.keys().all(|x| x.abs() < 40 * i64::from(tenths) / 10));
        }
    }

    #[test]
    fn the_pmf_sums_to_one() {
        let s = Sigma::from_tenths(65).unwrap();
        let total: f64 = (-300..=300).map(|x| discrete_gaussian_pmf(s, x)).sum();
        assert!((total - 1.0).abs() < 1e-9);
    }
}

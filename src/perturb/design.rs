//! [`Sampling`]: how the masks of one level are drawn jointly.
//!
//! Every design keeps each segment with probability `p` (the perturber's
//! keep probability) in every row taken alone; they differ in how rows and
//! columns relate. Row 0 is always the unperturbed image; the designs fill
//! rows `1..n` (`m = n − 1` rows). All draw from the level's seeded stream,
//! so a design is as reproducible as the paper's sampling.

use ndarray::Array2;
use rand::distr::{Bernoulli, Distribution};
use rand::seq::SliceRandom;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};

/// How a level's masks are drawn (see `docs/guide.md` §9 for which to use,
/// `docs/sampling.md` for the measurements).
///
/// The enum's `Default` is [`Independent`](Sampling::Independent), the
/// paper's; the explainer's default (`Preset::Recommended`) is
/// [`Orthogonal`](Sampling::Orthogonal).
///
/// ```
/// use multiscale_lime::perturb::Sampling;
/// use multiscale_lime::{BernoulliPerturber, Perturber};
/// use rand::SeedableRng;
///
/// let p = BernoulliPerturber::default().with_sampling(Sampling::Antithetic)?;
/// let z = p.masks(4, 9, &mut rand_chacha::ChaCha8Rng::seed_from_u64(1))?;
/// for pair in 0..4 {
///     let (a, b) = (z.row(1 + 2 * pair), z.row(2 + 2 * pair));
///     assert!(a.iter().zip(b).all(|(x, y)| x + y == 1)); // complements
/// }
/// # Ok::<(), multiscale_lime::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Sampling {
    /// Every entry an independent coin (LIME's and the paper's sampling).
    #[default]
    Independent,
    /// Pairs: each independent mask followed by its complement (KernelSHAP's
    /// paired sampling; a two-level design's *fold-over*). Every segment is
    /// hidden in exactly half the rows of a pair, and a pair's difference
    /// cancels the even-order interactions between segments, which separates
    /// main effects from pairwise interactions. Needs `p = ½`.
    Antithetic,
    /// Each segment kept in exactly `round(p·m)` of the `m` rows, placed by
    /// an independent random permutation per segment (Latin-hypercube-like):
    /// no segment's share of kept rows deviates from `p` by chance.
    Balanced,
    /// Randomised two-level orthogonal arrays: blocks of a Sylvester–Hadamard
    /// matrix of `N ≥ s'+1` rows, each block's `s'` columns picked at random
    /// among its `N − 1` balanced ones and randomly complemented, rows
    /// shuffled, each row followed by its complement (a fold-over, which
    /// separates main effects from pairwise interactions). A design of
    /// fewer than `2N` rows (`2N` is 2 to 4 samples per segment, as `s'`
    /// falls between powers of two) starts with an unfolded block instead,
    /// `N` distinct rows: a part of a folded block would hold fewer,
    /// leaving some segments nearly confounded. In a whole block every pair
    /// of segments is uncorrelated and every segment kept in exactly half
    /// the rows. Needs `p = ½`.
    Orthogonal,
}

impl std::fmt::Display for Sampling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Sampling {
    type Err = Error;

    /// Parses [`name`](Sampling::name)'s spelling.
    fn from_str(s: &str) -> Result<Self> {
        Sampling::ALL
            .into_iter()
            .find(|d| d.name() == s)
            .ok_or_else(|| {
                Error::invalid(
                    "sampling",
                    s,
                    "independent, antithetic, balanced or orthogonal",
                )
            })
    }
}

impl Sampling {
    /// Every design, in the order of the table in `docs/sampling.md`.
    pub const ALL: [Sampling; 4] = [
        Sampling::Independent,
        Sampling::Antithetic,
        Sampling::Balanced,
        Sampling::Orthogonal,
    ];

    /// The design's name, as the command line spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Sampling::Independent => "independent",
            Sampling::Antithetic => "antithetic",
            Sampling::Balanced => "balanced",
            Sampling::Orthogonal => "orthogonal",
        }
    }

    /// Whether the design needs a keep probability of exactly ½.
    pub fn needs_half(&self) -> bool {
        matches!(self, Sampling::Antithetic | Sampling::Orthogonal)
    }

    /// Checks that the design can use keep probability `p`.
    pub(crate) fn check(&self, p: f64) -> Result<()> {
        if self.needs_half() && p != 0.5 {
            return Err(Error::invalid(
                "keep_probability",
                p,
                "0.5 for antithetic and orthogonal sampling (a complement keeps 1 − p)",
            ));
        }
        Ok(())
    }

    /// Draws `samples × segments` masks, row 0 all ones.
    pub(crate) fn draw(
        &self,
        p: f64,
        segments: usize,
        samples: usize,
        rng: &mut ChaCha8Rng,
    ) -> Result<Array2<u8>> {
        self.check(p)?;
        let coin =
            Bernoulli::new(p).map_err(|_| Error::invalid("keep_probability", p, "in (0, 1)"))?;
        let mut z = Array2::<u8>::ones((samples, segments));
        if samples <= 1 || segments == 0 {
            return Ok(z);
        }
        match self {
            Sampling::Independent => {
                for mut row in z.rows_mut().into_iter().skip(1) {
                    for v in row.iter_mut() {
                        *v = u8::from(coin.sample(rng));
                    }
                }
            }
            Sampling::Antithetic => {
                let mut row = 1;
                while row < samples {
                    for c in 0..segments {
                        let v = u8::from(coin.sample(rng));
                        z[[row, c]] = v;
                        if row + 1 < samples {
                            z[[row + 1, c]] = 1 - v;
                        }
                    }
                    row += 2;
                }
            }
            Sampling::Balanced => {
                let m = samples - 1;
                let kept = ((p * m as f64).round() as usize).min(m);
                let mut column: Vec<u8> = (0..m).map(|i| u8::from(i < kept)).collect();
                for c in 0..segments {
                    column.shuffle(rng);
                    for (i, &v) in column.iter().enumerate() {
                        z[[1 + i, c]] = v;
                    }
                }
            }
            Sampling::Orthogonal => orthogonal(&mut z, rng),
        }
        Ok(z)
    }
}

/// Fills rows `1..` of `z` with randomised Hadamard blocks, folded over
/// unless the design is too short for one whole folded block (`2N` rows),
/// when its first block is unfolded.
fn orthogonal(z: &mut Array2<u8>, rng: &mut ChaCha8Rng) {
    let (samples, segments) = z.dim();
    // N rows and N − 1 balanced columns (column 0 of H is constant).
    let size = (segments + 1).next_power_of_two().max(2);
    let mut row = 1;
    let mut columns: Vec<usize> = (1..size).collect();
    let mut rows: Vec<usize> = (0..size).collect();
    while row < samples {
        // A design too short for one whole folded block starts unfolded:
        // a part of a folded block holds fewer than N distinct rows, so
        // some segments' columns nearly coincide and their coefficients
        // swing with the seed, where N distinct rows keep every pair of
        // segments uncorrelated. Once a block is whole, the rest fold.
        let folded = row > 1 || samples - row >= 2 * size;
        // Partial Fisher–Yates: the first `segments` entries become a
        // uniformly random choice of distinct columns.
        for i in 0..segments {
            let j = rng.random_range(i..columns.len());
            columns.swap(i, j);
        }
        let flips: Vec<u8> = (0..segments)
            .map(|_| u8::from(rng.random::<bool>()))
            .collect();
        rows.shuffle(rng);
        for &r in &rows {
            if row >= samples {
                break;
            }
            for c in 0..segments {
                // Sylvester: H[r][col] = (−1)^popcount(r & col); +1 ↦ kept.
                let v = u8::from((r & columns[c]).count_ones().is_multiple_of(2)) ^ flips[c];
                z[[row, c]] = v;
                if folded && row + 1 < samples {
                    z[[row + 1, c]] = 1 - v;
                }
            }
            row += if folded { 2 } else { 1 };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn draw(s: Sampling, k: usize, n: usize, seed: u64) -> Array2<u8> {
        s.draw(0.5, k, n, &mut ChaCha8Rng::seed_from_u64(seed))
            .unwrap()
    }

    #[test]
    fn row_zero_is_all_ones_and_entries_are_binary() {
        for s in Sampling::ALL {
            for (k, n) in [(1, 1), (1, 2), (3, 10), (17, 171), (40, 33)] {
                let z = draw(s, k, n, 3);
                assert_eq!(z.dim(), (n, k));
                assert!(z.row(0).iter().all(|&v| v == 1), "{s:?}");
                assert!(z.iter().all(|&v| v <= 1), "{s:?}");
            }
        }
    }

    #[test]
    fn independent_is_the_perturbers_original_stream() {
        // The paper's design draws row by row from the same coin: seeds give
        // the masks they gave before designs existed.
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let coin = Bernoulli::new(0.5).unwrap();
        let mut expected = Array2::<u8>::ones((20, 7));
        for mut row in expected.rows_mut().into_iter().skip(1) {
            for v in row.iter_mut() {
                *v = u8::from(coin.sample(&mut rng));
            }
        }
        assert_eq!(draw(Sampling::Independent, 7, 20, 9), expected);
    }

    #[test]
    fn antithetic_rows_come_in_complementary_pairs() {
        let z = draw(Sampling::Antithetic, 13, 131, 1);
        for pair in 0..65 {
            let (a, b) = (z.row(1 + 2 * pair), z.row(2 + 2 * pair));
            assert!(a.iter().zip(b).all(|(x, y)| x + y == 1));
        }
    }

    #[test]
    fn balanced_columns_keep_exactly_their_share() {
        for p in [0.5, 0.3] {
            let z = Sampling::Balanced
                .draw(p, 9, 101, &mut ChaCha8Rng::seed_from_u64(4))
                .unwrap();
            let kept = (p * 100.0f64).round() as usize;
            for c in z.columns() {
                assert_eq!(c.iter().skip(1).filter(|&&v| v == 1).count(), kept);
            }
        }
    }

    #[test]
    fn orthogonal_blocks_are_balanced_and_uncorrelated() {
        // 5 segments → N = 8: one whole folded block is 16 rows after row
        // 0, then the first 5 pairs of another.
        let z = draw(Sampling::Orthogonal, 5, 27, 2);
        let pm = |v: u8| if v == 1 { 1i32 } else { -1 };
        for a in 0..5 {
            let col: Vec<i32> = (1..17).map(|r| pm(z[[r, a]])).collect();
            assert_eq!(col.iter().sum::<i32>(), 0, "column {a} balanced");
            for b in 0..a {
                let dot: i32 = (1..17).map(|r| pm(z[[r, a]]) * pm(z[[r, b]])).sum();
                assert_eq!(dot, 0, "columns {a} and {b} orthogonal");
            }
        }
        for pair in 0..13 {
            let (a, b) = (z.row(1 + 2 * pair), z.row(2 + 2 * pair));
            assert!(a.iter().zip(b).all(|(x, y)| x + y == 1));
        }
    }

    #[test]
    fn orthogonal_shorter_than_a_folded_block_starts_unfolded() {
        // 2 samples per segment for 7 segments: 13 rows after row 0,
        // N = 8 < 2N = 16: 8 distinct rows of a whole unfolded block, then
        // the first 2 pairs and a half of a folded one.
        let z = draw(Sampling::Orthogonal, 7, 14, 3);
        let pm = |v: u8| if v == 1 { 1i32 } else { -1 };
        for a in 0..7 {
            let col: i32 = (1..9).map(|r| pm(z[[r, a]])).sum();
            assert_eq!(col, 0, "column {a} balanced over the first block");
            for b in 0..a {
                let dot: i32 = (1..9).map(|r| pm(z[[r, a]]) * pm(z[[r, b]])).sum();
                assert_eq!(
                    dot, 0,
                    "columns {a} and {b} orthogonal over the first block"
                );
            }
        }
        let rows: Vec<Vec<u8>> = (1..9).map(|r| z.row(r).to_vec()).collect();
        for (i, a) in rows.iter().enumerate() {
            for b in &rows[i + 1..] {
                assert_ne!(a, b, "distinct rows");
            }
        }
        for pair in 0..2 {
            let (a, b) = (z.row(9 + 2 * pair), z.row(10 + 2 * pair));
            assert!(a.iter().zip(b).all(|(x, y)| x + y == 1));
        }
    }

    /// The design as it was before short designs started unfolded: every
    /// block folded over.
    fn always_folded(segments: usize, samples: usize, seed: u64) -> Array2<u8> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut z = Array2::<u8>::ones((samples, segments));
        let size = (segments + 1).next_power_of_two().max(2);
        let (mut columns, mut rows): (Vec<usize>, Vec<usize>) =
            ((1..size).collect(), (0..size).collect());
        let mut row = 1;
        while row < samples {
            for i in 0..segments {
                let j = rng.random_range(i..columns.len());
                columns.swap(i, j);
            }
            let flips: Vec<u8> = (0..segments)
                .map(|_| u8::from(rng.random::<bool>()))
                .collect();
            rows.shuffle(&mut rng);
            for &r in &rows {
                if row >= samples {
                    break;
                }
                for c in 0..segments {
                    let v = u8::from((r & columns[c]).count_ones().is_multiple_of(2)) ^ flips[c];
                    z[[row, c]] = v;
                    if row + 1 < samples {
                        z[[row + 1, c]] = 1 - v;
                    }
                }
                row += 2;
            }
        }
        z
    }

    #[test]
    fn orthogonal_designs_with_room_for_a_folded_block_are_unchanged() {
        // N = 8, 16, 32: 2N + 1 rows and more keep every block folded.
        for (k, n) in [(5, 17), (5, 40), (9, 33), (9, 90), (17, 65), (20, 100)] {
            for seed in [1, 7] {
                assert_eq!(
                    draw(Sampling::Orthogonal, k, n, seed),
                    always_folded(k, n, seed),
                    "{k} segments, {n} samples"
                );
            }
        }
        // One row short of a folded block: a different, unfolded start.
        assert_ne!(
            draw(Sampling::Orthogonal, 5, 16, 1),
            always_folded(5, 16, 1)
        );
    }

    #[test]
    fn designs_are_reproducible_and_seeded() {
        for s in Sampling::ALL {
            assert_eq!(draw(s, 11, 60, 5), draw(s, 11, 60, 5));
            assert_ne!(draw(s, 11, 60, 5), draw(s, 11, 60, 6), "{s:?}");
        }
    }

    #[test]
    fn designs_that_need_half_refuse_other_probabilities() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        assert!(Sampling::Antithetic.draw(0.3, 3, 5, &mut rng).is_err());
        assert!(Sampling::Orthogonal.draw(0.3, 3, 5, &mut rng).is_err());
        assert!(Sampling::Balanced.draw(0.3, 3, 5, &mut rng).is_ok());
    }
}

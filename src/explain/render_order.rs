//! The order in which a level's perturbed images are rendered.
//!
//! Batches are rendered into a reused buffer, and a slot that held one of the
//! level's images in the previous batch is redrawn only where the segments'
//! mask entries differ. Random masks differ in about half their entries.
//! Walking the samples along a greedy nearest-neighbour path (Hamming
//! distance of the masks) and giving each slot a consecutive piece of that
//! path cuts the redrawn area by about a third (docs/performance.md has the
//! measured figure).

use ndarray::ArrayView2;

/// Candidates examined per step of the path: among random masks that finds
/// a near neighbour (nearly as near as with every remaining sample a
/// candidate), and keeps the cost linear in the sample count.
const CANDIDATES: usize = 128;

/// A permutation of the mask rows: batch `t` of `batch` images renders rows
/// `order[t·batch..(t+1)·batch]`, and each slot's rows in successive batches
/// are neighbours on the path. Row 0 (the unperturbed image) comes first.
pub(crate) fn render_order(masks: ArrayView2<'_, u8>, batch: usize) -> Vec<usize> {
    let n = masks.nrows();
    let batch = batch.max(1);
    // One batch renders every slot afresh: no order helps.
    if n <= batch {
        return (0..n).collect();
    }
    let words = masks.ncols().div_ceil(64).max(1);
    let mut bits = vec![0u64; n * words];
    for (row, packed) in masks.rows().into_iter().zip(bits.chunks_exact_mut(words)) {
        let owned;
        let row = match row.as_slice() {
            Some(row) => row,
            None => {
                owned = row.to_vec();
                &owned
            }
        };
        for (word, entries) in packed.iter_mut().zip(row.chunks(64)) {
            *word = entries
                .iter()
                .enumerate()
                .fold(0, |acc, (j, &m)| acc | (u64::from(m != 0) << j));
        }
    }
    let path = nearest_neighbour_path(&bits, words);
    // Slot j takes the next `jobs` (or, past the last batch's rows,
    // `jobs − 1`) samples of the path.
    let jobs = n.div_ceil(batch);
    let last = n - (jobs - 1) * batch;
    let mut order = vec![0; n];
    let mut next = path.into_iter();
    for slot in 0..batch {
        let len = if slot < last { jobs } else { jobs - 1 };
        for (t, row) in (0..len).zip(&mut next) {
            order[t * batch + slot] = row;
        }
    }
    order
}

/// Greedy path from row 0: each step moves to the nearest of the first
/// `CANDIDATES` rows not yet visited (ties: the first one examined).
fn nearest_neighbour_path(bits: &[u64], words: usize) -> Vec<usize> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("popcnt") {
        // SAFETY: the CPU has POPCNT (checked just above); the feature only
        // changes how `count_ones` is computed, not its result.
        return unsafe { nearest_neighbour_path_popcnt(bits, words) };
    }
    nearest_neighbour_path_portable(bits, words)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
fn nearest_neighbour_path_popcnt(bits: &[u64], words: usize) -> Vec<usize> {
    nearest_neighbour_path_portable(bits, words)
}

#[inline(always)]
fn nearest_neighbour_path_portable(bits: &[u64], words: usize) -> Vec<usize> {
    let n = bits.len() / words;
    // Up to 128 segments (most levels), the distance in fixed-width code.
    match words {
        1 => greedy_path(n, |a, b| (bits[a] ^ bits[b]).count_ones()),
        2 => {
            let rows = bits.as_chunks::<2>().0;
            greedy_path(n, |a, b| {
                let (a, b) = (rows[a], rows[b]);
                (a[0] ^ b[0]).count_ones() + (a[1] ^ b[1]).count_ones()
            })
        }
        _ => greedy_path(n, |a, b| {
            let (a, b) = (&bits[a * words..][..words], &bits[b * words..][..words]);
            a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
        }),
    }
}

#[inline(always)]
fn greedy_path(n: usize, distance: impl Fn(usize, usize) -> u32) -> Vec<usize> {
    let mut path = Vec::with_capacity(n);
    // Reversed, so that `swap_remove` refills the candidates from the end.
    let mut left: Vec<usize> = (1..n).rev().collect();
    let mut current = 0;
    path.push(current);
    while !left.is_empty() {
        let mut best = (u32::MAX, 0);
        for (pos, &candidate) in left.iter().take(CANDIDATES).enumerate() {
            let d = distance(current, candidate);
            if d < best.0 {
                best = (d, pos);
            }
        }
        current = left.swap_remove(best.1);
        path.push(current);
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use proptest::prelude::*;
    use rand::{RngExt, SeedableRng};

    fn random_masks(n: usize, k: usize, seed: u64) -> Array2<u8> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut m = Array2::from_shape_fn((n, k), |_| u8::from(rng.random::<bool>()));
        m.row_mut(0).fill(1);
        m
    }

    /// Mask entries that change from each slot's row to its row in the next
    /// batch, summed over the level.
    fn redrawn(masks: &Array2<u8>, order: &[usize], batch: usize) -> usize {
        (batch..order.len())
            .map(|i| {
                let (a, b) = (masks.row(order[i]), masks.row(order[i - batch]));
                a.iter().zip(b.iter()).filter(|(x, y)| x != y).count()
            })
            .sum()
    }

    proptest! {
        #[test]
        fn is_a_permutation_starting_at_the_image(
            n in 1usize..300,
            k in 1usize..150,
            batch in 1usize..70,
            seed in any::<u64>(),
        ) {
            let masks = random_masks(n, k, seed);
            let order = render_order(masks.view(), batch);
            let mut sorted = order.clone();
            sorted.sort_unstable();
            prop_assert_eq!(sorted, (0..masks.nrows()).collect::<Vec<_>>());
            prop_assert_eq!(order[0], 0);
        }
    }

    #[test]
    fn redraws_fewer_segments_than_sample_order() {
        for (n, k, batch) in [(690, 69, 4), (290, 29, 37), (1000, 150, 1)] {
            let masks = random_masks(n, k, 11);
            let identity: Vec<usize> = (0..n).collect();
            let before = redrawn(&masks, &identity, batch);
            let after = redrawn(&masks, &render_order(masks.view(), batch), batch);
            // Random rows differ in about half their entries; near
            // neighbours among 128 candidates in far fewer.
            assert!(
                after * 10 < before * 8,
                "n {n} k {k} batch {batch}: {after} vs {before}"
            );
        }
    }

    #[test]
    fn single_batch_keeps_sample_order() {
        let masks = random_masks(10, 5, 1);
        assert_eq!(render_order(masks.view(), 10), (0..10).collect::<Vec<_>>());
    }
}

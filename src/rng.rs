//! Seeding: one user seed, one independent ChaCha8 stream per level.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The generator for `level`: the user seed with the level index as the
/// ChaCha stream, so a level's masks do not depend on the other levels, the
/// thread count or the batch size.
pub(crate) fn level_rng(seed: u64, level: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(level as u64);
    rng
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn streams_differ_and_repeat() {
        let a: Vec<u64> = (0..4).map(|_| level_rng(7, 0).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(level_rng(7, 0).next_u64(), level_rng(7, 1).next_u64());
        assert_ne!(level_rng(7, 0).next_u64(), level_rng(8, 0).next_u64());
    }
}

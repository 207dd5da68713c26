//! A small seeded generator (SplitMix64): the same seed gives the same samples on every platform
//! and release, which a generator from a crate that may change its algorithm cannot promise.

#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// A stream of its own for `label` (a schedule's name), independent of the order of others.
    pub(crate) fn derived(seed: u64, label: &str) -> Self {
        // FNV-1a of the label, mixed with the seed.
        let hash = label.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        let mut mixer = Self(seed ^ hash);
        Self(mixer.next_u64())
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform on `[0, bound)` (Lemire's multiply-shift; its bias is below 2^-64 per draw for the
    /// bounds used here, years in milliseconds); 0 for a bound of 0.
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_stream_and_another_seed_another() {
        let draw = |seed| {
            let mut rng = SplitMix64::new(seed);
            (0..4).map(|_| rng.below(1000)).collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
    }

    #[test]
    fn draws_stay_below_the_bound_and_fill_it_evenly() {
        let mut rng = SplitMix64::new(1);
        let mut counts = [0u32; 10];
        for _ in 0..100_000 {
            let value = rng.below(10);
            counts[value as usize] += 1;
        }
        // 10,000 expected per bucket; the binomial standard deviation is 95, so 5 sigma is 475.
        assert!(
            counts.iter().all(|count| count.abs_diff(10_000) < 475),
            "{counts:?}"
        );
    }
}

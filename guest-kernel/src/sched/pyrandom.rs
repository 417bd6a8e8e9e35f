//! Python's `random` module, exactly: the Mersenne Twister MT19937 seeded
//! the way CPython seeds it from an integer, and `random.random()`.
//!
//! OSTEP's `lottery.py -s S` draws its lottery with `random.seed(S)` and
//! `random.random()`; with the same seed the kernel's lottery makes the same
//! draws, so a homework answer can be checked on the real kernel.
//! (`random.seed(S, version=1)`, which lottery.py tries first, seeds an
//! integer the same way.)

const N: usize = 624;
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER: u32 = 0x8000_0000;
const LOWER: u32 = 0x7fff_ffff;

pub struct PyRandom {
    mt: [u32; N],
    index: usize,
}

impl PyRandom {
    /// `random.seed(seed)`: CPython splits the integer's absolute value into
    /// 32-bit words, least significant first (zero is one word, 0), and
    /// seeds with MT19937's `init_by_array`.
    pub fn new(seed: u64) -> Self {
        let words = [seed as u32, (seed >> 32) as u32];
        let key = if seed >> 32 == 0 { &words[..1] } else { &words };
        let mut r = PyRandom {
            mt: [0; N],
            index: N,
        };
        r.init_by_array(key);
        r
    }

    fn init_genrand(&mut self, s: u32) {
        self.mt[0] = s;
        for i in 1..N {
            let prev = self.mt[i - 1];
            self.mt[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        self.index = N;
    }

    fn init_by_array(&mut self, key: &[u32]) {
        self.init_genrand(19_650_218);
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..N.max(key.len()) {
            let prev = self.mt[i - 1];
            self.mt[i] = (self.mt[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_664_525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                self.mt[0] = self.mt[N - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            let prev = self.mt[i - 1];
            self.mt[i] = (self.mt[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_566_083_941))
                .wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                self.mt[0] = self.mt[N - 1];
                i = 1;
            }
        }
        self.mt[0] = 0x8000_0000;
    }

    fn twist(&mut self) {
        for k in 0..N {
            let y = (self.mt[k] & UPPER) | (self.mt[(k + 1) % N] & LOWER);
            let mag = if y & 1 == 1 { MATRIX_A } else { 0 };
            self.mt[k] = self.mt[(k + M) % N] ^ (y >> 1) ^ mag;
        }
        self.index = 0;
    }

    /// MT19937's next 32-bit output.
    pub fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            self.twist();
        }
        let mut y = self.mt[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `random.random()`: 53 random bits (27 from one output, 26 from the
    /// next) as a float in [0, 1).
    pub fn random(&mut self) -> f64 {
        let a = (self.next_u32() >> 5) as f64;
        let b = (self.next_u32() >> 6) as f64;
        (a * 67_108_864.0 + b) * (1.0 / 9_007_199_254_740_992.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values printed by CPython 3: `random.seed(S)` then
    /// `[int(random.random() * 1000001) for _ in range(5)]`, the numbers
    /// `lottery.py -s S` prints as "Random ...".
    #[test]
    fn draws_equal_cpythons() {
        for (seed, want) in EXPECTED {
            let mut r = PyRandom::new(*seed);
            let got: Vec<u64> = (0..5).map(|_| (r.random() * 1_000_001.0) as u64).collect();
            assert_eq!(&got[..], &want[..], "seed {seed}");
        }
    }

    /// Past the first 624 words (the state is regenerated): CPython's draws
    /// 995..1000 after `random.seed(7)`.
    #[test]
    fn draws_after_the_state_is_regenerated() {
        let mut r = PyRandom::new(7);
        let got: Vec<u64> = (0..1000)
            .map(|_| (r.random() * 1_000_001.0) as u64)
            .skip(995)
            .collect();
        assert_eq!(got, [777636, 511482, 54264, 503924, 377863]);
    }

    const EXPECTED: &[(u64, [u64; 5])] = &[
        (0, [844422, 757955, 420572, 258917, 511275]),
        (1, [134364, 847434, 763775, 255069, 495435]),
        (2, [956035, 947828, 56551, 84872, 835499]),
        (3, [237964, 544229, 369955, 603920, 625720]),
        (42, [639427, 25010, 275029, 223210, 736471]),
        (12345, [416620, 10169, 825207, 298640, 368412]),
        (4294967303, [225509, 358601, 799233, 960357, 922224]),
        (
            9223372036854775813,
            [344238, 461398, 102480, 203595, 273946],
        ),
    ];
}

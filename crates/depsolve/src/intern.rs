//! String interning: every name, version and path the pool sees is stored once and compared as a
//! `u32`, which is what keeps provider lookups to hash probes on integers.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// An interned string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(pub(crate) u32);

/// The Fx hash (rustc's): strings and small integer keys hash several times faster than with
/// SipHash, and the pool's keys are not attacker-chosen in a way that matters for a batch tool.
#[derive(Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

pub type FxBuild = BuildHasherDefault<FxHasher>;
pub type FxHashMap<K, V> = HashMap<K, V, FxBuild>;
pub type FxHashSet<K> = std::collections::HashSet<K, FxBuild>;

/// Owns the interned strings of one pool, back to back in one buffer: a lookup compares
/// against neighbouring memory rather than a separate allocation per string, and interning
/// allocates nothing per string.
#[derive(Debug, Default)]
pub struct Interner {
    bytes: String,
    /// String `i` ends at `ends[i]` and starts where string `i - 1` ends.
    ends: Vec<u32>,
    /// The first symbol whose text has this hash; `next` chains any others (a 64-bit hash
    /// collision between two strings of one pool is possible in principle, never in practice).
    by_hash: FxHashMap<u64, Sym>,
    next: Vec<Option<Sym>>,
}

fn hash(s: &str) -> u64 {
    let mut h = FxHasher::default();
    s.hash(&mut h);
    h.finish()
}

impl Interner {
    pub fn intern(&mut self, s: &str) -> Sym {
        let h = hash(s);
        if let Some(sym) = self.find(h, s) {
            return sym;
        }
        let sym = Sym(u32::try_from(self.ends.len()).unwrap_or(u32::MAX));
        self.bytes.push_str(s);
        self.ends
            .push(u32::try_from(self.bytes.len()).unwrap_or(u32::MAX));
        let previous = self.by_hash.insert(h, sym);
        self.next.push(previous);
        sym
    }

    fn find(&self, h: u64, s: &str) -> Option<Sym> {
        let mut at = self.by_hash.get(&h).copied();
        while let Some(sym) = at {
            if self.resolve(sym) == s {
                return Some(sym);
            }
            at = self.next.get(sym.0 as usize).copied().flatten();
        }
        None
    }

    /// The symbol of `s` if it was ever interned (a lookup that must not grow the pool).
    pub fn get(&self, s: &str) -> Option<Sym> {
        self.find(hash(s), s)
    }

    /// How many strings there are; every symbol is below this.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn resolve(&self, sym: Sym) -> &str {
        let i = sym.0 as usize;
        let start = match i {
            0 => 0,
            _ => self.ends.get(i - 1).map_or(0, |&e| e as usize),
        };
        let end = self.ends.get(i).map_or(start, |&e| e as usize);
        self.bytes.get(start..end).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_round_trip_and_hash_collisions_chain() {
        let mut i = Interner::default();
        let alpha = i.intern("alpha");
        let empty = i.intern("");
        let beta = i.intern("beta");
        assert_eq!(i.intern("alpha"), alpha);
        assert_eq!(i.resolve(alpha), "alpha");
        assert_eq!(i.resolve(empty), "");
        assert_eq!(i.resolve(beta), "beta");
        assert_eq!(i.get("beta"), Some(beta));
        assert_eq!(i.get("gamma"), None);
        assert_eq!(i.len(), 3);
        // File "gamma" under alpha's hash, as a collision would: both stay reachable.
        let h = hash("alpha");
        i.bytes.push_str("gamma");
        i.ends.push(u32::try_from(i.bytes.len()).unwrap());
        let gamma = Sym(3);
        let previous = i.by_hash.insert(h, gamma);
        i.next.push(previous);
        assert_eq!(i.find(h, "gamma"), Some(gamma));
        assert_eq!(i.find(h, "alpha"), Some(alpha));
        assert_eq!(i.find(h, "delta"), None);
    }
}

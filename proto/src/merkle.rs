//! RFC 9162 (Certificate Transparency v2) Merkle tree hashing and proofs, over SHA-256.
//!
//! The audit log is an append-only list of entries. A checkpoint commits to its first `size`
//! entries with the Merkle Tree Hash (MTH) of RFC 9162 §2.1.1:
//!
//! ```text
//! MTH({})      = SHA-256()
//! leaf(d)      = SHA-256(0x00 || d)
//! node(l, r)   = SHA-256(0x01 || l || r)
//! MTH(D[n])    = node(MTH(D[0:k]), MTH(D[k:n]))   k = largest power of two < n
//! ```
//!
//! The `0x00`/`0x01` prefixes keep a node from being passed off as a leaf (second-preimage
//! resistance). Everything here works on leaf hashes ([`leaf_hash`] of each entry):
//!
//! - [`root_from_leaves`] hashes a list of leaves; [`CompactTree`] does the same while
//!   streaming, in O(log n) memory, and persists as `(size, nodes)`.
//! - Inclusion (§2.1.3): [`inclusion_proof`] / [`inclusion_proof_from_leaves`] build `PATH`,
//!   [`verify_inclusion`] is the verification algorithm of §2.1.3.2.
//! - Consistency (§2.1.4): [`consistency_proof`] / [`consistency_proof_from_leaves`] build
//!   `PROOF` (= `SUBPROOF(m, D[n], true)`), [`verify_consistency`] is §2.1.4.2.
//! - A store that cannot hold every leaf in memory implements [`LeafSource`] (and may
//!   override [`LeafSource::subtree`] to serve cached subtree hashes).
//!
//! A proof binds a leaf (or an older tree) to a root only together with the tree sizes: the
//! same hashes can also verify for other, structurally identical sizes (the inclusion proof
//! of leaf 0 in a 4-leaf tree verifies against the same root as "leaf 0 of a 3-leaf tree",
//! whose last "leaf" is really a node). Take sizes from the signed checkpoint, like the root,
//! never from whoever supplies the proof.

use sha2::{Digest as _, Sha256};

use crate::ids::Digest;

/// Domain-separation prefix of a leaf hash (RFC 9162 §2.1.1).
const LEAF_PREFIX: u8 = 0x00;
/// Domain-separation prefix of an interior node hash (RFC 9162 §2.1.1).
const NODE_PREFIX: u8 = 0x01;

/// Why a Merkle computation or proof check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MerkleError {
    /// A leaf index at or beyond the tree size, or a tree larger than the leaves available.
    #[error("leaf index {index} is out of range for a tree of {size} leaves: indexes run from 0 to size - 1")]
    IndexOutOfRange {
        /// The leaf index asked for.
        index: u64,
        /// The number of leaves in the tree (or available to the caller).
        size: u64,
    },
    /// The proof has the wrong number of hashes for the claimed index and sizes.
    #[error(
        "the proof has {actual} hashes, but a proof for these tree sizes has exactly {expected}: \
         the proof does not belong to these sizes"
    )]
    BadProofLength {
        /// The number of hashes RFC 9162 requires for these sizes.
        expected: usize,
        /// The number of hashes the proof holds.
        actual: usize,
    },
    /// Recomputing a root from the proof gave a different root than the expected one.
    #[error(
        "the proof leads to root {computed} for tree size {tree_size}, but the expected root is {expected}: \
         the proof, the leaf or the root is wrong, or the log is not append-only"
    )]
    RootMismatch {
        /// The tree size whose root did not match.
        tree_size: u64,
        /// The root the caller trusts (from the checkpoint).
        expected: Digest,
        /// The root the proof leads to.
        computed: Digest,
    },
    /// A consistency proof was asked for between sizes that have none.
    #[error(
        "there is no consistency proof from tree size {old_size} to {new_size}: it needs 0 < old size <= new size \
         (from the empty tree there is nothing to prove; check the first checkpoint on its signature alone)"
    )]
    InvalidSizes {
        /// The older (smaller) tree size.
        old_size: u64,
        /// The newer (larger) tree size.
        new_size: u64,
    },
    /// A persisted compact tree does not hold one node hash per set bit of its size.
    #[error(
        "a compact tree of size {size} holds {expected} node hashes (one per set bit of the size), \
         but {actual} were given: the stored state is corrupt"
    )]
    BadCompactTree {
        /// The tree size read back.
        size: u64,
        /// The number of node hashes that size requires.
        expected: usize,
        /// The number of node hashes read back.
        actual: usize,
    },
    /// The tree already holds `u64::MAX` leaves; a leaf index cannot go further.
    #[error("the tree already holds {} leaves, the most a 64-bit leaf index can address", u64::MAX)]
    TreeFull,
    /// A [`LeafSource`] could not produce a leaf hash (e.g. a storage error).
    #[error("could not read a leaf hash: {0}")]
    Source(String),
}

/// The hash of a log entry as a leaf: SHA-256(0x00 || entry).
pub fn leaf_hash(entry: &[u8]) -> Digest {
    Digest(Sha256::new().chain_update([LEAF_PREFIX]).chain_update(entry).finalize().into())
}

/// The hash of an interior node: SHA-256(0x01 || left || right).
pub fn node_hash(left: &Digest, right: &Digest) -> Digest {
    Digest(Sha256::new().chain_update([NODE_PREFIX]).chain_update(left.0).chain_update(right.0).finalize().into())
}

/// The root of the empty tree: SHA-256 of the empty string (`e3b0c442…b855`).
pub fn empty_root() -> Digest {
    Digest(Sha256::digest(b"").into())
}

/// The Merkle Tree Hash of a list of leaf hashes (RFC 9162 §2.1.1).
///
/// O(n) hashing, O(log n) memory, no recursion.
pub fn root_from_leaves(leaf_hashes: &[Digest]) -> Digest {
    let mut nodes = Vec::new();
    for (count, leaf) in (0u64..).zip(leaf_hashes) {
        push_leaf(&mut nodes, count, *leaf);
    }
    fold_root(&nodes)
}

/// Adds one leaf to the compact range `nodes` of a tree of `count` leaves: every trailing
/// set bit of `count` is a perfect subtree of the same height as the growing one, so merge.
fn push_leaf(nodes: &mut Vec<Digest>, count: u64, leaf: Digest) {
    let mut hash = leaf;
    let mut rest = count;
    while rest & 1 == 1 {
        // `nodes` holds one hash per set bit of `count`, so this never runs dry.
        let Some(left) = nodes.pop() else { break };
        hash = node_hash(&left, &hash);
        rest >>= 1;
    }
    nodes.push(hash);
}

/// The root of a compact range that starts at leaf 0: MTH splits a tree into exactly these
/// perfect subtrees, so hash them together from the right.
fn fold_root(nodes: &[Digest]) -> Digest {
    let mut from_right = nodes.iter().rev();
    match from_right.next() {
        None => empty_root(),
        Some(last) => from_right.fold(*last, |acc, left| node_hash(left, &acc)),
    }
}

/// The largest power of two smaller than `n` (the MTH split point), for `n >= 2`.
fn split_point(n: u64) -> u64 {
    n.saturating_sub(1).checked_ilog2().map_or(0, |bit| 1u64 << bit)
}

/// An append-only Merkle tree that keeps only its compact range: the roots of the perfect
/// subtrees that make up the tree, left to right, one per set bit of the size (at most 64).
///
/// It yields the same root as [`root_from_leaves`] in O(log n) memory, so a verifier can
/// stream a whole log. Persist it as [`CompactTree::size`] plus [`CompactTree::nodes`] and
/// restore it with [`CompactTree::from_parts`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactTree {
    size: u64,
    nodes: Vec<Digest>,
}

impl CompactTree {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Restores a tree from its size and node hashes, as returned by [`CompactTree::size`]
    /// and [`CompactTree::nodes`]; there must be one hash per set bit of `size`.
    pub fn from_parts(size: u64, nodes: Vec<Digest>) -> Result<Self, MerkleError> {
        let expected = size.count_ones() as usize;
        if nodes.len() != expected {
            return Err(MerkleError::BadCompactTree { size, expected, actual: nodes.len() });
        }
        Ok(Self { size, nodes })
    }

    /// The number of leaves appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The roots of the perfect subtrees covering the tree, largest (leftmost) first.
    pub fn nodes(&self) -> &[Digest] {
        &self.nodes
    }

    /// The size and node hashes, for persistence.
    pub fn into_parts(self) -> (u64, Vec<Digest>) {
        (self.size, self.nodes)
    }

    /// Appends a leaf hash ([`leaf_hash`] of the entry). O(log n) hashing at worst,
    /// amortised O(1).
    pub fn append(&mut self, leaf_hash: Digest) -> Result<(), MerkleError> {
        let size = self.size.checked_add(1).ok_or(MerkleError::TreeFull)?;
        push_leaf(&mut self.nodes, self.size, leaf_hash);
        self.size = size;
        Ok(())
    }

    /// The Merkle Tree Hash of all leaves appended so far (equal to [`root_from_leaves`]).
    pub fn root(&self) -> Digest {
        fold_root(&self.nodes)
    }
}

/// Where proof generation reads leaf hashes from: a slice, a closure, or a store.
pub trait LeafSource {
    /// The leaf hash at `index`.
    fn leaf(&self, index: u64) -> Result<Digest, MerkleError>;

    /// The Merkle Tree Hash of the `len` leaves starting at `start`.
    ///
    /// The default hashes them one by one ([`subtree_root`]). A store may override it to
    /// serve cached hashes: proof generation only asks for nodes of the tree, i.e. perfect
    /// subtrees plus the subtrees along its right edge. The result must equal the default.
    fn subtree(&self, start: u64, len: u64) -> Result<Digest, MerkleError> {
        subtree_root(self, start, len)
    }
}

impl LeafSource for [Digest] {
    fn leaf(&self, index: u64) -> Result<Digest, MerkleError> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.get(i))
            .copied()
            .ok_or(MerkleError::IndexOutOfRange { index, size: self.len() as u64 })
    }

    fn subtree(&self, start: u64, len: u64) -> Result<Digest, MerkleError> {
        if len == 0 {
            return Ok(empty_root());
        }
        let range =
            usize::try_from(start).ok().zip(usize::try_from(len).ok()).and_then(|(s, l)| Some(s..s.checked_add(l)?));
        match range.and_then(|r| self.get(r)) {
            Some(leaves) => Ok(root_from_leaves(leaves)),
            None => {
                let size = self.len() as u64;
                Err(MerkleError::IndexOutOfRange { index: start.max(size), size })
            }
        }
    }
}

impl<F> LeafSource for F
where
    F: Fn(u64) -> Result<Digest, MerkleError> + ?Sized,
{
    fn leaf(&self, index: u64) -> Result<Digest, MerkleError> {
        self(index)
    }
}

/// The Merkle Tree Hash of the `len` leaves of `source` starting at `start`, read one by one
/// (O(len) hashing, O(log len) memory). `len == 0` gives [`empty_root`].
pub fn subtree_root<S: LeafSource + ?Sized>(source: &S, start: u64, len: u64) -> Result<Digest, MerkleError> {
    // The last leaf would be at start + len - 1; past u64::MAX - 1 no tree has it.
    let end = start.checked_add(len).ok_or(MerkleError::IndexOutOfRange { index: u64::MAX, size: u64::MAX })?;
    let mut nodes = Vec::new();
    for index in start..end {
        push_leaf(&mut nodes, index - start, source.leaf(index)?);
    }
    Ok(fold_root(&nodes))
}

/// The inclusion proof `PATH(index, D[size])` of RFC 9162 §2.1.3.1: the sibling hashes from
/// the leaf up to the root, lowest first.
///
/// Reads O(size) leaf hashes through [`LeafSource::subtree`] unless the source caches.
pub fn inclusion_proof<S: LeafSource + ?Sized>(source: &S, index: u64, size: u64) -> Result<Vec<Digest>, MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    // PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n])        for m < k
    //               = PATH(m - k, D[k:n]) : MTH(D[0:k])    for m >= k
    // Unrolled from the top: each step finds the last hash of the remaining path.
    let mut proof = Vec::new();
    let (mut m, mut start, mut n) = (index, 0u64, size);
    while n > 1 {
        let k = split_point(n);
        if m < k {
            proof.push(source.subtree(start + k, n - k)?);
            n = k;
        } else {
            proof.push(source.subtree(start, k)?);
            m -= k;
            start += k;
            n -= k;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// [`inclusion_proof`] over the leaf hashes of the tree, which must hold at least `size`.
pub fn inclusion_proof_from_leaves(leaf_hashes: &[Digest], index: u64, size: u64) -> Result<Vec<Digest>, MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    check_available(leaf_hashes, size)?;
    inclusion_proof(leaf_hashes, index, size)
}

/// The consistency proof `PROOF(old_size, D[new_size])` of RFC 9162 §2.1.4.1. Requires
/// `0 < old_size <= new_size`; equal sizes give the empty proof.
pub fn consistency_proof<S: LeafSource + ?Sized>(
    source: &S,
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Digest>, MerkleError> {
    check_consistency_sizes(old_size, new_size)?;
    // SUBPROOF(m, D[m], true)  = {}
    // SUBPROOF(m, D[m], false) = {MTH(D[m])}
    // SUBPROOF(m, D[n], b)     = SUBPROOF(m, D[0:k], b) : MTH(D[k:n])             for m <= k
    //                          = SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])     for m > k
    // Unrolled from the top like PATH; `known` is b.
    let mut proof = Vec::new();
    let (mut m, mut start, mut n, mut known) = (old_size, 0u64, new_size, true);
    while m < n {
        let k = split_point(n);
        if m <= k {
            proof.push(source.subtree(start + k, n - k)?);
            n = k;
        } else {
            proof.push(source.subtree(start, k)?);
            m -= k;
            start += k;
            n -= k;
            known = false;
        }
    }
    if !known {
        proof.push(source.subtree(start, m)?);
    }
    proof.reverse();
    Ok(proof)
}

/// [`consistency_proof`] over the leaf hashes of the newer tree, which must hold at least
/// `new_size`.
pub fn consistency_proof_from_leaves(
    leaf_hashes: &[Digest],
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Digest>, MerkleError> {
    check_consistency_sizes(old_size, new_size)?;
    check_available(leaf_hashes, new_size)?;
    consistency_proof(leaf_hashes, old_size, new_size)
}

fn check_available(leaf_hashes: &[Digest], size: u64) -> Result<(), MerkleError> {
    let available = leaf_hashes.len() as u64;
    if size > available {
        return Err(MerkleError::IndexOutOfRange { index: size - 1, size: available });
    }
    Ok(())
}

fn check_consistency_sizes(old_size: u64, new_size: u64) -> Result<(), MerkleError> {
    if old_size == 0 || old_size > new_size {
        return Err(MerkleError::InvalidSizes { old_size, new_size });
    }
    Ok(())
}

/// Bits needed to write `x` (0 for 0).
fn bit_len(x: u64) -> u32 {
    u64::BITS - x.leading_zeros()
}

/// The length of `PATH(index, D[size])`, for `index < size`: one hash per level where the
/// paths to `index` and to the last leaf have split ("inner"), plus one per left sibling
/// above that split, along the right edge ("border").
fn inclusion_proof_len(index: u64, size: u64) -> usize {
    let inner = bit_len(index ^ (size - 1));
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner + border) as usize
}

/// The length of `PROOF(old_size, D[new_size])`, for `0 < old_size < new_size`: the
/// inclusion path of the old tree's rightmost perfect subtree, plus that subtree's own hash
/// unless it is the whole old tree (whose root the verifier already has).
fn consistency_proof_len(old_size: u64, new_size: u64) -> usize {
    let low = old_size.trailing_zeros();
    let split = bit_len((old_size - 1) ^ (new_size - 1));
    let inner = split.saturating_sub(low);
    let border = (old_size - 1).checked_shr(split).unwrap_or(0).count_ones();
    let seed = u32::from(!old_size.is_power_of_two());
    (seed + inner + border) as usize
}

/// Checks that `leaf_hash` is the leaf at `index` of the tree of `size` leaves whose root is
/// `root`, with the algorithm of RFC 9162 §2.1.3.2.
pub fn verify_inclusion(
    leaf_hash: &Digest,
    index: u64,
    size: u64,
    proof: &[Digest],
    root: &Digest,
) -> Result<(), MerkleError> {
    // 1. leaf_index >= tree_size fails.
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    // Not a step of the RFC, whose loop rejects every other length too; checked first for a
    // precise error, and so hostile proofs cost no hashing.
    let expected = inclusion_proof_len(index, size);
    let bad_length = MerkleError::BadProofLength { expected, actual: proof.len() };
    if proof.len() != expected {
        return Err(bad_length);
    }
    // 2. fn = leaf_index, sn = tree_size - 1.  3. r = hash.
    let (mut f_n, mut s_n) = (index, size - 1);
    let mut r = *leaf_hash;
    // 4. For each p in inclusion_path:
    for p in proof {
        // a. sn == 0 fails.
        if s_n == 0 {
            return Err(bad_length);
        }
        // b. If LSB(fn) is set, or fn == sn: r = HASH(0x01 || p || r), then while LSB(fn) is
        //    not set and fn != 0, right-shift fn and sn. Otherwise r = HASH(0x01 || r || p).
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        // c. Right-shift fn and sn once.
        f_n >>= 1;
        s_n >>= 1;
    }
    // 5. sn must be 0 and r must equal root_hash.
    if s_n != 0 {
        return Err(bad_length);
    }
    if r != *root {
        return Err(MerkleError::RootMismatch { tree_size: size, expected: *root, computed: r });
    }
    Ok(())
}

/// Checks that the tree of `old_size` leaves with root `old_root` is a prefix of the tree of
/// `new_size` leaves with root `new_root`, with the algorithm of RFC 9162 §2.1.4.2.
///
/// The RFC defines proofs for `0 < old_size < new_size`. Equal sizes are consistent when the
/// roots are equal and the proof is empty (`SUBPROOF(m, D[m], true) = {}`); `old_size == 0`
/// or `old_size > new_size` is [`MerkleError::InvalidSizes`].
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Digest,
    new_root: &Digest,
    proof: &[Digest],
) -> Result<(), MerkleError> {
    check_consistency_sizes(old_size, new_size)?;
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(MerkleError::BadProofLength { expected: 0, actual: proof.len() });
        }
        if old_root != new_root {
            return Err(MerkleError::RootMismatch { tree_size: new_size, expected: *new_root, computed: *old_root });
        }
        return Ok(());
    }
    // Not a step of the RFC (see verify_inclusion); it also covers step 1, an empty proof.
    let expected = consistency_proof_len(old_size, new_size);
    let bad_length = MerkleError::BadProofLength { expected, actual: proof.len() };
    if proof.len() != expected {
        return Err(bad_length);
    }
    // 2. If first is an exact power of 2, prepend first_hash to consistency_path.
    // 5. fr = sr = the first value of consistency_path; the loop takes the rest.
    let (seed, rest) = if old_size.is_power_of_two() {
        (*old_root, proof)
    } else {
        match proof.split_first() {
            Some((first, rest)) => (*first, rest),
            None => return Err(bad_length),
        }
    };
    // 3. fn = first - 1, sn = second - 1.
    let (mut f_n, mut s_n) = (old_size - 1, new_size - 1);
    // 4. While LSB(fn) is set, right-shift fn and sn.
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    let (mut f_r, mut s_r) = (seed, seed);
    // 6. For each subsequent c:
    for c in rest {
        // a. sn == 0 fails.
        if s_n == 0 {
            return Err(bad_length);
        }
        // b. If LSB(fn) is set, or fn == sn: fr = HASH(0x01 || c || fr),
        //    sr = HASH(0x01 || c || sr), then while LSB(fn) is not set and fn != 0,
        //    right-shift fn and sn. Otherwise sr = HASH(0x01 || sr || c).
        if f_n & 1 == 1 || f_n == s_n {
            f_r = node_hash(c, &f_r);
            s_r = node_hash(c, &s_r);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            s_r = node_hash(&s_r, c);
        }
        // c. Right-shift fn and sn once.
        f_n >>= 1;
        s_n >>= 1;
    }
    // 7. fr == first_hash, sr == second_hash, sn == 0.
    if s_n != 0 {
        return Err(bad_length);
    }
    if f_r != *old_root {
        return Err(MerkleError::RootMismatch { tree_size: old_size, expected: *old_root, computed: f_r });
    }
    if s_r != *new_root {
        return Err(MerkleError::RootMismatch { tree_size: new_size, expected: *new_root, computed: s_r });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn unhex(s: &str) -> Vec<u8> {
        assert!(s.len() % 2 == 0, "odd hex length: {s}");
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    fn hx(s: &str) -> Digest {
        Digest(unhex(s).try_into().unwrap())
    }

    // Reference data of transparency-dev/merkle (commit 417fb0c): testonly/constants.go
    // (leaves, roots, compact trees) and cmd/proofgen/main.go (proofs, and the corruptions
    // its generated testdata/ probes apply, all of which must be rejected). They are the
    // RFC 6962 vectors also used by certificate-transparency-go and Chromium.
    const LEAF_INPUTS: [&str; 8] =
        ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];

    /// Roots for sizes 0..=8.
    const ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    /// Hashes of the perfect subtrees, by level then index.
    const NODE_HASHES: [&[&str]; 4] = [
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
            "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
        ],
        &[
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        ],
        &[
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
        &["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
    ];

    /// (level, index) into NODE_HASHES of each compact tree of sizes 0..=8 (CompactTrees()).
    const COMPACT_TREES: [&[(usize, usize)]; 9] = [
        &[],
        &[(0, 0)],
        &[(1, 0)],
        &[(1, 0), (0, 2)],
        &[(2, 0)],
        &[(2, 0), (0, 4)],
        &[(2, 0), (1, 2)],
        &[(2, 0), (1, 2), (0, 6)],
        &[(3, 0)],
    ];

    /// (leaf index, tree size, proof). proofgen numbers leaves from 1; these are 0-based.
    const INCLUSION_PROOFS: [(u64, u64, &[&str]); 5] = [
        (0, 1, &[]),
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (2, 3, &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
        (
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];

    /// (old size, new size, proof).
    const CONSISTENCY_PROOFS: [(u64, u64, &[&str]); 5] = [
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
        (
            6,
            7,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];

    /// A corrupted proof check: (what, index or old size, size or new size, leaf or old root,
    /// root or new root, proof).
    type Probe = (&'static str, u64, u64, Digest, Digest, Vec<Digest>);

    /// (old size, new size, old root, new root, proof, whether it verifies).
    type StaticProbe<'a> = (u64, u64, Digest, Digest, &'a [Digest], bool);

    /// proofgen's `sha256SomeHash`.
    const SOME_HASH: &str = "abacaba000000000000000000000000000000000000000000060061e00123456";

    fn reference_leaves() -> Vec<Digest> {
        LEAF_INPUTS.iter().map(|e| leaf_hash(&unhex(e))).collect()
    }

    fn root(size: u64) -> Digest {
        hx(ROOTS[size as usize])
    }

    fn digests(hexes: &[&str]) -> Vec<Digest> {
        hexes.iter().map(|h| hx(h)).collect()
    }

    /// MTH straight from the recursive definition of §2.1.1, as an independent reference.
    fn mth(leaves: &[Digest]) -> Digest {
        match leaves.len() {
            0 => Digest::of(&[]),
            1 => leaves[0],
            n => {
                let mut k = 1;
                while k * 2 < n {
                    k *= 2;
                }
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    fn flip(proof: &[Digest], at: usize, byte: usize, mask: u8) -> Vec<Digest> {
        let mut p = proof.to_vec();
        p[at].0[byte] ^= mask;
        p
    }

    #[test]
    fn hashing_known_answers() {
        assert_eq!(empty_root().to_hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(root_from_leaves(&[]), empty_root());
        // rfc6962/rfc6962_test.go: `echo -n 00 | xxd -r -p | sha256sum` and the "L123456" leaf.
        assert_eq!(leaf_hash(b"").to_hex(), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
        assert_eq!(leaf_hash(b"L123456").to_hex(), "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56");
        let (l, r) = (leaf_hash(b"l"), leaf_hash(b"r"));
        let mut preimage = vec![0x01];
        preimage.extend_from_slice(&l.0);
        preimage.extend_from_slice(&r.0);
        assert_eq!(node_hash(&l, &r), Digest::of(&preimage));
        assert_ne!(node_hash(&l, &r), node_hash(&r, &l));
    }

    #[test]
    fn reference_roots_and_compact_trees() {
        let leaves = reference_leaves();
        let mut tree = CompactTree::new();
        for size in 0..=8usize {
            let want = root(size as u64);
            assert_eq!(root_from_leaves(&leaves[..size]), want, "root_from_leaves({size})");
            assert_eq!(mth(&leaves[..size]), want, "mth({size})");
            assert_eq!(tree.root(), want, "CompactTree root at {size}");
            assert_eq!(tree.size(), size as u64);
            let nodes: Vec<Digest> = COMPACT_TREES[size].iter().map(|&(lv, i)| hx(NODE_HASHES[lv][i])).collect();
            assert_eq!(tree.nodes(), nodes.as_slice(), "compact range at {size}");
            if size < 8 {
                tree.append(leaves[size]).unwrap();
            }
        }
        // Every listed perfect subtree hash is the MTH of its leaves.
        for (level, hashes) in NODE_HASHES.iter().enumerate() {
            for (i, h) in hashes.iter().enumerate() {
                let w = 1 << level;
                assert_eq!(mth(&leaves[i * w..(i + 1) * w]), hx(h), "node {level}.{i}");
            }
        }
    }

    #[test]
    fn reference_inclusion_proofs() {
        let leaves = reference_leaves();
        for (index, size, proof) in INCLUSION_PROOFS {
            let proof = digests(proof);
            assert_eq!(inclusion_proof_from_leaves(&leaves, index, size).unwrap(), proof, "PATH({index}, D[{size}])");
            verify_inclusion(&leaves[index as usize], index, size, &proof, &root(size)).unwrap();
        }
    }

    /// The corruptions of proofgen's `invalidInclusionProof`, plus its static and single-entry
    /// probes. "Garbage" there is a zero-length byte string, which a `Digest` cannot be; a
    /// zero digest stands in for it.
    #[test]
    fn reference_inclusion_probes_are_rejected() {
        let leaves = reference_leaves();
        let (garbage, some, empty) = (Digest([0; 32]), hx(SOME_HASH), empty_root());
        for (index, size, proof) in INCLUSION_PROOFS {
            let proof = digests(proof);
            let (leaf, root) = (leaves[index as usize], root(size));
            let with = |front: &[Digest], back: &[Digest]| [front, proof.as_slice(), back].concat();
            let mut probes: Vec<Probe> = vec![
                ("leafIdx sub 1", index.wrapping_sub(1), size, leaf, root, proof.clone()),
                ("leafIdx plus 1", index + 1, size, leaf, root, proof.clone()),
                ("leafIdx xor 2", index ^ 2, size, leaf, root, proof.clone()),
                ("treeSize mul 2", index, size * 2, leaf, root, proof.clone()),
                ("treeSize div 2", index, size / 2, leaf, root, proof.clone()),
                ("wrong leaf", index, size, Digest::of(b"WrongLeaf"), root, proof.clone()),
                ("empty root", index, size, leaf, empty, proof.clone()),
                ("random root", index, size, leaf, some, proof.clone()),
                ("trailing garbage", index, size, leaf, root, with(&[], &[garbage])),
                ("trailing root", index, size, leaf, root, with(&[], &[root])),
                ("preceding garbage", index, size, leaf, root, with(&[garbage], &[])),
                ("preceding root", index, size, leaf, root, with(&[root], &[])),
            ];
            for i in 0..proof.len() {
                probes.push(("modified proof bit 3", index, size, leaf, root, flip(&proof, i, 0, 8)));
            }
            if let Some((_, init)) = proof.split_last() {
                probes.push(("removed component", index, size, leaf, root, init.to_vec()));
            }
            if proof.len() > 1 {
                let inserted = [&[proof[0], some][..], &proof[1..]].concat();
                probes.push(("inserted component", index, size, leaf, root, inserted));
            }
            for (what, i, s, leaf, root, p) in probes {
                let got = verify_inclusion(&leaf, i, s, &p, &root);
                assert!(got.is_err(), "{what} accepted for PATH({index}, D[{size}])");
            }
        }
        for (index, size) in [(0, 0), (0, 1), (1, 0), (2, 1)] {
            for (leaf, root) in [(some, garbage), (garbage, empty), (some, empty)] {
                assert!(verify_inclusion(&leaf, index, size, &[], &root).is_err(), "static probe {index}/{size}");
            }
        }
        let data = leaf_hash(b"data");
        verify_inclusion(&data, 0, 1, &[], &data).unwrap();
        assert!(verify_inclusion(&garbage, 0, 1, &[], &data).is_err());
        assert!(verify_inclusion(&data, 0, 1, &[], &garbage).is_err());
        // Typed errors.
        assert_eq!(verify_inclusion(&data, 3, 3, &[], &data), Err(MerkleError::IndexOutOfRange { index: 3, size: 3 }));
        assert_eq!(
            verify_inclusion(&data, 0, 2, &[], &data),
            Err(MerkleError::BadProofLength { expected: 1, actual: 0 })
        );
    }

    #[test]
    fn reference_consistency_proofs() {
        let leaves = reference_leaves();
        for (old, new, proof) in CONSISTENCY_PROOFS {
            let proof = digests(proof);
            assert_eq!(consistency_proof_from_leaves(&leaves, old, new).unwrap(), proof, "PROOF({old}, D[{new}])");
            verify_consistency(old, new, &root(old), &root(new), &proof).unwrap();
        }
    }

    /// The corruptions of proofgen's `invalidConsistencyProof` (for the non-empty proofs, as
    /// there) and its `staticConsistencyProbes`.
    #[test]
    fn reference_consistency_probes_are_rejected() {
        let (garbage, empty) = (Digest([0; 32]), empty_root());
        let wrong = Digest::of(b"WrongRoot");
        for (old, new, proof) in CONSISTENCY_PROOFS {
            let proof = digests(proof);
            if proof.is_empty() {
                continue;
            }
            let (r1, r2) = (root(old), root(new));
            let with = |front: &[Digest], back: &[Digest]| [front, proof.as_slice(), back].concat();
            let mut probes: Vec<Probe> = vec![
                ("size1 sub 1", old - 1, new, r1, r2, proof.clone()),
                ("size1 plus 1", old + 1, new, r1, r2, proof.clone()),
                ("size1 xor 2", old ^ 2, new, r1, r2, proof.clone()),
                ("size2 mul 2", old, new * 2, r1, r2, proof.clone()),
                ("size2 div 2", old, new / 2, r1, r2, proof.clone()),
                ("wrong root1", old, new, wrong, r2, proof.clone()),
                ("wrong root2", old, new, r1, wrong, proof.clone()),
                ("swapped roots", old, new, r2, r1, proof.clone()),
                ("empty proof", old, new, r1, r2, vec![]),
                ("trailing garbage", old, new, r1, r2, with(&[], &[garbage])),
                ("trailing root1", old, new, r1, r2, with(&[], &[r1])),
                ("trailing root2", old, new, r1, r2, with(&[], &[r2])),
                ("preceding garbage", old, new, r1, r2, with(&[garbage], &[])),
                ("preceding root1", old, new, r1, r2, with(&[r1], &[])),
                ("preceding root2", old, new, r1, r2, with(&[r2], &[])),
                ("preceding proof[0]", old, new, r1, r2, with(&[proof[0]], &[])),
                ("truncated proof", old, new, r1, r2, proof[..proof.len() - 1].to_vec()),
            ];
            for i in 0..proof.len() {
                probes.push(("modified proof bit 4", old, new, r1, r2, flip(&proof, i, 0, 16)));
            }
            for (what, s1, s2, r1, r2, p) in probes {
                let got = verify_consistency(s1, s2, &r1, &r2, &p);
                assert!(got.is_err(), "{what} accepted for PROOF({old}, D[{new}])");
            }
        }
        let (c1, c2) = (Digest::of(b"don't care 1"), Digest::of(b"don't care 2"));
        let static_probes: [StaticProbe; 14] = [
            (0, 0, c1, c2, &[], false),
            (1, 1, c1, c2, &[], false),
            (0, 0, c1, c1, &[], false),
            (0, 1, c1, c2, &[], false),
            (1, 1, c2, c2, &[], true),
            (1, 0, c1, c2, &[], false),
            (2, 1, c1, c2, &[], false),
            (1, 2, c1, c2, &[], false),
            (0, 0, empty, c2, &[], false),
            (1, 1, empty, c2, &[], false),
            (0, 0, empty, empty, &[empty], false),
            (1, 1, empty, empty, &[empty], false),
            (0, 1, empty, c2, &[], false),
            (0, 1, empty, empty, &[empty], false),
        ];
        for (s1, s2, r1, r2, p, ok) in static_probes {
            assert_eq!(verify_consistency(s1, s2, &r1, &r2, p).is_ok(), ok, "static probe {s1} -> {s2}");
        }
        // Typed errors.
        assert_eq!(
            verify_consistency(0, 5, &empty, &c2, &[]),
            Err(MerkleError::InvalidSizes { old_size: 0, new_size: 5 })
        );
        assert_eq!(
            verify_consistency(1, 1, &c1, &c2, &[]),
            Err(MerkleError::RootMismatch { tree_size: 1, expected: c2, computed: c1 })
        );
        let leaves = reference_leaves();
        assert_eq!(
            consistency_proof_from_leaves(&leaves, 0, 3),
            Err(MerkleError::InvalidSizes { old_size: 0, new_size: 3 })
        );
        assert_eq!(
            consistency_proof_from_leaves(&leaves, 4, 9),
            Err(MerkleError::IndexOutOfRange { index: 8, size: 8 })
        );
        assert_eq!(consistency_proof_from_leaves(&leaves, 5, 5), Ok(vec![]));
    }

    /// The 7-leaf example of RFC 9162 §2.1.5 (same in RFC 6962 §2.1.3), with its node names.
    #[test]
    fn rfc9162_example_tree() {
        let d: Vec<Digest> = (0..7u8).map(|i| leaf_hash(&[b'd', i])).collect();
        let [a, b, c, dd, e, f, d6] = [d[0], d[1], d[2], d[3], d[4], d[5], d[6]];
        let (g, h, i) = (node_hash(&a, &b), node_hash(&c, &dd), node_hash(&e, &f));
        let j = d6;
        let (k, l) = (node_hash(&g, &h), node_hash(&i, &j));
        let hash = node_hash(&k, &l);
        assert_eq!(root_from_leaves(&d), hash);
        let (hash0, hash1, hash2) = (node_hash(&g, &c), k, node_hash(&k, &i));
        assert_eq!(root_from_leaves(&d[..3]), hash0);
        assert_eq!(root_from_leaves(&d[..4]), hash1);
        assert_eq!(root_from_leaves(&d[..6]), hash2);
        for (index, want) in [(0, vec![b, h, l]), (3, vec![c, g, l]), (4, vec![f, j, k]), (6, vec![i, k])] {
            assert_eq!(inclusion_proof_from_leaves(&d, index, 7).unwrap(), want, "inclusion of d{index}");
            verify_inclusion(&d[index as usize], index, 7, &want, &hash).unwrap();
        }
        for (old, old_root, want) in [(3, hash0, vec![c, dd, g, l]), (4, hash1, vec![l]), (6, hash2, vec![i, j, k])] {
            assert_eq!(consistency_proof_from_leaves(&d, old, 7).unwrap(), want, "PROOF({old}, D[7])");
            verify_consistency(old, 7, &old_root, &hash, &want).unwrap();
        }
    }

    /// Why sizes must come from the checkpoint: PATH(0, D[4]) = [d1, MTH(d2, d3)] also
    /// verifies as PATH(0, D[3]) against the same root, reading MTH(d2, d3) as leaf 2.
    #[test]
    fn proofs_bind_sizes_only_through_the_checkpoint() {
        let d: Vec<Digest> = (0..4u8).map(|i| leaf_hash(&[i])).collect();
        let root4 = root_from_leaves(&d);
        let proof = inclusion_proof_from_leaves(&d, 0, 4).unwrap();
        verify_inclusion(&d[0], 0, 4, &proof, &root4).unwrap();
        verify_inclusion(&d[0], 0, 3, &proof, &root4).unwrap();
        assert!(verify_inclusion(&d[0], 0, 3, &proof, &root_from_leaves(&d[..3])).is_err());
        assert!(inclusion_holds(0, 4, 0, 3));
        // Likewise PROOF(1, D[4]) = [d1, MTH(d2, d3)] passes as PROOF(1, D[3]).
        let proof = consistency_proof_from_leaves(&d, 1, 4).unwrap();
        verify_consistency(1, 3, &d[0], &root4, &proof).unwrap();
        assert!(consistency_holds(1, 4, 1, 3));
        assert!(!consistency_holds(1, 4, 2, 4) && !inclusion_holds(0, 4, 1, 4));
    }

    #[test]
    fn compact_tree_persists_and_rejects_bad_state() {
        let leaves: Vec<Digest> = (0..100u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut tree = CompactTree::new();
        for (i, leaf) in leaves.iter().enumerate() {
            let (size, nodes) = tree.clone().into_parts();
            let mut restored = CompactTree::from_parts(size, nodes).unwrap();
            assert_eq!(restored, tree);
            restored.append(*leaf).unwrap();
            tree.append(*leaf).unwrap();
            assert_eq!(restored.root(), root_from_leaves(&leaves[..=i]));
        }
        assert_eq!(
            CompactTree::from_parts(7, vec![Digest([0; 32]); 2]),
            Err(MerkleError::BadCompactTree { size: 7, expected: 3, actual: 2 })
        );
        let mut full = CompactTree::from_parts(u64::MAX, vec![Digest([1; 32]); 64]).unwrap();
        assert_eq!(full.append(Digest([2; 32])), Err(MerkleError::TreeFull));
        assert_eq!(full.size(), u64::MAX);
    }

    /// A verifier streams a large log in O(log n) memory.
    #[test]
    fn compact_tree_streams_a_million_entries() {
        const N: u32 = 1_000_003;
        let mut tree = CompactTree::new();
        let mut leaves = Vec::with_capacity(N as usize);
        for i in 0..N {
            let leaf = leaf_hash(&i.to_le_bytes());
            tree.append(leaf).unwrap();
            leaves.push(leaf);
            assert!(tree.nodes().len() <= 20);
        }
        assert_eq!(tree.nodes().len(), N.count_ones() as usize);
        assert_eq!(tree.root(), root_from_leaves(&leaves));
        let closure =
            |i: u64| leaves.get(i as usize).copied().ok_or_else(|| MerkleError::Source(format!("no leaf {i}")));
        assert_eq!(subtree_root(&closure, 0, u64::from(N)).unwrap(), tree.root());
    }

    /// A tree whose leaves are all equal has O(log n) subtree hashes: a source that caches
    /// them exercises proofs over huge trees, up to u64::MAX leaves.
    struct Uniform {
        perfect: Vec<Digest>,
    }

    impl Uniform {
        fn new(leaf: Digest) -> Self {
            let mut perfect = vec![leaf];
            for level in 0..63 {
                perfect.push(node_hash(&perfect[level], &perfect[level]));
            }
            Self { perfect }
        }
        fn root(&self, len: u64) -> Digest {
            let nodes = (0..64).rev().filter(|b| (len >> b) & 1 == 1).map(|b| self.perfect[b]).collect();
            CompactTree::from_parts(len, nodes).unwrap().root()
        }
    }

    impl LeafSource for Uniform {
        fn leaf(&self, _index: u64) -> Result<Digest, MerkleError> {
            Ok(self.perfect[0])
        }
        fn subtree(&self, _start: u64, len: u64) -> Result<Digest, MerkleError> {
            Ok(self.root(len))
        }
    }

    #[test]
    fn huge_trees_through_a_caching_source() {
        let source = Uniform::new(leaf_hash(b"same"));
        assert_eq!(source.root(13), root_from_leaves(&[leaf_hash(b"same"); 13]));
        let sizes = [u64::MAX, u64::MAX - 1, 1 << 63, (1 << 63) + 1, (1 << 63) - 1, 0x5555_5555_5555_5555, 3];
        for size in sizes {
            let root = source.root(size);
            for index in [0, 1, size / 2, size - 2, size - 1] {
                let proof = inclusion_proof(&source, index, size).unwrap();
                assert_eq!(proof.len(), inclusion_proof_len(index, size));
                verify_inclusion(&source.perfect[0], index, size, &proof, &root).unwrap();
            }
            for old in [1, 2, size / 3, size - 1, size] {
                let proof = consistency_proof(&source, old, size).unwrap();
                verify_consistency(old, size, &source.root(old), &root, &proof).unwrap();
            }
        }
        assert_eq!(
            subtree_root(&source, u64::MAX, 2),
            Err(MerkleError::IndexOutOfRange { index: u64::MAX, size: u64::MAX })
        );
    }

    #[test]
    fn leaf_sources_report_missing_leaves() {
        let leaves = reference_leaves();
        assert_eq!(inclusion_proof_from_leaves(&leaves, 2, 9), Err(MerkleError::IndexOutOfRange { index: 8, size: 8 }));
        assert_eq!(inclusion_proof_from_leaves(&leaves, 9, 9), Err(MerkleError::IndexOutOfRange { index: 9, size: 9 }));
        assert_eq!(leaves.subtree(6, 3), Err(MerkleError::IndexOutOfRange { index: 8, size: 8 }));
        assert_eq!(leaves.subtree(6, 0), Ok(empty_root()));
        let failing = |i: u64| -> Result<Digest, MerkleError> {
            if i < 5 {
                Ok(Digest([0; 32]))
            } else {
                Err(MerkleError::Source(format!("leaf {i}: disk on fire")))
            }
        };
        assert_eq!(inclusion_proof(&failing, 0, 8), Err(MerkleError::Source("leaf 5: disk on fire".to_owned())));
        let dynamic: &dyn Fn(u64) -> Result<Digest, MerkleError> = &failing;
        assert_eq!(subtree_root(dynamic, 0, 5).unwrap(), root_from_leaves(&[Digest([0; 32]); 5]));
    }

    // ---- A model of the proofs from the definitions of §2.1, for the properties below. ----

    fn split(n: u64) -> u64 {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    /// The structure MTH(D[lo:hi]) commits to, as text: what a root hash identifies.
    fn shape(lo: u64, hi: u64) -> String {
        if hi - lo == 1 {
            return lo.to_string();
        }
        let k = split(hi - lo);
        format!("({},{})", shape(lo, lo + k), shape(lo + k, hi))
    }

    /// The leaf ranges whose MTHs make up PATH(m, D[lo:hi]) (§2.1.3.1).
    fn path_ranges(m: u64, lo: u64, hi: u64, out: &mut Vec<(u64, u64)>) {
        if hi - lo <= 1 {
            return;
        }
        let k = split(hi - lo);
        if m < k {
            path_ranges(m, lo, lo + k, out);
            out.push((lo + k, hi));
        } else {
            path_ranges(m - k, lo + k, hi, out);
            out.push((lo, lo + k));
        }
    }

    /// The leaf ranges whose MTHs make up SUBPROOF(m, D[lo:hi], b) (§2.1.4.1).
    fn subproof_ranges(m: u64, lo: u64, hi: u64, b: bool, out: &mut Vec<(u64, u64)>) {
        if m == hi - lo {
            if !b {
                out.push((lo, hi));
            }
            return;
        }
        let k = split(hi - lo);
        if m <= k {
            subproof_ranges(m, lo, lo + k, b, out);
            out.push((lo + k, hi));
        } else {
            subproof_ranges(m - k, lo + k, hi, false, out);
            out.push((lo, lo + k));
        }
    }

    /// What a verifier reconstructs for MTH(D[lo:hi]) when it takes each known range to
    /// have the given structure.
    fn rebuild(lo: u64, hi: u64, known: &[((u64, u64), String)]) -> Option<String> {
        if let Some((_, s)) = known.iter().find(|(r, _)| *r == (lo, hi)) {
            return Some(s.clone());
        }
        if hi - lo <= 1 {
            return None;
        }
        let k = split(hi - lo);
        Some(format!("({},{})", rebuild(lo, lo + k, known)?, rebuild(lo + k, hi, known)?))
    }

    /// Whether PATH(i, D[n]) checked as a proof for (i2, n2), with leaf i and the root of
    /// D[n], must verify: exactly when the verifier would rebuild the same structure.
    fn inclusion_holds(i: u64, n: u64, i2: u64, n2: u64) -> bool {
        if i2 >= n2 {
            return false;
        }
        let (mut p, mut p2) = (vec![], vec![]);
        path_ranges(i, 0, n, &mut p);
        path_ranges(i2, 0, n2, &mut p2);
        if p.len() != p2.len() {
            return false;
        }
        let mut known = vec![((i2, i2 + 1), shape(i, i + 1))];
        known.extend(p2.iter().zip(&p).map(|(r2, r)| (*r2, shape(r.0, r.1))));
        rebuild(0, n2, &known) == Some(shape(0, n))
    }

    /// Whether PROOF(m, D[n]) checked for sizes (m2, n2), with the roots of D[m] and D[n],
    /// must verify. For 0 < m < n.
    fn consistency_holds(m: u64, n: u64, m2: u64, n2: u64) -> bool {
        if m2 == 0 || m2 >= n2 {
            return false; // invalid sizes, or equal sizes that need an empty proof
        }
        let (mut p, mut p2) = (vec![], vec![]);
        subproof_ranges(m, 0, n, true, &mut p);
        subproof_ranges(m2, 0, n2, true, &mut p2);
        if p.len() != p2.len() {
            return false;
        }
        let mut known: Vec<_> = p2.iter().zip(&p).map(|(r2, r)| (*r2, shape(r.0, r.1))).collect();
        if m2.is_power_of_two() {
            known.push(((0, m2), shape(0, m)));
        }
        rebuild(0, n2, &known) == Some(shape(0, n)) && rebuild(0, m2, &known) == Some(shape(0, m))
    }

    fn distinct_leaves(n: u64, seed: u64) -> Vec<Digest> {
        (0..n).map(|i| leaf_hash(&[seed.to_be_bytes(), i.to_be_bytes()].concat())).collect()
    }

    fn digest() -> impl Strategy<Value = Digest> {
        any::<[u8; 32]>().prop_map(Digest)
    }

    proptest! {
        #[test]
        fn generated_proofs_verify_and_tampering_fails(
            n in 1u64..=300,
            seed in any::<u64>(),
            pick in any::<u64>(),
            pick_old in any::<u64>(),
            other in any::<u64>(),
            byte in 0usize..32,
            mask in 1u8..=255,
        ) {
            let leaves = distinct_leaves(n, seed);
            let root = root_from_leaves(&leaves);
            prop_assert_eq!(root, mth(&leaves));

            let index = pick % n;
            let proof = inclusion_proof_from_leaves(&leaves, index, n).unwrap();
            let mut ranges = vec![];
            path_ranges(index, 0, n, &mut ranges);
            let from_definition: Vec<Digest> =
                ranges.iter().map(|&(a, b)| mth(&leaves[a as usize..b as usize])).collect();
            prop_assert_eq!(&proof, &from_definition);
            let leaf = leaves[index as usize];
            prop_assert_eq!(verify_inclusion(&leaf, index, n, &proof, &root), Ok(()));
            if !proof.is_empty() {
                let at = (other % proof.len() as u64) as usize;
                let tampered = flip(&proof, at, byte, mask);
                prop_assert!(
                    matches!(verify_inclusion(&leaf, index, n, &tampered, &root), Err(MerkleError::RootMismatch { .. })),
                    "a tampered proof must fail with RootMismatch"
                );
            }
            let wrong_index = (index + 1 + other % n) % n;
            if wrong_index != index {
                prop_assert!(verify_inclusion(&leaf, wrong_index, n, &proof, &root).is_err());
            }
            let mut wrong_root = root;
            wrong_root.0[byte] ^= mask;
            prop_assert!(verify_inclusion(&leaf, index, n, &proof, &wrong_root).is_err());
            let mut wrong_leaf = leaf;
            wrong_leaf.0[byte] ^= mask;
            prop_assert!(verify_inclusion(&wrong_leaf, index, n, &proof, &root).is_err());

            let old = 1 + pick_old % n;
            let old_root = root_from_leaves(&leaves[..old as usize]);
            let proof = consistency_proof_from_leaves(&leaves, old, n).unwrap();
            let mut ranges = vec![];
            subproof_ranges(old, 0, n, true, &mut ranges);
            let from_definition: Vec<Digest> =
                ranges.iter().map(|&(a, b)| mth(&leaves[a as usize..b as usize])).collect();
            prop_assert_eq!(&proof, &from_definition);
            prop_assert_eq!(verify_consistency(old, n, &old_root, &root, &proof), Ok(()));
            prop_assert!(verify_consistency(old, n, &old_root, &wrong_root, &proof).is_err());
            let mut wrong_old_root = old_root;
            wrong_old_root.0[byte] ^= mask;
            prop_assert!(verify_consistency(old, n, &wrong_old_root, &root, &proof).is_err());
            if !proof.is_empty() {
                let at = (other % proof.len() as u64) as usize;
                let tampered = flip(&proof, at, byte, mask);
                prop_assert!(
                    matches!(verify_consistency(old, n, &old_root, &root, &tampered), Err(MerkleError::RootMismatch { .. })),
                    "a tampered proof must fail with RootMismatch"
                );
                prop_assert!(verify_consistency(old, n, &old_root, &root, &proof[1..]).is_err());
                prop_assert!(verify_consistency(old, n, &old_root, &root, &[&proof[..], &[root][..]].concat()).is_err());
            }
        }

        /// A proof checked with other sizes (or another index) verifies exactly when the
        /// definitions of §2.1 say the verifier rebuilds the same tree; nearly always it fails.
        #[test]
        fn other_sizes_fail_unless_structurally_identical(
            n in 2u64..=200,
            seed in any::<u64>(),
            pick in any::<u64>(),
            pick_old in any::<u64>(),
            i2 in 0u64..400,
            n2 in 0u64..400,
            m2 in 0u64..400,
        ) {
            let leaves = distinct_leaves(n, seed);
            let root = root_from_leaves(&leaves);
            let index = pick % n;
            let proof = inclusion_proof_from_leaves(&leaves, index, n).unwrap();
            let leaf = leaves[index as usize];
            prop_assert!(inclusion_holds(index, n, index, n));
            for (i, s) in [(i2, n2), (index, n2), (i2, n), (index, n2.max(index + 1))] {
                let got = verify_inclusion(&leaf, i, s, &proof, &root).is_ok();
                prop_assert_eq!(got, inclusion_holds(index, n, i, s), "PATH({}, D[{}]) as ({}, {})", index, n, i, s);
            }

            let old = 1 + pick_old % (n - 1);
            let old_root = root_from_leaves(&leaves[..old as usize]);
            let proof = consistency_proof_from_leaves(&leaves, old, n).unwrap();
            prop_assert!(consistency_holds(old, n, old, n));
            for (s1, s2) in [(m2, n2), (old, n2), (m2, n), (m2.min(n2), n2.max(m2))] {
                let got = verify_consistency(s1, s2, &old_root, &root, &proof).is_ok();
                prop_assert_eq!(got, consistency_holds(old, n, s1, s2), "PROOF({}, D[{}]) as ({}, {})", old, n, s1, s2);
            }
        }

        #[test]
        fn compact_tree_matches_root_from_leaves(n in 0u64..=300, seed in any::<u64>(), cut in any::<u64>()) {
            let leaves = distinct_leaves(n, seed);
            let cut = if n == 0 { 0 } else { cut % (n + 1) };
            let mut tree = CompactTree::new();
            for (i, leaf) in leaves.iter().enumerate() {
                if i as u64 == cut {
                    let (size, nodes) = tree.into_parts();
                    tree = CompactTree::from_parts(size, nodes).unwrap();
                }
                prop_assert_eq!(tree.root(), root_from_leaves(&leaves[..i]));
                tree.append(*leaf).unwrap();
            }
            prop_assert_eq!(tree.size(), n);
            prop_assert_eq!(tree.nodes().len(), n.count_ones() as usize);
            prop_assert_eq!(tree.root(), root_from_leaves(&leaves));
            prop_assert_eq!(subtree_root(leaves.as_slice(), 0, n).unwrap(), tree.root());
        }

        #[test]
        fn arbitrary_inputs_never_panic(
            index in prop_oneof![any::<u64>(), 0u64..4, (u64::MAX - 3)..=u64::MAX],
            size in prop_oneof![any::<u64>(), 0u64..4, (u64::MAX - 3)..=u64::MAX],
            proof in proptest::collection::vec(digest(), 0..140),
            a in digest(),
            b in digest(),
            nodes in proptest::collection::vec(digest(), 0..=64),
        ) {
            prop_assert!(verify_inclusion(&a, index, size, &proof, &b).is_err());
            prop_assert!(verify_inclusion(&a, index, size, &[], &b).is_err());
            prop_assert!(verify_consistency(index, size, &a, &b, &proof).is_err());
            prop_assert!(verify_consistency(index, size, &a, &b, &[]).is_err());
            let leaves = reference_leaves();
            let inclusion = inclusion_proof_from_leaves(&leaves, index, size);
            prop_assert_eq!(inclusion.is_ok(), index < size && size <= 8);
            let consistency = consistency_proof_from_leaves(&leaves, index, size);
            prop_assert_eq!(consistency.is_ok(), 0 < index && index <= size && size <= 8);
            let _ = leaves.subtree(index, size);
            let expected = size.count_ones() as usize;
            match CompactTree::from_parts(size, nodes.clone()) {
                Ok(mut tree) => {
                    prop_assert_eq!(nodes.len(), expected);
                    let _ = tree.root();
                    prop_assert_eq!(tree.append(a).is_ok(), size < u64::MAX);
                }
                Err(e) => prop_assert_eq!(e, MerkleError::BadCompactTree { size, expected, actual: nodes.len() }),
            }
        }
    }
}

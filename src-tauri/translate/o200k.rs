//! A compact o200k_base token counter: the same counts as tiktoken's `encode_ordinary(text).len()`
//! (the tests compare both on every token of the vocabulary, awkward texts and random ones), in
//! a fraction of the memory.
//!
//! tiktoken-rs keeps the vocabulary three times over in hash maps of heap-allocated byte
//! vectors (about 43 MB resident), bpe-openai in three Aho-Corasick automata (about 36 MB, plus
//! 32 MB of its serialised tables paged in from the binary). Counting needs only the rank of a
//! byte string: an open-addressing table of 2^18 `u64` slots (2 MB), each packing a token's
//! place in the vocabulary, its length, rank and a few more bits of its hash, finds a rank by
//! hashing the bytes. The vocabulary itself (1.6 MB) is read where it lies in the binary, not
//! copied: 2 MB of heap. Each lookup is a cache miss
//! or two, so a count keeps the counts of the short pieces it met last in a small table
//! ([`PieceCache`], 768 KB, part of its [`Scratch`]): most pieces of real text are words seen
//! before.
//!
//! - Pre-tokenisation: o200k's regex with its one look-ahead (`\s+(?!\S)`) rewritten as a
//!   pattern that matches one extra character, which is then dropped — bpe-openai's technique
//!   (MIT, github/rust-gems), on regex-automata's meta engine (linear time).
//! - Merging: tiktoken's own algorithm (MIT, openai/tiktoken): a piece that is a token counts 1;
//!   a short piece merges its lowest-ranked pair again and again; a longer one does the same with
//!   a heap (O(n log n), but some 30 times the cost per byte of prose).
//! - Pieces of [`HUGE_PIECE`] bytes or more — which real text does not have: a 10 MB run of one
//!   character is one piece — go to GitHub's linear-time BPE (`bpe-openai`, the same counts), so
//!   such input costs no more than prose of its size (issue 13 point 6). Its tables (about
//!   64 MB) are loaded the first time such a piece arrives, never in ordinary use.
//!
//! `o200k_base.bin` is o200k_base.tiktoken (sha256 446a9538…1a2d, the file tiktoken-rs embeds)
//! with each base64 token decoded and written as one length byte and its bytes, in rank order:
//! `python3 -c "import base64,sys; sys.stdout.buffer.write(b''.join(bytes([len(t)])+t for t in
//! (base64.b64decode(l.split()[0]) for l in open('o200k_base.tiktoken'))))"`.

use std::collections::BinaryHeap;
use std::sync::{Mutex, OnceLock, PoisonError};

use regex_automata::meta::Regex;
use regex_automata::{Anchored, Input};

/// The vocabulary, see the module documentation.
static VOCABULARY: &[u8] = include_bytes!("o200k_base.bin");

/// The o200k pre-tokenizer patterns. The second matches a whitespace run plus the one
/// character after it, which is given back (tiktoken's `\s+(?!\S)`).
const PATTERNS: [(&str, bool); 3] = [
    (
        concat!(
            r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
            r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
            r"|\p{N}{1,3}",
            r"| ?[^\s\p{L}\p{N}]+[\r\n/]*",
            r"|\s*[\r\n]+",
            r"|\s+$",
        ),
        false,
    ),
    (r"\s+\s", true),
    (r"\s+", false),
];

/// Slots of the rank table: a power of two, three quarters full (a probe reads one word per
/// slot, eight to a cache line, so the runs cost little).
const SLOTS: usize = 1 << 18;
/// Pieces at least this long merge with a heap (tiktoken's threshold).
const LARGE_PIECE: usize = 100;
/// Pieces at least this long are counted by the linear-time BPE.
const HUGE_PIECE: usize = 1024;

/// One slot of the rank table, packed in a `u64` so that a probe reads one word and rejects
/// nearly every other token without touching its bytes: where the token's bytes start in
/// [`O200k::bytes`] (21 bits: 1.6 MB), its length (8 bits: at most 128), its rank (18 bits:
/// 199,998 tokens) and a tag of 17 more bits of its hash. An empty slot is 0 (no token is
/// empty).
mod slot {
    pub(super) const LEN_SHIFT: u32 = 21;
    pub(super) const RANK_SHIFT: u32 = 29;
    pub(super) const TAG_SHIFT: u32 = 47;
    /// The length and tag bits: what a probe compares first.
    pub(super) const LEN_AND_TAG: u64 = (0xFF << LEN_SHIFT) | (u64::MAX << TAG_SHIFT);
}

/// The loaded counter.
struct O200k {
    /// [`VOCABULARY`]: each token's bytes after its length byte, where the slots point.
    bytes: &'static [u8],
    /// Open addressing (linear probing) by hash of the bytes: see [`slot`].
    slots: Vec<u64>,
    split: Regex,
    /// Per pattern of [`PATTERNS`]: whether its last character is a look-ahead.
    lookahead: [bool; 3],
}

static O200K: OnceLock<O200k> = OnceLock::new();

/// The tables, loaded on the first call (some 20 ms).
fn o200k() -> &'static O200k {
    O200K.get_or_init(O200k::load)
}

/// Whether the tables are loaded.
pub(super) fn is_loaded() -> bool {
    O200K.get().is_some()
}

/// o200k_base tokens of `text`, as tiktoken's `encode_ordinary(text).len()`.
pub(super) fn count(text: &str) -> usize {
    let o200k = o200k();
    let mut scratch = Scratch::take(o200k);
    let Scratch { regex, pieces } = &mut scratch;
    let total = o200k
        .pieces(text, regex)
        .map(|piece| pieces.count(o200k, piece.as_bytes()))
        .sum();
    scratch.give_back();
    total
}

/// Entries of a [`PieceCache`] (a power of two). 2^15 (768 KB) rather than 2^13: a new
/// session's conversation then counts about a tenth faster (`make memory-serve`, 9.9–10.7 ->
/// 8.0–9.9 ms for its count_tokens), and at most two threads count long texts at a time.
const CACHED_PIECES: usize = 1 << PIECE_BITS;
const PIECE_BITS: u32 = 15;

/// What a count works in besides the tables: the regex's search cache (the states its lazy DFA
/// has built) and the counts of the pieces met last. About 1.5 MB once a long text has been
/// counted. A count takes one from [`SPARE`] (or makes one) and gives it back, so there are as
/// many as counts ran at once, and [`release_scratch`] can free them all once counting pauses;
/// per-thread scratch (as before) stayed with the runtime's threads for the life of the process.
struct Scratch {
    regex: regex_automata::meta::Cache,
    pieces: PieceCache,
}

/// Scratch spaces not in use.
static SPARE: Mutex<Vec<Scratch>> = Mutex::new(Vec::new());

impl Scratch {
    fn take(o200k: &O200k) -> Self {
        spare().pop().unwrap_or_else(|| Self {
            regex: o200k.split.create_cache(),
            pieces: PieceCache(Vec::new()),
        })
    }

    fn give_back(self) {
        spare().push(self);
    }
}

fn spare() -> std::sync::MutexGuard<'static, Vec<Scratch>> {
    // A list of caches: a panic elsewhere cannot leave it inconsistent.
    SPARE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Frees the scratch space of counts (see [`Scratch`]) not running now; the next count makes
/// its own again, at the cost of a cold cache. Returns how many were freed.
pub(super) fn release_scratch() -> usize {
    let freed = std::mem::take(&mut *spare());
    freed.len()
}

/// The token counts of recently seen short pieces, direct-mapped by hash: text repeats its
/// words, identifiers and punctuation, and a hit here costs a read of this small table instead
/// of the vocabulary's (megabytes, where each lookup is a cache miss) and the merges of a
/// piece of several tokens. An entry is a piece of 2 to 16 bytes, kept whole (its first and
/// last eight bytes and its length), so a hit is exact.
struct PieceCache(Vec<[u64; 3]>);

impl PieceCache {
    fn count(&mut self, o200k: &O200k, piece: &[u8]) -> usize {
        if piece.len() < 2 || piece.len() > 16 {
            return o200k.count_piece(piece);
        }
        if self.0.is_empty() {
            self.0 = vec![[0; 3]; CACHED_PIECES];
        }
        let key = Key::new(piece);
        let at = (key.hash >> (64 - PIECE_BITS)) as usize;
        let entry = &mut self.0[at];
        let len = piece.len() as u64;
        if entry[2] & 0xFF == len && entry[0] == key.head && entry[1] == key.tail {
            return (entry[2] >> 8) as usize;
        }
        let tokens = o200k.count_key(&key);
        *entry = [key.head, key.tail, len | ((tokens as u64) << 8)];
        tokens
    }
}

/// The same count with the regex alone cutting the pieces (no ASCII scanner): what the
/// benchmark compares the scanner with.
pub(super) fn count_regex_only(text: &str) -> usize {
    let o200k = o200k();
    let mut scratch = Scratch::take(o200k);
    let mut total = 0;
    let mut last = 0;
    while let Some(end) = o200k.regex_piece_end(text, last, &mut scratch.regex) {
        total += o200k.count_piece(&text.as_bytes()[last..end]);
        last = end;
    }
    scratch.give_back();
    total
}

/// Up to the first eight bytes of `bytes` as a little-endian word, zeros after the end. Two
/// overlapping reads of a fixed size (the overlap holds the same bytes), not a copy of a
/// variable length: this runs for every piece.
fn head_word(bytes: &[u8]) -> u64 {
    let len = bytes.len();
    let u32_at = |at: usize| {
        u64::from(u32::from_le_bytes([
            bytes[at],
            bytes[at + 1],
            bytes[at + 2],
            bytes[at + 3],
        ]))
    };
    let u16_at = |at: usize| u64::from(u16::from_le_bytes([bytes[at], bytes[at + 1]]));
    match len {
        8.. => u64::from_le_bytes([
            bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
        ]),
        4..=7 => u32_at(0) | (u32_at(len - 4) << (8 * (len - 4))),
        2..=3 => u16_at(0) | (u16_at(len - 2) << (8 * (len - 2))),
        1 => u64::from(bytes[0]),
        0 => 0,
    }
}

/// The last eight bytes of `bytes` (at least eight long) as a little-endian word.
fn tail_word(bytes: &[u8]) -> u64 {
    head_word(&bytes[bytes.len() - 8..])
}

/// The 128-bit product of `a` and `b`, folded to 64 bits (wyhash's mixing step).
fn fold_multiply(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    #[expect(clippy::cast_possible_truncation, reason = "the two halves are folded")]
    let folded = (product as u64) ^ ((product >> 64) as u64);
    folded
}

/// A byte string looked up in the rank table: its hash, and its first (and, from 9 to 16
/// bytes, last) eight bytes, read once and compared with a token's as words.
struct Key<'a> {
    bytes: &'a [u8],
    hash: u64,
    head: u64,
    tail: u64,
}

impl<'a> Key<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        const P0: u64 = 0xa076_1d64_78bd_642f;
        const P1: u64 = 0xe703_7ed1_a0b4_28db;
        let len = bytes.len() as u64;
        let head = head_word(bytes);
        let tail = if bytes.len() > 8 { tail_word(bytes) } else { 0 };
        // The vocabulary is fixed and every probe sequence is bounded by it, so the input
        // cannot make lookups slower: a fast unseeded hash is enough.
        let hash = if bytes.len() <= 16 {
            fold_multiply(head ^ P0, tail ^ len.rotate_left(56) ^ P1)
        } else {
            xxhash_rust::xxh3::xxh3_64(bytes)
        };
        Self {
            bytes,
            hash,
            head,
            tail,
        }
    }

    /// The slot the probe starts at.
    fn home(&self) -> usize {
        // The low bits index the table: truncation is the point.
        #[expect(clippy::cast_possible_truncation, reason = "an index into the table")]
        let home = self.hash as usize & (SLOTS - 1);
        home
    }

    /// The length and tag bits a slot holding this string has.
    fn len_and_tag(&self) -> u64 {
        ((self.bytes.len() as u64) << slot::LEN_SHIFT) | ((self.hash >> 47) << slot::TAG_SHIFT)
    }
}

impl O200k {
    fn load() -> Self {
        // One pass over the vocabulary, filling each token's slot (no list of all tokens on the
        // side: that was 3.2 MB more at the first count, and a copy of the tokens' bytes 1.4 MB).
        let mut slots = vec![0; SLOTS];
        let mut at = 0;
        let mut rank: u64 = 0;
        while let Some(&len) = VOCABULARY.get(at) {
            let token = &VOCABULARY[at + 1..at + 1 + usize::from(len)];
            let key = Key::new(token);
            let entry = key.len_and_tag() | (rank << slot::RANK_SHIFT) | (at + 1) as u64;
            let mut probe = key.home();
            while slots[probe] != 0 {
                probe = (probe + 1) & (SLOTS - 1);
            }
            slots[probe] = entry;
            at += 1 + usize::from(len);
            rank += 1;
        }
        Self {
            bytes: VOCABULARY,
            slots,
            split: Regex::new_many(&PATTERNS.map(|(pattern, _)| pattern))
                .unwrap_or_else(|error| unreachable!("the o200k patterns compile: {error}")),
            lookahead: PATTERNS.map(|(_, lookahead)| lookahead),
        }
    }

    /// Whether the token a slot holds is `key`'s bytes (its length and tag already match).
    fn holds(&self, entry: u64, key: &Key<'_>) -> bool {
        let start = (entry & ((1 << slot::LEN_SHIFT) - 1)) as usize;
        let len = key.bytes.len();
        // Up to eight bytes: the next token's length byte and bytes follow (masked off below),
        // or the end of the vocabulary.
        let head = head_word(&self.bytes[start..(start + 8).min(self.bytes.len())]);
        if len <= 8 {
            let mask = u64::MAX >> (64 - 8 * len);
            head & mask == key.head
        } else if len <= 16 {
            head == key.head && tail_word(&self.bytes[start..start + len]) == key.tail
        } else {
            &self.bytes[start..start + len] == key.bytes
        }
    }

    /// The rank of a byte string that is a token.
    fn rank(&self, bytes: &[u8]) -> Option<u32> {
        if bytes.is_empty() {
            return None;
        }
        self.rank_of(&Key::new(bytes))
    }

    /// The rank of the byte string of `key`, if it is a token.
    fn rank_of(&self, key: &Key<'_>) -> Option<u32> {
        let want = key.len_and_tag();
        let mut at = key.home();
        loop {
            let entry = self.slots[at];
            if entry == 0 {
                return None;
            }
            if entry & slot::LEN_AND_TAG == want && self.holds(entry, key) {
                return Some(((entry >> slot::RANK_SHIFT) & ((1 << 18) - 1)) as u32);
            }
            at = (at + 1) & (SLOTS - 1);
        }
    }

    fn rank_or_max(&self, bytes: &[u8]) -> u32 {
        self.rank(bytes).unwrap_or(u32::MAX)
    }

    /// The pre-tokenizer's pieces of `text`: where the choice depends on ASCII characters only
    /// (nearly all of code and English) a hand-written scanner finds the piece
    /// ([`ascii_piece_end`]), otherwise the regex.
    fn pieces<'a>(
        &'a self,
        text: &'a str,
        cache: &'a mut regex_automata::meta::Cache,
    ) -> impl Iterator<Item = &'a str> {
        let mut last = 0;
        std::iter::from_fn(move || {
            let start = last;
            let end = ascii_piece_end(text.as_bytes(), start)
                .or_else(|| self.regex_piece_end(text, start, cache))?;
            last = end;
            Some(&text[start..end])
        })
    }

    /// The end of the piece the regex finds at `start`; `None` at the end of the text.
    fn regex_piece_end(
        &self,
        text: &str,
        start: usize,
        cache: &mut regex_automata::meta::Cache,
    ) -> Option<usize> {
        let input = Input::new(&text[start..]).anchored(Anchored::Yes);
        let found = self.split.search_with(cache, &input)?;
        let mut end = start + found.range().end;
        if self.lookahead[found.pattern().as_usize()] {
            // Give back the look-ahead character; the pattern matched at least one before it.
            let dropped = text[start..end]
                .chars()
                .next_back()
                .map_or(0, char::len_utf8);
            end -= dropped;
        }
        (end > start).then_some(end)
    }

    fn count_piece(&self, piece: &[u8]) -> usize {
        if piece.len() <= 1 {
            return piece.len();
        }
        self.count_key(&Key::new(piece))
    }

    /// [`Self::count_piece`] of a piece of two bytes or more, whose key is made.
    fn count_key(&self, key: &Key<'_>) -> usize {
        let piece = key.bytes;
        if self.rank_of(key).is_some() {
            return 1;
        }
        if piece.len() < LARGE_PIECE {
            self.merge_small(piece)
        } else if piece.len() < HUGE_PIECE {
            self.merge_large(piece)
        } else {
            bpe_openai::o200k_base().bpe.count(piece)
        }
    }

    /// tiktoken's `_byte_pair_merge`: O(n·m) on a short piece; the number of parts left.
    fn merge_small(&self, piece: &[u8]) -> usize {
        // (start, rank of the pair starting here)
        let mut parts: Vec<(usize, u32)> = Vec::with_capacity(piece.len() + 1);
        let mut min_rank = (u32::MAX, usize::MAX);
        for i in 0..piece.len() - 1 {
            let rank = self.rank_or_max(&piece[i..i + 2]);
            if rank < min_rank.0 {
                min_rank = (rank, i);
            }
            parts.push((i, rank));
        }
        parts.push((piece.len() - 1, u32::MAX));
        parts.push((piece.len(), u32::MAX));
        let get_rank = |parts: &[(usize, u32)], i: usize| {
            if i + 3 < parts.len() {
                self.rank_or_max(&piece[parts[i].0..parts[i + 3].0])
            } else {
                u32::MAX
            }
        };
        while min_rank.0 != u32::MAX {
            let i = min_rank.1;
            if i > 0 {
                parts[i - 1].1 = get_rank(&parts, i - 1);
            }
            parts[i].1 = get_rank(&parts, i);
            parts.remove(i + 1);
            min_rank = (u32::MAX, usize::MAX);
            for (i, &(_, rank)) in parts[..parts.len() - 1].iter().enumerate() {
                if rank < min_rank.0 {
                    min_rank = (rank, i);
                }
            }
        }
        parts.len() - 1
    }

    /// tiktoken's `_byte_pair_merge_large`: the same merges in the same order, found with a
    /// heap; the number of tokens left.
    fn merge_large(&self, piece: &[u8]) -> usize {
        let mut state = Vec::with_capacity(piece.len());
        state.push(State {
            prev: usize::MAX,
            end: 1,
            next_end: 2,
            next_rank: u32::MAX,
        });
        let mut heap = BinaryHeap::with_capacity(piece.len());
        for i in 0..piece.len() - 1 {
            if let Some(rank) = self.rank(&piece[i..i + 2]) {
                heap.push(Merge { start: i, rank });
                state[i].next_rank = rank;
            }
            state.push(State {
                prev: i,
                end: i + 2,
                next_end: i + 3,
                next_rank: u32::MAX,
            });
        }
        let potential_merge = |state: &mut Vec<State>,
                               heap: &mut BinaryHeap<Merge>,
                               start: usize,
                               next_end: usize| {
            state[start].next_end = next_end;
            state[start].next_rank = u32::MAX;
            if next_end <= piece.len()
                && let Some(rank) = self.rank(&piece[start..next_end])
            {
                heap.push(Merge { start, rank });
                state[start].next_rank = rank;
            }
        };
        while let Some(left) = heap.pop() {
            if left.rank == u32::MAX {
                break;
            }
            if left.rank != state[left.start].next_rank {
                continue;
            }
            let left_start = left.start;
            let right_start = state[left_start].end;
            let right_end = state[left_start].next_end;
            let right_next_end = state[right_start].next_end;
            state[left_start].end = right_end;
            potential_merge(&mut state, &mut heap, left_start, right_next_end);
            if right_end < state.len() {
                state[right_end].prev = left_start;
            }
            if left_start > 0 {
                let prev_start = state[left_start].prev;
                potential_merge(&mut state, &mut heap, prev_start, right_end);
            }
            state[right_start].next_rank = u32::MAX;
        }
        let mut tokens = 0;
        let mut i = 0;
        while i < state.len() {
            tokens += 1;
            i = state[i].end;
        }
        tokens
    }
}

/// An ASCII character as the o200k pre-tokenizer sees it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ascii {
    Upper,
    Lower,
    Digit,
    /// `\r` or `\n`.
    LineEnd,
    /// The other white space: space, tab, vertical tab, form feed.
    Space,
    /// Neither letter, digit nor white space.
    Other,
    /// The end of the text.
    End,
}

/// The class of the byte at `at`; `None` for a non-ASCII one, whose class only the regex knows
/// (a letter, a mark, a digit, white space, or a character that case-folds to `s`).
fn ascii_class(bytes: &[u8], at: usize) -> Option<Ascii> {
    match bytes.get(at) {
        Some(&byte) => CLASSES[usize::from(byte)],
        None => Some(Ascii::End),
    }
}

/// [`ascii_class`] of each byte value.
static CLASSES: [Option<Ascii>; 256] = {
    let mut classes = [None; 256];
    let mut byte = 0;
    while byte < 0x80 {
        #[expect(clippy::cast_possible_truncation, reason = "below 0x80")]
        let ascii = byte as u8;
        classes[byte] = Some(match ascii {
            b'A'..=b'Z' => Ascii::Upper,
            b'a'..=b'z' => Ascii::Lower,
            b'0'..=b'9' => Ascii::Digit,
            b'\r' | b'\n' => Ascii::LineEnd,
            b' ' | b'\t' | 0x0B | 0x0C => Ascii::Space,
            _ => Ascii::Other,
        });
        byte += 1;
    }
    classes
};

/// The end of the o200k piece that starts at `at`, found without the regex when every
/// character the choice depends on is ASCII; `None` when one is not (the regex decides that
/// piece). The same leftmost-first choice as the patterns, alternative by alternative:
///
/// 1. `[^\r\n\p{L}\p{N}]?` then letters (`[A-Z]*[a-z]+` or `[A-Z]+[a-z]*`: in ASCII, an upper
///    case run then a lower case run, not both empty), then an optional contraction;
/// 2. `\p{N}{1,3}`;
/// 3. ` ?[^\s\p{L}\p{N}]+[\r\n/]*`;
/// 4. white space: `\s*[\r\n]+` (up to the run's last line end), `\s+$`, `\s+(?!\S)` (all
///    but the run's last character), `\s+` (a single character).
fn ascii_piece_end(bytes: &[u8], at: usize) -> Option<usize> {
    use Ascii::{Digit, End, LineEnd, Lower, Other, Space, Upper};
    let first = ascii_class(bytes, at)?;
    let letters = match first {
        Upper | Lower => Some(at),
        Space | Other if matches!(ascii_class(bytes, at + 1)?, Upper | Lower) => Some(at + 1),
        _ => None,
    };
    if let Some(mut end) = letters {
        while ascii_class(bytes, end)? == Upper {
            end += 1;
        }
        while ascii_class(bytes, end)? == Lower {
            end += 1;
        }
        return contraction_end(bytes, end);
    }
    match first {
        Digit => {
            let mut end = at + 1;
            while end < at + 3 && ascii_class(bytes, end)? == Digit {
                end += 1;
            }
            Some(end)
        }
        Other => punctuation_end(bytes, at),
        Space if bytes[at] == b' ' && ascii_class(bytes, at + 1)? == Other => {
            punctuation_end(bytes, at + 1)
        }
        Space | LineEnd => {
            let mut end = at;
            let mut after_line_end = None;
            loop {
                match ascii_class(bytes, end)? {
                    Space => {}
                    LineEnd => after_line_end = Some(end + 1),
                    _ => break,
                }
                end += 1;
            }
            Some(match after_line_end {
                Some(after) => after,
                None if end == bytes.len() || end - at == 1 => end,
                None => end - 1,
            })
        }
        Upper | Lower | End => None,
    }
}

/// After a run of letters ending at `end`: the end of an optional `'s|'t|'re|'ve|'m|'ll|'d`
/// (any case).
fn contraction_end(bytes: &[u8], end: usize) -> Option<usize> {
    if bytes.get(end) != Some(&b'\'') {
        return Some(end);
    }
    let lower = |at: usize| -> Option<u8> {
        match bytes.get(at) {
            Some(&byte) if byte >= 0x80 => None,
            Some(&byte) => Some(byte.to_ascii_lowercase()),
            None => Some(0),
        }
    };
    Some(match (lower(end + 1)?, lower(end + 2)?) {
        (b's' | b't' | b'm' | b'd', _) => end + 2,
        (b'r' | b'v', b'e') | (b'l', b'l') => end + 3,
        _ => end,
    })
}

/// `[^\s\p{L}\p{N}]+[\r\n/]*` from `at`, where an `Other` character is.
fn punctuation_end(bytes: &[u8], at: usize) -> Option<usize> {
    let mut end = at + 1;
    while ascii_class(bytes, end)? == Ascii::Other {
        end += 1;
    }
    while matches!(bytes.get(end), Some(b'\r' | b'\n' | b'/')) {
        end += 1;
    }
    Some(end)
}

#[derive(Eq, PartialEq, Clone, Copy)]
struct Merge {
    start: usize,
    rank: u32,
}

impl Ord for Merge {
    /// The heap pops the lowest rank first, and the leftmost of equal ranks.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other
            .rank
            .cmp(&self.rank)
            .then_with(|| other.start.cmp(&self.start))
    }
}

impl PartialOrd for Merge {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

struct State {
    prev: usize,
    end: usize,
    next_end: usize,
    next_rank: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn the_vocabulary_is_tiktokens_rank_for_rank() {
        let tiktoken = tiktoken_rs::o200k_base_singleton();
        let o200k = o200k();
        let mut at = 0;
        let mut rank = 0;
        while let Some(&len) = VOCABULARY.get(at) {
            let token = &VOCABULARY[at + 1..at + 1 + usize::from(len)];
            let bytes = tiktoken.decode_bytes(&[rank]).unwrap();
            assert_eq!(token, &bytes[..], "rank {rank}");
            assert_eq!(o200k.rank(&bytes), Some(rank));
            // A prefix or a longer string is another token or none.
            if bytes.len() > 1 {
                assert_ne!(o200k.rank(&bytes[..bytes.len() - 1]), Some(rank));
            }
            at += 1 + usize::from(len);
            rank += 1;
        }
        assert_eq!(rank, 199_998);
    }

    /// Random strings over characters each pre-tokenizer rule cares about (cases, marks,
    /// digits, apostrophes, every kind of space and line end, punctuation, CJK, emoji), with a
    /// fixed seed so a failure replays.
    #[test]
    fn random_texts_count_as_tiktoken_counts_them() {
        const ALPHABET: &[&str] = &[
            "a", "Z", "é", "e\u{301}", "ß", "Ǆ", "ǅ", "'", "'s", "'LL", "0", "12", "345", " ",
            "  ", "\t", "\n", "\r\n", "\u{a0}", "\u{3000}", ".", "/", "//", "->", "{", "}", "\"",
            "日本", "語", "😀", "👍🏽", "٣", "ا", "-", "_", "#", "\u{200b}", "Ⅻ",
        ];
        let tiktoken = tiktoken_rs::o200k_base_singleton();
        let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            usize::try_from(seed % n as u64).unwrap()
        };
        for _ in 0..3_000 {
            let len = next(60);
            let text: String = (0..len).map(|_| ALPHABET[next(ALPHABET.len())]).collect();
            assert_eq!(
                count(&text),
                tiktoken.encode_ordinary(&text).len(),
                "{text:?}"
            );
        }
    }

    /// The ASCII scanner cuts every text where the regex alone cuts it: random texts mostly of
    /// ASCII (every class it tells apart, contractions in both cases, the white space kinds),
    /// with a few non-ASCII characters next to them where it must hand over to the regex.
    #[test]
    fn the_ascii_scanner_cuts_pieces_where_the_regex_cuts_them() {
        const ALPHABET: &[&str] = &[
            "a", "b", "Z", "Q", "x", "0", "7", "42", " ", " ", "  ", "\t", "\n", "\r", "\r\n",
            "\x0b", "\x0c", "\x1c", "\x00", "\x7f", "'", "'s", "'S", "'t", "'re", "'RE", "'Ve",
            "'ll", "'lL", "'m", "'d", "'x", ".", ",", "/", "//", "{", "}", "(", "-", "_", "\"",
            "é", "\u{a0}", "\u{3000}", "ſ", "²", "\u{301}", "日", "😀", "\u{85}",
        ];
        let o200k = o200k();
        let mut cache = o200k.split.create_cache();
        let mut regex_pieces = |text: &str| {
            let mut pieces = Vec::new();
            let mut last = 0;
            while let Some(end) = o200k.regex_piece_end(text, last, &mut cache) {
                pieces.push(text[last..end].to_owned());
                last = end;
            }
            pieces
        };
        let mut seed = 0x2545_F491_4F6C_DD1D_u64;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            usize::try_from(seed % n as u64).unwrap()
        };
        for round in 0..20_000 {
            let len = next(40);
            // Half the texts are pure ASCII: the scanner alone cuts them.
            let choices = if round % 2 == 0 {
                ALPHABET.len() - 9
            } else {
                ALPHABET.len()
            };
            let text: String = (0..len).map(|_| ALPHABET[next(choices)]).collect();
            let mut scratch = o200k.split.create_cache();
            let fast: Vec<String> = o200k
                .pieces(&text, &mut scratch)
                .map(str::to_owned)
                .collect();
            assert_eq!(fast, regex_pieces(&text), "{text:?}");
        }
    }

    #[test]
    fn long_pieces_merge_as_tiktoken_merges_them() {
        let tiktoken = tiktoken_rs::o200k_base_singleton();
        for text in [
            "a".repeat(900),
            "a".repeat(5_000),
            "ab".repeat(300),
            "ab".repeat(3_000),
            "x".repeat(150),
            "Supercalifragilistic".repeat(40),
            "=".repeat(1_000),
            " ".repeat(2_000),
            "\n".repeat(500),
        ] {
            assert_eq!(
                count(&text),
                tiktoken.encode_ordinary(&text).len(),
                "{}",
                &text[..20]
            );
        }
    }
}

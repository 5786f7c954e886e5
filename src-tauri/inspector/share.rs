//! Long bodies shared between captures.
//!
//! Claude Code sends the whole conversation again on every turn, so consecutive requests repeat
//! nearly all of their bytes: kept whole, a 700 KB conversation took 1.4 MB of the budget per
//! turn (its request and the backend request), and 8 MiB held six turns.
//!
//! When a long body arrives, the newest earlier capture whose body of the same kind begins and
//! ends with the same bytes (at least three quarters of it) gives its own copy up: it keeps
//! slices of the new body around the stretch that differs, and a copy of that stretch only.
//! Captures that held slices of the body given up are rewritten the same way. So a capture only
//! ever holds slices of its own bytes or of newer captures', and since captures are dropped
//! oldest first, dropping one never leaves bytes alive that no capture counts.

use bytes::Bytes;

/// Bodies and event data shorter than this are neither shared nor rewritten.
pub(super) const SHARE_MIN: usize = 16 * 1024;

/// Whether an item may be shared or given up: long, kept whole (`whole_len` is its length
/// before any cut) and not already in pieces.
pub(super) fn shareable(bytes: &Bytes, pieces: &[Bytes], whole_len: usize) -> bool {
    pieces.is_empty() && bytes.len() == whole_len && bytes.len() >= SHARE_MIN
}

/// The blocks compared at once while looking for the first difference.
const BLOCK: usize = 4096;

/// The bytes `a` and `b` begin with in common.
pub(super) fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let len = a.len().min(b.len());
    let mut at = 0;
    while at + BLOCK <= len && a[at..at + BLOCK] == b[at..at + BLOCK] {
        at += BLOCK;
    }
    at + a[at..len]
        .iter()
        .zip(&b[at..len])
        .take_while(|(x, y)| x == y)
        .count()
}

/// The bytes `a` and `b` end with in common.
pub(super) fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    let len = a.len().min(b.len());
    let (a, b) = (&a[a.len() - len..], &b[b.len() - len..]);
    let mut at = len;
    while at >= BLOCK && a[at - BLOCK..at] == b[at - BLOCK..at] {
        at -= BLOCK;
    }
    len - at
        + a[..at]
            .iter()
            .rev()
            .zip(b[..at].iter().rev())
            .take_while(|(x, y)| x == y)
            .count()
}

/// `old` as slices of `new` around what differs (copied), when they share at least three
/// quarters of `old`: their common beginning and end, and one common stretch between (a JSON
/// event differs in its id at the start and its usage at the end, not in the instructions and
/// tools between).
pub(super) fn rebase(old: &Bytes, new: &Bytes) -> Option<Vec<Bytes>> {
    let prefix = common_prefix(old, new);
    let suffix = common_suffix(&old[prefix..], &new[prefix..]);
    let (old_middle, new_middle) = (prefix..old.len() - suffix, prefix..new.len() - suffix);
    // The stretch around the middle of what differs, when the newer body has it too: as the
    // range of `old` and where it starts in `new`.
    let stretch = common_stretch(&old[old_middle.clone()], &new[new_middle.clone()])
        .map(|(range, at)| (range.start + prefix..range.end + prefix, at + prefix));
    let shared = prefix + suffix + stretch.as_ref().map_or(0, |(range, _)| range.len());
    if shared * 4 < old.len() * 3 {
        return None;
    }
    let mut pieces = vec![new.slice(..prefix)];
    match stretch {
        Some((range, at)) => {
            pieces.push(Bytes::copy_from_slice(&old[old_middle.start..range.start]));
            pieces.push(new.slice(at..at + range.len()));
            pieces.push(Bytes::copy_from_slice(&old[range.end..old_middle.end]));
        }
        None => pieces.push(Bytes::copy_from_slice(&old[old_middle])),
    }
    pieces.push(new.slice(new.len() - suffix..));
    Some(pieces.into_iter().filter(|p| !p.is_empty()).collect())
}

/// The longest stretch of `old` around its middle that `new` has too, found from the 64 bytes
/// at its centre: its range in `old` and where it starts in `new`.
fn common_stretch(old: &[u8], new: &[u8]) -> Option<(std::ops::Range<usize>, usize)> {
    const ANCHOR: usize = 64;
    if old.len() < 4 * ANCHOR {
        return None;
    }
    let start = old.len() / 2 - ANCHOR / 2;
    let anchor = &old[start..start + ANCHOR];
    // Where it would be if the bytes before it kept their length, or if all the change in
    // length came before it; else the first place it occurs.
    let shifted = (start + new.len()).checked_sub(old.len());
    let at = [Some(start), shifted]
        .into_iter()
        .flatten()
        .find(|&at| new.get(at..at + ANCHOR) == Some(anchor))
        .or_else(|| memchr::memmem::find(new, anchor))?;
    let before = common_suffix(&old[..start], &new[..at]);
    let after = common_prefix(&old[start + ANCHOR..], &new[at + ANCHOR..]);
    Some((start - before..start + ANCHOR + after, at - before))
}

/// An item's bytes as kept: `whole`, or its `pieces` joined when it has any.
pub(super) fn contents<'a>(whole: &'a Bytes, pieces: &[Bytes]) -> std::borrow::Cow<'a, [u8]> {
    if pieces.is_empty() {
        std::borrow::Cow::Borrowed(whole)
    } else {
        std::borrow::Cow::Owned(pieces.concat())
    }
}

/// The bytes a capture owns among `pieces` (the copies it made), as opposed to slices of
/// `shared_with`: what it is counted for.
pub(super) fn owned(pieces: &[Bytes], shared_with: &Bytes) -> usize {
    pieces
        .iter()
        .filter(|p| offset_in(p, shared_with).is_none())
        .map(Bytes::len)
        .sum()
}

/// `pieces` with each slice of `old` replaced by the same bytes of `rebased` (what `old` was
/// rewritten as); `None` when none is a slice of `old`.
pub(super) fn remap(pieces: &[Bytes], old: &Bytes, rebased: &[Bytes]) -> Option<Vec<Bytes>> {
    if pieces.iter().all(|p| offset_in(p, old).is_none()) {
        return None;
    }
    let mut out = Vec::with_capacity(pieces.len() + 2);
    for piece in pieces {
        match offset_in(piece, old) {
            Some(from) => slice_of(rebased, from, piece.len(), &mut out),
            None => out.push(piece.clone()),
        }
    }
    Some(out)
}

/// Where `piece` starts within `whole`, when it is a slice of it (the same memory).
fn offset_in(piece: &Bytes, whole: &Bytes) -> Option<usize> {
    let (start, base) = (piece.as_ptr().addr(), whole.as_ptr().addr());
    (!piece.is_empty() && start >= base && start + piece.len() <= base + whole.len())
        .then(|| start - base)
}

/// Appends the slices of `pieces` (concatenated) covering `len` bytes from `from`.
fn slice_of(pieces: &[Bytes], mut from: usize, mut len: usize, out: &mut Vec<Bytes>) {
    for piece in pieces {
        if len == 0 {
            break;
        }
        if from >= piece.len() {
            from -= piece.len();
            continue;
        }
        let take = (piece.len() - from).min(len);
        out.push(piece.slice(from..from + take));
        from = 0;
        len -= take;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn joined(pieces: &[Bytes]) -> Vec<u8> {
        pieces.iter().flat_map(|p| p.iter().copied()).collect()
    }

    #[test]
    fn prefixes_and_suffixes_are_found_across_blocks() {
        let a: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
        let mut b = a.clone();
        b[9_000] ^= 1;
        assert_eq!(common_prefix(&a, &b), 9_000);
        assert_eq!(common_suffix(&a, &b), 20_000 - 9_001);
        assert_eq!(common_prefix(&a, &a[..5]), 5);
        assert_eq!(common_suffix(&a, &a[19_990..]), 10);
        assert_eq!(common_prefix(b"", &a), 0);
    }

    #[test]
    fn a_rebased_body_and_the_slices_remapped_through_it_keep_their_bytes() {
        let turn = |n: usize| -> Bytes {
            let mut body = b"{\"messages\":[".to_vec();
            for i in 0..n {
                body.extend_from_slice(
                    format!("{{\"turn\":{i},\"text\":\"{}\"}},", "x".repeat(9_000)).as_bytes(),
                );
            }
            body.extend_from_slice(b"],\"tools\":[\"the same tools\"]}");
            Bytes::from(body)
        };
        let (one, two, three) = (turn(10), turn(11), turn(12));
        let rebased_one = rebase(&one, &two).unwrap();
        assert_eq!(joined(&rebased_one), one.to_vec());
        assert!(
            owned(&rebased_one, &two) < 100,
            "{}",
            owned(&rebased_one, &two)
        );
        // The second turn gives its body up for the third: the first's slices of it follow.
        let rebased_two = rebase(&two, &three).unwrap();
        let remapped_one = remap(&rebased_one, &two, &rebased_two).unwrap();
        assert_eq!(joined(&remapped_one), one.to_vec());
        assert!(remapped_one.iter().all(|p| offset_in(p, &two).is_none()));
        assert_eq!(remap(&remapped_one, &two, &rebased_two), None);
    }

    #[test]
    fn an_event_that_differs_at_both_ends_shares_what_lies_between() {
        let event = |id: u32, tokens: u32| -> Bytes {
            let tools = "a tool's schema ".repeat(2000);
            Bytes::from(format!(
                r#"{{"id":"resp_{id}","instructions":"the same","tools":"{tools}","usage":{tokens}}}"#
            ))
        };
        let (old, new) = (event(1, 100), event(2, 250));
        let rebased = rebase(&old, &new).unwrap();
        assert_eq!(joined(&rebased), old.to_vec());
        assert!(owned(&rebased, &new) < 10, "{}", owned(&rebased, &new));
    }

    #[test]
    fn unrelated_bodies_are_not_rebased() {
        let a = Bytes::from(vec![b'a'; 100_000]);
        let b = Bytes::from(vec![b'b'; 100_000]);
        assert_eq!(rebase(&a, &b), None);
    }
}

//! The gate every tier after the text merge passes: a result is used only if it
//! keeps, byte for byte, everything the line merge settled, and differs from it
//! only inside the line merge's conflicts.
//!
//! A structured (or later, a syntax-aware or LLM) function sees more than lines,
//! and that is its danger: it can settle a conflict while losing a comment, moving
//! a key, or reformatting text neither side touched, and still produce a document
//! that parses to the right value. The line merge is right wherever it is clean,
//! so no later tier may disagree with it there.

use crate::function::Input;
use crate::text::{self, Algorithm};

/// Whether `merged` is the line merge of `input` with only its conflicts settled:
/// the settled stretches appear in order, the first at the start, the last at the
/// end, each other one at the start of a line, with anything between them.
pub fn keeps_text_merge(input: &Input, merged: &[u8]) -> bool {
    let base = input.base.unwrap_or_default();
    let stretches = text::settled_stretches(base, input.ours, input.theirs, Algorithm::Histogram);
    fits(merged, &stretches)
}

/// Whether `merged` is `stretches[0] X stretches[1] X … stretches[n]` for some
/// texts X. Placing each middle stretch at its earliest possible line is enough:
/// any later placement leaves less room for the stretches after it.
fn fits(merged: &[u8], stretches: &[Vec<u8>]) -> bool {
    let [first, middle @ .., last] = stretches else {
        return stretches.first().is_some_and(|only| only == merged);
    };
    if first.len() + last.len() > merged.len() || !merged.starts_with(first) || !merged.ends_with(last) {
        return false;
    }
    let end = merged.len() - last.len();
    let mut at = first.len();
    for stretch in middle.iter().filter(|s| !s.is_empty()) {
        match find_at_line_start(&merged[..end], stretch, at) {
            Some(found) => at = found + stretch.len(),
            None => return false,
        }
    }
    true
}

/// The first position at or after `from` where `needle` starts a line of `hay`.
fn find_at_line_start(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let mut start = from;
    while start + needle.len() <= hay.len() {
        let line_start = start == 0 || hay[start - 1] == b'\n';
        if line_start && hay[start..].starts_with(needle) {
            return Some(start);
        }
        start += hay[start..].iter().position(|&b| b == b'\n')? + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(base: &'a str, ours: &'a str, theirs: &'a str) -> Input<'a> {
        Input { path: b"f", base: Some(base.as_bytes()), ours: ours.as_bytes(), theirs: theirs.as_bytes() }
    }

    #[test]
    fn a_clean_line_merge_admits_only_itself() {
        let clean = input("a\nb\nc\nd\n", "A\nb\nc\nd\n", "a\nb\nc\nD\n");
        assert!(keeps_text_merge(&clean, b"A\nb\nc\nD\n"));
        assert!(!keeps_text_merge(&clean, b"A\nb\nc\nD\n\n"));
        assert!(!keeps_text_merge(&clean, b"A\nc\nD\n"));
    }

    #[test]
    fn only_conflicts_may_change() {
        // Lines b and c conflict (adjacent changes); a, the comment and d are settled.
        let conflicted = input("a\n# note\nb\nc\nd\n", "a\n# note\nb\nC\nd\n", "a\n# note\nB\nc\nd\n");
        assert!(keeps_text_merge(&conflicted, b"a\n# note\nB\nC\nd\n"));
        assert!(keeps_text_merge(&conflicted, b"a\n# note\nanything\nat all\nd\n"));
        assert!(!keeps_text_merge(&conflicted, b"a\nB\nC\nd\n"), "the comment is settled text");
        assert!(!keeps_text_merge(&conflicted, b"a\n# note\nB\nC\n"), "so is the last line");
    }

    #[test]
    fn stretches_between_conflicts_keep_their_order_and_line_starts() {
        let stretches: Vec<Vec<u8>> = ["top\n", "mid\n", "end\n"].map(|s| s.as_bytes().to_vec()).to_vec();
        assert!(fits(b"top\nx\nmid\ny\nend\n", &stretches));
        assert!(fits(b"top\nmid\nend\n", &stretches), "conflicts may resolve to nothing");
        assert!(!fits(b"top\nxmid\nend\n", &stretches), "a stretch starts a line");
        assert!(!fits(b"top\nend\n", &stretches));
        assert!(!fits(b"top\nend\n", &["top\nend\n".as_bytes().to_vec(), b"end\n".to_vec()]), "no overlap");
    }
}

//! A line diff that picks the same alignment as git's xdiff.
//!
//! Two files usually have many minimal edit scripts; which one a diff picks decides
//! where a 3-way merge draws its conflict lines. To give merges byte-identical to
//! git's, this module follows xdiff step for step: lines are classed by their bytes;
//! for the default (Myers) algorithm the common head and tail are trimmed, lines with
//! no partner in the other file (and runs of lines with too many partners) are set
//! aside before the search, and the middle snake is searched with xdiff's cost
//! heuristics; the histogram algorithm ([`histogram`](super::histogram)) splits at
//! the rarest common lines instead. Either way, change groups are then slid the way
//! `xdl_change_compact` slides them.
//!
//! # Deviation from git
//! Patience diff, the indent heuristic and the whitespace-ignoring options are not
//! implemented.

use rustc_hash::FxHashMap;

/// Which diff algorithm, as git's `--diff-algorithm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Algorithm {
    /// git's default: Myers with xdiff's heuristics (`git merge-file`'s default).
    #[default]
    Myers,
    /// Myers without the heuristics: a shortest script however long it takes.
    Minimal,
    /// Histogram diff (what `git merge` uses for file contents).
    Histogram,
}

/// One change in an edit script: `len_a` lines of `a` from `a_start` were replaced by
/// `len_b` lines of `b` from `b_start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// First changed line in `a` (or the line before which `b`'s lines go).
    pub a_start: usize,
    /// First changed line in `b`.
    pub b_start: usize,
    /// How many lines of `a` changed.
    pub len_a: usize,
    /// How many lines of `b` changed.
    pub len_b: usize,
}

/// Splits text into lines, each keeping its `\n`; a last line without one is a line.
pub fn split_lines(text: &[u8]) -> Vec<&[u8]> {
    text.split_inclusive(|&byte| byte == b'\n').collect()
}

/// The edit script from `a` to `b`, ordered by position.
pub fn diff<'t>(a: &[&'t [u8]], b: &[&'t [u8]], algorithm: Algorithm) -> Vec<Change> {
    let (mut file_a, mut file_b) = mark(a, b, algorithm);
    compact(&mut file_a, &file_b);
    compact(&mut file_b, &file_a);
    script(&file_a, &file_b)
}

/// Which lines of each side the algorithm marks as changed, before compaction
/// (xdiff's `xdl_do_diff`).
pub(super) fn mark<'t>(a: &[&'t [u8]], b: &[&'t [u8]], algorithm: Algorithm) -> (File, File) {
    let classes = Classes::of(a, b);
    let mut file_a = File::new(classes.ids_a);
    let mut file_b = File::new(classes.ids_b);
    match algorithm {
        Algorithm::Histogram => super::histogram::run(a, b, &mut file_a, &mut file_b),
        Algorithm::Myers | Algorithm::Minimal => {
            let minimal = algorithm == Algorithm::Minimal;
            let kept = set_aside(&mut file_a, &mut file_b, &classes.counts, minimal);
            Myers::new(&kept).run(&mut file_a, &mut file_b, minimal);
        }
    }
    (file_a, file_b)
}

/// Lines numbered by content: equal lines get equal class ids.
struct Classes {
    ids_a: Vec<u32>,
    ids_b: Vec<u32>,
    /// Per class, how many lines of `a` and of `b` have it.
    counts: Vec<[usize; 2]>,
}

impl Classes {
    fn of<'t>(a: &[&'t [u8]], b: &[&'t [u8]]) -> Classes {
        let mut ids: FxHashMap<&'t [u8], u32> = FxHashMap::default();
        ids.reserve(a.len() + b.len());
        let mut counts: Vec<[usize; 2]> = Vec::new();
        let mut classify = |lines: &[&'t [u8]], side: usize| -> Vec<u32> {
            let mut out = Vec::with_capacity(lines.len());
            for &line in lines {
                let next = counts.len() as u32;
                let id = *ids.entry(line).or_insert(next);
                if id == next {
                    counts.push([0, 0]);
                }
                counts[id as usize][side] += 1;
                out.push(id);
            }
            out
        };
        let ids_a = classify(a, 0);
        let ids_b = classify(b, 1);
        Classes { ids_a, ids_b, counts }
    }
}

/// One side of a diff: its lines' classes and which lines are changed.
pub(super) struct File {
    pub(super) class: Vec<u32>,
    /// `changed[i + 1]` is line `i`; the extra slots before and after stay false, so
    /// group walks need no bounds checks (as in xdiff).
    changed: Vec<bool>,
}

impl File {
    fn new(class: Vec<u32>) -> File {
        let changed = vec![false; class.len() + 2];
        File { class, changed }
    }

    fn len(&self) -> isize {
        self.class.len() as isize
    }

    pub(super) fn is_changed(&self, line: isize) -> bool {
        usize::try_from(line + 1).ok().and_then(|slot| self.changed.get(slot)).copied().unwrap_or(false)
    }

    pub(super) fn set_changed(&mut self, line: isize, changed: bool) {
        self.changed[(line + 1) as usize] = changed;
    }
}

/// The lines that go into the Myers search: their indices in each file and classes.
struct Kept {
    index_a: Vec<isize>,
    index_b: Vec<isize>,
    class_a: Vec<u32>,
    class_b: Vec<u32>,
}

/// A line with more partners than this (relative to the file's size) is a candidate
/// to be set aside, like a line with none.
const MAX_EQUAL_LIMIT: usize = 1024;
/// How far the scan for runs of set-aside lines looks either way.
const SCAN_WINDOW: isize = 100;
/// A multi-partner line is set aside when fewer than one in this many lines of its
/// surrounding run have a single partner.
const KEEP_RUN_RATIO: usize = 4;

/// xdiff's `xdl_bogosqrt`: a power of two near the square root.
fn rough_sqrt(mut n: usize) -> usize {
    let mut root = 1;
    while n > 0 {
        root <<= 1;
        n >>= 2;
    }
    root
}

/// Trims the common head and tail, marks lines that cannot match as changed, and
/// returns the rest for the search (xdiff's `xdl_optimize_ctxs`).
fn set_aside(a: &mut File, b: &mut File, counts: &[[usize; 2]], minimal: bool) -> Kept {
    let shorter = a.class.len().min(b.class.len());
    let head = (0..shorter).take_while(|&i| a.class[i] == b.class[i]).count();
    let tail = (0..shorter - head)
        .take_while(|&i| a.class[a.class.len() - 1 - i] == b.class[b.class.len() - 1 - i])
        .count();
    let (index_a, class_a) = keep_side(a, head, a.class.len() - tail, |class| counts[class][1], minimal);
    let (index_b, class_b) = keep_side(b, head, b.class.len() - tail, |class| counts[class][0], minimal);
    Kept { index_a, index_b, class_a, class_b }
}

/// Classifies lines `start..end` of one file by how many partners they have in the
/// other (0: none, 1: some, 2: too many) and keeps the ones worth searching.
fn keep_side(
    file: &mut File,
    start: usize,
    end: usize,
    partners: impl Fn(usize) -> usize,
    minimal: bool,
) -> (Vec<isize>, Vec<u32>) {
    let limit = rough_sqrt(file.class.len()).min(MAX_EQUAL_LIMIT);
    let kind: Vec<u8> = (start..end)
        .map(|i| match partners(file.class[i] as usize) {
            0 => 0,
            n if n >= limit && !minimal => 2,
            _ => 1,
        })
        .collect();
    let (mut index, mut class) = (Vec::new(), Vec::new());
    for (offset, &k) in kind.iter().enumerate() {
        let line = start + offset;
        if k == 1 || (k == 2 && !inside_discarded_run(&kind, offset as isize)) {
            index.push(line as isize);
            class.push(file.class[line]);
        } else {
            file.set_changed(line as isize, true);
        }
    }
    (index, class)
}

/// Whether a line with many partners sits in a run of lines without partners, so
/// that matching it would only produce a spurious, scattered alignment
/// (xdiff's `xdl_clean_mmatch`).
fn inside_discarded_run(kind: &[u8], at: isize) -> bool {
    let start = (at - SCAN_WINDOW).max(0);
    let end = (at + SCAN_WINDOW).min(kind.len() as isize - 1);
    let count_run = |step: isize| -> (usize, usize) {
        let (mut without, mut many) = (0, 1);
        let mut i = at + step;
        while (start..=end).contains(&i) {
            match kind[i as usize] {
                0 => without += 1,
                2 => many += 1,
                _ => break,
            }
            i += step;
        }
        (without, many)
    };
    let (without_before, many_before) = count_run(-1);
    if without_before == 0 {
        return false;
    }
    let (without_after, many_after) = count_run(1);
    if without_after == 0 {
        return false;
    }
    let without = without_before + without_after;
    let many = many_before + many_after;
    many * KEEP_RUN_RATIO < many + without
}

/// Search-cost heuristics (xdiff's values).
const MAX_COST_MIN: isize = 256;
const HEURISTIC_MIN_COST: isize = 256;
const SNAKE_COUNT: isize = 20;
const K_HEURISTIC: isize = 4;

/// A box of the edit graph still to be searched: lines `a.0..a.1` against `b.0..b.1`.
struct Region {
    a: (isize, isize),
    b: (isize, isize),
    minimal: bool,
}

/// Where a region splits, and whether each half must be searched minimally.
struct Split {
    a: isize,
    b: isize,
    minimal_low: bool,
    minimal_high: bool,
}

/// The divide-and-conquer Myers search over the kept lines.
struct Myers<'k> {
    kept: &'k Kept,
    forward: Vec<isize>,
    backward: Vec<isize>,
    /// Added to a diagonal number to index `forward`/`backward`.
    diagonal_base: isize,
    max_cost: isize,
}

impl<'k> Myers<'k> {
    fn new(kept: &'k Kept) -> Myers<'k> {
        let diagonals = kept.class_a.len() + kept.class_b.len() + 3;
        Myers {
            kept,
            forward: vec![0; diagonals],
            backward: vec![0; diagonals],
            diagonal_base: kept.class_b.len() as isize + 1,
            max_cost: (rough_sqrt(diagonals) as isize).max(MAX_COST_MIN),
        }
    }

    /// Marks every kept line outside the longest common subsequence found as changed.
    /// Regions are kept on a stack: a long diff would otherwise recurse deeply.
    fn run(&mut self, a: &mut File, b: &mut File, minimal: bool) {
        let kept = self.kept;
        let mut regions = vec![Region {
            a: (0, kept.class_a.len() as isize),
            b: (0, kept.class_b.len() as isize),
            minimal,
        }];
        while let Some(Region { a: (mut lo_a, mut hi_a), b: (mut lo_b, mut hi_b), minimal }) = regions.pop() {
            while lo_a < hi_a && lo_b < hi_b && self.same(lo_a, lo_b) {
                lo_a += 1;
                lo_b += 1;
            }
            while lo_a < hi_a && lo_b < hi_b && self.same(hi_a - 1, hi_b - 1) {
                hi_a -= 1;
                hi_b -= 1;
            }
            if lo_a == hi_a {
                (lo_b..hi_b).for_each(|i| b.set_changed(kept.index_b[i as usize], true));
            } else if lo_b == hi_b {
                (lo_a..hi_a).for_each(|i| a.set_changed(kept.index_a[i as usize], true));
            } else {
                let split = self.split((lo_a, hi_a), (lo_b, hi_b), minimal);
                regions.push(Region { a: (split.a, hi_a), b: (split.b, hi_b), minimal: split.minimal_high });
                regions.push(Region { a: (lo_a, split.a), b: (lo_b, split.b), minimal: split.minimal_low });
            }
        }
    }

    fn same(&self, i: isize, j: isize) -> bool {
        self.kept.class_a[i as usize] == self.kept.class_b[j as usize]
    }

    fn fwd(&mut self, diagonal: isize) -> &mut isize {
        &mut self.forward[(diagonal + self.diagonal_base) as usize]
    }

    fn bwd(&mut self, diagonal: isize) -> &mut isize {
        &mut self.backward[(diagonal + self.diagonal_base) as usize]
    }

    /// Finds the middle snake of a region (xdiff's `xdl_split`), giving up on
    /// minimality with xdiff's heuristics when the search grows expensive.
    fn split(&mut self, (off1, lim1): (isize, isize), (off2, lim2): (isize, isize), minimal: bool) -> Split {
        let (dmin, dmax) = (off1 - lim2, lim1 - off2);
        let (fmid, bmid) = (off1 - off2, lim1 - lim2);
        let odd = (fmid - bmid) & 1 != 0;
        let (mut fmin, mut fmax, mut bmin, mut bmax) = (fmid, fmid, bmid, bmid);
        *self.fwd(fmid) = off1;
        *self.bwd(bmid) = lim1;
        let mut cost = 1;
        loop {
            let mut got_snake = false;
            widen((&mut fmin, &mut fmax), (dmin, dmax), |d| *self.fwd(d) = -1);
            let mut d = fmax;
            while d >= fmin {
                let mut i1 = if *self.fwd(d - 1) >= *self.fwd(d + 1) {
                    *self.fwd(d - 1) + 1
                } else {
                    *self.fwd(d + 1)
                };
                let start = i1;
                let mut i2 = i1 - d;
                while i1 < lim1 && i2 < lim2 && self.same(i1, i2) {
                    i1 += 1;
                    i2 += 1;
                }
                got_snake |= i1 - start > SNAKE_COUNT;
                *self.fwd(d) = i1;
                if odd && bmin <= d && d <= bmax && *self.bwd(d) <= i1 {
                    return Split { a: i1, b: i2, minimal_low: true, minimal_high: true };
                }
                d -= 2;
            }

            widen((&mut bmin, &mut bmax), (dmin, dmax), |d| *self.bwd(d) = isize::MAX);
            let mut d = bmax;
            while d >= bmin {
                let mut i1 =
                    if *self.bwd(d - 1) < *self.bwd(d + 1) { *self.bwd(d - 1) } else { *self.bwd(d + 1) - 1 };
                let start = i1;
                let mut i2 = i1 - d;
                while i1 > off1 && i2 > off2 && self.same(i1 - 1, i2 - 1) {
                    i1 -= 1;
                    i2 -= 1;
                }
                got_snake |= start - i1 > SNAKE_COUNT;
                *self.bwd(d) = i1;
                if !odd && fmin <= d && d <= fmax && i1 <= *self.fwd(d) {
                    return Split { a: i1, b: i2, minimal_low: true, minimal_high: true };
                }
                d -= 2;
            }

            if !minimal {
                let frontier = Frontier {
                    off: (off1, off2),
                    lim: (lim1, lim2),
                    fwd: (fmin, fmax, fmid),
                    bwd: (bmin, bmax, bmid),
                };
                if got_snake && cost > HEURISTIC_MIN_COST {
                    if let Some(split) = self.interesting_snake(&frontier, cost) {
                        return split;
                    }
                }
                if cost >= self.max_cost {
                    return self.furthest_reaching(&frontier);
                }
            }
            cost += 1;
        }
    }

    /// After enough cost, a diagonal that has come far from the box's corner along a
    /// long snake is taken as the split, giving up minimality for speed.
    fn interesting_snake(&mut self, f: &Frontier, cost: isize) -> Option<Split> {
        let ((off1, off2), (lim1, lim2)) = (f.off, f.lim);
        let mut best = 0;
        let mut found = None;
        let (fmin, fmax, fmid) = f.fwd;
        let mut d = fmax;
        while d >= fmin {
            let i1 = *self.fwd(d);
            let i2 = i1 - d;
            let value = (i1 - off1) + (i2 - off2) - (d - fmid).abs();
            if value > K_HEURISTIC * cost
                && value > best
                && off1 + SNAKE_COUNT <= i1
                && i1 < lim1
                && off2 + SNAKE_COUNT <= i2
                && i2 < lim2
                && (1..=SNAKE_COUNT).all(|k| self.same(i1 - k, i2 - k))
            {
                best = value;
                found = Some(Split { a: i1, b: i2, minimal_low: true, minimal_high: false });
            }
            d -= 2;
        }
        if found.is_some() {
            return found;
        }
        let (bmin, bmax, bmid) = f.bwd;
        let mut d = bmax;
        while d >= bmin {
            let i1 = *self.bwd(d);
            let i2 = i1 - d;
            let value = (lim1 - i1) + (lim2 - i2) - (d - bmid).abs();
            if value > K_HEURISTIC * cost
                && value > best
                && off1 < i1
                && i1 <= lim1 - SNAKE_COUNT
                && off2 < i2
                && i2 <= lim2 - SNAKE_COUNT
                && (0..SNAKE_COUNT).all(|k| self.same(i1 + k, i2 + k))
            {
                best = value;
                found = Some(Split { a: i1, b: i2, minimal_low: false, minimal_high: true });
            }
            d -= 2;
        }
        found
    }

    /// When the search has cost too much, split at whichever frontier got furthest.
    fn furthest_reaching(&mut self, f: &Frontier) -> Split {
        let ((off1, off2), (lim1, lim2)) = (f.off, f.lim);
        let (mut fbest, mut fbest1) = (-1, -1);
        let (fmin, fmax, _) = f.fwd;
        let mut d = fmax;
        while d >= fmin {
            let mut i1 = (*self.fwd(d)).min(lim1);
            let mut i2 = i1 - d;
            if lim2 < i2 {
                i1 = lim2 + d;
                i2 = lim2;
            }
            if fbest < i1 + i2 {
                fbest = i1 + i2;
                fbest1 = i1;
            }
            d -= 2;
        }
        let (mut bbest, mut bbest1) = (isize::MAX, isize::MAX);
        let (bmin, bmax, _) = f.bwd;
        let mut d = bmax;
        while d >= bmin {
            let mut i1 = (*self.bwd(d)).max(off1);
            let mut i2 = i1 - d;
            if i2 < off2 {
                i1 = off2 + d;
                i2 = off2;
            }
            if i1 + i2 < bbest {
                bbest = i1 + i2;
                bbest1 = i1;
            }
            d -= 2;
        }
        if (lim1 + lim2) - bbest < fbest - (off1 + off2) {
            Split { a: fbest1, b: fbest - fbest1, minimal_low: true, minimal_high: false }
        } else {
            Split { a: bbest1, b: bbest - bbest1, minimal_low: false, minimal_high: true }
        }
    }
}

/// Widens a search's range of diagonals by one each way; at an edge of the box the
/// range moves inward instead, keeping its parity. `reset` gives the diagonal just
/// beyond each new end a value that never wins, so the search needs no bounds tests.
fn widen(
    (min, max): (&mut isize, &mut isize),
    (lowest, highest): (isize, isize),
    mut reset: impl FnMut(isize),
) {
    if *min > lowest {
        *min -= 1;
        reset(*min - 1);
    } else {
        *min += 1;
    }
    if *max < highest {
        *max += 1;
        reset(*max + 1);
    } else {
        *max -= 1;
    }
}

/// The state of one split search that the heuristics inspect.
struct Frontier {
    off: (isize, isize),
    lim: (isize, isize),
    /// Lowest, highest and middle diagonal of the forward search.
    fwd: (isize, isize, isize),
    /// The same for the backward search.
    bwd: (isize, isize, isize),
}

/// A run of changed lines in one file (possibly empty), as xdiff's `xdlgroup`.
#[derive(Clone, Copy)]
struct Group {
    start: isize,
    end: isize,
}

impl Group {
    fn first(file: &File) -> Group {
        let mut end = 0;
        while file.is_changed(end) {
            end += 1;
        }
        Group { start: 0, end }
    }

    fn next(&mut self, file: &File) -> bool {
        if self.end == file.len() {
            return false;
        }
        self.start = self.end + 1;
        self.end = self.start;
        while file.is_changed(self.end) {
            self.end += 1;
        }
        true
    }

    fn previous(&mut self, file: &File) -> bool {
        if self.start == 0 {
            return false;
        }
        self.end = self.start - 1;
        self.start = self.end;
        while file.is_changed(self.start - 1) {
            self.start -= 1;
        }
        true
    }

    fn slide_down(&mut self, file: &mut File) -> bool {
        if self.end < file.len() && file.class[self.start as usize] == file.class[self.end as usize] {
            file.set_changed(self.start, false);
            file.set_changed(self.end, true);
            self.start += 1;
            self.end += 1;
            while file.is_changed(self.end) {
                self.end += 1;
            }
            true
        } else {
            false
        }
    }

    fn slide_up(&mut self, file: &mut File) -> bool {
        if self.start > 0 && file.class[(self.start - 1) as usize] == file.class[(self.end - 1) as usize] {
            self.start -= 1;
            self.end -= 1;
            file.set_changed(self.start, true);
            file.set_changed(self.end, false);
            while file.is_changed(self.start - 1) {
                self.start -= 1;
            }
            true
        } else {
            false
        }
    }
}

/// Slides change groups as far down as they go, merging groups they bump into, then
/// back up to line up with a change in the other file if one can be reached
/// (xdiff's `xdl_change_compact` without the indent heuristic).
fn compact(file: &mut File, other: &File) {
    let mut g = Group::first(file);
    let mut go = Group::first(other);
    loop {
        if g.end != g.start {
            let mut end_matching_other;
            let mut earliest_end;
            loop {
                let size = g.end - g.start;
                end_matching_other = -1;
                while g.slide_up(file) {
                    let moved = go.previous(other);
                    debug_assert!(moved, "group sync broken sliding up");
                }
                earliest_end = g.end;
                if go.end > go.start {
                    end_matching_other = g.end;
                }
                while g.slide_down(file) {
                    let moved = go.next(other);
                    debug_assert!(moved, "group sync broken sliding down");
                    if go.end > go.start {
                        end_matching_other = g.end;
                    }
                }
                if size == g.end - g.start {
                    break;
                }
            }
            if g.end != earliest_end && end_matching_other != -1 {
                while go.end == go.start {
                    let slid = g.slide_up(file) && go.previous(other);
                    debug_assert!(slid, "match disappeared");
                }
            }
        }
        if !g.next(file) {
            break;
        }
        let moved = go.next(other);
        debug_assert!(moved, "group sync broken moving to next group");
    }
}

/// Collects runs of changed lines into the edit script.
fn script(a: &File, b: &File) -> Vec<Change> {
    let mut changes = Vec::new();
    let (mut i1, mut i2) = (a.len(), b.len());
    while i1 >= 0 || i2 >= 0 {
        if a.is_changed(i1 - 1) || b.is_changed(i2 - 1) {
            let (end1, end2) = (i1, i2);
            while a.is_changed(i1 - 1) {
                i1 -= 1;
            }
            while b.is_changed(i2 - 1) {
                i2 -= 1;
            }
            changes.push(Change {
                a_start: i1 as usize,
                b_start: i2 as usize,
                len_a: (end1 - i1) as usize,
                len_b: (end2 - i2) as usize,
            });
        }
        i1 -= 1;
        i2 -= 1;
    }
    changes.reverse();
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<&[u8]> {
        split_lines(text.as_bytes())
    }

    /// Applies a script to `a` and checks that it gives `b`.
    fn apply(a: &[&[u8]], b: &[&[u8]], script: &[Change]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut at = 0;
        for change in script {
            out.extend(a[at..change.a_start].iter().map(|l| l.to_vec()));
            out.extend(b[change.b_start..change.b_start + change.len_b].iter().map(|l| l.to_vec()));
            at = change.a_start + change.len_a;
        }
        out.extend(a[at..].iter().map(|l| l.to_vec()));
        out
    }

    #[test]
    fn a_script_turns_a_into_b() {
        let a = lines("a\nb\nc\nd\ne\nf\n");
        let b = lines("a\nc\nd\nx\ne\nf\ng");
        let script = diff(&a, &b, Algorithm::Myers);
        assert_eq!(apply(&a, &b, &script), b.iter().map(|l| l.to_vec()).collect::<Vec<_>>());
        assert_eq!(
            script,
            vec![
                Change { a_start: 1, b_start: 1, len_a: 1, len_b: 0 },
                Change { a_start: 4, b_start: 3, len_a: 0, len_b: 1 },
                Change { a_start: 6, b_start: 6, len_a: 0, len_b: 1 },
            ]
        );
    }

    #[test]
    fn an_inserted_repeat_slides_to_the_end_of_its_run() {
        // "b" inserted into a run of b's: xdiff reports it at the run's end.
        let script = diff(&lines("a\nb\nb\nc\n"), &lines("a\nb\nb\nb\nc\n"), Algorithm::Myers);
        assert_eq!(script, vec![Change { a_start: 3, b_start: 3, len_a: 0, len_b: 1 }]);
    }

    #[test]
    fn identical_and_empty_inputs() {
        assert!(diff(&lines("x\ny\n"), &lines("x\ny\n"), Algorithm::Myers).is_empty());
        assert_eq!(
            diff(&[], &lines("x\n"), Algorithm::Myers),
            vec![Change { a_start: 0, b_start: 0, len_a: 0, len_b: 1 }]
        );
        assert!(diff(&[], &[], Algorithm::Myers).is_empty());
    }
}

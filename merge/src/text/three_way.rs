//! The 3-way line merge, hunk by hunk as git's `xdl_merge` does it, with git's
//! conflict styles and markers.

use super::xdiff::{self, Algorithm, Change};
use super::{ConflictStyle, Favor, Labels, Level, Options};
use std::ops::Range;

/// What the merged text holds for one stretch of the base.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Take {
    Conflict,
    Ours,
    Theirs,
    Both,
    /// Both sides made the same change (found while refining a conflict).
    Same,
}

/// One stretch where at least one side changed the base: lines `i0..i0+chg0` of the
/// base, `i1..i1+chg1` of ours and `i2..i2+chg2` of theirs.
#[derive(Debug, Clone, Copy)]
struct Hunk {
    take: Take,
    i0: isize,
    chg0: isize,
    i1: isize,
    chg1: isize,
    i2: isize,
    chg2: isize,
}

/// The three texts as lines.
struct Sides<'t> {
    base: Vec<&'t [u8]>,
    ours: Vec<&'t [u8]>,
    theirs: Vec<&'t [u8]>,
}

/// Merges per git's rules; returns the merged bytes and the number of conflicts.
pub(super) fn merge(base: &[u8], ours: &[u8], theirs: &[u8], options: &Options) -> (Vec<u8>, usize) {
    let sides = Sides::of(base, ours, theirs);
    let Some(mut hunks) = changes(&sides, options.algorithm) else {
        return (sides.unchanged_side(ours, theirs), 0);
    };
    match options.style {
        ConflictStyle::Zdiff3 => trim_common_ends(&sides, &mut hunks),
        ConflictStyle::Diff3 => {}
        ConflictStyle::Merge => {
            hunks = refine_conflicts(&sides, hunks, options.algorithm);
            join_close_conflicts(&sides, &mut hunks, options.level == Level::ZealousAlnum);
        }
    }
    if let Some(favor) = options.favor {
        for hunk in hunks.iter_mut().filter(|h| h.take == Take::Conflict) {
            hunk.take = match favor {
                Favor::Ours => Take::Ours,
                Favor::Theirs => Take::Theirs,
                Favor::Union => Take::Both,
            };
        }
    }
    let conflicts = hunks.iter().filter(|h| h.take == Take::Conflict).count();
    (Writer::new(&sides, options).write(&hunks).text, conflicts)
}

/// The stretches of the merged text that no conflict touches, in order: the text
/// before the first conflict, between each two, and after the last (so one more
/// than there are conflicts). Conflicts are as small as git's zealous level makes
/// them, and close ones are not joined, so every line that neither side changed,
/// and every line both sides agree on, is in a stretch.
pub(super) fn settled_stretches(
    base: &[u8],
    ours: &[u8],
    theirs: &[u8],
    algorithm: Algorithm,
) -> Vec<Vec<u8>> {
    let sides = Sides::of(base, ours, theirs);
    let Some(hunks) = changes(&sides, algorithm) else {
        return vec![sides.unchanged_side(ours, theirs)];
    };
    let hunks = refine_conflicts(&sides, hunks, algorithm);
    let written = Writer::new(&sides, &Options { algorithm, ..Options::default() }).write(&hunks);
    let mut stretches = Vec::with_capacity(written.conflicts.len() + 1);
    let mut at = 0;
    for conflict in &written.conflicts {
        stretches.push(written.text[at..conflict.start].to_vec());
        at = conflict.end;
    }
    stretches.push(written.text[at..].to_vec());
    stretches
}

impl<'t> Sides<'t> {
    fn of(base: &'t [u8], ours: &'t [u8], theirs: &'t [u8]) -> Sides<'t> {
        Sides {
            base: xdiff::split_lines(base),
            ours: xdiff::split_lines(ours),
            theirs: xdiff::split_lines(theirs),
        }
    }

    /// The merge when only one side (or neither) changed anything.
    fn unchanged_side(&self, ours: &[u8], theirs: &[u8]) -> Vec<u8> {
        if self.ours == self.base {
            theirs.to_vec()
        } else {
            ours.to_vec()
        }
    }
}

/// Each side's changes paired into hunks, or `None` when a side changed nothing.
fn changes(sides: &Sides, algorithm: Algorithm) -> Option<Vec<Hunk>> {
    let ours_script = xdiff::diff(&sides.base, &sides.ours, algorithm);
    let theirs_script = xdiff::diff(&sides.base, &sides.theirs, algorithm);
    if ours_script.is_empty() || theirs_script.is_empty() {
        return None;
    }
    Some(pair_changes(sides, &ours_script, &theirs_script))
}

/// Walks both edit scripts in base order, pairing overlapping changes into conflict
/// hunks unless both sides made the same change (`xdl_do_merge`'s first pass).
fn pair_changes(sides: &Sides, ours: &[Change], theirs: &[Change]) -> Vec<Hunk> {
    let mut hunks: Vec<Hunk> = Vec::new();
    let (mut x, mut y) = (ours.iter().peekable(), theirs.iter().peekable());
    let c = |change: &Change| {
        (change.a_start as isize, change.len_a as isize, change.b_start as isize, change.len_b as isize)
    };
    loop {
        match (x.peek().map(|ch| c(ch)), y.peek().map(|ch| c(ch))) {
            (Some((a1, l1, b1, m1)), Some((a2, l2, b2, m2))) => {
                if a1 + l1 < a2 {
                    append(
                        &mut hunks,
                        Hunk {
                            take: Take::Ours,
                            i0: a1,
                            chg0: l1,
                            i1: b1,
                            chg1: m1,
                            i2: b2 - a2 + a1,
                            chg2: l1,
                        },
                    );
                    x.next();
                    continue;
                }
                if a2 + l2 < a1 {
                    append(
                        &mut hunks,
                        Hunk {
                            take: Take::Theirs,
                            i0: a2,
                            chg0: l2,
                            i1: b1 - a1 + a2,
                            chg1: l2,
                            i2: b2,
                            chg2: m2,
                        },
                    );
                    y.next();
                    continue;
                }
                let same = a1 == a2 && l1 == l2 && m1 == m2 && {
                    let (o, t) = (b1 as usize, b2 as usize);
                    sides.ours[o..o + m1 as usize] == sides.theirs[t..t + m2 as usize]
                };
                if !same {
                    append(&mut hunks, conflict_over((a1, l1, b1, m1), (a2, l2, b2, m2)));
                }
                let (end1, end2) = (a1 + l1, a2 + l2);
                if end1 >= end2 {
                    y.next();
                }
                if end2 >= end1 {
                    x.next();
                }
            }
            (Some((a1, l1, b1, m1)), None) => {
                let shift = sides.theirs.len() as isize - sides.base.len() as isize;
                append(
                    &mut hunks,
                    Hunk { take: Take::Ours, i0: a1, chg0: l1, i1: b1, chg1: m1, i2: a1 + shift, chg2: l1 },
                );
                x.next();
            }
            (None, Some((a2, l2, b2, m2))) => {
                let shift = sides.ours.len() as isize - sides.base.len() as isize;
                append(
                    &mut hunks,
                    Hunk { take: Take::Theirs, i0: a2, chg0: l2, i1: a2 + shift, chg1: l2, i2: b2, chg2: m2 },
                );
                y.next();
            }
            (None, None) => return hunks,
        }
    }
}

/// The conflict hunk covering two overlapping changes, widened on each side to
/// the union of the base lines they touch.
fn conflict_over(
    (a1, l1, b1, m1): (isize, isize, isize, isize),
    (a2, l2, b2, m2): (isize, isize, isize, isize),
) -> Hunk {
    let off = a1 - a2;
    let ffo = off + l1 - l2;
    let (mut i0, mut i1, mut i2) = (a1, b1, b2);
    if off > 0 {
        i0 -= off;
        i1 -= off;
    } else {
        i2 += off;
    }
    let (mut chg0, mut chg1, mut chg2) = (a1 + l1 - i0, b1 + m1 - i1, b2 + m2 - i2);
    if ffo < 0 {
        chg0 -= ffo;
        chg1 -= ffo;
    } else {
        chg2 += ffo;
    }
    Hunk { take: Take::Conflict, i0, chg0, i1, chg1, i2, chg2 }
}

/// Adds a hunk, folding it into the previous one when they touch (a fold of two
/// different takes is a conflict).
fn append(hunks: &mut Vec<Hunk>, hunk: Hunk) {
    if let Some(last) = hunks.last_mut() {
        if hunk.i1 <= last.i1 + last.chg1 || hunk.i2 <= last.i2 + last.chg2 {
            if hunk.take != last.take {
                last.take = Take::Conflict;
            }
            last.chg0 = hunk.i0 + hunk.chg0 - last.i0;
            last.chg1 = hunk.i1 + hunk.chg1 - last.i1;
            last.chg2 = hunk.i2 + hunk.chg2 - last.i2;
            return;
        }
    }
    hunks.push(hunk);
}

/// zdiff3: lines both sides agree on at a conflict's start or end move out of it.
fn trim_common_ends(sides: &Sides, hunks: &mut [Hunk]) {
    for h in hunks.iter_mut().filter(|h| h.take == Take::Conflict) {
        while h.chg1 > 0 && h.chg2 > 0 && sides.ours[h.i1 as usize] == sides.theirs[h.i2 as usize] {
            h.chg1 -= 1;
            h.chg2 -= 1;
            h.i1 += 1;
            h.i2 += 1;
        }
        while h.chg1 > 0
            && h.chg2 > 0
            && sides.ours[(h.i1 + h.chg1 - 1) as usize] == sides.theirs[(h.i2 + h.chg2 - 1) as usize]
        {
            h.chg1 -= 1;
            h.chg2 -= 1;
        }
    }
}

/// Diffs the two sides of each conflict against each other and keeps only the
/// lines where they differ as conflicts (git's "zealous" level).
fn refine_conflicts(sides: &Sides, hunks: Vec<Hunk>, algorithm: Algorithm) -> Vec<Hunk> {
    let mut refined = Vec::with_capacity(hunks.len());
    for mut hunk in hunks {
        if hunk.take != Take::Conflict || hunk.chg1 == 0 || hunk.chg2 == 0 {
            refined.push(hunk);
            continue;
        }
        let ours = &sides.ours[hunk.i1 as usize..(hunk.i1 + hunk.chg1) as usize];
        let theirs = &sides.theirs[hunk.i2 as usize..(hunk.i2 + hunk.chg2) as usize];
        let script = xdiff::diff(ours, theirs, algorithm);
        if script.is_empty() {
            hunk.take = Take::Same;
            refined.push(hunk);
            continue;
        }
        let (i1, i2) = (hunk.i1, hunk.i2);
        for change in script {
            refined.push(Hunk {
                i1: change.a_start as isize + i1,
                chg1: change.len_a as isize,
                i2: change.b_start as isize + i2,
                chg2: change.len_b as isize,
                ..hunk
            });
        }
    }
    refined
}

/// Joins conflicts separated by at most three lines (or, with `across_non_alnum`,
/// by any number of lines without a letter or digit), so the reader sees one
/// conflict instead of two.
fn join_close_conflicts(sides: &Sides, hunks: &mut Vec<Hunk>, across_non_alnum: bool) {
    let mut at = 0;
    while at + 1 < hunks.len() {
        let (this, next) = (hunks[at], hunks[at + 1]);
        let (begin, end) = (this.i1 + this.chg1, next.i1);
        let joinable = this.take == Take::Conflict
            && next.take == Take::Conflict
            && (end - begin <= 3
                || (across_non_alnum
                    && !sides.ours[begin as usize..end as usize].iter().any(|l| has_alnum(l))));
        if joinable {
            let joined = &mut hunks[at];
            joined.chg1 = next.i1 + next.chg1 - joined.i1;
            joined.chg2 = next.i2 + next.chg2 - joined.i2;
            hunks.remove(at + 1);
        } else {
            at += 1;
        }
    }
}

fn has_alnum(line: &[u8]) -> bool {
    line.iter().any(|b| b.is_ascii_alphanumeric())
}

/// Writes the merged text (`xdl_fill_merge_buffer`).
struct Writer<'s, 't> {
    sides: &'s Sides<'t>,
    style: ConflictStyle,
    labels: &'s Labels,
    marker_size: usize,
    out: Vec<u8>,
    conflicts: Vec<Range<usize>>,
}

/// A merged text, with where each conflict (markers included) lies in it.
struct Written {
    text: Vec<u8>,
    conflicts: Vec<Range<usize>>,
}

impl<'s, 't> Writer<'s, 't> {
    fn new(sides: &'s Sides<'t>, options: &'s Options) -> Writer<'s, 't> {
        let marker_size =
            if options.marker_size == 0 { super::DEFAULT_MARKER_SIZE } else { options.marker_size };
        Writer {
            sides,
            style: options.style,
            labels: &options.labels,
            marker_size,
            out: Vec::new(),
            conflicts: Vec::new(),
        }
    }

    fn write(mut self, hunks: &[Hunk]) -> Written {
        let sides = self.sides;
        let mut at = 0;
        for hunk in hunks {
            match hunk.take {
                Take::Same => continue,
                Take::Conflict => self.conflict(at, hunk),
                take => {
                    self.copy(&sides.ours, at, hunk.i1 - at, false, false);
                    if matches!(take, Take::Ours | Take::Both) {
                        let needs_cr = needs_cr(sides, hunk);
                        self.copy(&sides.ours, hunk.i1, hunk.chg1, needs_cr, take == Take::Both);
                    }
                    if matches!(take, Take::Theirs | Take::Both) {
                        self.copy(&sides.theirs, hunk.i2, hunk.chg2, false, false);
                    }
                }
            }
            at = hunk.i1 + hunk.chg1;
        }
        self.copy(&sides.ours, at, sides.ours.len() as isize - at, false, false);
        Written { text: self.out, conflicts: self.conflicts }
    }

    fn conflict(&mut self, at: isize, hunk: &Hunk) {
        let sides = self.sides;
        let needs_cr = needs_cr(sides, hunk);
        self.copy(&sides.ours, at, hunk.i1 - at, false, false);
        let start = self.out.len();
        self.marker(b'<', self.labels.ours.as_deref(), needs_cr);
        self.copy(&sides.ours, hunk.i1, hunk.chg1, needs_cr, true);
        if self.style != ConflictStyle::Merge {
            self.marker(b'|', self.labels.base.as_deref(), needs_cr);
            self.copy(&sides.base, hunk.i0, hunk.chg0, needs_cr, true);
        }
        self.marker(b'=', None, needs_cr);
        self.copy(&sides.theirs, hunk.i2, hunk.chg2, needs_cr, true);
        self.marker(b'>', self.labels.theirs.as_deref(), needs_cr);
        self.conflicts.push(start..self.out.len());
    }

    fn marker(&mut self, sign: u8, label: Option<&[u8]>, needs_cr: bool) {
        self.out.extend(std::iter::repeat_n(sign, self.marker_size));
        if let Some(label) = label {
            self.out.push(b' ');
            self.out.extend_from_slice(label);
        }
        self.end_line(needs_cr);
    }

    fn end_line(&mut self, needs_cr: bool) {
        if needs_cr {
            self.out.push(b'\r');
        }
        self.out.push(b'\n');
    }

    /// Copies `count` lines from `start`; with `add_newline`, a last line without
    /// one gets one, so a marker never lands on the end of a text line.
    fn copy(&mut self, lines: &[&[u8]], start: isize, count: isize, needs_cr: bool, add_newline: bool) {
        if count < 1 {
            return;
        }
        let range = &lines[start as usize..(start + count) as usize];
        range.iter().for_each(|line| self.out.extend_from_slice(line));
        let last = range[range.len() - 1];
        if add_newline && last.last() != Some(&b'\n') {
            self.end_line(needs_cr);
        }
    }
}

/// Whether markers should end in CRLF: when the lines around the conflict in both
/// sides do, and the base's first line does too (git's `is_cr_needed`).
fn needs_cr(sides: &Sides, hunk: &Hunk) -> bool {
    let line_before = |i: isize| if i > 0 { i - 1 } else { 0 };
    let mut verdict = ends_in_crlf(&sides.ours, line_before(hunk.i1));
    if verdict != Some(false) {
        verdict = ends_in_crlf(&sides.theirs, line_before(hunk.i2));
    }
    if verdict != Some(false) {
        verdict = ends_in_crlf(&sides.base, 0);
    }
    verdict.unwrap_or(false)
}

/// Whether line `i` ends in CRLF; `None` when the file cannot tell (it is empty,
/// or its only line has no end).
fn ends_in_crlf(lines: &[&[u8]], i: isize) -> Option<bool> {
    let crlf = |line: &[u8]| line.len() > 1 && line[line.len() - 2] == b'\r';
    let i = i as usize;
    if lines.is_empty() {
        return None;
    }
    if i + 1 < lines.len() || lines[i].last() == Some(&b'\n') {
        return Some(crlf(lines[i]));
    }
    if i == 0 {
        return None;
    }
    Some(crlf(lines[i - 1]))
}

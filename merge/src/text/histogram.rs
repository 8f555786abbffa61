//! Histogram diff as xdiff does it (from JGit): split both ranges at the longest
//! run of common lines whose rarest line occurs least often in the old range, and
//! recurse on each side of it; when every common line is too frequent, fall back to
//! the Myers diff of the range.

use super::xdiff::{self, Algorithm, File};
use rustc_hash::FxHashMap;

/// Lines occurring more often than this in the old range cannot anchor a split.
const MAX_CHAIN_LENGTH: u32 = 64;

/// Marks the changed lines of `a` and `b` in `file_a` and `file_b`.
pub(super) fn run(a: &[&[u8]], b: &[&[u8]], file_a: &mut File, file_b: &mut File) {
    let mut regions = vec![Region { a: (1, a.len()), b: (1, b.len()) }];
    while let Some(region) = regions.pop() {
        split(a, b, file_a, file_b, region, &mut regions);
    }
}

/// `count` lines from line `start` (1-based, as in xdiff) of each side.
#[derive(Debug, Clone, Copy)]
struct Region {
    a: (usize, usize),
    b: (usize, usize),
}

/// The longest common run found: inclusive 1-based line ranges of each side.
#[derive(Debug, Clone, Copy, Default)]
struct Run {
    begin_a: usize,
    end_a: usize,
    begin_b: usize,
    end_b: usize,
}

fn split(
    a: &[&[u8]],
    b: &[&[u8]],
    file_a: &mut File,
    file_b: &mut File,
    region: Region,
    todo: &mut Vec<Region>,
) {
    let Region { a: (line_a, count_a), b: (line_b, count_b) } = region;
    let mark_all = |file: &mut File, (start, count): (usize, usize)| {
        (start..start + count).for_each(|line| file.set_changed(line as isize - 1, true));
    };
    if count_a == 0 || count_b == 0 {
        mark_all(file_a, region.a);
        mark_all(file_b, region.b);
        return;
    }
    match Index::new(file_a, region).longest_common_run(file_a, file_b) {
        Found::TooFrequent => {
            // The Myers diff of just this range, from scratch (xdl_fall_back_diff).
            let (sub_a, sub_b) = xdiff::mark(
                &a[line_a - 1..line_a - 1 + count_a],
                &b[line_b - 1..line_b - 1 + count_b],
                Algorithm::Myers,
            );
            for i in 0..count_a {
                file_a.set_changed((line_a - 1 + i) as isize, sub_a.is_changed(i as isize));
            }
            for i in 0..count_b {
                file_b.set_changed((line_b - 1 + i) as isize, sub_b.is_changed(i as isize));
            }
        }
        Found::Nothing => {
            mark_all(file_a, region.a);
            mark_all(file_b, region.b);
        }
        Found::Run(run) => {
            todo.push(Region { a: (line_a, run.begin_a - line_a), b: (line_b, run.begin_b - line_b) });
            let (end_a, end_b) = (line_a + count_a - 1, line_b + count_b - 1);
            todo.push(Region {
                a: (run.end_a + 1, end_a - run.end_a),
                b: (run.end_b + 1, end_b - run.end_b),
            });
        }
    }
}

/// What the search found.
enum Found {
    Run(Run),
    /// No line is common to both ranges.
    Nothing,
    /// Common lines exist, but all occur too often to anchor a split.
    TooFrequent,
}

/// One line class of the old range: where it first occurs and how often.
#[derive(Debug, Clone, Copy)]
struct Record {
    first: usize,
    count: u32,
}

/// The old range's lines by class, with each line's next occurrence.
struct Index {
    region: Region,
    records: FxHashMap<u32, Record>,
    /// Per line of the old range: the next line of the same class (0: none).
    next: Vec<usize>,
    /// The lowest occurrence count of a run found so far (starts above the limit).
    best_count: u32,
    has_common: bool,
}

impl Index {
    fn new(file_a: &File, region: Region) -> Index {
        let (start, count) = region.a;
        let mut records: FxHashMap<u32, Record> = FxHashMap::default();
        let mut next = vec![0; count];
        for line in (start..start + count).rev() {
            let class = file_a.class[line - 1];
            match records.get_mut(&class) {
                Some(record) => {
                    next[line - start] = record.first;
                    record.first = line;
                    record.count = record.count.saturating_add(1);
                }
                None => {
                    records.insert(class, Record { first: line, count: 1 });
                }
            }
        }
        Index { region, records, next, best_count: MAX_CHAIN_LENGTH + 1, has_common: false }
    }

    fn count_of(&self, file_a: &File, line: usize) -> u32 {
        self.records[&file_a.class[line - 1]].count
    }

    fn next_of(&self, line: usize) -> usize {
        self.next[line - self.region.a.0]
    }

    fn longest_common_run(mut self, file_a: &File, file_b: &File) -> Found {
        let mut run = Run::default();
        let (line_b, count_b) = self.region.b;
        let mut b = line_b;
        while b < line_b + count_b {
            b = self.try_run(file_a, file_b, b, &mut run);
        }
        if self.has_common && self.best_count > MAX_CHAIN_LENGTH {
            Found::TooFrequent
        } else if run.begin_a == 0 {
            Found::Nothing
        } else {
            Found::Run(run)
        }
    }

    /// Grows every match of new line `b` into a common run, keeps the best, and
    /// returns the next new line worth trying.
    fn try_run(&mut self, file_a: &File, file_b: &File, b: usize, best: &mut Run) -> usize {
        let (line_a, count_a) = self.region.a;
        let (line_b, count_b) = self.region.b;
        let (last_a, last_b) = (line_a + count_a - 1, line_b + count_b - 1);
        let same = |i: usize, j: usize| file_a.class[i - 1] == file_b.class[j - 1];
        let mut b_next = b + 1;
        let Some(record) = self.records.get(&file_b.class[b - 1]).copied() else { return b_next };
        self.has_common = true;
        if record.count > self.best_count {
            return b_next;
        }
        let mut start_a = record.first;
        loop {
            let next = self.next_of(start_a);
            let (mut begin_a, mut begin_b, mut end_a, mut end_b) = (start_a, b, start_a, b);
            let mut rarest = record.count;
            while line_a < begin_a && line_b < begin_b && same(begin_a - 1, begin_b - 1) {
                begin_a -= 1;
                begin_b -= 1;
                if rarest > 1 {
                    rarest = rarest.min(self.count_of(file_a, begin_a));
                }
            }
            while end_a < last_a && end_b < last_b && same(end_a + 1, end_b + 1) {
                end_a += 1;
                end_b += 1;
                if rarest > 1 {
                    rarest = rarest.min(self.count_of(file_a, end_a));
                }
            }
            b_next = b_next.max(end_b + 1);
            if best.end_a - best.begin_a < end_a - begin_a || rarest < self.best_count {
                *best = Run { begin_a, end_a, begin_b, end_b };
                self.best_count = rarest;
            }
            // The next occurrence not inside the run just found.
            let mut candidate = next;
            while candidate != 0 && candidate <= end_a {
                candidate = self.next_of(candidate);
            }
            if candidate == 0 {
                return b_next;
            }
            start_a = candidate;
        }
    }
}

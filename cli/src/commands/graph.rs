//! `pg log --graph`: the commit graph drawn in text beside the log, as git
//! draws it: a column per line of history waiting for its next commit, `*` for
//! the commit shown, `\` where a merge opens a column and `/` where two
//! columns meet again.

use pg_core::ObjectId;

/// The columns between one commit and the next.
#[derive(Default)]
pub struct Graph {
    /// The commit each column waits for, left to right.
    columns: Vec<ObjectId>,
}

/// What to print for one commit, each row without its newline: the commit's
/// own row (`* | `), which starts its first line; for a merge, the row that
/// opens its columns (`|\ `), which starts the next line; the prefix of the
/// lines after those (`| | `); and the rows where columns meet (`|/ `), which
/// follow the commit's lines.
pub struct Rows {
    /// The row the commit's first line starts with.
    pub commit: String,
    /// The row opening a merge's columns.
    pub opening: Option<String>,
    /// The prefix of the commit's further lines.
    pub padding: String,
    /// Rows to print after the commit's lines.
    pub meeting: Vec<String>,
}

impl Rows {
    /// The prefixes of a commit's `lines` lines and the rows to print alone
    /// after them: the opening row, when no line is left to carry it, and the
    /// meeting rows.
    pub fn prefixes(&self, lines: usize) -> (Vec<&str>, Vec<&str>) {
        let mut carried: Vec<&str> = vec![&self.commit];
        carried.extend(self.opening.as_deref());
        let alone: Vec<&str> =
            carried.iter().skip(lines).copied().chain(self.meeting.iter().map(String::as_str)).collect();
        carried.truncate(lines);
        while carried.len() < lines {
            carried.push(&self.padding);
        }
        (carried, alone)
    }
}

impl Graph {
    /// The rows of commit `id`, whose parents are `parents`, and the columns
    /// after it.
    pub fn next(&mut self, id: ObjectId, parents: &[ObjectId]) -> Rows {
        let col = match self.columns.iter().position(|c| *c == id) {
            Some(col) => col,
            None => {
                self.columns.push(id);
                self.columns.len() - 1
            }
        };
        let opened: Vec<ObjectId> =
            parents.iter().skip(1).filter(|p| !self.columns.contains(p)).copied().collect();
        let width = self.columns.len() + opened.len();
        let marks: Vec<char> = (0..self.columns.len()).map(|i| if i == col { '*' } else { '|' }).collect();
        let commit = row(&marks, width);
        let before = self.columns.len();
        match parents.first() {
            Some(first) => self.columns[col] = *first,
            None => drop(self.columns.remove(col)),
        }
        let opening = (!opened.is_empty()).then(|| opening(col, before, opened.len(), width));
        for (i, parent) in opened.into_iter().enumerate() {
            self.columns.insert(col + 1 + i, parent);
        }
        let padding = row(&vec!['|'; self.columns.len()], width);
        let meeting = self.meet(width);
        Rows { commit, opening, padding, meeting }
    }

    /// The prefix of a line between commits: a `|` for each column.
    pub fn padding(&self) -> String {
        row(&vec!['|'; self.columns.len()], self.columns.len())
    }

    /// Merges columns that wait for the same commit, each into the first one
    /// left of it, moving one column left a row (`|/|` where it crosses one),
    /// as git draws them.
    fn meet(&mut self, width: usize) -> Vec<String> {
        let mut rows = Vec::new();
        while let Some(j) = (1..self.columns.len()).find(|&j| self.columns[..j].contains(&self.columns[j])) {
            let target = self.columns.iter().position(|c| *c == self.columns[j]).expect("found left of j");
            for step in 1..=j - target {
                let mut chars = vec![' '; 2 * self.columns.len()];
                for k in 0..j {
                    chars[2 * k] = '|';
                }
                chars[2 * (j - step) + 1] = '/';
                // The columns right of it close up on the first row.
                for k in j + 1..self.columns.len() {
                    match step {
                        1 => chars[2 * k - 1] = '/',
                        _ => chars[2 * (k - 1)] = '|',
                    }
                }
                rows.push(padded(chars.into_iter().collect(), width));
            }
            self.columns.remove(j);
        }
        rows
    }
}

/// A row of one mark a column (`|`, `*`), two characters each, as wide as
/// `width` columns.
fn row(marks: &[char], width: usize) -> String {
    padded(marks.iter().flat_map(|m| [*m, ' ']).collect(), width)
}

/// The row below a merge in column `col` that opens `opened` columns to its
/// right, `before` columns being there: `|\`, the columns right of it going
/// right (`\`).
fn opening(col: usize, before: usize, opened: usize, width: usize) -> String {
    let mut chars: Vec<char> = Vec::new();
    for _ in 0..=col {
        chars.extend(['|', ' ']);
    }
    chars.pop();
    for _ in 0..opened {
        chars.extend(['\\', ' ']);
    }
    for _ in col + 1..before {
        chars.extend(['\\', ' ']);
    }
    padded(chars.into_iter().collect(), width)
}

fn padded(mut text: String, width: usize) -> String {
    while text.chars().count() < 2 * width {
        text.push(' ');
    }
    text
}

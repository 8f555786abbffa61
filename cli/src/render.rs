//! How things look on the terminal: colours, dates, diffs, progress bars.

use anstyle::{AnsiColor, Style};
use pg_core::diff::{self, FileState, LineKind};
use pg_core::object::Signature;
use std::io::{self, Write};

/// When to colour output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// When stdout is a terminal and NO_COLOR is unset.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

pub const META: Style = Style::new().bold();
pub const FRAG: Style = AnsiColor::Cyan.on_default();
pub const OLD: Style = AnsiColor::Red.on_default();
pub const NEW: Style = AnsiColor::Green.on_default();
pub const ID: Style = AnsiColor::Yellow.on_default();

/// `text` in `style` when colouring.
pub fn paint(color: bool, style: Style, text: &str) -> String {
    if color {
        format!("{}{text}{}", style.render(), style.render_reset())
    } else {
        text.to_owned()
    }
}

/// A date as git prints it: `Sun Nov 22 01:35:49 2026 +0100`, in the offset it was
/// recorded with.
pub fn date(seconds: i64, offset: &str, offset_minutes: i32) -> String {
    formatted_date(
        seconds,
        (offset, offset_minutes),
        "[weekday repr:short] [month repr:short] [day padding:none] [hour]:[minute]:[second] [year]",
    )
}

/// A signature's date as `git blame` shows it: `2024-05-01 12:00:00 +0200`.
pub fn short_date(sig: &Signature) -> String {
    formatted_date(
        sig.seconds,
        (&sig.offset, sig.offset_minutes()),
        "[year]-[month]-[day] [hour]:[minute]:[second]",
    )
}

/// A moment in UTC, as `short_date` writes dates.
pub fn utc_date(seconds: i64) -> String {
    formatted_date(seconds, ("+0000", 0), "[year]-[month]-[day] [hour]:[minute]:[second]")
}

/// The time `seconds` in the zone `offset` (as written, and in minutes), in
/// `format` (the `time` crate's description), then the offset.
fn formatted_date(seconds: i64, (offset, offset_minutes): (&str, i32), format: &str) -> String {
    let Ok(utc) = time::OffsetDateTime::from_unix_timestamp(seconds) else {
        return format!("{seconds} {offset}");
    };
    let local_offset =
        time::UtcOffset::from_whole_seconds(offset_minutes * 60).unwrap_or(time::UtcOffset::UTC);
    let local = utc.to_offset(local_offset);
    let format = time::format_description::parse_borrowed::<2>(format).expect("the format is valid");
    format!("{} {offset}", local.format(&format).unwrap_or_default())
}

/// A signature's date, git-style.
pub fn signature_date(sig: &Signature) -> String {
    date(sig.seconds, &sig.offset, sig.offset_minutes())
}

/// A progress bar on stderr, or nothing when stderr is not a terminal.
pub struct Bar(Option<indicatif::ProgressBar>);

impl Bar {
    pub fn new(label: &'static str, visible: bool) -> Bar {
        Bar::styled(
            || indicatif::ProgressBar::new(0),
            label,
            "{msg:>10} [{bar:30}] {pos}/{len} ({per_sec}, {eta})",
            visible,
        )
    }

    /// A count of objects whose total is not known before.
    pub fn counter(label: &'static str, visible: bool) -> Bar {
        let bar = Bar::styled(
            indicatif::ProgressBar::new_spinner,
            label,
            "{msg:>10} {spinner} {human_pos} objects, {elapsed}",
            visible,
        );
        if let Some(bar) = &bar.0 {
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
        }
        bar
    }

    fn styled(
        make: impl FnOnce() -> indicatif::ProgressBar,
        label: &'static str,
        template: &str,
        visible: bool,
    ) -> Bar {
        Bar(visible.then(|| {
            let bar = make();
            let style = indicatif::ProgressStyle::with_template(template)
                .expect("the template is valid")
                .progress_chars("=> ");
            bar.set_style(style);
            bar.set_message(label);
            bar
        }))
    }
}

/// A spinner with a message on stderr, when stderr is a terminal.
pub fn spinner(visible: bool) -> Option<indicatif::ProgressBar> {
    visible.then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    })
}

impl Drop for Bar {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

impl pg_core::worktree::Progress for Bar {
    fn start(&self, total: u64) {
        if let Some(bar) = &self.0 {
            bar.set_length(total);
        }
    }
    fn advance(&self, n: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(n);
        }
    }
}

/// One side of a file diff: its mode and id, the id's abbreviation, and its content.
pub struct Side<'a> {
    pub state: FileState,
    pub abbrev: String,
    pub content: &'a [u8],
}

fn short(side: Option<&Side>) -> String {
    side.map_or_else(|| "0".repeat(pg_core::id::ABBREV_MIN), |s| s.abbrev.clone())
}

/// Which file a patch is of: one path (`old` and `new` the same), or a rename's
/// two paths and how alike its versions are.
pub struct PatchPaths<'a> {
    /// The path before.
    pub old: &'a [u8],
    /// The path after.
    pub new: &'a [u8],
    /// For a rename, its similarity in percent.
    pub similarity: Option<u8>,
}

/// Writes one file's patch in unified format with git's headers.
pub fn write_patch(
    out: &mut dyn Write,
    color: bool,
    paths: &PatchPaths,
    old: Option<Side>,
    new: Option<Side>,
) -> io::Result<()> {
    let (old_path, new_path) = (String::from_utf8_lossy(paths.old), String::from_utf8_lossy(paths.new));
    writeln!(out, "{}", paint(color, META, &format!("diff --pg a/{old_path} b/{new_path}")))?;
    let meta = |out: &mut dyn Write, text: String| writeln!(out, "{}", paint(color, META, &text));
    match (&old, &new) {
        (None, Some(n)) => meta(out, format!("new file mode {}", n.state.mode))?,
        (Some(o), None) => meta(out, format!("deleted file mode {}", o.state.mode))?,
        (Some(o), Some(n)) if o.state.mode != n.state.mode => {
            meta(out, format!("old mode {}", o.state.mode))?;
            meta(out, format!("new mode {}", n.state.mode))?;
        }
        _ => {}
    }
    if let Some(similarity) = paths.similarity {
        meta(out, format!("similarity index {similarity}%"))?;
        meta(out, format!("rename from {old_path}"))?;
        meta(out, format!("rename to {new_path}"))?;
    }
    let same_mode = matches!((&old, &new), (Some(o), Some(n)) if o.state.mode == n.state.mode);
    let mode_suffix =
        if same_mode { format!(" {}", new.as_ref().expect("both sides").state.mode) } else { String::new() };
    let same_id = matches!((&old, &new), (Some(o), Some(n)) if o.state.id == n.state.id);
    if !same_id {
        meta(out, format!("index {}..{}{mode_suffix}", short(old.as_ref()), short(new.as_ref())))?;
    }
    let old_content = old.as_ref().map_or(&b""[..], |s| s.content);
    let new_content = new.as_ref().map_or(&b""[..], |s| s.content);
    if old_content == new_content {
        return Ok(());
    }
    let (a, b) = (
        if old.is_some() { format!("a/{old_path}") } else { "/dev/null".into() },
        if new.is_some() { format!("b/{new_path}") } else { "/dev/null".into() },
    );
    if diff::is_binary(old_content) || diff::is_binary(new_content) {
        return writeln!(out, "Binary files {a} and {b} differ");
    }
    meta(out, format!("--- {a}"))?;
    meta(out, format!("+++ {b}"))?;
    for hunk in diff::line_hunks(old_content, new_content, 3) {
        let header = format!(
            "@@ -{} +{} @@",
            range(hunk.old_start, hunk.old_len),
            range(hunk.new_start, hunk.new_len)
        );
        writeln!(out, "{}", paint(color, FRAG, &header))?;
        for line in &hunk.lines {
            let (sign, style) = match line.kind {
                LineKind::Context => (' ', None),
                LineKind::Removed => ('-', Some(OLD)),
                LineKind::Added => ('+', Some(NEW)),
            };
            let text = format!("{sign}{}", String::from_utf8_lossy(&line.text));
            match style {
                Some(style) => writeln!(out, "{}", paint(color, style, &text))?,
                None => writeln!(out, "{text}")?,
            }
            if line.missing_newline {
                writeln!(out, "\\ No newline at end of file")?;
            }
        }
    }
    Ok(())
}

/// `start,len`, or just `start` when the length is one, as unified diffs write it.
fn range(start: usize, len: usize) -> String {
    if len == 1 {
        start.to_string()
    } else {
        format!("{start},{len}")
    }
}

/// A rename's name in `--stat`, as git prints it: the parts both paths share
/// (whole directories) outside braces, `src/{old.rs => new.rs}`.
pub fn rename_name(old: &str, new: &str) -> String {
    let (a, b) = (old.as_bytes(), new.as_bytes());
    let shared_prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let prefix = a[..shared_prefix].iter().rposition(|&c| c == b'/').map_or(0, |i| i + 1);
    // The shared suffix starts at a slash and may reach back to the prefix's
    // last slash, not into the prefix's names.
    let room = a.len().min(b.len()) - prefix.saturating_sub(1);
    let shared_suffix = a.iter().rev().zip(b.iter().rev()).take(room).take_while(|(x, y)| x == y).count();
    let suffix =
        a[a.len() - shared_suffix..].iter().position(|&c| c == b'/').map_or(0, |i| shared_suffix - i);
    if prefix + suffix == 0 {
        return format!("{old} => {new}");
    }
    let middle = |s: &str| s.get(prefix..s.len().saturating_sub(suffix).max(prefix)).unwrap_or("").to_owned();
    format!("{}{{{} => {}}}{}", &old[..prefix], middle(old), middle(new), &old[old.len() - suffix..])
}

/// One file's line of `--stat`.
pub struct StatRow {
    /// Its path as shown.
    pub path: String,
    /// What changed.
    pub churn: Churn,
}

/// How much a file changed.
pub enum Churn {
    /// Lines added and removed.
    Lines { added: usize, removed: usize },
    /// A binary file's sizes before and after.
    Binary { old: usize, new: usize },
}

/// Columns `--stat` fills, as git's when output is not a terminal.
const STAT_WIDTH: usize = 80;

/// git's `--stat`: ` PATH | N ++--` per file, in 80 columns as git lays them
/// out when output is not a terminal (long names cut, bars scaled), then the
/// totals.
pub fn write_stat(out: &mut dyn Write, color: bool, rows: &[StatRow]) -> io::Result<()> {
    let layout = StatLayout::of(rows);
    let (mut added_total, mut removed_total) = (0, 0);
    for row in rows {
        let path = format!("{:<width$}", layout.name(&row.path), width = layout.name_width);
        let number_width = layout.number_width;
        match row.churn {
            Churn::Lines { added, removed } => {
                (added_total, removed_total) = (added_total + added, removed_total + removed);
                let (plus, minus) = layout.bar(added, removed);
                let bar = format!(
                    "{}{}",
                    paint(color, NEW, &"+".repeat(plus)),
                    paint(color, OLD, &"-".repeat(minus))
                );
                let bar = if plus + minus == 0 { String::new() } else { format!(" {bar}") };
                writeln!(out, " {path} | {:>number_width$}{bar}", added + removed)?;
            }
            Churn::Binary { old, new } => {
                writeln!(out, " {path} | {:>number_width$} {old} -> {new} bytes", "Bin")?
            }
        }
    }
    let plural = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut summary = format!(" {}", plural(rows.len(), "file changed", "files changed"));
    if added_total > 0 || removed_total == 0 {
        summary.push_str(&format!(", {}(+)", plural(added_total, "insertion", "insertions")));
    }
    if removed_total > 0 || added_total == 0 {
        summary.push_str(&format!(", {}(-)", plural(removed_total, "deletion", "deletions")));
    }
    writeln!(out, "{summary}")
}

/// The column widths of a diffstat, computed as git's `show_stats` does.
struct StatLayout {
    name_width: usize,
    number_width: usize,
    graph_width: usize,
    max_change: usize,
}

impl StatLayout {
    fn of(rows: &[StatRow]) -> StatLayout {
        let digits = |n: usize| n.to_string().len();
        let (mut max_change, mut bin_width, mut number_width) = (0, 0, 0);
        for row in rows {
            match row.churn {
                Churn::Lines { added, removed } => max_change = max_change.max(added + removed),
                Churn::Binary { old, new } => {
                    bin_width = bin_width.max(14 + digits(old) + digits(new));
                    number_width = 3; // counts align with "Bin"
                }
            }
        }
        let number_width = number_width.max(digits(max_change));
        let width = STAT_WIDTH.max(16 + 6 + number_width);
        let mut graph_width = if max_change + 4 > bin_width { max_change } else { bin_width - 4 };
        let mut name_width = rows.iter().map(|r| r.path.chars().count()).max().unwrap_or(0);
        if name_width + number_width + 6 + graph_width > width {
            let limit = (width * 3 / 8).saturating_sub(number_width + 6);
            if graph_width > limit {
                graph_width = limit.max(6);
            }
            let room = width - number_width - 6 - graph_width;
            if name_width > room {
                name_width = room;
            } else {
                graph_width = width - number_width - 6 - name_width;
            }
        }
        StatLayout { name_width, number_width, graph_width, max_change }
    }

    /// A name cut to fit as git cuts it: `...` and its end, from a `/` if one is there.
    fn name(&self, path: &str) -> String {
        let chars: Vec<char> = path.chars().collect();
        if chars.len() <= self.name_width {
            return path.to_owned();
        }
        let tail: String = chars[chars.len() - self.name_width.saturating_sub(3)..].iter().collect();
        match tail.find('/') {
            Some(slash) => format!("...{}", &tail[slash..]),
            None => format!("...{tail}"),
        }
    }

    /// How many `+` and `-` a file's bar has.
    fn bar(&self, added: usize, removed: usize) -> (usize, usize) {
        if self.graph_width > self.max_change {
            return (added, removed);
        }
        let scale = |n: usize| if n == 0 { 0 } else { 1 + n * (self.graph_width - 1) / self.max_change };
        let total = match scale(added + removed) {
            1 if added > 0 && removed > 0 => 2,
            total => total,
        };
        if added < removed {
            let plus = scale(added);
            (plus, total - plus)
        } else {
            let minus = scale(removed);
            (total - minus, minus)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rename_names_keep_shared_directories_outside_braces() {
        assert_eq!(rename_name("a.txt", "b.txt"), "a.txt => b.txt");
        assert_eq!(rename_name("src/a/c.rs", "src/a/d.rs"), "src/a/{c.rs => d.rs}");
        assert_eq!(rename_name("a/b/c.rs", "x/b/c.rs"), "{a => x}/b/c.rs");
        assert_eq!(rename_name("src/old/lib.rs", "src/new/lib.rs"), "src/{old => new}/lib.rs");
        assert_eq!(rename_name("notes.txt", "doc/notes.txt"), "notes.txt => doc/notes.txt");
        assert_eq!(rename_name("doc/x.md", "doc/sub/x.md"), "doc/{ => sub}/x.md");
    }
}

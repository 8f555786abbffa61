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
    let Ok(utc) = time::OffsetDateTime::from_unix_timestamp(seconds) else {
        return format!("{seconds} {offset}");
    };
    let local_offset =
        time::UtcOffset::from_whole_seconds(offset_minutes * 60).unwrap_or(time::UtcOffset::UTC);
    let local = utc.to_offset(local_offset);
    let format = time::format_description::parse_borrowed::<2>(
        "[weekday repr:short] [month repr:short] [day padding:none] [hour]:[minute]:[second] [year]",
    )
    .expect("the format is valid");
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

/// Writes one file's patch in unified format with git's headers.
pub fn write_patch(
    out: &mut dyn Write,
    color: bool,
    path: &[u8],
    old: Option<Side>,
    new: Option<Side>,
) -> io::Result<()> {
    let path = String::from_utf8_lossy(path);
    writeln!(out, "{}", paint(color, META, &format!("diff --pg a/{path} b/{path}")))?;
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
    let same_mode = matches!((&old, &new), (Some(o), Some(n)) if o.state.mode == n.state.mode);
    let mode_suffix =
        if same_mode { format!(" {}", new.as_ref().expect("both sides").state.mode) } else { String::new() };
    meta(out, format!("index {}..{}{mode_suffix}", short(old.as_ref()), short(new.as_ref())))?;
    let old_content = old.as_ref().map_or(&b""[..], |s| s.content);
    let new_content = new.as_ref().map_or(&b""[..], |s| s.content);
    if old_content == new_content {
        return Ok(());
    }
    let (a, b) = (
        if old.is_some() { format!("a/{path}") } else { "/dev/null".into() },
        if new.is_some() { format!("b/{path}") } else { "/dev/null".into() },
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

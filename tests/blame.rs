//! `pg blame` with `git blame` as the oracle, on histories with edits, moves of
//! lines, merges and renames.

mod common;
use common::{git, git_commit_script, Repo};
use std::path::Path;
use std::process::Command;

/// Runs a shell script in `dir` and commits what it did, at day `day`.
fn commit(dir: &Path, day: u32, message: &str, script: &str) {
    let author = if day.is_multiple_of(2) { "Ada" } else { "Bob" };
    git_commit_script(dir, author, &format!("2024-05-{day:02}T12:00:00Z"), message, script);
}

/// A history: `lib.rs` written, edited, edited on a branch merged back, then
/// renamed to `src/core.rs` (with an edit) and edited again.
fn history() -> (tempfile::TempDir, Repo) {
    let source = tempfile::tempdir().unwrap();
    let dir = source.path();
    git(dir, &["init", "-q", "-b", "main"]);
    commit(dir, 1, "write", "seq 1 30 | sed 's/^/line /' > lib.rs; echo other > other.txt");
    commit(dir, 2, "edit top", "sed -i 's/^line 3$/line three/' lib.rs");
    git(dir, &["branch", "side"]);
    commit(dir, 3, "edit middle", "sed -i 's/^line 15$/line fifteen/' lib.rs; sed -i '10a inserted' lib.rs");
    git(dir, &["switch", "-q", "side"]);
    commit(dir, 4, "side edit", "sed -i 's/^line 28$/line twenty-eight/' lib.rs");
    git(dir, &["switch", "-q", "main"]);
    let merge = Command::new("git")
        .args(["merge", "-q", "--no-edit", "side"])
        .current_dir(dir)
        .env("GIT_AUTHOR_DATE", "2024-05-05T12:00:00Z")
        .env("GIT_COMMITTER_DATE", "2024-05-05T12:00:00Z")
        .env("GIT_AUTHOR_NAME", "M")
        .env("GIT_AUTHOR_EMAIL", "m@example.com")
        .env("GIT_COMMITTER_NAME", "M")
        .env("GIT_COMMITTER_EMAIL", "m@example.com")
        .status()
        .unwrap();
    assert!(merge.success());
    commit(
        dir,
        6,
        "rename",
        "mkdir src && git mv lib.rs src/core.rs && sed -i 's/^line 20$/line twenty/' src/core.rs",
    );
    commit(dir, 7, "move lines", "sed -i '1,2d' src/core.rs && printf 'line 1\\nline 2\\n' >> src/core.rs");
    let repo = Repo::new();
    repo.ok(&["import", "git", dir.to_str().unwrap()]);
    (source, repo)
}

/// Per line: the subject of the commit blamed, the line's number there, its path.
fn git_blame(dir: &Path, path: &str, rev: &str) -> Vec<(String, usize, String)> {
    let porcelain = git(dir, &["blame", "--line-porcelain", rev, "--", path]);
    let mut rows = Vec::new();
    let (mut origin, mut summary) = (0, String::new());
    for line in porcelain.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        if fields.len() >= 3 && fields[0].len() == 40 {
            origin = fields[1].parse().unwrap();
        } else if let Some(s) = line.strip_prefix("summary ") {
            summary = s.to_owned();
        } else if let Some(file) = line.strip_prefix("filename ") {
            rows.push((summary.clone(), origin, file.to_owned()));
        }
    }
    rows
}

fn pg_blame(repo: &Repo, path: &str, rev: &str) -> Vec<(String, usize, String)> {
    let json: serde_json::Value = serde_json::from_str(&repo.ok(&["blame", "--json", path, rev])).unwrap();
    let row = |r: &serde_json::Value| {
        (
            r["summary"].as_str().unwrap().to_owned(),
            r["origin_line"].as_u64().unwrap() as usize,
            r["path"].as_str().unwrap().to_owned(),
        )
    };
    json.as_array().unwrap().iter().map(row).collect()
}

#[test]
fn blame_matches_git_blame_across_merges_and_renames() {
    let (source, repo) = history();
    for (path, rev) in [
        ("src/core.rs", "HEAD"),
        ("src/core.rs", "HEAD~1"),
        ("lib.rs", "HEAD~2"),
        ("lib.rs", "side"),
        ("other.txt", "HEAD"),
    ] {
        let expected = git_blame(source.path(), path, rev);
        assert!(!expected.is_empty());
        assert_eq!(pg_blame(&repo, path, rev), expected, "{path} at {rev}");
    }
    let renamed = pg_blame(&repo, "src/core.rs", "HEAD");
    assert!(renamed.iter().any(|(s, _, p)| s == "write" && p == "lib.rs"), "followed the rename");
}

#[test]
fn blame_output_reads_as_gits() {
    let (_source, repo) = history();
    let out = repo.ok(&["blame", "src/core.rs"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 31);
    // A line from the root commit: marked with ^, the old path shown (renamed).
    let first = lines.iter().find(|l| l.contains(") line 4")).unwrap();
    assert!(first.starts_with('^') && first.contains(" lib.rs "), "{first}");
    assert!(first.contains("(Bob 2024-05-01 12:00:00 +0000"), "{first}");
    let moved = lines.last().unwrap();
    assert!(moved.ends_with("31) line 2"), "{moved}");
    let dir = repo.path().canonicalize().unwrap().display().to_string();
    insta::with_settings!({filters => vec![(dir.as_str(), "[REPO]")]}, {
        insta::assert_snapshot!("blame_other", repo.ok(&["blame", "other.txt"]));
    });
    // From a subdirectory, the path is relative to it.
    std::fs::create_dir_all(repo.path().join("src")).unwrap();
    let inside = repo.command(&["blame", "core.rs"]).current_dir(repo.path().join("src")).output().unwrap();
    assert_eq!(String::from_utf8(inside.stdout).unwrap(), out);
    let err = repo.fails(&["blame", "no-such-file"]);
    assert!(err.contains("'no-such-file' is not a file in"), "{err}");
}

//! Differential tests: pg's text merge against `git merge-file`, the oracle, on
//! generated inputs. Output bytes and conflict counts must be identical.

use pg_merge::text::{self, Algorithm, ConflictStyle, Labels, Options};
use proptest::prelude::*;
use std::path::Path;
use std::process::Command;

/// Runs `git merge-file -p` on the three texts; returns its output and exit code.
fn git_merge_file(
    dir: &Path,
    [base, ours, theirs]: [&[u8]; 3],
    style: ConflictStyle,
    algorithm: Algorithm,
) -> (Vec<u8>, i32) {
    std::fs::write(dir.join("ours"), ours).unwrap();
    std::fs::write(dir.join("base"), base).unwrap();
    std::fs::write(dir.join("theirs"), theirs).unwrap();
    let mut command = Command::new("git");
    command.current_dir(dir).env("GIT_CONFIG_NOSYSTEM", "1").env("HOME", dir).args(["merge-file", "-p"]);
    match style {
        ConflictStyle::Merge => {}
        ConflictStyle::Diff3 => {
            command.arg("--diff3");
        }
        ConflictStyle::Zdiff3 => {
            command.arg("--zdiff3");
        }
    }
    if algorithm == Algorithm::Histogram {
        command.arg("--diff-algorithm=histogram");
    }
    let output = command
        .args(["-L", "mine", "-L", "older", "-L", "yours", "ours", "base", "theirs"])
        .output()
        .unwrap();
    (output.stdout, output.status.code().unwrap())
}

fn pg_merge([base, ours, theirs]: [&[u8]; 3], style: ConflictStyle, algorithm: Algorithm) -> (Vec<u8>, i32) {
    let options = Options {
        style,
        algorithm,
        labels: Labels {
            ours: Some(b"mine".to_vec()),
            base: Some(b"older".to_vec()),
            theirs: Some(b"yours".to_vec()),
        },
        ..Options::default()
    };
    let outcome = text::merge(base, ours, theirs, &options);
    (outcome.text, outcome.conflicts.min(127) as i32)
}

fn assert_same_as_git(
    base: &[u8],
    ours: &[u8],
    theirs: &[u8],
    style: ConflictStyle,
) -> Result<(), TestCaseError> {
    for algorithm in [Algorithm::Myers, Algorithm::Histogram] {
        assert_same_as_git_with([base, ours, theirs], style, algorithm)?;
    }
    Ok(())
}

fn assert_same_as_git_with(
    [base, ours, theirs]: [&[u8]; 3],
    style: ConflictStyle,
    algorithm: Algorithm,
) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let git = git_merge_file(dir.path(), [base, ours, theirs], style, algorithm);
    let pg = pg_merge([base, ours, theirs], style, algorithm);
    prop_assert_eq!(
        String::from_utf8_lossy(&pg.0),
        String::from_utf8_lossy(&git.0),
        "style {:?}, {:?}\nbase:\n{}\nours:\n{}\ntheirs:\n{}",
        style,
        algorithm,
        String::from_utf8_lossy(base),
        String::from_utf8_lossy(ours),
        String::from_utf8_lossy(theirs)
    );
    prop_assert_eq!(pg.1, git.1, "exit code (conflict count)");
    Ok(())
}

/// Lines from a small vocabulary, so sides share lines in many ways (repeats,
/// moved lines, lines without letters), which is where diff alignments differ.
fn line() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["a", "b", "c", "d", "e", "x", "}", "", "  {", "fn f()", "return 1;", "a b"])
        .prop_map(str::to_owned)
}

/// An edit of a base: runs of lines deleted, replaced or inserted.
fn edited(base: Vec<String>) -> impl Strategy<Value = Vec<String>> {
    let len = base.len();
    prop::collection::vec((0..=len, 0..3usize, prop::collection::vec(line(), 0..4)), 0..5).prop_map(
        move |edits| {
            let mut lines = base.clone();
            for (at, delete, insert) in edits {
                let at = at.min(lines.len());
                let end = (at + delete).min(lines.len());
                lines.splice(at..end, insert);
            }
            lines
        },
    )
}

/// Joins lines into text: LF or CRLF endings, with or without a final newline.
fn text_of(lines: &[String], crlf: bool, final_newline: bool) -> Vec<u8> {
    let eol = if crlf { "\r\n" } else { "\n" };
    let mut text = lines.join(eol);
    if final_newline && !lines.is_empty() {
        text.push_str(eol);
    }
    text.into_bytes()
}

fn triple() -> impl Strategy<Value = (Vec<u8>, Vec<u8>, Vec<u8>)> {
    prop::collection::vec(line(), 0..25).prop_flat_map(|base| {
        (Just(base.clone()), edited(base.clone()), edited(base), any::<[bool; 4]>()).prop_map(
            |(base, ours, theirs, [crlf, nl_base, nl_ours, nl_theirs])| {
                (
                    text_of(&base, crlf, nl_base),
                    text_of(&ours, crlf, nl_ours),
                    text_of(&theirs, crlf, nl_theirs),
                )
            },
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn merge_style_matches_git((base, ours, theirs) in triple()) {
        assert_same_as_git(&base, &ours, &theirs, ConflictStyle::Merge)?;
    }

    #[test]
    fn diff3_style_matches_git((base, ours, theirs) in triple()) {
        assert_same_as_git(&base, &ours, &theirs, ConflictStyle::Diff3)?;
    }

    #[test]
    fn zdiff3_style_matches_git((base, ours, theirs) in triple()) {
        assert_same_as_git(&base, &ours, &theirs, ConflictStyle::Zdiff3)?;
    }
}

/// A small xorshift generator: the big inputs below need volume, not shrinking.
fn xorshift(mut seed: u64) -> impl FnMut(u64) -> u64 {
    move |n| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    }
}

/// Large, very different files push the search past xdiff's cost limit, where the
/// furthest-reaching split decides the result.
#[test]
fn expensive_diffs_match_git() {
    let mut random = xorshift(0x2545f4914f6cdd1d);
    for round in 0..6 {
        let vocabulary = [8, 60, 400][round % 3];
        let mut make = |len| -> Vec<u8> {
            (0..len).flat_map(|_| format!("line {}\n", random(vocabulary)).into_bytes()).collect()
        };
        let (base, ours, theirs) = (make(3000), make(2500), make(3500));
        for style in [ConflictStyle::Merge, ConflictStyle::Diff3, ConflictStyle::Zdiff3] {
            assert_same_as_git(&base, &ours, &theirs, style).unwrap();
        }
    }
}

/// Long files with scattered edits: the search passes xdiff's cost threshold while
/// following snakes longer than its snake length, where the "interesting snake"
/// heuristic picks the split. (Replacement lines exist elsewhere in the base, so
/// they are not set aside before the search.)
#[test]
fn long_snakes_in_expensive_diffs_match_git() {
    let mut random = xorshift(0x9e3779b97f4a7c15);
    let lines = 40_000;
    let base: Vec<u8> = (0..lines).flat_map(|i| format!("L{i}\n").into_bytes()).collect();
    let mut edit = || -> Vec<u8> {
        let mut text = Vec::new();
        let mut next_edit = 0;
        for i in 0..lines {
            if i == next_edit {
                text.extend(format!("L{}\n", (i + random(7)).saturating_sub(3)).into_bytes());
                next_edit += 22 + random(30);
            } else {
                text.extend(format!("L{i}\n").into_bytes());
            }
        }
        text
    };
    let (ours, theirs) = (edit(), edit());
    for style in [ConflictStyle::Merge, ConflictStyle::Diff3, ConflictStyle::Zdiff3] {
        assert_same_as_git(&base, &ours, &theirs, style).unwrap();
    }
}

//! `pg grep` end to end, with `git grep` as the oracle: the same files, the same
//! revisions and the same history give the same matches.

mod common;
use common::Repo;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git").args(args).current_dir(dir).output().unwrap();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A git history with matches that come, change, go and come back, on two
/// branches, with a binary file and a subdirectory; imported into a pg repository.
fn histories() -> (tempfile::TempDir, Repo) {
    let source = tempfile::tempdir().unwrap();
    let dir = source.path();
    let run = |script: &str| {
        let status = Command::new("bash")
            .args(["-ec", script])
            .current_dir(dir)
            .env("GIT_AUTHOR_NAME", "A")
            .env("GIT_AUTHOR_EMAIL", "a@x")
            .env("GIT_COMMITTER_NAME", "A")
            .env("GIT_COMMITTER_EMAIL", "a@x")
            // One second for every commit: the order must come from the graph.
            .env("GIT_AUTHOR_DATE", "1700000000 +0000")
            .env("GIT_COMMITTER_DATE", "1700000000 +0000")
            .status()
            .unwrap();
        assert!(status.success(), "{script}");
    };
    run("git init -q -b main . && mkdir -p src/deep docs
         printf 'fn needle() {}\\nother\\n' > src/lib.rs
         printf 'Needle in docs\\n' > docs/guide.md
         printf 'bin\\0needle\\n' > data.bin
         git add -A && git commit -qm 'c1 first needle'
         printf 'fn needle() {}\\nfn needle_two() {}\\n' > src/lib.rs
         printf 'a needle deep down\\n' > src/deep/x.rs
         git add -A && git commit -qm 'c2 more needles'
         git switch -qc side
         printf 'side needle\\n' > side.txt && git add -A && git commit -qm 'c3 side'
         git switch -q main
         printf 'no match now\\n' > src/lib.rs && git commit -qam 'c4 needle gone from lib'
         printf 'fn needle() {}\\nother\\n' > src/lib.rs && git commit -qam 'c5 the first version is back'");
    let repo = Repo::new();
    repo.ok(&["import", "git", dir.to_str().unwrap()]);
    (source, repo)
}

fn lines(text: &str) -> BTreeSet<String> {
    text.lines().map(str::to_owned).collect()
}

#[test]
fn the_working_copy_and_revisions_match_as_git_grep_does() {
    let (source, repo) = histories();
    for args in [
        vec!["grep", "needle"],
        vec!["grep", "-n", "-i", "needle"],
        vec!["grep", "-w", "needle"],
        vec!["grep", "-l", "needle"],
        vec!["grep", "-c", "needle"],
        vec!["grep", "-F", "needle()"],
        vec!["grep", "-n", "-E", "need(le|y)", "main~1", "side"],
        vec!["grep", "needle", "main~1", "--", "src"],
    ] {
        assert_eq!(repo.ok(&args), git(source.path(), &args), "{args:?}");
    }
}

#[test]
fn in_a_subdirectory_it_searches_there_and_shows_paths_from_there() {
    let (source, repo) = histories();
    let in_src = |tool: &str| {
        let mut command = match tool {
            "pg" => repo.command(&["grep", "-n", "needle"]),
            _ => {
                let mut git = Command::new("git");
                git.args(["grep", "-n", "needle"]);
                git
            }
        };
        let dir = if tool == "pg" { repo.file("src") } else { source.path().join("src") };
        String::from_utf8(command.current_dir(dir).output().unwrap().stdout).unwrap()
    };
    assert_eq!(in_src("pg"), in_src("git"));
    assert!(in_src("pg").starts_with("deep/x.rs:1:"), "{}", in_src("pg"));
}

#[test]
fn the_history_search_finds_what_git_grep_finds_in_every_commit() {
    let (source, repo) = histories();
    let revs = git(source.path(), &["rev-list", "--all"]);
    let mut args = vec!["grep", "-h", "-I", "needle"];
    args.extend(revs.lines());
    let oracle = lines(&git(source.path(), &args));
    let json: serde_json::Value =
        serde_json::from_str(&repo.ok(&["grep", "--history", "--json", "needle"])).unwrap();
    let rows = json.as_array().unwrap();
    let found: BTreeSet<String> = rows
        .iter()
        .flat_map(|row| {
            row["lines"].as_array().unwrap().iter().map(|l| l["text"].as_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(found, oracle, "the same distinct matching lines");
    // Each version once: src/lib.rs had two matching versions (c1 and c5 are one).
    let lib: Vec<_> = rows.iter().filter(|r| r["path"] == "src/lib.rs").collect();
    assert_eq!(lib.len(), 2, "{lib:?}");
    let subject = |id: &serde_json::Value| {
        let log: serde_json::Value =
            serde_json::from_str(&repo.ok(&["log", "--json", "-n", "1", id.as_str().unwrap()])).unwrap();
        log[0]["message"].as_str().unwrap().split(' ').next().unwrap().to_owned()
    };
    let first_version = lib.iter().find(|r| r["lines"].as_array().unwrap().len() == 1).unwrap();
    assert_eq!(
        (subject(&first_version["first"]["commit"]), subject(&first_version["last"]["commit"])),
        ("c1".into(), "c5".into())
    );
    let second_version = lib.iter().find(|r| r["lines"].as_array().unwrap().len() == 2).unwrap();
    assert_eq!(
        (subject(&second_version["first"]["commit"]), subject(&second_version["last"]["commit"])),
        ("c2".into(), "c3".into())
    );
    let binary = rows.iter().find(|r| r["path"] == "data.bin").unwrap();
    assert_eq!(binary["binary"], true);
    // Only the side branch's history, and only a path.
    let side = repo.ok(&["grep", "--history", "-l", "needle", "side", "--", "side.txt"]);
    assert_eq!(side.lines().count(), 1, "{side}");
    assert!(side.starts_with("side.txt @ "), "{side}");
}

#[test]
fn history_output_names_each_version_and_its_commits() {
    let (_source, repo) = histories();
    let dir = repo.path().canonicalize().unwrap().display().to_string();
    insta::with_settings!({filters => vec![(dir.as_str(), "[REPO]")]}, {
        insta::assert_snapshot!("grep_history", repo.ok(&["grep", "--history", "fn needle", "--", "src"]));
    });
}

#[test]
fn no_match_exits_1_and_a_bad_pattern_exits_2() {
    let (_source, repo) = histories();
    let none = repo.run(&["grep", "no such text anywhere"]);
    assert_eq!((none.status.code(), none.stdout.is_empty(), none.stderr.is_empty()), (Some(1), true, true));
    let bad = repo.run(&["grep", "(unclosed"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid pattern"), "{bad:?}");
    let bad_rev = repo.run(&["grep", "x", "no-such-rev"]);
    assert_eq!(bad_rev.status.code(), Some(2));
}

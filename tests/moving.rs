//! Moving commits end to end: cherry-pick, revert and rebase through the merge
//! engine, their stops at conflicts with --continue, --skip and --abort, and
//! git's own cherry-pick and rebase as the oracle for what they make.

#[macro_use]
mod common;
use common::Repo;
use std::path::Path;
use std::process::Command;

/// `main` with `f` = a b c and `g` = x, and `feature` with three commits on it:
/// "change b" (f's b → B), "change g" (g → y) and "add h".
fn with_feature() -> Repo {
    let repo = Repo::new();
    repo.commit_files(&[("f", "a\nb\nc\n"), ("g", "x\n")], "base");
    repo.ok(&["branch", "feature"]);
    repo.ok(&["switch", "feature"]);
    repo.commit_files(&[("f", "a\nB\nc\n")], "change b");
    repo.commit_files(&[("g", "y\n")], "change g");
    repo.commit_files(&[("h", "new\n")], "add h");
    repo.ok(&["switch", "main"]);
    repo
}

fn subjects(repo: &Repo, rev: &str) -> String {
    repo.ok(&["log", "--format=%s", rev])
}

fn head(repo: &Repo) -> String {
    repo.ok(&["rev-parse", "HEAD"]).trim().to_owned()
}

#[test]
fn cherry_pick_applies_a_range_in_order_keeping_authors() {
    let repo = with_feature();
    repo.commit_files(&[("f", "a\nb\nc\nd\n")], "add d on main");
    let before = head(&repo);
    let out = repo
        .command(&["cherry-pick", "main..feature~1"])
        .env("PG_COMMITTER_NAME", "Pick Er")
        .env("PG_COMMITTER_EMAIL", "picker@example.com")
        .output()
        .unwrap();
    let out = common::succeeded(out, &["cherry-pick"]);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.lines().all(|l| l.starts_with("[main ")), "{out}");
    assert_eq!(subjects(&repo, "HEAD"), "change g\nchange b\nadd d on main\nbase\n");
    assert_eq!((repo.read("f"), repo.read("g")), ("a\nB\nc\nd\n".into(), "y\n".into()));
    assert!(!repo.exists("h"), "only the range was picked");
    assert_eq!(repo.ok(&["rev-parse", "HEAD~2"]).trim(), before, "the picks stand on the old HEAD");
    let shown = repo.ok(&["cat-object", "HEAD"]);
    assert!(shown.contains("author A U Thor <author@example.com>"), "{shown}");
    assert!(shown.contains("committer Pick Er <picker@example.com>"), "{shown}");
    assert_eq!(repo.ok(&["status", "--short"]), "");
    repo.ok(&["undo"]);
    assert_eq!(head(&repo), before, "one undo takes back every clean step");
    assert_eq!(repo.read("f"), "a\nb\nc\nd\n");
}

#[test]
fn cherry_pick_stops_at_a_conflict_then_continues_with_the_rest() {
    let repo = with_feature();
    repo.commit_files(&[("f", "a\nb2\nc\n")], "change b on main");
    let out = repo.run(&["cherry-pick", "feature~2", "feature~1"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    snapshot!(repo, "cherry_pick_conflict", stdout.replace(&short(&repo, "feature~2"), "[PICKED]"));
    let status = repo.ok(&["status"]);
    assert!(status.contains("You are in the middle of a cherry-pick of"), "{status}");
    assert!(status.contains("`pg cherry-pick --continue`"), "{status}");
    let err = repo.fails(&["merge", "--continue"]);
    assert!(err.contains("a cherry-pick is in progress"), "{err}");
    let err = repo.fails(&["cherry-pick", "feature"]);
    assert!(err.contains("pg cherry-pick --continue"), "{err}");
    let err = repo.fails(&["cherry-pick", "--continue"]);
    assert!(err.contains("not resolved"), "{err}");

    repo.write("f", "a\nB2\nc\n");
    repo.ok(&["resolve", "f"]);
    let out = repo.ok(&["cherry-pick", "--continue"]);
    assert!(out.contains("change g"), "the step after the conflict was applied: {out}");
    assert_eq!(subjects(&repo, "HEAD"), "change g\nchange b\nchange b on main\nbase\n");
    assert_eq!((repo.read("f"), repo.read("g")), ("a\nB2\nc\n".into(), "y\n".into()));
    assert_eq!(repo.ok(&["status", "--short"]), "");
    let err = repo.fails(&["cherry-pick", "--continue"]);
    assert!(err.contains("no cherry-pick is in progress"), "{err}");
}

fn short(repo: &Repo, rev: &str) -> String {
    let full = repo.ok(&["rev-parse", rev]).trim().to_owned();
    let log = repo.ok(&["log", "--oneline", "-n", "1", &full]);
    log.split_whitespace().next().unwrap().to_owned()
}

#[test]
fn abort_puts_branch_files_and_queue_back_and_skip_leaves_a_commit_out() {
    let repo = with_feature();
    repo.commit_files(&[("f", "a\nb2\nc\n")], "change b on main");
    let before = head(&repo);
    repo.write("untracked", "mine\n");
    assert_eq!(repo.run(&["cherry-pick", "feature~1", "feature~2", "feature"]).status.code(), Some(1));
    assert_ne!(head(&repo), before, "the clean step before the conflict was committed");
    repo.ok(&["cherry-pick", "--abort"]);
    assert_eq!(head(&repo), before);
    assert_eq!((repo.read("f"), repo.read("g")), ("a\nb2\nc\n".into(), "x\n".into()));
    assert_eq!(repo.read("untracked"), "mine\n");
    assert_eq!(repo.ok(&["status", "--short"]), "?? untracked\n");
    assert_eq!(repo.ok(&["queue", "list"]), "", "the step's queue item is dropped");

    assert_eq!(repo.run(&["cherry-pick", "feature~1", "feature~2", "feature"]).status.code(), Some(1));
    let out = repo.ok(&["cherry-pick", "--skip"]);
    assert!(out.contains("add h"), "{out}");
    assert_eq!(subjects(&repo, "HEAD"), "add h\nchange g\nchange b on main\nbase\n");
    assert_eq!(repo.read("f"), "a\nb2\nc\n", "the skipped change is not applied");
    assert_eq!(repo.ok(&["status", "--short"]), "?? untracked\n");
}

#[test]
fn revert_undoes_a_commit_and_says_which() {
    let repo = with_feature();
    repo.ok(&["switch", "feature"]);
    let reverted = repo.ok(&["rev-parse", "HEAD~1"]).trim().to_owned();
    let out = repo.ok(&["revert", "HEAD~1"]);
    assert!(out.contains("Revert \"change g\""), "{out}");
    assert_eq!(repo.read("g"), "x\n");
    assert_eq!(repo.read("h"), "new\n", "later commits stay");
    let message = repo.ok(&["log", "--format=%B", "-n", "1"]);
    assert_eq!(message, format!("Revert \"change g\"\n\nThis reverts commit {reverted}.\n\n"));
    // Reverting it again changes nothing: the change is gone already.
    let out = repo.ok(&["revert", &reverted]);
    assert!(out.contains("its change is in HEAD already"), "{out}");
    assert_eq!(subjects(&repo, "HEAD").lines().count(), 5);
}

#[test]
fn revert_of_a_commit_changed_since_conflicts_and_continues() {
    let repo = with_feature();
    repo.ok(&["switch", "feature"]);
    repo.commit_files(&[("g", "z\n")], "change g again");
    assert_eq!(repo.run(&["revert", "HEAD~2"]).status.code(), Some(1));
    let status = repo.ok(&["status", "--short"]);
    assert_eq!(status, "UU g\n");
    assert!(repo.read("g").contains("<<<<<<< HEAD\nz\n=======\nx\n>>>>>>> parent of"), "{}", repo.read("g"));
    repo.ok(&["resolve", "--theirs", "g"]);
    repo.ok(&["revert", "--continue"]);
    assert_eq!(repo.read("g"), "x\n");
    assert!(subjects(&repo, "HEAD").starts_with("Revert \"change g\"\n"));
}

#[test]
fn rebase_replays_own_commits_and_one_undo_takes_it_back() {
    let repo = with_feature();
    repo.commit_files(&[("m", "main\n")], "main only");
    repo.ok(&["switch", "feature"]);
    let before = head(&repo);
    let out = repo.ok(&["rebase", "main"]);
    assert!(out.ends_with("Successfully rebased feature.\n"), "{out}");
    assert_eq!(subjects(&repo, "HEAD"), "add h\nchange g\nchange b\nmain only\nbase\n");
    assert_eq!(repo.read("m"), "main\n");
    assert_eq!(repo.ok(&["branch", "--show-current"]), "feature\n");
    let again = repo.ok(&["rebase", "main"]);
    assert_eq!(again, "Current branch feature is up to date.\n");
    repo.ok(&["undo"]);
    assert_eq!(head(&repo), before);
    assert!(!repo.exists("m"));
}

#[test]
fn rebase_onto_moves_only_the_commits_not_in_upstream() {
    let repo = with_feature();
    repo.ok(&["switch", "feature"]);
    repo.ok(&["branch", "topic"]);
    repo.ok(&["switch", "topic"]);
    repo.commit_files(&[("t", "topic\n")], "topic work");
    // Move topic's own commit from feature onto main: f, g and h stay behind.
    repo.ok(&["rebase", "--onto", "main", "feature"]);
    assert_eq!(subjects(&repo, "HEAD"), "topic work\nbase\n");
    assert_eq!((repo.read("f"), repo.read("t")), ("a\nb\nc\n".into(), "topic\n".into()));
    assert!(!repo.exists("h"));
}

#[test]
fn rebase_drops_changes_upstream_has_and_linearizes_merges() {
    let repo = with_feature();
    // A later committer date: the pick is a new commit, not the same one again.
    let later =
        repo.command(&["cherry-pick", "feature~2"]).env("PG_COMMITTER_DATE", "1700000100 +0100").output();
    common::succeeded(later.unwrap(), &["cherry-pick"]);
    repo.ok(&["switch", "feature"]);
    repo.ok(&["branch", "side"]);
    repo.ok(&["switch", "side"]);
    repo.commit_files(&[("s", "side\n")], "side work");
    repo.ok(&["switch", "feature"]);
    repo.ok(&["merge", "--no-ff", "side", "-m", "merge side"]);
    let out = repo.ok(&["rebase", "main"]);
    assert!(out.contains("skipped") && out.contains("change b"), "{out}");
    let log = subjects(&repo, "HEAD");
    assert_eq!(log.lines().filter(|l| *l == "change b").count(), 1, "{log}");
    assert!(!log.contains("merge side"), "the merge commit is left out: {log}");
    assert!(log.contains("side work"), "{log}");
    let parents = repo.ok(&["log", "--format=%p"]);
    assert!(parents.lines().all(|p| !p.contains(' ')), "the history is linear: {parents}");
}

#[test]
fn rebase_conflict_continue_and_abort() {
    let repo = with_feature();
    repo.commit_files(&[("f", "a\nb2\nc\n")], "change b on main");
    repo.ok(&["switch", "feature"]);
    let before = head(&repo);
    assert_eq!(repo.run(&["rebase", "main"]).status.code(), Some(1));
    assert_eq!(repo.ok(&["status", "--short"]), "UU f\n");
    repo.ok(&["rebase", "--abort"]);
    assert_eq!(head(&repo), before);
    assert_eq!(repo.ok(&["branch", "--show-current"]), "feature\n");
    assert_eq!(repo.read("f"), "a\nB\nc\n");

    assert_eq!(repo.run(&["rebase", "main"]).status.code(), Some(1));
    repo.write("f", "a\nB2\nc\n");
    repo.ok(&["resolve", "f"]);
    let out = repo.ok(&["rebase", "--continue"]);
    assert!(out.ends_with("Successfully rebased feature.\n"), "{out}");
    assert_eq!(subjects(&repo, "HEAD"), "add h\nchange g\nchange b\nchange b on main\nbase\n");
    assert_eq!(repo.read("f"), "a\nB2\nc\n");
}

#[test]
fn refusals_name_what_to_do() {
    let repo = with_feature();
    repo.ok(&["merge", "--no-ff", "feature", "-m", "merge"]);
    let err = repo.fails(&["cherry-pick", "HEAD"]);
    assert!(err.contains("is a merge commit"), "{err}");
    repo.write("g", "staged\n");
    repo.ok(&["add", "g"]);
    let err = repo.fails(&["revert", "HEAD~1"]);
    assert!(err.contains("staged changes"), "{err}");
    let err = repo.fails(&["rebase", "--skip"]);
    assert!(err.contains("no rebase is in progress"), "{err}");
    let err = repo.fails(&["cherry-pick", "no-such-rev"]);
    assert!(err.contains("no-such-rev"), "{err}");
}

// git as the oracle: the same history made in git and in pg, moved by each.

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "A U Thor")
        .env("GIT_AUTHOR_EMAIL", "author@example.com")
        .env("GIT_COMMITTER_NAME", "A U Thor")
        .env("GIT_COMMITTER_EMAIL", "author@example.com")
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

/// The same edits in a git repository and a pg one: `main` and `feature`
/// diverge on three files, one change of each side touching the same lines.
fn in_both() -> (tempfile::TempDir, Repo) {
    let dir = tempfile::tempdir().unwrap();
    let pg = Repo::new();
    let lines = |n: usize, changed: &[(usize, &str)]| -> String {
        (0..n)
            .map(|i| {
                changed.iter().find(|c| c.0 == i).map_or(format!("line {i}\n"), |c| format!("{}\n", c.1))
            })
            .collect()
    };
    let steps: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("main", vec![("a", lines(20, &[])), ("b", lines(20, &[])), ("c", lines(5, &[]))]),
        ("feature", vec![("a", lines(20, &[(2, "feature a")]))]),
        ("feature", vec![("b", lines(20, &[(15, "feature b")])), ("d", "new\n".into())]),
        ("feature", vec![("c", lines(5, &[(1, "feature c")]))]),
        ("main", vec![("a", lines(20, &[(17, "main a")])), ("c", lines(5, &[(1, "main c")]))]),
    ];
    git(dir.path(), &["init", "-q", "-b", "main"]);
    for (i, (branch, files)) in steps.iter().enumerate() {
        if i == 1 {
            git(dir.path(), &["branch", "feature"]);
            pg.ok(&["branch", "feature"]);
        }
        if i > 0 {
            git(dir.path(), &["switch", "-q", branch]);
            pg.ok(&["switch", branch]);
        }
        for (path, content) in files {
            std::fs::write(dir.path().join(path), content).unwrap();
        }
        git(dir.path(), &["add", "-A"]);
        git(dir.path(), &["commit", "-qm", &format!("step {i}")]);
        pg.commit_files(
            &files.iter().map(|(p, c)| (*p, c.as_str())).collect::<Vec<_>>(),
            &format!("step {i}"),
        );
    }
    (dir, pg)
}

/// Every file of the working copy (but `.git` and `.pg`), with conflict-marker
/// labels' ids masked.
fn files(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read_to_string(e.path()).unwrap()))
        .collect();
    files.sort();
    let mask = |text: &str| -> String {
        text.lines()
            .map(|l| match l.strip_prefix(">>>>>>> ") {
                Some(label) => format!(">>>>>>> [ID] {}\n", label.split_once(' ').map_or("", |s| s.1)),
                None => format!("{l}\n"),
            })
            .collect()
    };
    files.into_iter().map(|(name, text)| (name, mask(&text))).collect()
}

#[test]
fn rebase_and_cherry_pick_make_what_git_makes() {
    let (git_dir, pg) = in_both();
    git(git_dir.path(), &["switch", "-q", "feature"]);
    pg.ok(&["switch", "feature"]);
    git(git_dir.path(), &["rebase", "main"]);
    assert_eq!(pg.run(&["rebase", "main"]).status.code(), Some(1), "step 3 conflicts in c");
    assert_eq!(files(pg.path()), files(git_dir.path()), "the same conflict, with the same markers");
    git(git_dir.path(), &["rebase", "--skip"]);
    pg.ok(&["rebase", "--skip"]);
    assert_eq!(files(pg.path()), files(git_dir.path()));
    assert_eq!(
        pg.ok(&["log", "--format=%s"]),
        git(git_dir.path(), &["log", "--format=%s"]),
        "the same commits, in the same order"
    );

    let (git_dir, pg) = in_both();
    git(git_dir.path(), &["cherry-pick", "main..feature~1"]);
    pg.ok(&["cherry-pick", "main..feature~1"]);
    assert_eq!(files(pg.path()), files(git_dir.path()));
    assert_eq!(pg.ok(&["log", "--format=%s"]), git(git_dir.path(), &["log", "--format=%s"]));
}

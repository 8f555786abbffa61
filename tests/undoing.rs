//! Undoing work end to end: restore, reset, checkout of paths, commit --amend,
//! and `pg undo` of each, which brings back what they discarded.

#[macro_use]
mod common;
use common::{succeeded, Repo};

/// A repository with `a` and `b` committed at "1", then `a` edited in the
/// working copy and `b` edited and staged.
fn with_edits() -> Repo {
    let repo = Repo::new();
    repo.commit_files(&[("a", "1\n"), ("b", "1\n")], "base");
    repo.write("a", "unstaged edit\n");
    repo.write("b", "staged edit\n");
    repo.ok(&["add", "b"]);
    repo
}

#[test]
fn restore_discards_edits_and_undo_brings_them_back() {
    let repo = with_edits();
    repo.ok(&["restore", "a"]);
    assert_eq!(repo.read("a"), "1\n");
    assert_eq!(repo.ok(&["status", "--short"]), "M  b\n");
    let undo = repo.ok(&["undo"]);
    assert!(undo.contains("working copy"), "{undo}");
    assert_eq!(repo.read("a"), "unstaged edit\n", "the discarded edit is back");
    assert_eq!(repo.ok(&["status", "--short"]), " M a\nM  b\n");
}

#[test]
fn restore_staged_unstages_without_touching_the_file() {
    let repo = with_edits();
    repo.ok(&["restore", "--staged", "b"]);
    assert_eq!(repo.read("b"), "staged edit\n");
    assert_eq!(repo.ok(&["status", "--short"]), " M a\n M b\n");
    repo.ok(&["restore", "--staged", "--worktree", "b"]);
    assert_eq!(repo.read("b"), "1\n");
    repo.ok(&["undo"]);
    repo.ok(&["undo"]);
    assert_eq!(repo.ok(&["status", "--short"]), " M a\nM  b\n", "two undos: back to the start");
}

#[test]
fn restore_from_a_source_and_of_a_directory() {
    let repo = Repo::new();
    repo.commit_files(&[("dir/x", "old\n"), ("dir/y", "old\n"), ("top", "old\n")], "old");
    repo.commit_files(&[("dir/x", "new\n"), ("dir/y", "new\n"), ("top", "new\n")], "new");
    repo.ok(&["restore", "--source", "HEAD~1", "dir"]);
    assert_eq!(
        (repo.read("dir/x"), repo.read("dir/y"), repo.read("top")),
        ("old\n".into(), "old\n".into(), "new\n".into())
    );
    // The index still holds HEAD: the old versions show as unstaged edits.
    assert_eq!(repo.ok(&["status", "--short"]), " M dir/x\n M dir/y\n");
    let err = repo.fails(&["restore", "no-such-path"]);
    assert!(err.contains("no-such-path"), "{err}");
}

#[test]
fn reset_modes_move_branch_index_and_files_and_undo_each() {
    let repo = Repo::new();
    let first = repo.commit_files(&[("f", "1\n")], "first");
    let second = repo.commit_files(&[("f", "2\n")], "second");
    repo.write("f", "3 uncommitted\n");

    repo.ok(&["reset", "--soft", "HEAD~1"]);
    assert_eq!(repo.ok(&["rev-parse", "HEAD"]).trim(), first);
    assert_eq!(repo.ok(&["status", "--short"]), "MM f\n", "the index keeps the second commit");
    repo.ok(&["undo"]);

    repo.ok(&["reset", "HEAD~1"]);
    assert_eq!(repo.ok(&["status", "--short"]), " M f\n", "mixed: the index is reset, the file kept");
    assert_eq!(repo.read("f"), "3 uncommitted\n");
    repo.ok(&["undo"]);

    snapshot!(repo, "reset_hard", repo.ok(&["reset", "--hard", "HEAD~1"]));
    assert_eq!(repo.read("f"), "1\n");
    assert_eq!(repo.ok(&["status", "--short"]), "");
    repo.ok(&["undo"]);
    assert_eq!(repo.ok(&["rev-parse", "HEAD"]).trim(), second);
    assert_eq!(repo.read("f"), "3 uncommitted\n", "undo of --hard brings back the uncommitted edit");
    let log = repo.ok(&["op", "log"]);
    assert!(log.contains("working copy: index"), "{log}");
}

#[test]
fn reset_paths_unstages_them() {
    let repo = with_edits();
    repo.ok(&["reset", "--", "b"]);
    assert_eq!(repo.ok(&["status", "--short"]), " M a\n M b\n");
    let err = repo.fails(&["reset", "--hard", "HEAD", "--", "b"]);
    assert!(err.contains("pg restore"), "{err}");
}

#[test]
fn undo_refuses_to_overwrite_an_edit_made_after_the_operation() {
    let repo = with_edits();
    repo.ok(&["restore", "a"]);
    repo.write("a", "edited again\n");
    let err = repo.fails(&["undo"]);
    assert!(err.contains("a"), "{err}");
    assert_eq!(repo.read("a"), "edited again\n", "nothing lost");
}

#[test]
fn checkout_switches_branches_or_restores_paths() {
    let repo = Repo::new();
    repo.commit_files(&[("f", "main 1\n")], "one");
    repo.commit_files(&[("f", "main 2\n")], "two");
    repo.ok(&["checkout", "-b", "topic"]);
    assert_eq!(repo.ok(&["branch", "--show-current"]).trim(), "topic");
    repo.ok(&["checkout", "main"]);
    assert_eq!(repo.ok(&["branch", "--show-current"]).trim(), "main");

    repo.ok(&["checkout", "HEAD~1", "--", "f"]);
    assert_eq!(repo.read("f"), "main 1\n");
    assert_eq!(repo.ok(&["status", "--short"]), "M  f\n", "a revision's version is staged, as git does");
    repo.ok(&["reset", "--hard"]);

    repo.write("f", "scratch\n");
    repo.ok(&["checkout", "f"]);
    assert_eq!(repo.read("f"), "main 2\n");
    let err = repo.fails(&["checkout"]);
    assert!(err.contains("name a branch"), "{err}");
}

#[test]
fn amend_replaces_the_last_commit_and_undo_takes_it_back() {
    let repo = Repo::new();
    repo.commit_files(&[("f", "1\n")], "base");
    let before = repo.commit_files(&[("f", "2\n")], "tpyo");
    repo.write("g", "forgotten\n");
    repo.ok(&["add", "g"]);
    repo.ok(&["commit", "--amend", "-m", "typo fixed"]);
    let log = repo.ok(&["log", "--oneline"]);
    assert_eq!(log.lines().count(), 2, "amend replaces, it does not add: {log}");
    assert!(log.lines().next().unwrap().ends_with("typo fixed"), "{log}");
    assert!(repo.ok(&["cat-object", "HEAD^{tree}"]).contains("\tg\n"));
    repo.ok(&["commit", "--amend", "--no-edit"]);
    assert!(repo.ok(&["log", "--oneline", "-n", "1"]).ends_with("typo fixed\n"));
    repo.ok(&["undo"]);
    repo.ok(&["undo"]);
    assert_eq!(repo.ok(&["rev-parse", "HEAD"]).trim(), before);
    let usage = repo.run(&["commit", "--no-edit", "-m", "x"]);
    assert_eq!(usage.status.code(), Some(2), "a usage error");
    assert!(String::from_utf8_lossy(&usage.stderr).contains("--amend"));
}

#[test]
fn amend_in_an_empty_repository_says_there_is_nothing_to_amend() {
    let repo = Repo::new();
    repo.write("f", "1\n");
    repo.ok(&["add", "f"]);
    let err = repo.fails(&["commit", "--amend", "-m", "x"]);
    assert!(err.contains("nothing to amend"), "{err}");
}

/// A file next to the repository's directory, named after it so tests running
/// at once do not share it.
fn beside(repo: &Repo, name: &str) -> std::path::PathBuf {
    let dir = repo.path();
    dir.with_file_name(format!("{}-{name}", dir.file_name().unwrap().to_string_lossy()))
}

/// An editor script that writes `message` into the file it is given and keeps
/// a copy of the template it was shown.
fn editor(repo: &Repo, message: &str) -> String {
    let script = beside(repo, "editor.sh");
    let shown = beside(repo, "shown");
    let body = format!("#!/bin/sh\ncp \"$1\" '{}'\nprintf '{message}' > \"$1\"\n", shown.display());
    std::fs::write(&script, body).unwrap();
    script.display().to_string()
}

#[test]
fn commit_without_a_message_opens_the_editor() {
    let repo = Repo::new();
    repo.write("f", "1\n");
    repo.ok(&["add", "f"]);
    let script = editor(&repo, "from the editor\\n\\n# a comment line\\nbody line\\n");
    let out = repo.command(&["commit"]).env("PG_EDITOR", format!("sh {script}")).output().unwrap();
    succeeded(out, &["commit"]);
    let message = repo.ok(&["log", "-n", "1"]);
    assert!(message.contains("from the editor") && message.contains("body line"), "{message}");
    assert!(!message.contains("a comment line"), "comment lines are dropped: {message}");
    let shown = std::fs::read_to_string(beside(&repo, "shown")).unwrap();
    snapshot!(repo, "commit_template", shown);
}

#[test]
fn an_empty_message_from_the_editor_aborts_the_commit() {
    let repo = Repo::new();
    repo.commit_files(&[("f", "1\n")], "base");
    repo.write("f", "2\n");
    repo.ok(&["add", "f"]);
    let script = editor(&repo, "# only a comment\\n\\n");
    let out = repo.command(&["commit"]).env("PG_EDITOR", format!("sh {script}")).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("empty"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(repo.ok(&["status", "--short"]), "M  f\n", "the staged change is still there");
}

#[test]
fn stash_puts_work_aside_and_brings_it_back_exactly() {
    let repo = with_edits();
    repo.write("untracked.txt", "stays\n");
    snapshot!(repo, "stash_push", repo.ok(&["stash"]));
    assert_eq!(repo.ok(&["status", "--short"]), "?? untracked.txt\n", "tracked changes are put aside");
    assert_eq!((repo.read("a"), repo.read("b")), ("1\n".into(), "1\n".into()));
    repo.write("a", "second edit\n");
    repo.ok(&["stash", "push", "-m", "the second"]);
    snapshot!(repo, "stash_list", repo.ok(&["stash", "list"]));
    repo.ok(&["stash", "pop", "1"]);
    assert_eq!(
        repo.ok(&["status", "--short"]),
        " M a\nM  b\n?? untracked.txt\n",
        "staged and unstaged, as they were"
    );
    let err = repo.fails(&["stash", "pop"]);
    assert!(err.contains("commit or stash them first"), "{err}");
    repo.ok(&["stash"]);
    repo.ok(&["stash", "apply", "1"]);
    assert_eq!(repo.read("a"), "second edit\n");
    assert_eq!(repo.ok(&["stash", "list"]).lines().count(), 2, "apply keeps the entry");
    repo.ok(&["restore", "a"]);
    repo.ok(&["stash", "drop"]);
    assert_eq!(repo.ok(&["stash", "list"]), "stash@{0}: On main: the second\n");
    repo.ok(&["undo"]);
    assert_eq!(repo.ok(&["stash", "list"]).lines().count(), 2, "undo brings a dropped entry back");
    let err = repo.fails(&["stash", "drop", "7"]);
    assert!(err.contains("no stash entry 7"), "{err}");
}

#[test]
fn undoing_a_stash_push_or_pop_moves_the_working_copy_back() {
    let repo = with_edits();
    repo.ok(&["stash"]);
    repo.ok(&["undo"]);
    assert_eq!(repo.ok(&["status", "--short"]), " M a\nM  b\n");
    assert_eq!(repo.ok(&["stash", "list"]), "");
    repo.ok(&["stash"]);
    repo.ok(&["stash", "pop"]);
    repo.ok(&["undo"]);
    assert_eq!(repo.ok(&["status", "--short"]), "");
    assert_eq!(repo.ok(&["stash", "list"]).lines().count(), 1);
    let clean = Repo::new();
    clean.commit_files(&[("f", "1\n")], "base");
    assert!(clean.fails(&["stash"]).contains("no local changes to save"));
}

#[test]
fn an_entry_comes_back_onto_a_moved_head_by_merging_or_refuses() {
    let repo = Repo::new();
    repo.commit_files(&[("f", "1\n2\n3\n4\n5\n"), ("g", "g\n")], "base");
    repo.write("f", "1\n2\n3\n4\nFIVE\n");
    repo.write("new/h", "h\n");
    repo.ok(&["add", "new/h"]);
    repo.ok(&["rm", "-q", "g"]);
    repo.ok(&["stash"]);
    repo.commit_files(&[("f", "ONE\n2\n3\n4\n5\n")], "moved");
    repo.ok(&["stash", "apply"]);
    assert_eq!(repo.read("f"), "ONE\n2\n3\n4\nFIVE\n", "merged with what HEAD changed");
    assert_eq!(
        repo.ok(&["status", "--short"]),
        " M f\n D g\nA  new/h\n",
        "unstaged, but for the added file, staged as git stages it"
    );
    repo.ok(&["reset", "--hard", "-q"]);
    assert!(!repo.path().join("new/h").exists(), "an added file goes with a hard reset: it was tracked");
    repo.commit_files(&[("f", "ONE\n2\n3\n4\nfive?\n")], "clash");
    let err = repo.fails(&["stash", "pop"]);
    assert!(err.contains("conflicts with HEAD at f"), "{err}");
    assert_eq!(repo.ok(&["status", "--short"]), "", "nothing moved");
    assert_eq!(repo.ok(&["stash", "list"]).lines().count(), 1, "the entry is kept");
}

//! Merging end to end through the real binary: `pg merge-file` (with git as the
//! oracle and as a caller, through a merge driver).

mod common;
use common::Repo;
use std::process::Command;

const BASE: &str = "fn main() {\n    let x = 1;\n    println!(\"{x}\");\n}\n";
const OURS: &str = "fn main() {\n    let x = 2;\n    println!(\"{x}\");\n}\n";
const THEIRS: &str = "fn main() {\n    let x = 3;\n    println!(\"{x}\");\n}\n// end\n";

fn write_three(repo: &Repo) {
    repo.write("ours.rs", OURS);
    repo.write("base.rs", BASE);
    repo.write("theirs.rs", THEIRS);
}

#[test]
fn merge_file_writes_conflicts_in_each_style_and_exits_with_their_count() {
    let repo = Repo::empty_dir();
    write_three(&repo);
    for (name, flag) in [
        ("merge_file_merge", None),
        ("merge_file_diff3", Some("--diff3")),
        ("merge_file_zdiff3", Some("--zdiff3")),
    ] {
        let mut args = vec!["merge-file", "-p"];
        args.extend(flag);
        args.extend(["ours.rs", "base.rs", "theirs.rs"]);
        let out = repo.run(&args);
        assert_eq!(out.status.code(), Some(1), "one conflict");
        insta::assert_snapshot!(name, String::from_utf8(out.stdout).unwrap());
    }
    // Without -p the result replaces CURRENT; labels name the sides.
    let out = repo.run(&[
        "merge-file",
        "-L",
        "mine",
        "-L",
        "old",
        "-L",
        "yours",
        "ours.rs",
        "base.rs",
        "theirs.rs",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
    insta::assert_snapshot!("merge_file_in_place_labels", repo.read("ours.rs"));
}

#[test]
fn merge_file_clean_merges_exit_zero_and_favor_options_settle_conflicts() {
    let repo = Repo::empty_dir();
    repo.write("base", "a\nb\nc\nd\ne\n");
    repo.write("ours", "A\nb\nc\nd\ne\n");
    repo.write("theirs", "a\nb\nc\nd\nE\n");
    let out = repo.run(&["merge-file", "-p", "ours", "base", "theirs"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "A\nb\nc\nd\nE\n");

    write_three(&repo);
    for (flag, expected) in [("--ours", "2"), ("--theirs", "3")] {
        let out = repo.run(&["merge-file", "-p", flag, "ours.rs", "base.rs", "theirs.rs"]);
        assert_eq!(out.status.code(), Some(0), "{flag} settles every conflict");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains(&format!("let x = {expected};")) && !text.contains("<<<<<<<"), "{text}");
    }
    let union = String::from_utf8(
        repo.run(&["merge-file", "-p", "--union", "ours.rs", "base.rs", "theirs.rs"]).stdout,
    )
    .unwrap();
    assert!(union.contains("let x = 2;\n    let x = 3;"), "{union}");
}

#[test]
fn merge_file_errors_exit_255_and_leave_current_alone() {
    let repo = Repo::empty_dir();
    write_three(&repo);
    std::fs::write(repo.file("binary"), b"\x00\x01\x02").unwrap();
    for args in [
        vec!["merge-file", "ours.rs", "binary", "theirs.rs"],
        vec!["merge-file", "ours.rs", "missing", "theirs.rs"],
        vec!["merge-file", "-L", "a", "-L", "b", "-L", "c", "-L", "d", "ours.rs", "base.rs", "theirs.rs"],
        vec!["merge-file", "--diff-algorithm=patience", "ours.rs", "base.rs", "theirs.rs"],
        vec!["merge-file", "ours.rs", "base.rs"],
    ] {
        let out = repo.run(&args);
        assert_eq!(out.status.code(), Some(255), "{args:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert_eq!(repo.read("ours.rs"), OURS, "CURRENT untouched");
    }
    let quiet = repo.run(&["merge-file", "-q", "ours.rs", "missing", "theirs.rs"]);
    assert_eq!((quiet.status.code(), quiet.stderr.is_empty()), (Some(255), true));
}

/// `pg merge-file` as git's merge driver gives what git's own merge gives.
#[test]
fn merge_file_works_as_a_git_merge_driver() {
    let git = git_in;
    let mut results = Vec::new();
    for driver in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        git(d, &["init", "-q", "-b", "main"]);
        if driver {
            let command = format!("{} merge-file -L ours -L base -L theirs %A %O %B", common::PG);
            git(d, &["config", "merge.pg.driver", &command]);
            std::fs::write(d.join(".git/info/attributes"), "* merge=pg\n").unwrap();
        }
        std::fs::write(d.join("f.rs"), BASE).unwrap();
        git(d, &["add", "."]);
        git(d, &["commit", "-qm", "base"]);
        git(d, &["checkout", "-qb", "side"]);
        std::fs::write(d.join("f.rs"), THEIRS).unwrap();
        git(d, &["commit", "-qam", "theirs"]);
        git(d, &["checkout", "-q", "main"]);
        std::fs::write(d.join("f.rs"), OURS).unwrap();
        git(d, &["commit", "-qam", "ours"]);
        assert!(!git(d, &["merge", "-q", "side"]), "the merge conflicts");
        results.push(
            std::fs::read_to_string(d.join("f.rs"))
                .unwrap()
                .replace("<<<<<<< HEAD", "<<<<<<< ours")
                .replace(">>>>>>> side", ">>>>>>> theirs"),
        );
    }
    assert_eq!(results[0], results[1]);
}

/// Every file of the working copy (`.pg` aside) with its bytes.
fn working_copy(repo: &Repo) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn walk(
        dir: &std::path::Path,
        top: &std::path::Path,
        out: &mut std::collections::BTreeMap<String, Vec<u8>>,
    ) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().unwrap() == ".pg" {
                continue;
            }
            if path.is_dir() {
                walk(&path, top, out);
            } else {
                out.insert(
                    path.strip_prefix(top).unwrap().display().to_string(),
                    std::fs::read(&path).unwrap(),
                );
            }
        }
    }
    let mut files = Default::default();
    walk(repo.path(), repo.path(), &mut files);
    files
}

/// A repository with `base` on main, then `ours` committed on main and `theirs` on
/// branch `side` (files given as (path, content); `None` deletes).
fn diverged(base: &[(&str, &str)], ours: &[(&str, Option<&str>)], theirs: &[(&str, Option<&str>)]) -> Repo {
    let repo = Repo::new();
    repo.commit_files(base, "base");
    let apply = |changes: &[(&str, Option<&str>)], message: &str| {
        for (path, content) in changes {
            match content {
                Some(content) => repo.write(path, content),
                None => std::fs::remove_file(repo.file(path)).unwrap(),
            }
        }
        repo.ok(&["add", "-A"]);
        repo.ok(&["commit", "-m", message]);
    };
    repo.ok(&["switch", "-c", "side"]);
    apply(theirs, "theirs");
    repo.ok(&["switch", "main"]);
    apply(ours, "ours");
    repo
}

const FIVE: &str = "one\ntwo\nthree\nfour\nfive\n";

#[test]
fn a_clean_merge_commits_and_records_who_settled_each_path() {
    let repo = diverged(
        &[("f.txt", FIVE), ("only-ours.txt", "o\n"), ("same.txt", "s\n")],
        &[
            ("f.txt", Some("ONE\ntwo\nthree\nfour\nfive\n")),
            ("only-ours.txt", Some("o2\n")),
            ("same.txt", Some("S\n")),
        ],
        &[
            ("f.txt", Some("one\ntwo\nthree\nfour\nFIVE\n")),
            ("same.txt", Some("S\n")),
            ("new.txt", Some("n\n")),
        ],
    );
    insta::assert_snapshot!("merge_clean", repo.ok(&["merge", "side"]));
    assert_eq!(repo.read("f.txt"), "ONE\ntwo\nthree\nfour\nFIVE\n");
    assert_eq!((repo.read("only-ours.txt"), repo.read("new.txt")), ("o2\n".into(), "n\n".into()));
    insta::assert_snapshot!("merge_provenance", repo.ok(&["show", "--merge-provenance"]));
    let log = repo.ok(&["log", "--oneline", "-n", "1"]);
    assert!(log.ends_with("Merge branch 'side'\n"), "{log}");
    assert_eq!(repo.ok(&["status", "--short"]), "");
    let parents = repo.ok(&["rev-parse", "HEAD^1", "HEAD^2", "main~1", "side"]);
    let ids: Vec<&str> = parents.lines().collect();
    assert_eq!((ids[0], ids[1]), (ids[2], ids[3]));
}

#[test]
fn conflicts_wait_in_the_queue_until_people_resolve_them() {
    let repo = diverged(
        &[("a.txt", FIVE), ("b.txt", FIVE), ("gone.txt", "g\n")],
        &[
            ("a.txt", Some("one\nTWO-ours\nthree\nfour\nfive\n")),
            ("b.txt", Some("ours b\n")),
            ("gone.txt", None),
        ],
        &[
            ("a.txt", Some("one\nTWO-theirs\nthree\nfour\nfive\n")),
            ("b.txt", Some("theirs b\n")),
            ("gone.txt", Some("G\n")),
        ],
    );
    let out = repo.run(&["merge", "side"]);
    assert_eq!(out.status.code(), Some(1), "a conflicted merge exits 1");
    insta::assert_snapshot!("merge_conflicts", String::from_utf8(out.stdout).unwrap());
    insta::assert_snapshot!("merge_conflict_markers", repo.read("a.txt"));
    insta::assert_snapshot!("merge_status_conflicts", repo.ok(&["status"]));
    insta::assert_snapshot!("merge_status_short_conflicts", repo.ok(&["status", "--short"]));
    insta::assert_snapshot!("queue_list", repo.ok(&["queue", "list"]));
    let queue: serde_json::Value = serde_json::from_str(&repo.ok(&["queue", "list", "--json"])).unwrap();
    assert_eq!(queue.as_array().unwrap().len(), 3);
    let first = queue[0]["id"].as_str().unwrap();
    let shown: serde_json::Value =
        serde_json::from_str(&repo.ok(&["queue", "show", &first[..12], "--json"])).unwrap();
    assert_eq!((shown["path"].as_str(), shown["state"].as_str()), (Some("a.txt"), Some("open")));
    assert_eq!(shown["tried"].as_array().unwrap().len(), 1, "the text function tried");
    let human = repo.ok(&["queue", "show", first]);
    assert!(human.contains("path     a.txt") && human.contains("kind     content"), "{human}");
    assert!(repo.fails(&["queue", "show", "HEAD"]).contains("not in the queue"));

    let early = repo.fails(&["merge", "--continue"]);
    assert!(early.contains("3 conflicted path(s) are not resolved"), "{early}");
    repo.write("a.txt", "one\nTWO-both\nthree\nfour\nfive\n");
    repo.ok(&["resolve", "a.txt"]);
    repo.ok(&["resolve", "--theirs", "b.txt"]);
    assert_eq!(repo.read("b.txt"), "theirs b\n");
    std::fs::remove_file(repo.file("gone.txt")).unwrap();
    repo.ok(&["resolve", "gone.txt"]);
    assert!(repo.ok(&["queue", "list"]).is_empty(), "no open items left");
    repo.ok(&["merge", "--continue"]);
    assert!(!repo.exists("gone.txt"));
    assert_eq!(repo.read("a.txt"), "one\nTWO-both\nthree\nfour\nfive\n");
    assert_eq!(repo.ok(&["status", "--short"]), "", "the merge commit holds what was resolved");
    insta::assert_snapshot!("merge_provenance_resolved", repo.ok(&["show", "--merge-provenance"]));
    insta::assert_snapshot!("queue_list_all", repo.ok(&["queue", "list", "--all"]));
    assert!(repo.ok(&["fsck"]).ends_with(": ok\n"));
}

#[test]
fn abort_puts_back_exactly_what_was_there() {
    let repo = diverged(
        &[("a.txt", FIVE), ("keep.txt", "k\n"), ("dir/x.txt", "x\n")],
        &[("a.txt", Some("ours\n"))],
        &[("a.txt", Some("theirs\n")), ("dir/x.txt", Some("X\n")), ("dir/new.txt", Some("new\n"))],
    );
    repo.write("keep.txt", "a local edit the merge does not touch\n");
    repo.write("untracked.txt", "mine\n");
    let (files, status, head) =
        (working_copy(&repo), repo.ok(&["status", "--short"]), repo.ok(&["rev-parse", "HEAD"]));
    assert_eq!(repo.run(&["merge", "side"]).status.code(), Some(1));
    assert_ne!(working_copy(&repo), files, "the merge wrote the working copy");
    repo.ok(&["merge", "--abort"]);
    assert_eq!(working_copy(&repo), files);
    assert_eq!(repo.ok(&["status", "--short"]), status);
    assert_eq!(repo.ok(&["rev-parse", "HEAD"]), head);
    assert!(repo.ok(&["queue", "list", "--all"]).is_empty(), "the aborted merge's items are gone");
    assert!(repo.fails(&["merge", "--abort"]).contains("no merge is in progress"));
}

#[test]
fn merges_that_would_lose_work_are_refused_and_change_nothing() {
    let repo = diverged(
        &[("a.txt", FIVE), ("b.txt", "b\n")],
        &[("b.txt", Some("B\n"))],
        &[("a.txt", Some("changed\n"))],
    );
    // An unstaged edit where the merge writes.
    repo.write("a.txt", "local\n");
    let refused = repo.fails(&["merge", "side"]);
    assert!(refused.contains("would be overwritten: a.txt"), "{refused}");
    assert_eq!(repo.read("a.txt"), "local\n");
    repo.write("a.txt", FIVE);
    // Staged changes, which a merge commit would leave out.
    repo.write("b.txt", "staged\n");
    repo.ok(&["add", "b.txt"]);
    assert!(repo.fails(&["merge", "side"]).contains("staged changes"));
    repo.write("b.txt", "B\n");
    repo.ok(&["add", "b.txt"]);
    // A second merge while one waits.
    let conflicting = diverged(&[("c.txt", "c\n")], &[("c.txt", Some("1\n"))], &[("c.txt", Some("2\n"))]);
    assert_eq!(conflicting.run(&["merge", "side"]).status.code(), Some(1));
    let again = conflicting.fails(&["merge", "side"]);
    assert!(again.contains("a merge is in progress"), "{again}");
    // Unrelated histories (a root commit imported on another branch).
    import_stranger(&repo);
    let head = repo.ok(&["rev-parse", "HEAD"]);
    let unrelated = repo.fails(&["merge", "stranger"]);
    assert!(
        unrelated.contains("unrelated histories") && unrelated.contains("--allow-unrelated-histories"),
        "{unrelated}"
    );
    assert_eq!(repo.ok(&["rev-parse", "HEAD"]), head);
    repo.ok(&["merge", "--allow-unrelated-histories", "stranger"]);
    assert_eq!(repo.read("s.txt"), "s\n");
}

/// Imports a root commit (file `s.txt`) on branch `stranger`, sharing no history.
fn import_stranger(repo: &Repo) {
    // Two branches, so that the import leaves HEAD on the unborn main (with one,
    // HEAD would follow it, as a clone's does).
    let stream = "commit refs/heads/stranger\nmark :1\ncommitter S <s@x> 1700000000 +0000\ndata 3\nnew\nM 644 inline s.txt\ndata 2\ns\n\nreset refs/heads/other-stranger\nfrom :1\n\n";
    let mut import = repo.command(&["import", "git-fast-export", "--no-checkout"]);
    import.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::null());
    let mut child = import.spawn().unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), stream.as_bytes()).unwrap();
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
}

#[test]
fn merging_into_a_branch_without_commits_moves_it_to_the_other_side() {
    let repo = Repo::new();
    import_stranger(&repo);
    let out = repo.ok(&["merge", "stranger"]);
    assert!(out.contains("Fast-forward"), "{out}");
    assert_eq!(repo.read("s.txt"), "s\n");
    assert_eq!(repo.ok(&["rev-parse", "main"]), repo.ok(&["rev-parse", "stranger"]));
    assert_eq!(repo.ok(&["merge", "stranger"]), "Already up to date.\n");
}

#[test]
fn a_repeated_merge_is_answered_from_the_cache() {
    let repo = diverged(
        &[("f.txt", FIVE)],
        &[("f.txt", Some("ONE\ntwo\nthree\nfour\nfive\n"))],
        &[("f.txt", Some("one\ntwo\nthree\nfour\nFIVE\n"))],
    );
    let first = repo.ok(&["merge", "--stats", "side"]);
    assert!(first.contains("cache 0 hit(s) / 1 miss(es)"), "{first}");
    let merged = repo.ok(&["rev-parse", "HEAD^{tree}"]);
    repo.ok(&["undo"]);
    let second = repo.ok(&["merge", "--stats", "side"]);
    assert!(second.contains("cache 1 hit(s) / 0 miss(es)"), "{second}");
    assert_eq!(repo.ok(&["rev-parse", "HEAD^{tree}"]), merged);
}

#[test]
fn pgattributes_choose_the_functions_a_path_goes_through() {
    let repo = diverged(
        &[
            (".pgattributes", "*.log merge=union\n*.bin -merge\n"),
            ("a.log", "start\n"),
            ("b.bin", "x\n"),
            ("c.txt", "c\n"),
        ],
        &[("a.log", Some("start\nours\n")), ("b.bin", Some("x\nours\n"))],
        &[("a.log", Some("start\ntheirs\n")), ("b.bin", Some("theirs\nx\n"))],
    );
    let out = repo.run(&["merge", "side"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert_eq!(repo.read("a.log"), "start\nours\ntheirs\n", "union keeps both sides");
    assert!(stdout.contains("CONFLICT (content): b.bin"), "binary never merges: {stdout}");
    assert!(!stdout.contains("a.log"), "{stdout}");
    insta::assert_snapshot!("merge_functions", repo.ok(&["merge-functions"]));

    let typo = diverged(
        &[(".pgattributes", "*.txt merge=nosuch\n"), ("f.txt", FIVE)],
        &[("f.txt", Some("ONE\ntwo\nthree\nfour\nfive\n"))],
        &[("f.txt", Some("one\ntwo\nthree\nfour\nFIVE\n"))],
    );
    let error = typo.fails(&["merge", "side"]);
    assert!(error.contains("'nosuch', which does not exist"), "{error}");
    assert_eq!(typo.ok(&["status", "--short"]), "", "nothing changed");
}

#[test]
fn a_renamed_and_modified_file_merges_at_its_new_path() {
    let long: String = (0..40).map(|i| format!("line {i}\n")).collect();
    let edited_top = long.replacen("line 1\n", "line one\n", 1);
    let edited_bottom = long.replacen("line 38\n", "line thirty-eight\n", 1);
    let repo = diverged(
        &[("old/name.txt", &long)],
        &[("old/name.txt", None), ("new/name.txt", Some(&edited_top))],
        &[("old/name.txt", Some(&edited_bottom))],
    );
    let out = repo.ok(&["merge", "--stats", "side"]);
    assert!(out.contains("1 rename(s)"), "{out}");
    assert!(!repo.exists("old/name.txt"));
    assert_eq!(
        repo.read("new/name.txt"),
        long.replacen("line 1\n", "line one\n", 1).replacen("line 38\n", "line thirty-eight\n", 1)
    );
}

#[test]
fn merge_hooks_run_before_and_after() {
    use std::os::unix::fs::PermissionsExt;
    let repo = diverged(
        &[("f.txt", FIVE)],
        &[("f.txt", Some("ONE\ntwo\nthree\nfour\nfive\n"))],
        &[("g.txt", Some("g\n"))],
    );
    let hooks = repo.file(".pg/hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    let install = |name: &str, body: &str| {
        let path = hooks.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    install("pre-merge", "echo 'not today' >&2; exit 3");
    let refused = repo.fails(&["merge", "side"]);
    assert!(
        refused.contains("not today")
            && refused.contains("pre-merge hook failed (exit code 3); nothing was merged"),
        "{refused}"
    );
    assert!(!repo.exists("g.txt"));
    install("pre-merge", "exit 0");
    install("post-merge", "echo \"post $1\" > post-merge-ran");
    repo.ok(&["merge", "side"]);
    assert_eq!(repo.read("post-merge-ran"), "post 0\n");
}

/// A small deterministic random source for generated histories.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// A git repository whose commits get increasing dates, so merge bases come in
/// one order for git and pg.
struct GitHistory {
    dir: tempfile::TempDir,
    clock: u64,
}

impl GitHistory {
    fn new() -> GitHistory {
        let history = GitHistory { dir: tempfile::tempdir().unwrap(), clock: 1_700_000_000 };
        history.git(&["init", "-q", "-b", "main"]);
        history
    }

    fn git(&self, args: &[&str]) -> std::process::Output {
        let date = format!("@{} +0000", self.clock);
        Command::new("git")
            .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(self.dir.path())
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .output()
            .unwrap()
    }

    fn ok(&mut self, args: &[&str]) -> String {
        self.clock += 60;
        let out = self.git(args);
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    /// Changes one to three lines of the files on the current branch (or deletes
    /// h.txt) and commits.
    fn edit(&mut self, rng: &mut Rng, tag: &str) {
        for _ in 0..1 + rng.below(3) {
            let path = self.dir.path().join(["f.txt", "g.txt", "h.txt"][rng.below(3)]);
            let Ok(text) = std::fs::read_to_string(&path) else { continue };
            let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
            let at = rng.below(lines.len());
            match rng.below(5) {
                0 => lines.insert(at, format!("{tag} added")),
                1 if lines.len() > 3 => {
                    lines.remove(at);
                }
                2 if path.ends_with("h.txt") => {
                    std::fs::remove_file(&path).unwrap();
                    continue;
                }
                _ => lines[at] = format!("{tag} changed line {at}"),
            }
            std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        }
        self.ok(&["commit", "-qam", tag, "--allow-empty"]);
    }

    /// Merges `other` into the current branch, settling conflicts for one side;
    /// a file modified on one side and deleted on the other stays modified.
    fn merge(&mut self, rng: &mut Rng, other: &str) {
        let favor = ["-Xours", "-Xtheirs"][rng.below(2)];
        if self.git(&["merge", "-q", "--no-edit", favor, other]).status.success() {
            return;
        }
        // git leaves the modified version in the working tree.
        for path in self.ok(&["diff", "--name-only", "--diff-filter=U"]).lines() {
            self.ok(&["add", path]);
        }
        self.ok(&["commit", "-q", "--no-edit"]);
    }

    fn rev(&mut self, name: &str) -> String {
        self.ok(&["rev-parse", name]).trim().to_owned()
    }

    /// Every file of `git merge-tree --write-tree` of HEAD and `theirs` (from
    /// `base` when given), and whether it was clean.
    fn merge_tree(&mut self, theirs: &str, base: Option<&str>) -> (bool, Vec<(String, String)>) {
        let merge_base = base.map(|b| format!("--merge-base={b}"));
        let mut args = vec!["merge-tree", "--write-tree", "--no-messages"];
        args.extend(merge_base.as_deref());
        args.extend(["HEAD", theirs]);
        let out = self.git(&args);
        let tree = String::from_utf8(out.stdout).unwrap().lines().next().unwrap().to_owned();
        let files = self
            .ok(&["ls-tree", "-r", "--name-only", &tree])
            .lines()
            .map(|path| (path.to_owned(), self.ok(&["cat-file", "-p", &format!("{tree}:{path}")])))
            .collect();
        (out.status.code() == Some(0), files)
    }
}

/// A criss-cross history made by git: branches `a` and `b` whose best common
/// ancestors are several commits. Returns those commits, oldest first.
///
/// Three shapes, by `seed`: `a` and `b` each merge the other's first commit
/// (two bases); the same twice over (the bases have two bases of their own, so
/// the virtual base is built from a virtual base); or `a`, `b` and `c` with `b`
/// and `c` forked from a commit `x` that `a` lacks, each of `a` and `b` merging
/// the others' first commits (three bases, and the third one's merge with the
/// first two has `x`, not the root, as its base).
fn criss_cross(seed: u64, rng: &mut Rng) -> (GitHistory, Vec<String>) {
    let mut git = GitHistory::new();
    let lines = |name: &str| (1..=10).map(|i| format!("{name} {i}\n")).collect::<String>();
    std::fs::write(git.dir.path().join("f.txt"), lines("f")).unwrap();
    std::fs::write(git.dir.path().join("g.txt"), lines("g")).unwrap();
    std::fs::write(git.dir.path().join("h.txt"), lines("h")).unwrap();
    git.ok(&["add", "-A"]);
    git.ok(&["commit", "-qm", "base"]);
    let (branches, rounds): (&[&str], usize) = match seed % 3 {
        0 => (&["a", "b"], 1),
        1 => (&["a", "b"], 2),
        _ => (&["a", "b", "c"], 1),
    };
    if branches.len() == 3 {
        git.ok(&["checkout", "-q", "-b", "x", "main"]);
        git.edit(rng, "x");
    }
    let mut tips = Vec::new();
    for branch in branches {
        let start = if *branch == "a" || branches.len() == 2 { "main" } else { "x" };
        git.ok(&["checkout", "-q", "-b", branch, start]);
        git.edit(rng, &format!("{branch}1"));
        tips.push(git.rev(branch));
    }
    for round in 2..=rounds + 1 {
        // Each of a and b merges the others' tips of the round before, so those
        // tips are the best common ancestors of a and b.
        for branch in ["a", "b"] {
            git.ok(&["checkout", "-q", branch]);
            for (other, tip) in branches.iter().zip(&tips) {
                if other != &branch {
                    git.merge(rng, tip);
                }
            }
            git.edit(rng, &format!("{branch}{round}"));
        }
        if round <= rounds {
            tips = branches.iter().map(|b| git.rev(b)).collect();
        }
    }
    git.ok(&["checkout", "-q", "a"]);
    (git, tips)
}

/// Conflict markers name a diff3 base by a commit id, which is git's id for git
/// and pg's for pg: the ids are dropped before comparing.
fn without_base_labels(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|line| match line.starts_with("|||||||") {
            true => format!("{}\n", line.trim_end().trim_end_matches(|c| c != '|')),
            false => line.to_owned(),
        })
        .collect()
}

/// Generated criss-cross histories (two or three merge bases, and bases that are
/// criss-cross merges themselves), merged by pg and by `git merge-tree` in both
/// conflict styles: the same files, conflict markers and all, and the same
/// verdict. The histories are made so that a merge from one of the bases would
/// often give another result, which the test counts, so that it proves the
/// virtual base is built as git builds it.
#[test]
fn criss_cross_merges_match_git_merge_tree_where_one_base_would_not() {
    let (mut cases, mut one_base_differs) = (0, 0);
    for seed in 1..=30u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let (mut git, bases) = criss_cross(seed, &mut rng);
        let found = git.ok(&["merge-base", "--all", "a", "b"]);
        assert_eq!(found.lines().count(), bases.len(), "seed {seed}: {found}");
        let style = ["merge", "diff3"][(seed / 3 % 2) as usize];
        git.ok(&["config", "merge.conflictStyle", style]);
        let (git_clean, git_files) = git.merge_tree("b", None);
        let one_base = git.merge_tree("b", Some(&bases[0]));
        cases += 1;
        one_base_differs += usize::from(one_base != (git_clean, git_files.clone()));

        let repo = Repo::new();
        repo.ok(&["config", "merge.conflictStyle", style]);
        repo.ok(&["import", "git", git.dir.path().to_str().unwrap()]);
        repo.ok(&["switch", "a"]);
        let out = repo.run(&["merge", "b", "-m", "merge b"]);
        assert_eq!(out.status.success(), git_clean, "seed {seed}: {}", String::from_utf8_lossy(&out.stdout));
        for path in ["f.txt", "g.txt", "h.txt"] {
            let in_git = git_files.iter().any(|(p, _)| p == path);
            assert_eq!(repo.exists(path), in_git, "seed {seed}: {path} kept by one tool only");
        }
        for (path, content) in &git_files {
            let ours = without_base_labels(&repo.read(path));
            assert_eq!(ours, without_base_labels(content), "seed {seed} ({style}): {path}");
        }
    }
    assert!(
        one_base_differs * 3 >= cases,
        "only {one_base_differs} of {cases} merges depend on the virtual base"
    );
}

#[test]
fn a_merge_killed_at_any_moment_can_be_aborted_and_passes_fsck() {
    let repo = Repo::new();
    let files = |side: &str| -> Vec<(String, String)> {
        (0..1500).map(|i| (format!("d{}/f{i}.txt", i % 20), format!("{FIVE}{side} {i}\n"))).collect()
    };
    let base: Vec<(String, String)> =
        (0..1500).map(|i| (format!("d{}/f{i}.txt", i % 20), FIVE.to_owned())).collect();
    let as_refs = |v: &[(String, String)]| v.iter().map(|(p, c)| (p.clone(), c.clone())).collect::<Vec<_>>();
    let commit = |v: &[(String, String)], message: &str| {
        for (path, content) in v {
            repo.write(path, content);
        }
        repo.ok(&["add", "-A"]);
        repo.ok(&["commit", "-m", message]);
    };
    commit(&as_refs(&base), "base");
    repo.ok(&["switch", "-c", "side"]);
    commit(
        &files("theirs").iter().map(|(p, c)| (p.clone(), c.replacen("one", "ONE", 1))).collect::<Vec<_>>(),
        "theirs",
    );
    repo.ok(&["switch", "main"]);
    commit(&files("ours"), "ours");
    let before = working_copy(&repo);
    let head = repo.ok(&["rev-parse", "HEAD"]);
    let mut killed = 0;
    for delay_ms in [5u64, 20, 50, 100, 200, 400, 800] {
        let mut child = repo
            .command(&["merge", "side"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            killed += 1;
        }
        child.wait().unwrap();
        assert!(repo.ok(&["fsck"]).ends_with(": ok\n"));
        if repo.file(".pg/MERGE_STATE").exists() {
            repo.ok(&["merge", "--abort"]);
        } else if repo.ok(&["rev-parse", "HEAD"]) != head {
            repo.ok(&["undo"]);
        }
        assert_eq!(repo.ok(&["rev-parse", "HEAD"]), head, "after {delay_ms} ms");
        assert!(working_copy(&repo) == before, "after {delay_ms} ms the working copy differs");
    }
    assert!(killed > 0, "no merge was interrupted: the test did not test anything");
}

#[test]
fn a_file_renamed_on_one_side_and_deleted_on_the_other_is_a_conflict() {
    let long: String = (0..30).map(|i| format!("row {i}\n")).collect();
    let repo = diverged(
        &[("a.txt", &long), ("b.txt", "b\n")],
        &[("a.txt", None)],
        &[("a.txt", None), ("moved/a.txt", Some(&long))],
    );
    let out = repo.run(&["merge", "side"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("CONFLICT (modify-delete): moved/a.txt"), "{stdout}");
    assert_eq!(repo.read("moved/a.txt"), long, "the renamed file is kept for the person to decide");
}

/// Runs git in `dir` with a fixed identity; returns whether it succeeded.
fn git_in(dir: &std::path::Path, args: &[&str]) -> bool {
    Command::new("git")
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .env("GIT_AUTHOR_NAME", "A")
        .env("GIT_AUTHOR_EMAIL", "a@example.com")
        .env("GIT_COMMITTER_NAME", "A")
        .env("GIT_COMMITTER_EMAIL", "a@example.com")
        .args(args)
        .output()
        .unwrap()
        .status
        .success()
}

#[test]
fn bench_merge_classes_replayed_merges_against_what_was_committed() {
    let source = tempfile::tempdir().unwrap();
    let d = source.path();
    let write = |path: &str, text: &str| std::fs::write(d.join(path), text).unwrap();
    git_in(d, &["init", "-q", "-b", "main"]);
    write("f.txt", FIVE);
    git_in(d, &["add", "."]);
    git_in(d, &["commit", "-qm", "base"]);
    // Three true merges: clean as git makes it; conflicted and resolved by hand; clean
    // but amended by its author (so a clean replay differs from the commit).
    for (n, ours, theirs, amend) in [
        (1, "ONE\ntwo\nthree\nfour\nfive\n", "ONE\ntwo\nthree\nfour\nFIVE\n", false),
        (2, "ONE\nTWO-a\nthree\nfour\nFIVE\n", "ONE\nTWO-b\nthree\nfour\nFIVE\n", false),
        (3, "one!\nTWO-ab\nthree\nfour\nFIVE\n", "ONE\nTWO-ab\nthree\nfour\nfive!\n", true),
    ] {
        let branch = format!("b{n}");
        git_in(d, &["checkout", "-qb", &branch]);
        write("f.txt", theirs);
        git_in(d, &["commit", "-qam", "theirs"]);
        git_in(d, &["checkout", "-q", "main"]);
        write("f.txt", ours);
        git_in(d, &["commit", "-qam", "ours"]);
        if !git_in(d, &["merge", "-q", "--no-edit", &branch]) {
            write("f.txt", "ONE\nTWO-ab\nthree\nfour\nFIVE\n");
            git_in(d, &["commit", "-qam", "resolved"]);
        }
        if amend {
            write("g.txt", "fix\n");
            git_in(d, &["add", "g.txt"]);
            git_in(d, &["commit", "-q", "--amend", "--no-edit"]);
        }
    }
    let repo = Repo::new();
    repo.ok(&["import", "git", d.to_str().unwrap()]);
    let records: Vec<serde_json::Value> =
        repo.ok(&["bench-merge", "--json"]).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let classes: Vec<&str> = records.iter().filter_map(|r| r["class"].as_str()).collect();
    assert_eq!(classes, ["wrong-clean", "conflict", "identical"], "newest first");
    let summary = &records.last().unwrap()["summary"];
    assert_eq!((summary["merges"].as_u64(), summary["wrong_clean"].as_u64()), (Some(3), Some(1)));
    assert!(records[0]["git_commit"].as_str().is_some_and(|id| id.len() == 40));
    let human = repo.ok(&["bench-merge", "--limit", "2"]);
    assert!(human.contains("replayed 2 true merge(s)") && human.contains("clean rate 50.0%"), "{human}");
}

#[test]
fn structured_files_merge_by_key_where_lines_would_conflict() {
    // Adjacent lines changed on each side: a line merge conflicts, a merge by key does not.
    let base = "{\n  \"name\": \"demo\",\n  \"version\": \"1.0.0\",\n  \"private\": true\n}\n";
    let ours = "{\n  \"name\": \"demo\",\n  \"version\": \"1.1.0\",\n  \"private\": true\n}\n";
    let theirs = "{\n  \"name\": \"demo\",\n  \"version\": \"1.0.0\",\n  \"private\": false\n}\n";
    let toml_base = "[package]\nname = \"demo\"\nversion = \"1.0.0\"\n";
    let repo = diverged(
        &[("package.json", base), ("Cargo.toml", toml_base)],
        &[
            ("package.json", Some(ours)),
            ("Cargo.toml", Some("[package]\nname = \"demo\"\nversion = \"1.1.0\"\n")),
        ],
        &[
            ("package.json", Some(theirs)),
            ("Cargo.toml", Some("[package]\nname = \"demo2\"\nversion = \"1.0.0\"\n")),
        ],
    );
    repo.ok(&["merge", "side"]);
    assert_eq!(
        repo.read("package.json"),
        "{\n  \"name\": \"demo\",\n  \"version\": \"1.1.0\",\n  \"private\": false\n}\n"
    );
    assert_eq!(repo.read("Cargo.toml"), "[package]\nname = \"demo2\"\nversion = \"1.1.0\"\n");
    let provenance = repo.ok(&["show", "--merge-provenance"]);
    assert!(
        provenance.contains("package.json\tjson v2") && provenance.contains("Cargo.toml\ttoml v2"),
        "{provenance}"
    );
    // Without .pgattributes the same change to a text file is a conflict.
    let text = diverged(&[("notes.txt", base)], &[("notes.txt", Some(ours))], &[("notes.txt", Some(theirs))]);
    assert_eq!(text.run(&["merge", "side"]).status.code(), Some(1));
}

#[test]
fn modes_symlinks_binaries_additions_and_directories_each_merge_or_conflict_as_they_should() {
    use std::os::unix::fs::{symlink, PermissionsExt};
    let repo = Repo::new();
    let set_link = |target: &str| {
        let _ = std::fs::remove_file(repo.file("link"));
        symlink(target, repo.file("link")).unwrap();
    };
    repo.write("run.sh", "echo 1\necho 2\necho 3\n");
    repo.write("d", "a file\n");
    std::fs::write(repo.file("bin.dat"), b"\x00\x01base").unwrap();
    set_link("x");
    repo.ok(&["add", "-A"]);
    repo.ok(&["commit", "-m", "base"]);
    repo.ok(&["switch", "-c", "side"]);
    repo.write("run.sh", "echo 1\necho 2\necho three\n");
    set_link("z");
    std::fs::write(repo.file("bin.dat"), b"\x00\x01theirs").unwrap();
    std::fs::remove_file(repo.file("d")).unwrap();
    repo.write("d/inner", "now a directory\n");
    repo.write("new.txt", "theirs\n");
    repo.ok(&["add", "-A"]);
    repo.ok(&["commit", "-m", "theirs"]);
    repo.ok(&["switch", "main"]);
    std::fs::set_permissions(repo.file("run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    set_link("y");
    std::fs::write(repo.file("bin.dat"), b"\x00\x01ours").unwrap();
    repo.write("d", "a changed file\n");
    repo.write("new.txt", "ours\n");
    repo.ok(&["add", "-A"]);
    repo.ok(&["commit", "-m", "ours"]);

    let out = repo.run(&["merge", "side"]);
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!("merge_kinds_of_conflict", String::from_utf8(out.stdout).unwrap());
    // Mode from ours, content from theirs: no conflict.
    assert_eq!(repo.read("run.sh"), "echo 1\necho 2\necho three\n");
    assert_eq!(std::fs::metadata(repo.file("run.sh")).unwrap().permissions().mode() & 0o111, 0o111);
    // Conflicts keep our version where markers cannot show them.
    assert_eq!(std::fs::read_link(repo.file("link")).unwrap().to_str(), Some("y"));
    assert_eq!(std::fs::read(repo.file("bin.dat")).unwrap(), b"\x00\x01ours");
    assert_eq!(repo.read("new.txt"), "<<<<<<< HEAD\nours\n=======\ntheirs\n>>>>>>> side\n");
    // Our file moved aside for their directory.
    assert_eq!(repo.read("d~HEAD"), "a changed file\n");
    assert_eq!(repo.read("d/inner"), "now a directory\n");
    repo.ok(&["merge", "--abort"]);
    assert_eq!(repo.read("d"), "a changed file\n");
    assert_eq!(repo.ok(&["status", "--short"]), "");
}

/// The conflicted file `git merge` leaves, and the one `pg merge` leaves, for the
/// same three versions (git as the oracle: histogram diff, its conflict level).
fn git_and_pg_conflicts(base: &str, ours: &str, theirs: &str) -> (String, String) {
    let source = tempfile::tempdir().unwrap();
    let d = source.path();
    let write = |text: &str| std::fs::write(d.join("f.txt"), text).unwrap();
    git_in(d, &["init", "-q", "-b", "main"]);
    write(base);
    git_in(d, &["add", "."]);
    git_in(d, &["commit", "-qm", "base"]);
    git_in(d, &["checkout", "-qb", "side"]);
    write(theirs);
    git_in(d, &["commit", "-qam", "theirs"]);
    git_in(d, &["checkout", "-q", "main"]);
    write(ours);
    git_in(d, &["commit", "-qam", "ours"]);
    let repo = Repo::new();
    repo.ok(&["import", "git", d.to_str().unwrap()]);
    git_in(d, &["merge", "-q", "side"]);
    let _ = repo.run(&["merge", "side"]);
    (std::fs::read_to_string(d.join("f.txt")).unwrap(), repo.read("f.txt"))
}

#[test]
fn conflict_markers_are_the_ones_git_merge_writes() {
    // Myers and histogram align these differently; git merge uses histogram.
    let (git, pg) = git_and_pg_conflicts(
        "}\n}\n\n{\n}\nx\n\n{\nx\n",
        "}\n}\nx\n}\na\n\nx\n\n{\nx\n",
        "}\n}\n}\n\n{\n}\nc\n",
    );
    assert_eq!(pg, git);
    // Texts from a small vocabulary, many repeated lines: where alignments differ.
    let vocabulary = ["a", "b", "}", "{", "", "x = 1;", "return;"];
    for case in 0..8usize {
        let text = |salt: usize, n: usize| -> String {
            (0..n)
                .map(|i| format!("{}\n", vocabulary[(case * 5 + salt * 3 + i * i) % vocabulary.len()]))
                .collect()
        };
        let base = text(1, 12);
        let (ours, theirs) =
            (format!("{}{}", text(2, 3), &base[4..]), format!("{}{}", &base[..base.len() - 4], text(3, 4)));
        let (git, pg) = git_and_pg_conflicts(&base, &ours, &theirs);
        assert_eq!(pg, git, "base:\n{base}\nours:\n{ours}\ntheirs:\n{theirs}");
    }
}

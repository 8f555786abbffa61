//! History views (`log -- PATH`, `--author`, `--since`, `--stat`, `show --stat`)
//! with git as the oracle on the same imported history.

#[macro_use]
mod common;
use common::{git, git_commit_script, Repo};
use std::process::Command;

/// A linear git history by two authors over four days, touching a few paths,
/// a binary file and one file long enough that its stat bar is scaled.
fn history() -> (tempfile::TempDir, Repo) {
    let source = tempfile::tempdir().unwrap();
    let commit = |author: &str, day: u32, message: &str, script: &str| {
        git_commit_script(source.path(), author, &format!("2024-05-0{day}T12:00:00Z"), message, script)
    };
    git(source.path(), &["init", "-q", "-b", "main"]);
    commit("Ada", 1, "one", "mkdir -p src docs && echo a > src/a.rs && echo d > docs/d.md");
    commit("Bob", 2, "two", "echo b >> src/a.rs && printf 'x\\0y' > blob.bin && seq 1 150 > long.txt");
    commit("Ada", 3, "three", "echo e > docs/e.md && printf 'x\\0yz' > blob.bin && seq 20 200 > long.txt");
    commit("Bob", 4, "four", "rm docs/d.md && echo c >> src/a.rs && echo c > src/c.rs");
    let repo = Repo::new();
    repo.ok(&["import", "git", source.path().to_str().unwrap()]);
    (source, repo)
}

/// The subjects of the commits `pg log` shows with `args`.
fn pg_subjects(repo: &Repo, args: &[&str]) -> String {
    let mut all = vec!["log", "--json"];
    all.extend_from_slice(args);
    let json: serde_json::Value = serde_json::from_str(&repo.ok(&all)).unwrap();
    json.as_array().unwrap().iter().map(|c| c["message"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn filters_select_the_commits_git_selects() {
    let (source, repo) = history();
    for args in [
        vec!["--", "src"],
        vec!["--", "docs/d.md"],
        vec!["--", "src/a.rs", "blob.bin"],
        vec!["--author", "Ada"],
        vec!["--author", "^Bob <bob@"],
        vec!["--since", "2024-05-02 12:00", "--until", "2024-05-03 00:00"],
        vec!["--after", "2024-05-03 00:00"],
        vec!["-n", "1", "--author", "Ada", "--", "docs"],
    ] {
        let mut git_args = vec!["log", "--format=%s"];
        git_args.extend_from_slice(&args);
        assert_eq!(pg_subjects(&repo, &args), git(source.path(), &git_args), "{args:?}");
    }
    assert_eq!(pg_subjects(&repo, &["--", "no/such/path"]), "");
    let err = repo.fails(&["log", "--since", "someday"]);
    assert!(err.contains("cannot read 'someday' as a date"), "{err}");
}

/// The diffstat lines of a `show` or `log` output (` path | n ++-`, and totals).
fn stat_lines(text: &str) -> String {
    text.lines().filter(|l| l.starts_with(' ') && !l.starts_with("    ")).map(|l| format!("{l}\n")).collect()
}

#[test]
fn stats_are_git_stats() {
    let (source, repo) = history();
    for rev in ["HEAD", "HEAD~1", "HEAD~2", "HEAD~3"] {
        let pg = stat_lines(&repo.ok(&["show", "--stat", rev]));
        assert_eq!(pg, stat_lines(&git(source.path(), &["show", "--stat", rev])), "{rev}");
    }
    let pg = stat_lines(&repo.ok(&["log", "--stat"]));
    assert_eq!(pg, stat_lines(&git(source.path(), &["log", "--stat"])));
    let oneline = repo.ok(&["log", "--oneline", "--stat"]);
    assert_eq!(oneline.lines().count(), git(source.path(), &["log", "--oneline", "--stat"]).lines().count());
    let dir = repo.path().canonicalize().unwrap().display().to_string();
    insta::with_settings!({filters => vec![(dir.as_str(), "[REPO]")]}, {
        insta::assert_snapshot!("log_oneline_stat", repo.ok(&["log", "--oneline", "--stat", "-n", "2"]));
    });
}

#[test]
fn format_placeholders_print_what_git_prints() {
    let (source, repo) = history();
    // Fields that do not depend on the ids, which differ between pg and git.
    let format = "%s|%an|%ae|%ad|%at|%cn|%ce|%ct|%b|%%|%x|%n[%B]";
    let pg = repo.ok(&["log", &format!("--format={format}")]);
    assert_eq!(pg, git(source.path(), &["log", &format!("--format={format}")]));
    let ids = repo.ok(&["log", "--format=%H %h %P %p %T %d", "-n", "2"]);
    let json: serde_json::Value = serde_json::from_str(&repo.ok(&["log", "--json", "-n", "2"])).unwrap();
    let (head, parent) = (json[0]["id"].as_str().unwrap(), json[1]["id"].as_str().unwrap());
    let first = ids.lines().next().unwrap();
    assert!(first.starts_with(&format!("{head} ")), "{first}");
    assert!(first.contains(&format!(" {parent} ")), "{first}");
    assert!(first.ends_with(" (HEAD -> main)"), "{first}");
    assert_eq!(repo.ok(&["log", "--pretty=format:%s", "-n", "1"]), "four\n");
}

/// A git history of branches and merges, at increasing dates: a side branch
/// of two commits merged back, then a branch from before that merge, merged
/// after it, and a line of history that starts from the first merge's parent.
fn branchy_history() -> (tempfile::TempDir, Repo) {
    let source = tempfile::tempdir().unwrap();
    let dir = source.path();
    let at = |day: u32| format!("2024-05-{day:02}T12:00:00Z");
    let run = |day: u32, args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_AUTHOR_DATE", at(day))
            .env("GIT_COMMITTER_DATE", at(day))
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let commit = |day, message: &str| run(day, &["commit", "-q", "--allow-empty", "-m", message]);
    let merge =
        |day, message: &str, branch: &str| run(day, &["merge", "-q", "--no-ff", "-m", message, branch]);
    run(0, &["init", "-q", "-b", "main"]);
    commit(1, "base");
    run(1, &["branch", "side"]);
    commit(2, "m1");
    run(2, &["switch", "-q", "side"]);
    commit(3, "s1");
    commit(4, "s2");
    run(4, &["switch", "-q", "main"]);
    commit(5, "m2");
    merge(6, "merge1", "side");
    run(6, &["branch", "side2", "HEAD~1"]);
    run(6, &["switch", "-q", "side2"]);
    commit(7, "t1");
    run(7, &["switch", "-q", "main"]);
    commit(8, "m3");
    merge(9, "merge2", "side2");
    commit(10, "top");
    let repo = Repo::new();
    repo.ok(&["import", "git", dir.to_str().unwrap()]);
    (source, repo)
}

/// Lines without their trailing spaces (git pads graph rows; pg trims them).
fn trimmed(text: &str) -> String {
    text.lines().map(|l| format!("{}\n", l.trim_end())).collect()
}

#[test]
fn graph_is_drawn_as_git_draws_it() {
    let (source, repo) = branchy_history();
    for args in [vec!["--format=%s"], vec!["--format=%s", "side"], vec!["--format=%s", "-n", "4"]] {
        let mut all = vec!["log", "--graph"];
        all.extend_from_slice(&args);
        assert_eq!(repo.ok(&all), trimmed(&git(source.path(), &all)), "{args:?}");
    }
    // The full form: the graph's columns run through every line of a commit.
    let full = repo.ok(&["log", "--graph", "-n", "3"]);
    let git_full = git(source.path(), &["log", "--graph", "-n", "3"]);
    let shape = |text: &str| -> String {
        text.lines()
            .map(|l| {
                l.chars().take_while(|c| "|/\\* ".contains(*c)).collect::<String>().trim_end().to_owned()
                    + "\n"
            })
            .collect()
    };
    assert_eq!(shape(&full), shape(&git_full));
    insta::assert_snapshot!("log_graph_oneline", repo.ok(&["log", "--graph", "--format=%s %d"]));
}

#[test]
fn a_log_of_some_paths_is_gits_simplified_history() {
    let source = tempfile::tempdir().unwrap();
    // Side branches that touch the paths and do not, a merge that keeps only
    // its own side (`-s ours`, so what the other side did is not shown), and
    // merges that touch nothing. In a graph, each commit is joined to its
    // nearest shown ancestors.
    let script = r#"
        set -e
        n=0
        c() { n=$((n + 1)); echo "$2" >> "$1"; git add -A
              GIT_AUTHOR_DATE="2024-05-01T12:00:$(printf %02d $n)Z" GIT_COMMITTER_DATE="2024-05-01T12:00:$(printf %02d $n)Z" git commit -q -m "$3"; }
        m() { n=$((n + 1))
              GIT_AUTHOR_DATE="2024-05-01T12:00:$(printf %02d $n)Z" GIT_COMMITTER_DATE="2024-05-01T12:00:$(printf %02d $n)Z" git merge -q --no-edit "$@"; }
        git init -q -b main
        c f 1 c1; c g 1 c2; c f 2 c3
        git checkout -q -b side; c g s s1; c k s s2; c g t s3
        git checkout -q main; c h 1 c4; c f 3 c5
        m -m m1 side
        git checkout -q -b other HEAD~1; c g o o1; c k o o2
        git checkout -q main; m -s ours -m m2 other
        git checkout -q -b third; c k t t1; git checkout -q main; c g 9 c6; m -m m3 third
        c h 2 c7; c f 4 c8
    "#;
    let out = Command::new("sh").args(["-c", script]).current_dir(source.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let repo = Repo::new();
    repo.ok(&["import", "git", source.path().to_str().unwrap()]);
    for paths in [&["f"][..], &["g"], &["h"], &["k"], &["g", "k"], &["f", "h"]] {
        let mut args = vec!["log", "--graph", "--format=%s", "--"];
        args.extend_from_slice(paths);
        assert_eq!(repo.ok(&args), trimmed(&git(source.path(), &args)), "{paths:?}");
        args.remove(1);
        assert_eq!(repo.ok(&args), git(source.path(), &args), "{paths:?} without the graph");
    }
    insta::assert_snapshot!(
        "log_graph_of_paths",
        repo.ok(&["log", "--graph", "--format=%s", "--", "g", "k"])
    );
}

#[test]
fn follow_keeps_going_through_renames_as_git_does() {
    let source = tempfile::tempdir().unwrap();
    let dir = source.path();
    let commit = |day: u32, message: &str, script: &str| {
        git_commit_script(dir, "Ada", &format!("2024-05-{day:02}T12:00:00Z"), message, script)
    };
    git(dir, &["init", "-q", "-b", "main"]);
    commit(1, "write", "seq 1 40 > notes.txt; echo x > other.txt");
    commit(2, "edit", "echo 41 >> notes.txt");
    commit(3, "unrelated", "echo y >> other.txt");
    commit(4, "move", "mkdir doc && git mv notes.txt doc/notes.txt && echo 42 >> doc/notes.txt");
    commit(5, "edit again", "sed -i 's/^7$/seven/' doc/notes.txt");
    commit(6, "move again", "git mv doc/notes.txt doc/all.txt");
    commit(7, "new notes", "seq 100 120 > notes.txt");
    let repo = Repo::new();
    repo.ok(&["import", "git", dir.to_str().unwrap()]);
    for args in [
        vec!["--follow", "--", "doc/all.txt"],
        vec!["--", "doc/all.txt"],
        vec!["--follow", "--", "notes.txt"],
        vec!["--follow", "--", "doc/notes.txt"],
    ] {
        let mut git_args = vec!["log", "--format=%s"];
        git_args.extend_from_slice(&args);
        assert_eq!(pg_subjects(&repo, &args), git(dir, &git_args), "{args:?}");
    }
    let err = repo.fails(&["log", "--follow", "--", "doc/all.txt", "other.txt"]);
    assert!(err.contains("give exactly one path"), "{err}");
}

/// pg's patch headers say `diff --pg` and its ids are not git's: the rest of a
/// patch must read as git's.
fn comparable(patch: &str) -> String {
    patch
        .lines()
        .filter(|l| !l.starts_with("index "))
        .map(|l| format!("{}\n", l.replacen("diff --pg ", "diff --git ", 1)))
        .collect()
}

#[test]
fn renames_show_as_git_shows_them() {
    let source = tempfile::tempdir().unwrap();
    let dir = source.path();
    git(dir, &["init", "-q", "-b", "main"]);
    let at = "2024-05-01T12:00:00Z";
    git_commit_script(
        dir,
        "Ada",
        at,
        "one",
        "seq 1 40 > notes.txt; mkdir -p src/a; seq 1 30 > src/a/c.rs; echo x > gone",
    );
    git_commit_script(
        dir,
        "Ada",
        at,
        "two",
        "git mv notes.txt doc.txt; echo 41 >> doc.txt; git mv src/a/c.rs src/a/d.rs; chmod +x src/a/d.rs
         git rm -q gone; echo new > fresh; seq 1 10 > small; seq 50 90 > src/e.rs",
    );
    let repo = Repo::new();
    repo.ok(&["import", "git", dir.to_str().unwrap()]);
    let git_patch = git(dir, &["show", "-M", "--format="]);
    let pg_patch = repo.ok(&["show", "-M"]);
    let pg_patch = &pg_patch[pg_patch.find("diff --pg").unwrap()..];
    assert_eq!(comparable(pg_patch), comparable(&git_patch));
    assert!(
        pg_patch.contains("similarity index 97%\nrename from notes.txt\nrename to doc.txt\n"),
        "{pg_patch}"
    );
    // git reads digits alone as a fraction: -M98 is 98%, -M100 10%.
    for threshold in ["-M", "-M98", "-M9", "-M100", "--find-renames=98%", "-M100%"] {
        let pg_stat = repo.ok(&["show", "--stat", threshold]);
        assert_eq!(
            stat_lines(&pg_stat),
            git(dir, &["show", "--stat", threshold, "--format="]),
            "{threshold}"
        );
    }
    // Without -M a rename is a deletion and an addition.
    assert!(!repo.ok(&["show"]).contains("rename from"));
    let bad = repo.run(&["show", "-M9x"]);
    assert_eq!(bad.status.code(), Some(2), "a usage error");
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("'9x' is not a similarity"), "{err}");
}

#[test]
fn diff_finds_renames_in_the_working_copy() {
    let repo = Repo::new();
    let lines: String = (1..=30).map(|n| format!("line {n}\n")).collect();
    repo.commit_files(&[("old.txt", &lines)], "one");
    repo.ok(&["mv", "old.txt", "new.txt"]);
    repo.write("new.txt", &format!("{lines}line 31\n"));
    snapshot!(repo, "diff_rename_to_working_copy", repo.ok(&["diff", "-M", "HEAD"]));
    snapshot!(repo, "diff_rename_staged", repo.ok(&["diff", "--staged", "-M"]));
    assert!(!repo.ok(&["diff", "HEAD"]).contains("rename"));
}

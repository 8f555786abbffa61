//! Bad input gets a one-line error that says what to do, exit code 1, and changes
//! nothing.

mod common;
use common::Repo;

fn op_count(repo: &Repo) -> usize {
    repo.ok(&["op", "log"]).lines().filter(|l| l.starts_with('#')).count()
}

fn one_line(err: &str) -> &str {
    assert_eq!(err.lines().count(), 1, "errors are one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    err
}

#[test]
fn outside_a_repository() {
    let dir = Repo::empty_dir();
    let err = dir.fails(&["status"]);
    assert!(one_line(&err).contains("not a pg repository") && err.contains("pg init"), "{err}");
}

#[test]
fn unknown_revision_and_ambiguous_or_unknown_prefix() {
    let repo = Repo::new();
    // Enough blobs that two ids share their first six characters.
    let files: Vec<(String, String)> = (0..60).map(|i| (format!("f{i}"), format!("{i}\n"))).collect();
    let refs: Vec<(&str, &str)> = files.iter().map(|(p, c)| (p.as_str(), c.as_str())).collect();
    repo.commit_files(&refs, "many");
    let err = repo.fails(&["rev-parse", "no-such-branch"]);
    assert!(one_line(&err).contains("unknown revision 'no-such-branch'"), "{err}");
    let err = repo.fails(&["rev-parse", "1e20ffffffffffffff"]);
    assert!(one_line(&err).contains("no object id starts with"), "{err}");
    let tree = repo.ok(&["cat-object", "HEAD^{tree}"]);
    let mut ids: Vec<&str> = tree.lines().map(|l| l.split_whitespace().nth(2).unwrap()).collect();
    ids.sort();
    let shared = ids.windows(2).find(|w| w[0][..6] == w[1][..6]).expect("sixty ids share a 6-digit prefix");
    let err = repo.fails(&["cat-object", &shared[0][..6]]);
    assert!(one_line(&err).contains("is ambiguous") && err.contains("give more digits"), "{err}");
}

#[test]
fn missing_identity_stops_the_commit() {
    let repo = Repo::new();
    repo.write("f", "x\n");
    repo.ok(&["add", "f"]);
    let before = op_count(&repo);
    let out = repo
        .command(&["commit", "-m", "x"])
        .env_remove("PG_AUTHOR_NAME")
        .env_remove("PG_AUTHOR_EMAIL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(one_line(&err).contains("pg config user.name"), "{err}");
    assert_eq!(op_count(&repo), before);
    assert!(repo.fails(&["rev-parse", "HEAD"]).contains("no commit yet"));
}

#[test]
fn nothing_to_commit_and_empty_messages() {
    let repo = Repo::new();
    let err = repo.fails(&["commit", "-m", "nothing staged"]);
    assert!(one_line(&err).contains("nothing to commit"), "{err}");
    repo.commit_files(&[("f", "x\n")], "one");
    let before = op_count(&repo);
    assert!(repo.fails(&["commit", "-m", "again"]).contains("nothing to commit"));
    assert!(repo.fails(&["commit", "--allow-empty", "-m", "  \n"]).contains("empty commit message"));
    assert_eq!(op_count(&repo), before);
    repo.ok(&["commit", "--allow-empty", "-m", "empty on purpose"]);
    assert_eq!(op_count(&repo), before + 1);
}

#[test]
fn bad_names_flags_and_paths() {
    let repo = Repo::new();
    repo.commit_files(&[("f", "x\n")], "one");
    assert!(one_line(&repo.fails(&["branch", "bad..name"])).contains("not a valid branch name"));
    assert!(one_line(&repo.fails(&["branch", "main"])).contains("already exists"));
    assert!(one_line(&repo.fails(&["switch", "nope"])).contains("pg switch -c nope"));
    assert!(one_line(&repo.fails(&["add", "missing.txt"])).contains("did not match any files"));
    assert!(one_line(&repo.fails(&["add", "../outside"])).contains("outside the repository"));
    let out = repo.run(&["commit", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2), "usage errors exit 2 as clap does");
    let dir = Repo::empty_dir();
    let out = dir.run(&["init", "--hash", "md5"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown hash function 'md5'"));
    assert!(!dir.exists(".pg"), "a refused init writes nothing");
}

#[test]
fn init_twice_is_refused() {
    let repo = Repo::new();
    assert!(one_line(&repo.fails(&["init"])).contains("already a pg repository"));
}

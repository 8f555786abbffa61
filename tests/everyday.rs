//! The everyday commands end to end, through the real binary. Human output is
//! snapshotted (insta); ids are reproducible because the identity and clock are fixed.

#[macro_use]
mod common;
use common::Repo;

#[test]
fn a_first_session_init_add_commit_log() {
    let repo = Repo::empty_dir();
    snapshot!(repo, "init", repo.ok(&["init"]));
    repo.write("README.md", "# demo\n");
    repo.write("src/main.rs", "fn main() {}\n");
    snapshot!(repo, "status_untracked", repo.ok(&["status"]));
    repo.ok(&["add", "-A"]);
    snapshot!(repo, "status_staged", repo.ok(&["status"]));
    snapshot!(repo, "commit_root", repo.ok(&["commit", "-m", "first commit"]));
    snapshot!(repo, "status_clean", repo.ok(&["status"]));
    repo.write("README.md", "# demo\n\nmore\n");
    repo.write("notes.txt", "n\n");
    std::fs::remove_file(repo.file("src/main.rs")).unwrap();
    snapshot!(repo, "status_dirty", repo.ok(&["status"]));
    snapshot!(repo, "status_short", repo.ok(&["status", "--short"]));
    snapshot!(repo, "status_json", repo.ok(&["status", "--json"]));
    snapshot!(repo, "diff_unstaged", repo.ok(&["diff"]));
    repo.ok(&["add", "README.md", "src"]);
    snapshot!(repo, "diff_staged", repo.ok(&["diff", "--staged"]));
    snapshot!(repo, "commit_second", repo.ok(&["commit", "-m", "second", "-m", "with a body"]));
    snapshot!(repo, "log", repo.ok(&["log"]));
    snapshot!(repo, "log_oneline", repo.ok(&["log", "--oneline"]));
    snapshot!(repo, "log_json", repo.ok(&["log", "--json", "-n", "1"]));
    snapshot!(repo, "show", repo.ok(&["show"]));
    snapshot!(repo, "diff_revs", repo.ok(&["diff", "HEAD~1", "HEAD"]));
    snapshot!(repo, "op_log", repo.ok(&["op", "log"]));
}

#[test]
fn commit_all_stages_tracked_changes_but_not_new_files() {
    let repo = Repo::new();
    repo.commit_files(&[("a", "1\n"), ("b", "1\n")], "base");
    repo.write("a", "2\n");
    std::fs::remove_file(repo.file("b")).unwrap();
    repo.write("new", "x\n");
    repo.ok(&["commit", "-a", "-m", "update"]);
    assert_eq!(repo.ok(&["status", "--short"]), "?? new\n");
    let tree = repo.ok(&["cat-object", "HEAD^{tree}"]);
    assert!(tree.contains("\ta\n") && !tree.contains("\tb\n"), "{tree}");
}

#[test]
fn branches_switch_and_carry_the_working_copy() {
    let repo = Repo::new();
    let base = repo.commit_files(&[("shared.txt", "base\n")], "base");
    repo.ok(&["switch", "-c", "feature"]);
    repo.commit_files(&[("feature.txt", "f\n"), ("shared.txt", "feature\n")], "feature work");
    snapshot!(repo, "branch_list", repo.ok(&["branch"]));
    repo.ok(&["switch", "main"]);
    assert!(!repo.exists("feature.txt"));
    assert_eq!(repo.read("shared.txt"), "base\n");
    assert_eq!(repo.ok(&["rev-parse", "HEAD"]).trim(), base);
    // An uncommitted change to a file the switch does not touch comes along.
    repo.write("untouched-by-switch.txt", "local\n");
    repo.ok(&["switch", "feature"]);
    assert_eq!(repo.read("shared.txt"), "feature\n");
    assert!(repo.exists("untouched-by-switch.txt"));
    snapshot!(repo, "branch_json", repo.ok(&["branch", "--json"]));
    let err = repo.fails(&["branch", "-d", "feature"]);
    assert!(err.contains("checked out"), "{err}");
    repo.ok(&["switch", "main"]);
    let err = repo.fails(&["branch", "-d", "feature"]);
    assert!(err.contains("not merged"), "{err}");
    repo.ok(&["branch", "-D", "feature"]);
    assert!(!repo.ok(&["branch"]).contains("feature"));
}

#[test]
fn switch_refuses_to_overwrite_local_changes_and_changes_nothing() {
    let repo = Repo::new();
    repo.commit_files(&[("f", "base\n")], "base");
    repo.ok(&["branch", "other"]);
    repo.commit_files(&[("f", "main\n")], "main change");
    repo.write("f", "local edit\n");
    let err = repo.fails(&["switch", "other"]);
    assert!(err.contains("would be overwritten") && err.contains("f"), "{err}");
    assert_eq!(repo.read("f"), "local edit\n");
    assert!(repo.ok(&["status"]).contains("On branch main"));
}

#[test]
fn executable_bits_and_symlinks_survive_a_round_trip() {
    use std::os::unix::fs::PermissionsExt;
    let repo = Repo::new();
    repo.commit_files(&[("plain", "p\n")], "base");
    repo.ok(&["branch", "before"]);
    repo.write("tool.sh", "#!/bin/sh\n");
    std::fs::set_permissions(repo.file("tool.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink("plain", repo.file("link")).unwrap();
    repo.ok(&["add", "-A"]);
    repo.ok(&["commit", "-m", "exec and link"]);
    let tree = repo.ok(&["cat-object", "HEAD^{tree}"]);
    assert!(tree.contains("100755 blob") && tree.contains("\ttool.sh"), "{tree}");
    assert!(tree.contains("120000 blob") && tree.contains("\tlink"), "{tree}");
    repo.ok(&["switch", "before"]);
    assert!(!repo.exists("tool.sh") && !repo.exists("link"));
    repo.ok(&["switch", "main"]);
    let mode = std::fs::metadata(repo.file("tool.sh")).unwrap().permissions().mode();
    assert_eq!(mode & 0o111, 0o111, "executable bits restored");
    assert_eq!(std::fs::read_link(repo.file("link")).unwrap().to_str(), Some("plain"));
    assert_eq!(repo.ok(&["status", "--short"]), "");
}

#[test]
fn pgignore_hides_untracked_files_in_gitignore_syntax() {
    let repo = Repo::new();
    repo.write(".pgignore", "*.log\ntarget/\n!keep.log\n");
    repo.write("app.log", "x");
    repo.write("keep.log", "x");
    repo.write("target/out", "x");
    repo.write("src/lib.rs", "x");
    assert_eq!(repo.ok(&["status", "--short"]), "?? .pgignore\n?? keep.log\n?? src/\n");
    repo.ok(&["add", "-A"]);
    repo.ok(&["commit", "-m", "ignored files stay out"]);
    let tree = repo.ok(&["cat-object", "HEAD^{tree}"]);
    assert!(!tree.contains("app.log") && !tree.contains("target"), "{tree}");
}

#[test]
fn rm_and_mv_update_index_and_disk() {
    let repo = Repo::new();
    repo.commit_files(&[("dir/a", "a\n"), ("dir/b", "b\n"), ("c", "c\n")], "base");
    repo.ok(&["mv", "dir", "moved"]);
    assert!(repo.fails(&["rm", "moved"]).contains("recursively without -r"));
    assert!(repo.exists("moved/a") && !repo.exists("dir"));
    repo.ok(&["rm", "c"]);
    assert!(!repo.exists("c"));
    repo.ok(&["rm", "--cached", "moved/b"]);
    assert!(repo.exists("moved/b"));
    snapshot!(repo, "status_after_rm_mv", repo.ok(&["status"]));
    repo.write("moved/a", "changed\n");
    let err = repo.fails(&["rm", "moved/a"]);
    assert!(err.contains("local modifications"), "{err}");
    repo.ok(&["rm", "-f", "moved/a"]);
    assert!(!repo.exists("moved/a"));
}

#[test]
fn tags_light_and_annotated() {
    let repo = Repo::new();
    let first = repo.commit_files(&[("f", "1\n")], "one");
    repo.commit_files(&[("f", "2\n")], "two");
    repo.ok(&["tag", "light", "HEAD~1"]);
    repo.ok(&["tag", "-m", "Release 1", "v1"]);
    assert_eq!(repo.ok(&["tag"]), "light\nv1\n");
    assert_eq!(repo.ok(&["rev-parse", "light"]).trim(), first);
    assert_eq!(repo.ok(&["cat-object", "-t", "v1"]), "tag\n");
    assert_eq!(repo.ok(&["rev-parse", "v1^{commit}"]), repo.ok(&["rev-parse", "HEAD"]));
    snapshot!(repo, "show_annotated_tag", repo.ok(&["show", "v1"]));
    repo.ok(&["tag", "-d", "light"]);
    assert_eq!(repo.ok(&["tag", "--json"]), "[\n  \"v1\"\n]\n");
}

#[test]
fn revisions_accept_ancestry_and_prefixes() {
    let repo = Repo::new();
    let one = repo.commit_files(&[("f", "1\n")], "one");
    let two = repo.commit_files(&[("f", "2\n")], "two");
    repo.commit_files(&[("f", "3\n")], "three");
    assert_eq!(repo.ok(&["rev-parse", "HEAD~2"]).trim(), one);
    assert_eq!(repo.ok(&["rev-parse", "HEAD^^"]).trim(), one);
    assert_eq!(repo.ok(&["rev-parse", "main^1"]).trim(), two);
    assert_eq!(repo.ok(&["rev-parse", "@~1"]).trim(), two);
    assert_eq!(repo.ok(&["rev-parse", &two[..20]]).trim(), two, "the full form's start, header and all");
    // Abbreviations leave out the multihash header every id shares, and name the
    // commit wherever a revision is taken.
    let oneline = repo.ok(&["log", "--oneline", "HEAD~1"]);
    let abbrev = oneline.lines().next().unwrap().split_whitespace().next().unwrap();
    assert_eq!((abbrev.len(), &two[4..11]), (7, abbrev), "{oneline}");
    assert_eq!(repo.ok(&["rev-parse", abbrev]).trim(), two);
    assert_eq!(repo.ok(&["rev-parse", &format!("{abbrev}~1")]).trim(), one);
    assert_eq!(
        repo.ok(&["rev-parse", &two[4..8]]).trim(),
        two,
        "four digits are enough when they are unique"
    );
    assert_eq!(repo.ok(&["rev-parse", "HEAD~1^0"]).trim(), two);
    let err = repo.fails(&["rev-parse", "HEAD^2"]);
    assert!(err.contains("no parent 2"), "{err}");
    let err = repo.fails(&["rev-parse", "HEAD~5"]);
    assert!(err.contains("goes past the history"), "{err}");
}

#[test]
fn cat_object_shows_kind_size_and_raw_encoding() {
    let repo = Repo::new();
    repo.commit_files(&[("hello", "hello\n")], "one");
    let tree = repo.ok(&["cat-object", "HEAD^{tree}"]);
    let blob = tree.split_whitespace().nth(2).unwrap();
    assert_eq!(repo.ok(&["cat-object", "-t", blob]), "blob\n");
    assert_eq!(repo.ok(&["cat-object", "-s", blob]), "6\n");
    assert_eq!(repo.ok(&["cat-object", blob]), "hello\n");
    // The raw encoding is the blob vector of docs/FORMAT.md.
    let raw = repo.command(&["cat-object", "--raw", blob]).output().unwrap().stdout;
    assert_eq!(raw, b"blob 6\0hello\n");
    assert_eq!(blob, "1e20c9a94c1a9145087554f265dc47aecd93fd8fe3bbac49d768cf69c6a816bf51ce");
}

#[test]
fn sha2_256_repositories_name_objects_with_sha2() {
    let repo = Repo::with_init_args(&["--hash", "sha2-256"]);
    let commit = repo.commit_files(&[("f", "x\n")], "one");
    assert!(commit.starts_with("1220"), "{commit}");
    assert_eq!(repo.ok(&["config", "core.hash"]), "sha2-256\n");
    assert!(repo.ok(&["fsck"]).ends_with("ok\n"));
}

#[test]
fn undo_walks_back_through_operations_and_moves_the_working_copy() {
    let repo = Repo::new();
    let one = repo.commit_files(&[("f", "1\n")], "one");
    let two = repo.commit_files(&[("f", "2\n"), ("g", "g\n")], "two");
    repo.ok(&["branch", "topic"]);
    snapshot!(repo, "undo_branch", repo.ok(&["undo"]));
    assert!(!repo.ok(&["branch"]).contains("topic"));
    repo.ok(&["undo"]);
    assert_eq!(repo.ok(&["rev-parse", "HEAD"]).trim(), one);
    assert_eq!(repo.read("f"), "1\n");
    assert!(!repo.exists("g"));
    assert_eq!(repo.ok(&["status", "--short"]), "");
    // Undo never loses the undone commit: it is still there by id.
    assert_eq!(repo.ok(&["cat-object", "-t", &two]), "commit\n");
    repo.ok(&["undo"]);
    let err = repo.fails(&["undo"]);
    assert!(err.contains("nothing to undo"), "{err}");
    assert!(repo.ok(&["fsck"]).ends_with("ok\n"));
}

#[test]
fn config_sets_identity_for_commits() {
    let repo = Repo::new();
    repo.ok(&["config", "user.name", "Conf Igured"]);
    repo.ok(&["config", "user.email", "conf@example.com"]);
    assert_eq!(repo.ok(&["config", "user.name"]), "Conf Igured\n");
    repo.write("f", "x\n");
    repo.ok(&["add", "f"]);
    let out = repo
        .command(&["commit", "-m", "configured"])
        .env_remove("PG_AUTHOR_NAME")
        .env_remove("PG_AUTHOR_EMAIL")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(repo.ok(&["log", "-n", "1"]).contains("Author: Conf Igured <conf@example.com>"));
    assert_eq!(repo.run(&["config", "user.unset"]).status.code(), Some(1));
}

#[test]
fn plumbing_output() {
    let repo = Repo::new();
    repo.write("dir/file", "x\n");
    repo.write("top", "y\n");
    repo.ok(&["add", "-A"]);
    repo.ok(&["commit", "-m", "one"]);
    snapshot!(repo, "cat_object_tree", repo.ok(&["cat-object", "HEAD^{tree}"]));
    snapshot!(repo, "cat_object_commit", repo.ok(&["cat-object", "HEAD"]));
    snapshot!(repo, "rev_parse", repo.ok(&["rev-parse", "HEAD", "HEAD^{tree}"]));
    snapshot!(repo, "fsck", repo.ok(&["fsck"]));
    snapshot!(repo, "rm", repo.ok(&["rm", "-r", "dir"]));
    let switch = repo.run(&["switch", "-c", "next"]);
    snapshot!(repo, "switch_create", String::from_utf8(switch.stderr).unwrap());
}

#[test]
fn every_repository_has_a_stable_id_of_its_own() {
    let (one, two) = (Repo::new(), Repo::new());
    let id = one.ok(&["repo-id"]);
    assert_eq!(one.ok(&["repo-id"]), id, "stable");
    assert_ne!(two.ok(&["repo-id"]), id, "two repositories made alike still differ");
    let record = one.ok(&["cat-object", id.trim()]);
    assert!(record.starts_with("pg repository\ncreated ") && record.contains("\nnonce "), "{record}");
    assert!(one.ok(&["fsck"]).ends_with(": ok\n"));
}

#[test]
fn quiet_commands_report_nothing_but_still_print_what_was_asked() {
    let repo = Repo::new();
    repo.write("f", "1\n");
    repo.ok(&["add", "f"]);
    assert_eq!(repo.ok(&["commit", "-q", "-m", "one"]), "");
    let switched = repo.command(&["-q", "switch", "-c", "topic"]).output().unwrap();
    assert!(
        switched.status.success() && switched.stdout.is_empty() && switched.stderr.is_empty(),
        "{switched:?}"
    );
    repo.commit_files(&[("f", "2\n")], "two");
    repo.ok(&["switch", "main"]);
    assert_eq!(repo.ok(&["merge", "--quiet", "topic"]), "", "a fast-forward, quietly");
    assert_eq!(repo.read("f"), "2\n");
    assert_eq!(repo.ok(&["reset", "-q", "--hard", "HEAD~1"]), "");
    assert_eq!(repo.ok(&["log", "-q", "--oneline"]).lines().count(), 1, "a log is output asked for");
    let err = repo.fails(&["-q", "switch", "no-such-branch"]);
    assert!(err.contains("no-such-branch"), "errors still print: {err}");
}

#[test]
fn paths_are_typed_and_shown_relative_to_where_one_stands() {
    let repo = Repo::new();
    repo.commit_files(&[("README.md", "r\n"), ("src/lib.rs", "l\n"), ("src/deep/x.rs", "x\n")], "base");
    repo.write("README.md", "r2\n");
    repo.write("src/lib.rs", "l2\n");
    repo.write("src/new.rs", "n\n");
    repo.write("docs/guide.md", "g\n");
    let in_src = |args: &[&str]| {
        let out = repo.command(args).current_dir(repo.file("src")).output().unwrap();
        common::succeeded(out, args)
    };
    in_src(&["add", "lib.rs", "../README.md"]);
    snapshot!(repo, "status_in_subdirectory", in_src(&["status"]));
    assert_eq!(in_src(&["status", "--short"]), "M  ../README.md\nM  lib.rs\n?? ../docs/\n?? new.rs\n");
    let json = in_src(&["status", "--json"]);
    assert!(json.contains("\"src/lib.rs\""), "JSON keeps paths from the top: {json}");
    let deep = repo.command(&["status", "--short"]).current_dir(repo.file("src/deep")).output().unwrap();
    assert_eq!(
        common::succeeded(deep, &["status"]),
        "M  ../../README.md\nM  ../lib.rs\n?? ../../docs/\n?? ../new.rs\n"
    );
}

#[test]
fn completions_and_manual_pages_come_from_the_commands() {
    let repo = Repo::empty_dir();
    let script = repo.path().join("pg.bash");
    std::fs::write(&script, repo.ok(&["completions", "bash"])).unwrap();
    // The script really completes: `pg res<TAB>` offers the commands that start so.
    let complete = format!(
        "source {}; COMP_WORDS=(pg res); COMP_CWORD=1; _pg pg res pg; printf '%s\\n' \"${{COMPREPLY[@]}}\" | sort",
        script.display()
    );
    let out = std::process::Command::new("bash").args(["-c", &complete]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "reset\nresolve\nrestore\n", "{out:?}");
    for shell in ["zsh", "fish"] {
        assert!(repo.ok(&["completions", shell]).contains("restore"), "{shell}");
    }
    let page = repo.ok(&["man", "commit"]);
    assert!(page.contains(".TH pg-commit 1") && page.contains("amend"), "{page}");
    repo.ok(&["man", "--out", "pages"]);
    for name in ["pg.1", "pg-commit.1", "pg-restore.1", "pg-man.1"] {
        assert!(repo.exists(&format!("pages/{name}")), "{name}");
    }
    let err = repo.fails(&["man", "no-such-command"]);
    assert!(err.contains("no command 'no-such-command'"), "{err}");
    snapshot!(repo, "help_restore", repo.ok(&["help", "restore"]));
}

#[test]
fn status_shows_staged_renames_as_git_does() {
    let repo = Repo::new();
    let git_dir = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(["-c", "user.name=A", "-c", "user.email=a@x"])
            .args(args)
            .current_dir(git_dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let body: String = (1..=20).map(|i| format!("line {i}\n")).collect();
    let both = |path: &str, content: &str| {
        repo.write(path, content);
        std::fs::create_dir_all(git_dir.path().join(path).parent().unwrap()).unwrap();
        std::fs::write(git_dir.path().join(path), content).unwrap();
    };
    git(&["init", "-q", "-b", "main"]);
    both("old.txt", &body);
    both("gone.txt", "short\n");
    both("src/kept.rs", "fn main() {}\n");
    repo.ok(&["add", "-A"]);
    repo.ok(&["commit", "-m", "base"]);
    git(&["add", "-A"]);
    git(&["commit", "-qm", "base"]);
    for dir in [repo.path(), git_dir.path()] {
        std::fs::rename(dir.join("old.txt"), dir.join("src/new.txt")).unwrap();
        std::fs::remove_file(dir.join("gone.txt")).unwrap();
        std::fs::write(dir.join("fresh.txt"), "something else entirely\n").unwrap();
    }
    repo.ok(&["add", "-A"]);
    git(&["add", "-A"]);
    both("src/new.txt", &format!("{body}one more\n"));
    assert_eq!(repo.ok(&["status", "--short"]), git(&["status", "--short"]));
    snapshot!(repo, "status_renamed", repo.ok(&["status"]));
    let json: serde_json::Value = serde_json::from_str(&repo.ok(&["status", "--json"])).unwrap();
    assert_eq!(json["renames"], serde_json::json!([{ "from": "old.txt", "to": "src/new.txt" }]));
}

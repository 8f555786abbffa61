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
    let git = |dir: &std::path::Path, args: &[&str]| {
        let out = Command::new("git")
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", dir)
            .env("GIT_AUTHOR_NAME", "A")
            .env("GIT_AUTHOR_EMAIL", "a@example.com")
            .env("GIT_COMMITTER_NAME", "A")
            .env("GIT_COMMITTER_EMAIL", "a@example.com")
            .args(args)
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
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
        let (merged, _) = git(d, &["merge", "-q", "side"]);
        assert!(!merged, "the merge conflicts");
        results.push(
            std::fs::read_to_string(d.join("f.rs"))
                .unwrap()
                .replace("<<<<<<< HEAD", "<<<<<<< ours")
                .replace(">>>>>>> side", ">>>>>>> theirs"),
        );
    }
    assert_eq!(results[0], results[1]);
}

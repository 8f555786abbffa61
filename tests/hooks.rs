//! pre-commit and commit-msg hooks run as git runs them.

mod common;
use common::Repo;
use std::os::unix::fs::PermissionsExt;

fn hook(repo: &Repo, name: &str, script: &str) {
    let path = repo.file(&format!(".pg/hooks/{name}"));
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_failing_pre_commit_hook_aborts_with_its_output_shown() {
    let repo = Repo::new();
    hook(&repo, "pre-commit", "#!/bin/sh\necho 'lint: trailing whitespace in f'\nexit 1\n");
    repo.write("f", "x \n");
    repo.ok(&["add", "f"]);
    let err = repo.fails(&["commit", "-m", "x"]);
    assert!(err.contains("lint: trailing whitespace in f"), "{err}");
    assert!(err.contains("pre-commit hook failed (exit code 1)"), "{err}");
    assert!(repo.fails(&["rev-parse", "HEAD"]).contains("no commit yet"));
    // --no-verify skips it, as in git.
    repo.ok(&["commit", "--no-verify", "-m", "x"]);
}

#[test]
fn commit_msg_hook_can_rewrite_or_reject_the_message() {
    let repo = Repo::new();
    hook(&repo, "commit-msg", "#!/bin/sh\nprintf '%s\\nSigned-off-by: Hook\\n' \"$(cat \"$1\")\" > \"$1\"\n");
    repo.commit_files(&[("f", "1\n")], "subject");
    let log = repo.ok(&["log", "-n", "1"]);
    assert!(log.contains("    subject\n    Signed-off-by: Hook"), "{log}");
    hook(
        &repo,
        "commit-msg",
        "#!/bin/sh\ngrep -q JIRA- \"$1\" || { echo 'message needs a JIRA- ticket' >&2; exit 7; }\n",
    );
    repo.write("f", "2\n");
    repo.ok(&["add", "f"]);
    let err = repo.fails(&["commit", "-m", "no ticket"]);
    assert!(err.contains("needs a JIRA- ticket") && err.contains("exit code 7"), "{err}");
    repo.ok(&["commit", "-m", "JIRA-1 fixed"]);
}

#[test]
fn hooks_run_in_the_top_of_the_working_copy_with_pg_dir_set() {
    let repo = Repo::new();
    hook(&repo, "pre-commit", "#!/bin/sh\npwd > where\necho \"$PG_DIR\" >> where\n");
    repo.write("sub/f", "x\n");
    repo.ok(&["add", "-A"]);
    let out = repo.command(&["commit", "-m", "x"]).current_dir(repo.file("sub")).output().unwrap();
    assert!(out.status.success());
    let top = repo.path().canonicalize().unwrap();
    assert_eq!(repo.read("where"), format!("{}\n{}\n", top.display(), top.join(".pg").display()));
}

//! Every command of a real `git fast-export` stream parses, and the counts agree
//! with git's own view of the repository.

use pg_import::fast_import::{Command, Parser};
use std::path::Path;
use std::process::Command as Process;

fn git(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Process::new("git").args(args).current_dir(dir).output().expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

#[test]
fn the_fixture_repository_stream_parses_completely() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("fixture");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/make-git-fixture.sh");
    let status =
        Process::new("bash").arg(script).arg(&repo).stdout(std::process::Stdio::null()).status().unwrap();
    assert!(status.success());
    let stream = git(
        &repo,
        &[
            "fast-export",
            "--all",
            "--show-original-ids",
            "--signed-tags=verbatim",
            "--reencode=no",
            "--tag-of-filtered-object=drop",
        ],
    );
    let mut parser = Parser::new(stream.as_slice());
    let (mut commits, mut blobs, mut tags) = (0, 0, 0);
    while let Some(command) = parser.next_command().unwrap() {
        match command {
            Command::Commit(commit) => {
                assert!(commit.original_oid.is_some());
                commits += 1;
            }
            Command::Blob { .. } => blobs += 1,
            Command::Tag(_) => tags += 1,
            _ => {}
        }
    }
    assert_eq!(parser.offset(), stream.len() as u64, "the whole stream was consumed");
    let all_commits = String::from_utf8(git(&repo, &["rev-list", "--all"])).unwrap().lines().count();
    assert_eq!(commits, all_commits);
    let objects = git(&repo, &["rev-list", "--all", "--objects", "--no-object-names"]);
    let kinds = Process::new("git")
        .args(["cat-file", "--batch-check=%(objecttype)"])
        .current_dir(&repo)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(&objects)?;
            child.wait_with_output()
        })
        .unwrap();
    let all_blobs = String::from_utf8(kinds.stdout).unwrap().lines().filter(|k| *k == "blob").count();
    assert_eq!(blobs, all_blobs);
    assert_eq!(tags, 2, "annotated tags; git drops the tag of a tag from streams");
}

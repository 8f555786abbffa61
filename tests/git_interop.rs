//! git interop through fast-export streams, with git itself as the oracle.

mod common;
use common::{git, Repo};
use std::path::Path;
use std::process::{Command, Stdio};

/// The fixture repository of testdata/, made in `dir`.
fn fixture_repo(dir: &Path) -> std::path::PathBuf {
    let repo = dir.join("fixture");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/make-git-fixture.sh");
    assert!(Command::new("bash").arg(script).arg(&repo).stdout(Stdio::null()).status().unwrap().success());
    repo
}

/// `git fast-export --all` of `repo` (with `extra` flags) written to `path`.
fn export_stream(repo: &Path, extra: &str, path: std::path::PathBuf) -> std::path::PathBuf {
    let stream = Command::new("git")
        .args(["fast-export", "--all", extra, "--signed-tags=verbatim", "--reencode=no"])
        .arg("--tag-of-filtered-object=drop")
        .current_dir(repo)
        .output()
        .unwrap();
    assert!(stream.status.success());
    std::fs::write(&path, stream.stdout).unwrap();
    path
}

/// The fixture repository of testdata/ and its fast-export stream.
fn fixture_stream(dir: &Path) -> std::path::PathBuf {
    let repo = fixture_repo(dir);
    export_stream(&repo, "--show-original-ids", dir.join("fixture.stream"))
}

/// What `git fast-import` makes of the stream: `git show-ref` of a fresh repository.
fn git_fast_import_refs(dir: &Path, stream: &Path) -> String {
    let target = dir.join(format!("git-import-{}", stream.file_name().unwrap().to_string_lossy()));
    git(dir, &["init", "-q", "--bare", target.to_str().unwrap()]);
    git_fast_import(&target, stream);
    git(&target, &["show-ref"])
}

/// Feeds `stream` to `git fast-import` in the repository `target`.
fn git_fast_import(target: &Path, stream: &Path) {
    let status = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(target)
        .stdin(std::fs::File::open(stream).unwrap())
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_stream_imports_to_the_same_git_ids_as_git_fast_import() {
    let work = tempfile::tempdir().unwrap();
    let stream = fixture_stream(work.path());
    let expected = git_fast_import_refs(work.path(), &stream);
    let repo = Repo::new();
    let out = repo.run(&["import", "git-fast-export", stream.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("imported 18 commits"));
    assert_eq!(repo.ok(&["show-ref", "--git-ids"]), expected);
    assert!(repo.ok(&["fsck"]).ends_with(": ok\n"));
    // The first import into an empty repository checks out HEAD's branch.
    assert_eq!(repo.ok(&["status", "--short"]), "");
    assert_eq!(repo.read("greeting.txt"), "hello\n");
    // Git ids lead back to the imported objects.
    let main_git = expected.lines().find(|l| l.ends_with(" refs/heads/main")).unwrap()[..40].to_owned();
    assert_eq!(repo.ok(&["rev-parse", "--git", &main_git]), repo.ok(&["rev-parse", "main"]));
    let log = repo.ok(&["log", "--git-ids", "-n", "1"]);
    assert!(log.lines().nth(1) == Some(&format!("git {main_git}")), "{log}");
    let oneline = repo.ok(&["log", "--oneline", "--git-ids", "-n", "1"]);
    assert_eq!(oneline.split(' ').nth(1), Some(&main_git[..12]));
    // Importing the same stream again changes nothing.
    let ops = repo.ok(&["op", "log"]);
    repo.ok(&["import", "git-fast-export", stream.to_str().unwrap()]);
    assert_eq!(repo.ok(&["op", "log"]), ops);
    assert_eq!(repo.ok(&["show-ref", "--git-ids"]), expected);
}

#[test]
fn pg_is_transparent_on_the_stream_path() {
    // For a stream S: `pg import S; pg export --all | git fast-import` gives the ids
    // of `git fast-import < S`.
    let work = tempfile::tempdir().unwrap();
    let stream = fixture_stream(work.path());
    let expected = git_fast_import_refs(work.path(), &stream);
    let repo = Repo::new();
    repo.ok(&["import", "git-fast-export", stream.to_str().unwrap()]);
    let exported = repo.run(&["export", "git-fast-export", "--all"]);
    assert!(exported.status.success(), "{}", String::from_utf8_lossy(&exported.stderr));
    let again = work.path().join("again.stream");
    std::fs::write(&again, &exported.stdout).unwrap();
    assert_eq!(git_fast_import_refs(work.path(), &again), expected);
    // Exporting one branch writes only its history.
    let one = repo.run(&["export", "git-fast-export", "other"]);
    let text = String::from_utf8_lossy(&one.stdout);
    assert_eq!(text.matches("\ncommit ").count() + usize::from(text.starts_with("commit ")), 1, "{text}");
    assert!(repo.fails(&["export", "git-fast-export", "nope"]).contains("no branch or tag named 'nope'"));
}

#[test]
fn a_truncated_stream_moves_no_ref_and_leaves_a_sound_repository() {
    let work = tempfile::tempdir().unwrap();
    let stream = std::fs::read(fixture_stream(work.path())).unwrap();
    let cut = work.path().join("cut.stream");
    std::fs::write(&cut, &stream[..stream.len() * 2 / 3]).unwrap();
    let repo = Repo::new();
    let err = repo.fails(&["import", "git-fast-export", cut.to_str().unwrap()]);
    assert!(err.contains("line ") && err.contains("byte "), "{err}");
    assert_eq!(repo.ok(&["show-ref"]), "");
    assert!(repo.ok(&["fsck"]).ends_with(": ok\n"));
    let bad = work.path().join("bad.stream");
    std::fs::write(
        &bad,
        b"blob\nmark :1\ndata 2\nhi\ncommit refs/heads/main\ncommitter a <b> 1 +0000\ndata 0\nfrom :7\n",
    )
    .unwrap();
    let err = repo.fails(&["import", "git-fast-export", bad.to_str().unwrap()]);
    assert!(err.contains("mark :7 is not defined"), "{err}");
}

#[test]
fn marks_files_use_gits_format_and_allow_incremental_imports() {
    let work = tempfile::tempdir().unwrap();
    let repo = Repo::new();
    let marks = work.path().join("marks");
    let first = b"blob\nmark :1\ndata 3\none\ncommit refs/heads/main\nmark :2\ncommitter a <b> 1 +0000\ndata 2\nc1\nM 100644 :1 f\nM 100644 :1 kept/deep/x\n\n";
    std::fs::write(work.path().join("1.stream"), first).unwrap();
    repo.ok(&[
        "import",
        "git-fast-export",
        "--export-marks",
        marks.to_str().unwrap(),
        work.path().join("1.stream").to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&marks).unwrap();
    let blob = Command::new("git")
        .args(["hash-object", "--stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut blob.stdin.as_ref().unwrap(), b"one").unwrap();
    let blob = String::from_utf8(blob.wait_with_output().unwrap().stdout).unwrap();
    assert!(text.starts_with(&format!(":1 {blob}:2 ")), "{text}");
    // A later stream refers to the earlier marks.
    let second =
        b"commit refs/heads/main\nmark :3\ncommitter a <b> 2 +0000\ndata 2\nc2\nfrom :2\nM 100644 :1 g\n\n";
    std::fs::write(work.path().join("2.stream"), second).unwrap();
    repo.ok(&[
        "import",
        "git-fast-export",
        "--import-marks",
        marks.to_str().unwrap(),
        work.path().join("2.stream").to_str().unwrap(),
    ]);
    assert_eq!(repo.ok(&["log", "--oneline"]).lines().count(), 2);
    let tree = repo.ok(&["cat-object", "main^{tree}"]);
    assert!(tree.contains("\tf\n") && tree.contains("\tg\n"), "{tree}");
    // git, importing the same two streams incrementally, agrees on every id (the
    // unchanged `kept/` tree from the first import counts in the second's root).
    let target = work.path().join("git-incremental");
    git(work.path(), &["init", "-q", "--bare", target.to_str().unwrap()]);
    let git_marks = work.path().join("git-marks");
    for (n, marks_flag) in [(1, "--export-marks"), (2, "--import-marks")] {
        let status = Command::new("git")
            .args(["fast-import", "--quiet", &format!("{marks_flag}={}", git_marks.display())])
            .current_dir(&target)
            .stdin(std::fs::File::open(work.path().join(format!("{n}.stream"))).unwrap())
            .status()
            .unwrap();
        assert!(status.success());
    }
    assert_eq!(repo.ok(&["show-ref", "--git-ids"]), git(&target, &["show-ref"]));
}

/// The fixture plus what streams cannot carry: a commit with a signature, a
/// change-id and an unknown header (written with `git hash-object --literally`).
fn fixture_repo_with_extra_headers(dir: &Path) -> std::path::PathBuf {
    let repo = fixture_repo(dir);
    let tree = git(&repo, &["rev-parse", "HEAD^{tree}"]);
    let parent = git(&repo, &["rev-parse", "HEAD"]);
    let commit = format!(
        "tree {}\nparent {}\nauthor A <a@x> 1700000000 +0000\ncommitter A <a@x> 1700000000 +0000\n\
         change-id abcdef\nx-tool-header some value\ngpgsig -----BEGIN PGP SIGNATURE-----\n \n iQEzBAAB\n \
         -----END PGP SIGNATURE-----\n\nsigned, with headers a stream drops\n",
        tree.trim(),
        parent.trim()
    );
    let file = dir.join("commit.txt");
    std::fs::write(&file, commit).unwrap();
    let id = git(&repo, &["hash-object", "--literally", "-t", "commit", "-w", file.to_str().unwrap()]);
    git(&repo, &["update-ref", "refs/heads/signed", id.trim()]);
    // A signed tag: its signature is part of the message, as git writes it.
    let tag = format!(
        "object {}\ntype commit\ntag signed-tag\ntagger T <t@x> 1700000100 +0000\n\nsigned release\n\
         -----BEGIN PGP SIGNATURE-----\n\niQEzBAAB\n-----END PGP SIGNATURE-----\n",
        parent.trim()
    );
    std::fs::write(&file, tag).unwrap();
    let id = git(&repo, &["hash-object", "--literally", "-t", "tag", "-w", file.to_str().unwrap()]);
    git(&repo, &["update-ref", "refs/tags/signed-tag", id.trim()]);
    repo
}

#[test]
fn git_to_pg_to_git_keeps_every_id() {
    let work = tempfile::tempdir().unwrap();
    let source = fixture_repo_with_extra_headers(work.path());
    let expected = git(&source, &["show-ref"]);
    assert!(expected.contains("refs/tags/v1-signed-off") && expected.contains("refs/heads/signed"));
    let repo = Repo::new();
    let out = repo.run(&["import", "git", source.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(repo.ok(&["show-ref", "--git-ids"]), expected);
    assert!(repo.ok(&["fsck"]).ends_with(": ok\n"));
    assert_eq!(repo.read("greeting.txt"), "hello\n", "the first import checks out HEAD's branch");
    // The headers a stream would drop are all there.
    let signed = repo.ok(&["cat-object", "signed"]);
    assert!(signed.contains("\nchange-id abcdef\nx-tool-header some value\ngpgsig -----BEGIN PGP SIGNATURE-----\n \n iQEzBAAB"), "{signed}");
    let back = work.path().join("back.git");
    let out = repo.run(&["export", "git", back.to_str().unwrap(), "--all"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(git(&back, &["show-ref"]), expected);
    assert_eq!(git(&back, &["symbolic-ref", "HEAD"]), git(&source, &["symbolic-ref", "HEAD"]), "as a clone");
    assert_eq!(
        git(&back, &["count-objects", "-v"]).lines().next(),
        Some("count: 0"),
        "one pack, nothing loose"
    );
    let fsck = Command::new("git").args(["fsck", "--strict"]).current_dir(&back).output().unwrap();
    assert!(fsck.status.success(), "{}", String::from_utf8_lossy(&fsck.stderr));
    // Importing again changes nothing; exporting again writes nothing new.
    let ops = repo.ok(&["op", "log"]);
    repo.ok(&["import", "git", source.to_str().unwrap()]);
    assert_eq!(repo.ok(&["op", "log"]), ops);
    let again = repo.run(&["export", "git", back.to_str().unwrap(), "--all"]);
    assert!(
        String::from_utf8_lossy(&again.stderr).starts_with("exported 0 objects"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    // A stream strips commit signatures by default (older git fast-import refuses
    // them) and says so; verbatim keeps them.
    let stripped = repo.run(&["export", "git-fast-export", "signed"]);
    assert!(
        String::from_utf8_lossy(&stripped.stderr).contains("warning: 1 commits have signatures or headers")
    );
    assert!(!String::from_utf8_lossy(&stripped.stdout).contains("gpgsig"));
    let verbatim = repo.run(&["export", "git-fast-export", "--signed-commits", "verbatim", "signed"]);
    assert!(String::from_utf8_lossy(&verbatim.stdout).contains("gpgsig sha1 openpgp\ndata "));
}

#[test]
fn full_tree_streams_with_deleteall_and_signed_tags_import_like_git() {
    let work = tempfile::tempdir().unwrap();
    let source = fixture_repo_with_extra_headers(work.path());
    let path = export_stream(&source, "--full-tree", work.path().join("full.stream"));
    assert!(String::from_utf8_lossy(&std::fs::read(&path).unwrap()).contains("\ndeleteall\n"));
    let expected = git_fast_import_refs(work.path(), &path);
    assert!(expected.contains("refs/tags/signed-tag"));
    let repo = Repo::new();
    repo.ok(&["import", "git-fast-export", path.to_str().unwrap()]);
    assert_eq!(repo.ok(&["show-ref", "--git-ids"]), expected);
    // The signed tag came through the stream byte for byte: same id as in the source.
    let line = |text: &str| text.lines().find(|l| l.ends_with("refs/tags/signed-tag")).map(str::to_owned);
    assert_eq!(line(&expected), line(&git(&source, &["show-ref"])));
}

#[test]
fn the_stream_and_direct_paths_agree_where_the_stream_carries_everything() {
    let work = tempfile::tempdir().unwrap();
    let stream = fixture_stream(work.path());
    let source = work.path().join("fixture");
    let via_stream = Repo::new();
    via_stream.ok(&["import", "git-fast-export", stream.to_str().unwrap()]);
    let direct = Repo::new();
    direct.ok(&["import", "git", source.to_str().unwrap()]);
    // Same pg ids for every branch: the same pg objects. (The stream leaves out the
    // tag of a tag, and git's D-after-M ordering flaw changes the tree from
    // `main`'s 'file becomes directory' commit on, so compare the untouched refs.)
    for branch in
        ["refs/heads/o1", "refs/heads/o2", "refs/heads/o3", "refs/heads/other", "refs/heads/feature"]
    {
        let line =
            |repo: &Repo| repo.ok(&["show-ref"]).lines().find(|l| l.ends_with(branch)).map(str::to_owned);
        assert_eq!(line(&via_stream), line(&direct), "{branch}");
    }
}

#[test]
fn a_missing_git_repository_is_a_clear_error() {
    let repo = Repo::new();
    let err = repo.fails(&["import", "git", "/nonexistent/repo"]);
    assert!(err.contains("git repository /nonexistent/repo"), "{err}");
    assert_eq!(repo.ok(&["show-ref"]), "");
}

#[test]
fn a_commit_signature_in_a_stream_is_kept_verbatim() {
    // This machine's git cannot write or read such streams, so the oracle is the
    // commit git stores for the same header, written with `git hash-object`.
    let work = tempfile::tempdir().unwrap();
    let signature = "-----BEGIN PGP SIGNATURE-----\n\niQEzBAAB\n-----END PGP SIGNATURE-----\n";
    let stream = format!(
        "blob\nmark :1\ndata 3\nhi\ncommit refs/heads/main\nmark :2\nauthor A <a@x> 1700000000 +0000\n\
         committer A <a@x> 1700000000 +0000\ngpgsig sha1 openpgp\ndata {}\n{signature}data 7\nsigned\n\
         M 100644 :1 f\n\n",
        signature.len()
    );
    let path = work.path().join("signed.stream");
    std::fs::write(&path, stream).unwrap();
    let repo = Repo::new();
    repo.ok(&["import", "git-fast-export", path.to_str().unwrap()]);
    let commit = repo.ok(&["cat-object", "main"]);
    assert!(
        commit.contains(
            "\ngpgsig -----BEGIN PGP SIGNATURE-----\n \n iQEzBAAB\n -----END PGP SIGNATURE-----\n\nsigned"
        ),
        "{commit}"
    );
    // The git id pg gives it is the id git gives those bytes.
    let oracle = work.path().join("oracle");
    git(work.path(), &["init", "-q", "--bare", oracle.to_str().unwrap()]);
    let blob = Command::new("git")
        .args(["hash-object", "-w", "--stdin"])
        .current_dir(&oracle)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut blob.stdin.as_ref().unwrap(), b"hi\n").unwrap();
    let blob = String::from_utf8(blob.wait_with_output().unwrap().stdout).unwrap();
    let mktree = Command::new("git")
        .arg("mktree")
        .current_dir(&oracle)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        &mut mktree.stdin.as_ref().unwrap(),
        format!("100644 blob {}\tf\n", blob.trim()).as_bytes(),
    )
    .unwrap();
    let tree = String::from_utf8(mktree.wait_with_output().unwrap().stdout).unwrap();
    let body = format!(
        "tree {}\nauthor A <a@x> 1700000000 +0000\ncommitter A <a@x> 1700000000 +0000\n\
         gpgsig -----BEGIN PGP SIGNATURE-----\n \n iQEzBAAB\n -----END PGP SIGNATURE-----\n\nsigned\n",
        tree.trim()
    );
    let file = work.path().join("commit.txt");
    std::fs::write(&file, body).unwrap();
    let expected = git(&oracle, &["hash-object", "--literally", "-t", "commit", file.to_str().unwrap()]);
    let line = repo.ok(&["show-ref", "--git-ids"]);
    assert_eq!(line, format!("{} refs/heads/main\n", expected.trim()));
}

/// A git repository with branches `master` (HEAD) and `feature`, made in `dir`.
fn master_and_feature(dir: &Path) -> std::path::PathBuf {
    let source = dir.join("source");
    std::fs::create_dir(&source).unwrap();
    let ident = ["-c", "user.name=T", "-c", "user.email=t@example.com"];
    git(&source, &["init", "-q", "-b", "master"]);
    std::fs::write(source.join("a.txt"), "on master\n").unwrap();
    git(&source, &["add", "a.txt"]);
    git(&source, &[&ident[..], &["commit", "-qm", "master"]].concat());
    git(&source, &["checkout", "-q", "-b", "feature"]);
    std::fs::write(source.join("a.txt"), "on feature\n").unwrap();
    git(&source, &[&ident[..], &["commit", "-qam", "feature"]].concat());
    git(&source, &["checkout", "-q", "master"]);
    source
}

#[test]
fn a_first_import_follows_the_source_head_as_a_clone_does() {
    let work = tempfile::tempdir().unwrap();
    let source = master_and_feature(work.path());
    let repo = Repo::new();
    repo.ok(&["import", "git", source.to_str().unwrap()]);
    assert_eq!(
        repo.ok(&["branch"]),
        "  feature\n* master\n",
        "HEAD follows the source's HEAD, not an unborn main"
    );
    assert_eq!(repo.read("a.txt"), "on master\n");
    assert!(repo.ok(&["status", "--short"]).is_empty());
    // With --no-checkout HEAD still follows; the working copy is left alone.
    let bare = Repo::new();
    bare.ok(&["import", "git", "--no-checkout", source.to_str().unwrap()]);
    assert!(bare.ok(&["log", "--oneline"]).ends_with(" master\n"));
    assert!(!bare.exists("a.txt"));
    // A stream does not say which branch HEAD names: main, else master, else the only one.
    let stream = work.path().join("stream");
    std::fs::write(&stream, git(&source, &["fast-export", "--all"])).unwrap();
    let streamed = Repo::new();
    streamed.ok(&["import", "git-fast-export", stream.to_str().unwrap()]);
    assert_eq!(streamed.ok(&["branch"]), "  feature\n* master\n");
    assert_eq!(streamed.read("a.txt"), "on master\n");
    std::fs::write(&stream, git(&source, &["fast-export", "feature"])).unwrap();
    let only = Repo::new();
    only.ok(&["import", "git-fast-export", stream.to_str().unwrap()]);
    assert_eq!(only.ok(&["branch"]), "* feature\n");
    assert_eq!(only.read("a.txt"), "on feature\n");
}

/// `git fast-export` of `repo` with `args`, written to `dir/name`.
fn fast_export(repo: &Path, args: &[&str], dir: &Path, name: &str) -> std::path::PathBuf {
    let out = Command::new("git").arg("fast-export").args(args).current_dir(repo).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    let path = dir.join(name);
    std::fs::write(&path, out.stdout).unwrap();
    path
}

/// Every form git's own fast-export writes imports to the ids git fast-import
/// gives: nested and signed tags with --mark-tags (a tag of a tag comes with a
/// reset to the null id), anonymized streams, and an incremental stream whose
/// commits name parents outside it by git id (--reference-excluded-parents).
#[test]
fn every_form_git_fast_export_writes_imports_as_git_fast_import_does() {
    let work = tempfile::tempdir().unwrap();
    let source = fixture_repo_with_extra_headers(work.path());
    let common = ["--all", "--signed-tags=verbatim", "--reencode=no", "--tag-of-filtered-object=drop"];
    for (name, extra) in [
        ("mark-tags", &["--mark-tags"][..]),
        ("mark-tags-original-ids", &["--mark-tags", "--show-original-ids"][..]),
        ("anonymize", &["--anonymize"][..]),
    ] {
        let stream = fast_export(&source, &[&common[..], extra].concat(), work.path(), name);
        if name.starts_with("mark-tags") {
            let text = String::from_utf8_lossy(&std::fs::read(&stream).unwrap()).into_owned();
            assert!(text.contains("\nfrom 0000000000000000000000000000000000000000\n"), "{name}: no null id");
        }
        let repo = Repo::new();
        let out = repo.run(&["import", "git-fast-export", stream.to_str().unwrap()]);
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(repo.ok(&["show-ref", "--git-ids"]), git_fast_import_refs(work.path(), &stream), "{name}");
        assert!(repo.ok(&["fsck"]).ends_with(": ok\n"), "{name}");
    }
    // `from` the null id: a commit without a parent, even on a branch with a tip.
    let null = work.path().join("null");
    std::fs::write(&null, b"commit refs/heads/main\nmark :1\ncommitter a <b> 1 +0000\ndata 2\nc1\n\n\
        commit refs/heads/main\ncommitter a <b> 2 +0000\ndata 2\nc2\nfrom 0000000000000000000000000000000000000000\n\n")
        .unwrap();
    let repo = Repo::new();
    repo.ok(&["import", "git-fast-export", null.to_str().unwrap()]);
    assert_eq!(repo.ok(&["show-ref", "--git-ids"]), git_fast_import_refs(work.path(), &null));
    assert_eq!(repo.ok(&["log", "--oneline"]).lines().count(), 1, "the second commit is a root");
    // Incremental: the first part, then the rest naming its excluded parents by id.
    git(&source, &["branch", "early", "main~3"]);
    let first = fast_export(&source, &["early", "--reencode=no"], work.path(), "first");
    let rest = fast_export(
        &source,
        &["--reference-excluded-parents", "early..main", "--reencode=no"],
        work.path(),
        "rest",
    );
    assert!(String::from_utf8_lossy(&std::fs::read(&rest).unwrap()).contains("\nfrom "));
    let target = work.path().join("incremental.git");
    git(work.path(), &["init", "-q", "--bare", target.to_str().unwrap()]);
    let repo = Repo::new();
    for stream in [&first, &rest] {
        git_fast_import(&target, stream);
        repo.ok(&["import", "git-fast-export", stream.to_str().unwrap()]);
    }
    assert_eq!(repo.ok(&["show-ref", "--git-ids"]), git(&target, &["show-ref"]));
}

//! Crashes and corruption: a commit killed with SIGKILL leaves a consistent
//! repository; corrupted bytes on disk are found by fsck and refused by readers.

mod common;
use common::Repo;
use std::time::Duration;

fn rev(repo: &Repo, rev: &str) -> Option<String> {
    let out = repo.run(&["rev-parse", rev]);
    out.status.success().then(|| String::from_utf8(out.stdout).unwrap().trim().to_owned())
}

fn assert_fsck_ok(repo: &Repo) {
    let out = repo.run(&["fsck"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.ends_with(": ok\n"),
        "fsck: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_commit_killed_at_any_moment_leaves_the_old_or_the_new_commit() {
    let repo = Repo::new();
    let write_all = |round: usize| {
        for i in 0..3000 {
            repo.write(
                &format!("d{}/s{}/f{i}.txt", i % 10, i % 7,),
                &format!("round {round} file {i}\n{}\n", "x".repeat(i % 500)),
            );
        }
    };
    write_all(0);
    repo.ok(&["add", "-A"]);
    repo.ok(&["commit", "-m", "round 0"]);
    let (mut killed, mut finished) = (0, 0);
    for (round, delay_ms) in [0u64, 3, 8, 15, 25, 40, 60, 90, 130, 180, 250, 350, 500].into_iter().enumerate()
    {
        let round = round + 1;
        let old = rev(&repo, "main").unwrap();
        write_all(round);
        let mut child = repo
            .command(&["commit", "-a", "-m", &format!("round {round}")])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        match child.try_wait().unwrap() {
            Some(_) => finished += 1,
            None => {
                child.kill().unwrap();
                killed += 1;
            }
        }
        child.wait().unwrap();
        assert_fsck_ok(&repo);
        let now = rev(&repo, "main").unwrap();
        if now != old {
            assert_eq!(
                rev(&repo, "main~1").as_deref(),
                Some(old.as_str()),
                "round {round}: main moved elsewhere"
            );
            let message = repo.ok(&["log", "-n", "1", "--oneline"]);
            assert!(message.ends_with(&format!("round {round}\n")), "{message}");
        }
        // Whatever happened, the repository keeps working.
        repo.ok(&["commit", "-a", "--allow-empty", "-m", &format!("after round {round}")]);
    }
    assert!(killed > 0, "no commit was interrupted: the test did not test anything");
    eprintln!("killed {killed} commits, {finished} finished before the kill");
}

/// Opens the repository's RocksDB directly, as a disk fault or another program might.
fn raw_db(repo: &Repo) -> rocksdb::DB {
    let path = repo.file(".pg/db");
    let mut options = rocksdb::Options::default();
    options.create_if_missing(false);
    let families = rocksdb::DB::list_cf(&options, &path).unwrap();
    rocksdb::DB::open_cf(&options, path, families).unwrap()
}

#[test]
fn a_corrupted_object_is_named_by_fsck_and_refused_by_readers() {
    let repo = Repo::new();
    repo.commit_files(&[("a.txt", "precious\n"), ("b.txt", "other\n")], "one");
    let tree = repo.ok(&["cat-object", "HEAD^{tree}"]);
    let blob =
        tree.lines().find(|l| l.ends_with("\ta.txt")).unwrap().split_whitespace().nth(2).unwrap().to_owned();
    {
        let db = raw_db(&repo);
        let key = pg_core::id::hex_decode(&blob).unwrap();
        db.put_cf(db.cf_handle("objects").unwrap(), key, b"blob 8\0precioux\n").unwrap();
    }
    let out = repo.run(&["fsck"]);
    assert_eq!(out.status.code(), Some(1));
    let report = String::from_utf8(out.stdout).unwrap();
    assert!(report.contains(&format!("error: {blob}: content does not hash to its id")), "{report}");
    let json = repo.run(&["fsck", "--json"]);
    assert!(String::from_utf8_lossy(&json.stdout).contains(&blob));
    let err = repo.fails(&["cat-object", &blob]);
    assert!(err.contains(&format!("object {blob} is corrupt")) && err.contains("pg fsck"), "{err}");
    let err = repo.fails(&["show", "HEAD"]);
    assert!(err.contains("is corrupt"), "{err}");
    // The healthy parts of the repository still read.
    assert!(repo.ok(&["log", "--oneline"]).contains("one"));
}

#[test]
fn a_damaged_table_file_is_reported_not_crashed_on() {
    let repo = Repo::new();
    // Incompressible-ish contents so the table file is large enough to hit data.
    let files: Vec<(String, String)> = (0..300)
        .map(|i| {
            (format!("f{i}"), (0..200).map(|j| format!("{:x}", (i * 7919 + j * 104729) % 65521)).collect())
        })
        .collect();
    let refs: Vec<(&str, &str)> = files.iter().map(|(p, c)| (p.as_str(), c.as_str())).collect();
    repo.commit_files(&refs, "bulk");
    let largest = std::fs::read_dir(repo.file(".pg/db"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sst"))
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap();
    let mut bytes = std::fs::read(&largest).unwrap();
    assert!(bytes.len() > 20_000, "table file too small to damage its data: {}", bytes.len());
    for i in (bytes.len() / 4..bytes.len() / 2).step_by(997) {
        bytes[i] ^= 0x55;
    }
    std::fs::write(&largest, bytes).unwrap();
    let out = repo.run(&["fsck"]);
    assert_eq!(out.status.code(), Some(1), "fsck must fail, not crash");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(text.to_lowercase().contains("corrupt"), "{text}");
}

#[test]
fn content_changed_and_changed_back_still_reads() {
    // Each version is stored as a delta of the one staged before it; an object
    // that exists already is never rewritten, so reverting cannot make a cycle.
    let repo = Repo::new();
    let a: String = (1..400).map(|i| format!("line {i}\n")).collect();
    let b = format!("{a}one more line\n");
    repo.commit_files(&[("f", &a)], "a");
    for round in 0..3 {
        repo.write("f", &b);
        repo.ok(&["add", "f"]);
        repo.write("f", &a);
        repo.ok(&["add", "f"]);
        repo.write("f", &b);
        repo.ok(&["commit", "-a", "-m", &format!("b {round}")]);
        repo.write("f", &a);
        repo.ok(&["commit", "-a", "-m", &format!("a {round}")]);
    }
    for rev in ["HEAD", "HEAD~1", "HEAD~6"] {
        let tree = repo.ok(&["cat-object", &format!("{rev}^{{tree}}")]);
        let blob = tree.split_whitespace().nth(2).unwrap().to_owned();
        let content = repo.ok(&["cat-object", &blob]);
        assert!(content == a || content == b, "{rev}");
    }
    assert!(repo.ok(&["fsck"]).ends_with(": ok\n"));
}

/// How many objects `pg gc --json` (with `flags`) removed or would remove.
fn gc(repo: &Repo, flags: &[&str]) -> u64 {
    let out = repo.ok(&[&["gc", "--json"][..], flags].concat());
    let outcome: serde_json::Value = serde_json::from_str(&out).unwrap();
    outcome["removed"].as_u64().unwrap()
}

#[test]
fn gc_deletes_what_a_failed_import_left_and_keeps_what_anything_reaches() {
    let repo = Repo::new();
    repo.commit_files(&[("a.txt", "one\n")], "first");
    repo.commit_files(&[("a.txt", "two\n")], "second");
    // Kept by the operation log only: a deleted branch, which undo brings back.
    repo.ok(&["branch", "gone"]);
    repo.commit_files(&[("a.txt", "three\n")], "third");
    repo.ok(&["branch", "-D", "gone"]);
    // Kept by the index only: a staged file.
    repo.write("staged.txt", "staged, never committed\n");
    repo.ok(&["add", "staged.txt"]);
    assert_eq!(gc(&repo, &["-n"]), 0, "nothing is unreachable yet");
    // A stream that fails at its end: its commits and blobs are stored, no ref moves.
    let mut stream = String::new();
    for i in 1..=20 {
        stream.push_str(&format!(
            "blob\nmark :{i}\ndata 7\nblob {i:02}\ncommit refs/heads/imported\ncommitter a <b> {i} +0000\ndata 1\nc\nM 100644 :{i} f{i}\n\n"
        ));
    }
    stream.push_str("commit refs/heads/imported\ncommitter a <b> 99 +0000\ndata 1\nc\nfrom :404\n");
    let file = repo.path().join("..").join("bad.stream");
    std::fs::write(&file, stream).unwrap();
    let err = repo.fails(&["import", "git-fast-export", "--no-checkout", file.to_str().unwrap()]);
    assert!(err.contains("`pg gc` deletes them"), "{err}");
    assert!(rev(&repo, "imported").is_none());
    let left = gc(&repo, &["-n"]);
    assert!(left >= 60, "20 blobs, trees and commits were left: {left}");
    assert_eq!(gc(&repo, &["-n"]), left, "a dry run deletes nothing");
    assert_eq!(gc(&repo, &[]), left);
    assert_eq!(gc(&repo, &["-n"]), 0);
    assert_fsck_ok(&repo);
    assert_eq!(repo.ok(&["log", "--oneline"]).lines().count(), 3);
    // fsck would name the staged blob missing from the commit's tree.
    repo.ok(&["commit", "-m", "the staged file survived"]);
    assert_fsck_ok(&repo);
    repo.ok(&["undo"]);
    repo.ok(&["undo"]);
    assert!(rev(&repo, "gone").is_some(), "undo finds the deleted branch's commit");
    assert_eq!(repo.ok(&["log", "--oneline", "gone"]).lines().count(), 2);
    assert_fsck_ok(&repo);
}

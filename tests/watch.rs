//! `pg watch` and status with `core.watch = true`: the real daemon, started
//! by status itself, and the same answers as a full walk after every kind of
//! change.
#![cfg(target_os = "linux")]

mod common;
use common::Repo;
use std::time::{Duration, Instant};

/// Status with the watcher, checked against status without it.
fn same_status(repo: &Repo) -> String {
    let watched = repo.ok(&["status", "--short"]);
    repo.ok(&["config", "core.watch", "false"]);
    let walked = repo.ok(&["status", "--short"]);
    repo.ok(&["config", "core.watch", "true"]);
    assert_eq!(watched, walked, "the watched status differs from a full walk");
    watched
}

fn wait_until_watching(repo: &Repo) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !repo.run(&["watch", "status"]).status.success() {
        assert!(Instant::now() < deadline, "the watcher did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn watched_status_matches_a_full_walk_through_every_kind_of_change() {
    let repo = Repo::new();
    repo.commit_files(&[("a.txt", "a\n"), ("src/lib.rs", "lib\n"), ("src/deep/x.rs", "x\n")], "first");
    repo.ok(&["config", "core.watch", "true"]);
    // The first status starts the watcher and walks in full.
    assert_eq!(same_status(&repo), "");
    wait_until_watching(&repo);
    assert_eq!(same_status(&repo), "");
    assert!(repo.exists(".pg/watch/state"));

    repo.write("a.txt", "changed\n");
    repo.write("notes/todo.md", "todo\n");
    repo.write("src/deep/y.rs", "y\n");
    assert_eq!(same_status(&repo), " M a.txt\n?? notes/\n?? src/deep/y.rs\n");

    std::fs::rename(repo.file("src"), repo.file("lib")).unwrap();
    std::fs::remove_file(repo.file("a.txt")).unwrap();
    assert_eq!(same_status(&repo), " D a.txt\n D src/deep/x.rs\n D src/lib.rs\n?? lib/\n?? notes/\n");

    repo.write(".pgignore", "notes/\n");
    repo.ok(&["add", "lib", ".pgignore"]);
    repo.ok(&["rm", "--cached", "-q", "src/lib.rs"]);
    same_status(&repo);

    // Changes while the watcher is down are found by the one status starts.
    repo.ok(&["watch", "stop"]);
    repo.write("lib/lib.rs", "edited while nobody watched\n");
    let status = same_status(&repo);
    assert!(status.contains("RM src/lib.rs -> lib/lib.rs\n"), "{status}");
    wait_until_watching(&repo);
    same_status(&repo);
    repo.write("lib/deep/x.rs", "x2\n");
    let status = same_status(&repo);
    assert!(status.contains("AM lib/deep/x.rs\n"), "{status}");
    repo.ok(&["watch", "stop"]);
}

#[test]
fn watch_commands_start_report_and_stop() {
    let repo = Repo::new();
    repo.commit_files(&[("a", "a\n")], "first");
    let started = repo.ok(&["watch", "start"]);
    assert!(started.starts_with("Watching "), "{started}");
    assert!(repo.ok(&["watch", "start"]).starts_with("The watcher is already running (pid "));
    let json: serde_json::Value = serde_json::from_str(&repo.ok(&["watch", "status", "--json"])).unwrap();
    assert_eq!(json["watched_directories"], 1);
    assert!(repo.ok(&["watch", "stop"]).starts_with("Stopped the watcher of "));
    let stopped = repo.run(&["watch", "status"]);
    assert!(!stopped.status.success());
    assert!(String::from_utf8_lossy(&stopped.stderr).contains("No watcher is running"));
    repo.ok(&["config", "core.watch", "maybe"]);
    let refused = repo.fails(&["status"]);
    assert!(refused.contains("core.watch is 'maybe': set it to true or false"), "{refused}");
}

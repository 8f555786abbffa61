//! pg between peers, end to end: real `pg serve` processes and real libp2p
//! connections on loopback.

mod common;
use common::Repo;
use std::io::BufRead;
use std::process::{Child, Stdio};

/// A running `pg serve`, stopped when dropped.
struct Server {
    child: Child,
    /// The URL it printed.
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(repo: &Repo) -> Server {
    let mut child = repo
        .command(&["serve", "--listen", "/ip4/127.0.0.1/tcp/0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let (id, url) = line.trim().split_once(' ').unwrap_or_else(|| panic!("pg serve printed '{line}'"));
    assert_eq!(id, repo.ok(&["repo-id"]).trim(), "pg serve names the repository by its id");
    Server { child, url: url.to_owned() }
}

/// A directory to clone into, with its own `$PG_HOME` (its own node key).
fn elsewhere() -> Repo {
    Repo::empty_dir()
}

#[test]
fn a_clone_has_the_same_history_id_and_files() {
    let origin = Repo::new();
    origin.commit_files(&[("README.md", "# hello\n"), ("src/lib.rs", "pub fn f() {}\n")], "first");
    origin.ok(&["switch", "-c", "topic"]);
    origin.commit_files(&[("notes.txt", "n\n")], "on a topic");
    origin.ok(&["switch", "main"]);
    origin.ok(&["tag", "-m", "release", "v1"]);
    let server = serve(&origin);
    let other = elsewhere();
    let out = other.ok(&["clone", &server.url, "copy"]);
    assert!(out.starts_with("Cloned ") && out.contains("objects"), "{out}");
    let run = |args: &[&str]| other.command(args).current_dir(other.file("copy")).output().unwrap();
    let text = |args: &[&str]| String::from_utf8(run(args).stdout).unwrap();
    assert_eq!(text(&["repo-id"]), origin.ok(&["repo-id"]), "clones share the repository id");
    assert_eq!(
        text(&["rev-parse", "main", "origin/main", "origin/topic", "v1"]),
        origin.ok(&["rev-parse", "main", "main", "topic", "v1"])
    );
    assert_eq!(std::fs::read_to_string(other.file("copy/src/lib.rs")).unwrap(), "pub fn f() {}\n");
    assert_eq!(text(&["status", "--short"]), "");
    assert!(text(&["fsck"]).ends_with(": ok\n"));
    assert!(text(&["remote", "list"]).starts_with(&format!("origin\t{}", server.url)));
}

#[test]
fn a_fetch_after_one_commit_moves_only_that_commit() {
    let origin = Repo::new();
    let files: Vec<(String, String)> =
        (0..200).map(|i| (format!("d{}/f{i}.txt", i % 10), format!("file {i}\n"))).collect();
    let refs: Vec<(&str, &str)> = files.iter().map(|(p, c)| (p.as_str(), c.as_str())).collect();
    origin.commit_files(&refs, "many files");
    let server = serve(&origin);
    let other = elsewhere();
    other.ok(&["clone", &server.url, "copy"]);
    // Committing while serving: the server does not hold the repository.
    origin.commit_files(&[("d3/f3.txt", "changed\n")], "one change");
    let fetch = other.command(&["fetch"]).current_dir(other.file("copy")).output().unwrap();
    let out = String::from_utf8(fetch.stdout).unwrap();
    assert!(fetch.status.success(), "{out}{}", String::from_utf8_lossy(&fetch.stderr));
    // The commit, the root tree, d3/, and the file: nothing else.
    assert!(out.contains("received 4 objects"), "{out}");
    let again = other.command(&["fetch"]).current_dir(other.file("copy")).output().unwrap();
    assert!(String::from_utf8(again.stdout).unwrap().contains("received 0 objects"));
    let tracked =
        other.command(&["rev-parse", "origin/main"]).current_dir(other.file("copy")).output().unwrap();
    assert_eq!(String::from_utf8(tracked.stdout).unwrap(), origin.ok(&["rev-parse", "main"]));
}

#[test]
fn clones_of_what_is_not_served_fail_clearly_and_make_nothing() {
    let origin = Repo::new();
    origin.commit_files(&[("a", "a\n")], "first");
    let server = serve(&origin);
    let other = elsewhere();
    let address = server.url.split_once('#').unwrap().0.to_owned();
    let wrong = format!("{address}#{}", origin.ok(&["rev-parse", "main"]).trim());
    let refused = other.fails(&["clone", &wrong, "copy"]);
    assert!(refused.contains("no such repository is served here"), "{refused}");
    assert!(!other.exists("copy"), "nothing made");
    let malformed = other.fails(&["clone", "not-a-url", "copy"]);
    assert!(malformed.contains("<multiaddr>/p2p/<peer id>#<repository id>"), "{malformed}");
    drop(server);
    let gone = other.fails(&["clone", &format!("{address}#{}", origin.ok(&["repo-id"]).trim()), "copy"]);
    assert!(gone.contains("cannot reach peer"), "{gone}");
}

//! pg between peers, end to end: real `pg serve` processes and real libp2p
//! connections on loopback.

mod common;
use common::Repo;
use std::io::BufRead;
use std::process::{Child, Stdio};

/// A running `pg serve`, stopped when dropped.
struct Server {
    child: Child,
    /// The repository id it printed.
    id: String,
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
    let server = serve_with(repo, &[]);
    assert_eq!(server.id, repo.ok(&["repo-id"]).trim(), "pg serve names the repository by its id");
    server
}

/// `pg serve` on TCP in `repo` (or its directory `dir`) with `extra` arguments.
fn serve_in(repo: &Repo, dir: &str, extra: &[&str]) -> Server {
    serve_listening(repo, dir, "/ip4/127.0.0.1/tcp/0", extra)
}

/// `pg serve` in `repo`'s directory `dir`, listening on `listen`.
fn serve_listening(repo: &Repo, dir: &str, listen: &str, extra: &[&str]) -> Server {
    // No mDNS: tests send nothing beyond loopback (see `mdns_in_a_namespace`).
    let mut args = vec!["serve", "--listen", listen, "--no-mdns"];
    args.extend_from_slice(extra);
    let mut child = repo
        .command(&args)
        .current_dir(repo.file(dir))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let (id, url) = line.trim().split_once(' ').unwrap_or_else(|| panic!("pg serve printed '{line}'"));
    Server { id: id.to_owned(), url: url.to_owned(), child }
}

fn serve_with(repo: &Repo, extra: &[&str]) -> Server {
    serve_in(repo, ".", extra)
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
    let json = |args: &[&str]| -> serde_json::Value { serde_json::from_str(&text(args)).unwrap() };
    assert_eq!(
        json(&["remote", "list", "--json"]),
        serde_json::json!([{ "name": "origin", "url": server.url }])
    );
    assert_eq!(json(&["repo-id", "--json"])["repository_id"], text(&["repo-id"]).trim());
    let node = json(&["id", "--json"]);
    assert_eq!(node["peer_id"], text(&["id"]).lines().next().unwrap());
    assert!(node["listen"].as_array().is_some_and(|listen| !listen.is_empty()), "{node}");
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
    // The commit costs little more than its new tree id (its parent's text is in
    // the primer), and d3/ little more than its changed entry (a patch of the
    // copy's d3/): a fraction of the objects' 1.7 kB (whole, each a kB).
    assert!(wire_bytes(&out) < 400, "{out}");
    let again = other.command(&["fetch"]).current_dir(other.file("copy")).output().unwrap();
    assert!(String::from_utf8(again.stdout).unwrap().contains("received 0 objects"));
    let quiet = other.command(&["fetch", "-q"]).current_dir(other.file("copy")).output().unwrap();
    assert!(quiet.status.success() && quiet.stdout.is_empty() && quiet.stderr.is_empty(), "{quiet:?}");
    assert_eq!(other.ok(&["clone", "--quiet", &server.url, "quiet-copy"]), "");
    assert!(other.exists("quiet-copy/d3/f3.txt"));
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

/// Runs pg in the clone `copy` of `other`.
fn in_copy(other: &Repo, args: &[&str]) -> std::process::Output {
    other.command(args).current_dir(other.file("copy")).output().unwrap()
}

/// `pg args` in `other`'s clone, which must succeed: its stdout.
fn ok_in_copy(other: &Repo, args: &[&str]) -> String {
    common::succeeded(in_copy(other, args), args)
}

#[test]
fn two_machines_clone_commit_push_and_pull() {
    let a = Repo::new();
    a.commit_files(&[("shared.txt", "one\ntwo\nthree\nfour\nfive\n")], "first");
    let server = serve_with(&a, &["--allow-push"]);
    let b = elsewhere();
    b.ok(&["clone", &server.url, "copy"]);
    let write = |path: &str, content: &str| std::fs::write(b.file("copy").join(path), content).unwrap();
    // B works on a branch and pushes it; A merges it.
    ok_in_copy(&b, &["switch", "-c", "feature"]);
    write("shared.txt", "one\ntwo\nthree\nfour\nFIVE\n");
    ok_in_copy(&b, &["commit", "-a", "-m", "from b"]);
    let pushed = ok_in_copy(&b, &["push", "origin", "feature"]);
    assert!(pushed.contains("(new)..") && pushed.contains("objects sent"), "{pushed}");
    assert_eq!(a.ok(&["rev-parse", "feature"]), ok_in_copy(&b, &["rev-parse", "feature"]));
    assert_eq!(ok_in_copy(&b, &["push", "-q", "origin", "feature"]), "", "up to date, quietly");
    assert!(a.ok(&["fsck"]).ends_with(": ok\n"));
    // Meanwhile A changed main; A merges B's work.
    a.commit_files(&[("a-only.txt", "a\n")], "from a");
    a.ok(&["merge", "feature"]);
    assert_eq!(a.read("shared.txt"), "one\ntwo\nthree\nfour\nFIVE\n");
    // B pulls main: a fast-forward that brings both.
    ok_in_copy(&b, &["switch", "main"]);
    let pulled = ok_in_copy(&b, &["pull"]);
    assert!(pulled.contains("Fast-forward"), "{pulled}");
    assert_eq!(std::fs::read_to_string(b.file("copy/a-only.txt")).unwrap(), "a\n");
    assert_eq!(ok_in_copy(&b, &["rev-parse", "main"]), a.ok(&["rev-parse", "main"]));
}

#[test]
fn pushes_that_would_lose_work_or_are_not_allowed_are_refused() {
    let a = Repo::new();
    a.commit_files(&[("f", "1\n")], "first");
    a.ok(&["branch", "shared"]);
    let read_only = serve(&a);
    let b = elsewhere();
    b.ok(&["clone", &read_only.url, "copy"]);
    ok_in_copy(&b, &["switch", "-c", "shared", "origin/shared"]);
    std::fs::write(b.file("copy/f"), "2\n").unwrap();
    ok_in_copy(&b, &["commit", "-a", "-m", "b"]);
    let refused = in_copy(&b, &["push", "origin", "shared"]);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("without --allow-push"), "{refused:?}");
    drop(read_only);

    let server = serve_with(&a, &["--allow-push"]);
    ok_in_copy(&b, &["remote", "remove", "origin"]);
    ok_in_copy(&b, &["remote", "add", "origin", &server.url]);
    // A moved `shared` meanwhile: B's push is not a fast-forward.
    a.ok(&["switch", "shared"]);
    a.commit_files(&[("g", "a\n")], "a moved shared");
    a.ok(&["switch", "main"]);
    let diverged = in_copy(&b, &["push", "origin", "shared"]);
    let said = String::from_utf8_lossy(&diverged.stderr).into_owned();
    assert!(!diverged.status.success() && said.contains("pull (or fetch and merge) first"), "{said}");
    // The checked-out branch of the served repository is not pushed to.
    ok_in_copy(&b, &["switch", "main"]);
    std::fs::write(b.file("copy/h"), "h\n").unwrap();
    ok_in_copy(&b, &["add", "h"]);
    ok_in_copy(&b, &["commit", "-m", "on main"]);
    let checked_out = in_copy(&b, &["push", "origin", "main"]);
    assert!(String::from_utf8_lossy(&checked_out.stderr).contains("is checked out"), "{checked_out:?}");
    // A pre-receive hook can refuse; --force overrides only the fast-forward rule.
    use std::os::unix::fs::PermissionsExt;
    let hook = a.file(".pg/hooks/pre-receive");
    std::fs::write(&hook, "#!/bin/sh\nread old new name\necho \"no pushes to $name\"\nexit 1\n").unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    let hooked = in_copy(&b, &["push", "--force", "origin", "shared"]);
    assert!(String::from_utf8_lossy(&hooked.stderr).contains("no pushes to refs/heads/shared"), "{hooked:?}");
    std::fs::remove_file(&hook).unwrap();
    ok_in_copy(&b, &["push", "--force", "origin", "shared"]);
    assert_eq!(a.ok(&["rev-parse", "shared"]), ok_in_copy(&b, &["rev-parse", "shared"]));
    assert!(a.ok(&["fsck"]).ends_with(": ok\n"));
}

#[test]
fn a_chain_of_followers_gets_a_commit_without_anyone_running_a_command() {
    let a = Repo::new();
    a.commit_files(&[("a.txt", "one\n")], "first");
    let serving_a = serve(&a);
    let b = elsewhere();
    b.ok(&["clone", &serving_a.url, "copy"]);
    let serving_b = serve_in(&b, "copy", &["--follow", &serving_a.url]);
    let c = elsewhere();
    c.ok(&["clone", &serving_b.url, "copy"]);
    let _serving_c = serve_in(&c, "copy", &["--follow", &serving_b.url]);

    let address = serving_a.url.split_once('#').unwrap().0;
    let other = format!("{address}#{}", a.ok(&["rev-parse", "main"]).trim());
    let refused = a.fails(&["serve", "--listen", "/ip4/127.0.0.1/tcp/0", "--no-mdns", "--follow", &other]);
    assert!(refused.contains("clone it first"), "{refused}");

    let commit = a.commit_files(&[("a.txt", "two\n")], "second");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while ok_in_copy(&c, &["rev-parse", "main"]).trim() != commit {
        assert!(std::time::Instant::now() < deadline, "the commit did not reach C in 60 s");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    for follower in [&b, &c] {
        assert_eq!(ok_in_copy(follower, &["rev-parse", "main"]).trim(), commit);
        assert_eq!(std::fs::read_to_string(follower.file("copy/a.txt")).unwrap(), "two\n", "checked out");
        assert_eq!(ok_in_copy(follower, &["status", "--short"]), "");
        assert!(ok_in_copy(follower, &["fsck"]).ends_with(": ok\n"));
    }
}

#[test]
fn a_killed_clone_leaves_a_sound_repository_and_running_it_again_finishes() {
    let origin = Repo::new();
    // 40 MB that does not compress: the transfer takes long enough to be killed,
    // and spans more than one durable write on the receiving side.
    let mut state = 7u64;
    for n in 0..40 {
        let noise: Vec<u8> = (0..1 << 20)
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (state >> 56) as u8
            })
            .collect();
        std::fs::write(origin.file(&format!("noise{n:02}.bin")), noise).unwrap();
    }
    origin.ok(&["add", "-A"]);
    origin.ok(&["commit", "-m", "noise"]);
    let server = serve(&origin);
    let other = elsewhere();
    let started = std::time::Instant::now();
    other.ok(&["clone", &server.url, "whole"]);
    let full = started.elapsed();
    for fraction in [0.2, 0.5] {
        let mut clone = other
            .command(&["clone", &server.url, "copy"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(full.mul_f64(fraction));
        let _ = clone.kill();
        let _ = clone.wait();
        if other.exists("copy/.pg") {
            let fsck = in_copy(&other, &["fsck"]);
            assert!(fsck.status.success(), "fsck after a kill: {}", String::from_utf8_lossy(&fsck.stdout));
            // Killed after the transfer (checking out): the refs are the served ones.
            let refs = ok_in_copy(&other, &["show-ref"]);
            if !refs.is_empty() {
                assert!(refs.starts_with(&origin.ok(&["rev-parse", "main"]).trim().to_string()), "{refs}");
                return;
            }
        }
    }
    let finished = other.ok(&["clone", &server.url, "copy"]);
    assert!(finished.starts_with("Cloned "), "{finished}");
    assert_eq!(ok_in_copy(&other, &["rev-parse", "main"]), origin.ok(&["rev-parse", "main"]));
    assert_eq!(ok_in_copy(&other, &["status", "--short"]), "");
    assert!(ok_in_copy(&other, &["fsck"]).ends_with(": ok\n"));
}

/// A served address without the repository: what `--peer` takes.
fn peer_address(server: &Server) -> String {
    server.url.split_once('#').unwrap().0.to_owned()
}

#[test]
fn a_bare_repository_id_is_cloned_from_a_provider_found_through_kademlia() {
    let a = Repo::new();
    a.commit_files(&[("a.txt", "from a\n")], "first");
    let b = Repo::new();
    b.commit_files(&[("b.txt", "from b\n")], "another repository");
    // B knows nobody; A serves its repository and announces it through B.
    let serving_b = serve(&b);
    let serving_a = serve_with(&a, &["--peer", &peer_address(&serving_b)]);
    let id = a.ok(&["repo-id"]).trim().to_owned();

    // C knows only B, which does not serve A's repository but knows who does.
    let c = elsewhere();
    let out = c.ok(&["clone", &id, "copy", "--no-mdns", "--peer", &peer_address(&serving_b)]);
    assert!(out.starts_with("Cloned "), "{out}");
    assert_eq!(ok_in_copy(&c, &["rev-parse", "main"]), a.ok(&["rev-parse", "main"]));
    assert!(ok_in_copy(&c, &["remote", "list"]).contains(&peer_address(&serving_a)), "origin is A itself");

    // Asking A directly works too (two nodes), and an unknown id fails clearly.
    let d = elsewhere();
    d.ok(&["clone", &id, "copy", "--no-mdns", "--peer", &peer_address(&serving_a)]);
    let unknown = b.ok(&["rev-parse", "main"]).trim().to_owned();
    let lost = d.fails(&["clone", &unknown, "lost", "--no-mdns", "--peer", &peer_address(&serving_a)]);
    assert!(lost.contains("no peer serving repository"), "{lost}");
    assert!(!d.exists("lost"));
}

/// mDNS sends multicast on real interfaces, which tests must not do beyond
/// loopback: this one runs both nodes in a network namespace of its own (a veth
/// pair and nothing else), where a bare repository id is found on the "LAN".
#[test]
fn mdns_in_a_namespace() {
    let namespaces = std::process::Command::new("unshare").args(["-n", "true"]).status();
    if !namespaces.is_ok_and(|s| s.success()) {
        eprintln!("skipped: cannot make a network namespace here (unshare -n needs root)");
        return;
    }
    let a = Repo::new();
    a.commit_files(&[("a.txt", "on the LAN\n")], "first");
    let c = elsewhere();
    let home = |repo: &Repo| repo.path().join(".home");
    let script = format!(
        r#"set -e
ip link set lo up
ip link add v0 type veth peer name v1
ip addr add 10.77.0.1/24 dev v0
ip addr add 10.77.0.2/24 dev v1
ip link set v0 up
ip link set v1 up
cd '{a}'
# A simple command, so that $! is the server itself: a list sent to the
# background is a subshell, and killing it left the server running.
PG_HOME='{a_home}' '{pg}' serve --listen /ip4/10.77.0.1/tcp/0 > serve.out 2>/dev/null &
server=$!
trap 'kill $server' EXIT
for _ in $(seq 100); do [ -s '{a}/serve.out' ] && break; sleep 0.05; done
id=$(cut -d' ' -f1 '{a}/serve.out')
cd '{c}' && PG_HOME='{c_home}' timeout 30 '{pg}' clone "$id" copy
"#,
        a = a.path().display(),
        a_home = home(&a).display(),
        c = c.path().display(),
        c_home = home(&c).display(),
        pg = common::PG,
    );
    let out = std::process::Command::new("unshare")
        .args(["-n", "bash", "-c", &script])
        .env("PG_AUTHOR_NAME", "A U Thor")
        .env("PG_AUTHOR_EMAIL", "author@example.com")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && said.contains("Cloned "), "{said}");
    assert_eq!(ok_in_copy(&c, &["rev-parse", "main"]), a.ok(&["rev-parse", "main"]));
}

/// The `(wire N bytes)` a clone or fetch reports.
fn wire_bytes(out: &str) -> u64 {
    out.split("(wire ").nth(1).and_then(|w| w.split(' ').next()).unwrap().parse().unwrap()
}

#[test]
fn whole_objects_travel_compressed() {
    let origin = Repo::new();
    let text: String = (0..5000).map(|i| format!("line {i} of a text that repeats itself\n")).collect();
    // Over 16 MiB, yet a few kB compressed: it goes in parts, with its id.
    let same = "the same line again\n".repeat(900_000);
    origin
        .commit_files(&[("text.txt", &text), ("same.txt", &same)], "a text of 200 kB, and 18 MB of one line");
    let server = serve(&origin);
    let other = elsewhere();
    let out = other.ok(&["clone", &server.url, "copy"]);
    assert!(wire_bytes(&out) < text.len() as u64 / 4, "{} bytes of text: {out}", text.len());
    assert_eq!(std::fs::read_to_string(other.file("copy/text.txt")).unwrap(), text);
    assert!(std::fs::read_to_string(other.file("copy/same.txt")).unwrap() == same);
}

#[test]
fn objects_larger_than_a_frame_travel_in_parts() {
    let origin = Repo::new();
    let mut state = 11u64;
    let mut big: Vec<u8> = (0..20 << 20)
        .map(|_| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 56) as u8
        })
        .collect();
    std::fs::write(origin.file("big.bin"), &big).unwrap();
    origin.ok(&["add", "-A"]);
    origin.ok(&["commit", "-m", "20 MiB"]);
    let server = serve(&origin);
    let other = elsewhere();
    other.ok(&["clone", &server.url, "copy"]);
    assert!(std::fs::read(other.file("copy/big.bin")).unwrap() == big);
    // A small change: the new version goes as a patch of the old.
    big[1000..1010].copy_from_slice(b"0123456789");
    std::fs::write(origin.file("big.bin"), &big).unwrap();
    origin.ok(&["commit", "-a", "-m", "ten bytes"]);
    let fetched = ok_in_copy(&other, &["fetch"]);
    assert!(wire_bytes(&fetched) < 100_000, "the patch, not the file: {fetched}");
    ok_in_copy(&other, &["pull"]);
    assert!(std::fs::read(other.file("copy/big.bin")).unwrap() == big);
    assert!(ok_in_copy(&other, &["fsck"]).ends_with(": ok\n"));
}

#[test]
fn a_clone_over_quic() {
    let origin = Repo::new();
    origin.commit_files(&[("q.txt", "over udp\n")], "first");
    let server = serve_listening(&origin, ".", "/ip4/127.0.0.1/udp/0/quic-v1", &[]);
    assert!(server.url.contains("/udp/") && server.url.contains("/quic-v1/"), "{}", server.url);
    let other = elsewhere();
    other.ok(&["clone", &server.url, "copy"]);
    assert_eq!(std::fs::read_to_string(other.file("copy/q.txt")).unwrap(), "over udp\n");
}

#[test]
fn restarting_a_server_leaves_no_files_behind_in_the_store() {
    let origin = Repo::new();
    origin.commit_files(&[("r.txt", "restarted\n")], "first");
    let logs = || {
        let db = std::fs::read_dir(origin.file(".pg/db")).unwrap();
        db.filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".log")).count()
    };
    drop(serve(&origin));
    let after_one = logs();
    for _ in 0..3 {
        drop(serve(&origin));
    }
    assert_eq!(logs(), after_one, "each start of pg serve left a log file in the store");
}

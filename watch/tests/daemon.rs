//! The daemon on a real working copy with the real kernel: what it reports
//! after real file operations.
#![cfg(target_os = "linux")]

use pg_watch::{client, daemon, Error};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

struct Running {
    workdir: tempfile::TempDir,
    pg_dir: PathBuf,
    daemon: JoinHandle<pg_watch::Result<()>>,
}

fn start(setup: impl FnOnce(&Path)) -> Running {
    let workdir = tempfile::tempdir().unwrap();
    let pg_dir = workdir.path().join(".pg");
    std::fs::create_dir(&pg_dir).unwrap();
    setup(workdir.path());
    let (root, dir) = (workdir.path().to_owned(), pg_dir.clone());
    let daemon = std::thread::spawn(move || daemon::run(&root, &dir, &daemon::Options::default()));
    let deadline = Instant::now() + Duration::from_secs(10);
    while client::status(&pg_dir).is_err() {
        assert!(Instant::now() < deadline, "the daemon did not answer");
        std::thread::sleep(Duration::from_millis(5));
    }
    Running { workdir, pg_dir, daemon }
}

impl Running {
    fn path(&self, rel: &str) -> PathBuf {
        self.workdir.path().join(rel)
    }

    /// The paths changed since `token`, and the next token.
    fn since(&self, token: &[u8]) -> (Vec<String>, Vec<u8>) {
        let answer = client::changes(&self.pg_dir, token).unwrap();
        let paths = answer.changed.expect("the daemon can tell");
        (paths.iter().map(|p| String::from_utf8(p.clone()).unwrap()).collect(), answer.token)
    }

    fn first_token(&self) -> Vec<u8> {
        let answer = client::changes(&self.pg_dir, b"").unwrap();
        assert_eq!(answer.changed, None, "without a token the daemon cannot tell");
        answer.token
    }
}

#[test]
fn reports_the_paths_changed_since_a_token() {
    let running = start(|root| std::fs::create_dir_all(root.join("src/deep")).unwrap());
    let token = running.first_token();
    let (none, token) = running.since(&token);
    assert_eq!(none, Vec::<String>::new());

    std::fs::write(running.path("a.txt"), "a").unwrap();
    std::fs::write(running.path("src/deep/b.rs"), "b").unwrap();
    std::fs::write(running.pg_dir.join("index"), "not the working copy").unwrap();
    let (changed, token) = running.since(&token);
    assert_eq!(changed, ["a.txt", "src/deep/b.rs"]);

    // A new directory is watched as soon as it is seen; it is reported itself.
    std::fs::create_dir(running.path("new")).unwrap();
    std::fs::write(running.path("new/c"), "c").unwrap();
    let (changed, token) = running.since(&token);
    assert!(changed.contains(&"new".to_string()), "{changed:?}");
    std::fs::write(running.path("new/d"), "d").unwrap();
    let older = token.clone();
    let (changed, token) = running.since(&token);
    assert_eq!(changed, ["new/d"]);

    // A moved directory is reported at both ends and watched where it went.
    std::fs::rename(running.path("src"), running.path("lib")).unwrap();
    let (changed, token) = running.since(&token);
    assert_eq!(changed, ["lib", "src"]);
    std::fs::write(running.path("lib/deep/b.rs"), "b2").unwrap();
    let (changed, _) = running.since(&token);
    assert_eq!(changed, ["lib/deep/b.rs"]);

    // An old token, once a newer one was answered, gets "cannot tell".
    assert_eq!(client::changes(&running.pg_dir, &older).unwrap().changed, None);

    client::stop(&running.pg_dir).unwrap();
    running.daemon.join().unwrap().unwrap();
    assert!(matches!(client::status(&running.pg_dir), Err(Error::NotRunning)));
}

#[test]
fn does_not_watch_ignored_directories_until_unignored() {
    let running = start(|root| {
        std::fs::write(root.join(".pgignore"), "build/\n").unwrap();
        std::fs::create_dir(root.join("build")).unwrap();
    });
    let token = running.first_token();
    std::fs::write(running.path("build/out.o"), "o").unwrap();
    let (changed, token) = running.since(&token);
    assert_eq!(changed, Vec::<String>::new());

    std::fs::write(running.path(".pgignore"), "").unwrap();
    let (changed, token) = running.since(&token);
    assert_eq!(changed, [".pgignore"]);
    std::fs::write(running.path("build/out.o"), "o2").unwrap();
    let (changed, _) = running.since(&token);
    assert_eq!(changed, ["build/out.o"]);
    client::stop(&running.pg_dir).unwrap();
    running.daemon.join().unwrap().unwrap();
}

#[test]
fn one_daemon_per_repository_and_it_stops_when_its_directory_goes() {
    let running = start(|_| {});
    let second = daemon::run(running.workdir.path(), &running.pg_dir, &daemon::Options::default());
    assert!(matches!(second, Err(Error::AlreadyRunning)), "{second:?}");
    std::fs::remove_dir_all(pg_watch::watch_dir(&running.pg_dir)).unwrap();
    running.daemon.join().unwrap().unwrap();
}

//! `pg id`, `pg serve`, `pg clone`, `pg fetch` and `pg remote`: pg between peers.

use super::Outcome;
use crate::context::Context;
use anyhow::{bail, Context as _, Result};
use futures::StreamExt;
use pg_core::index::Index;
use pg_core::refs::{RefTarget, BRANCH_PREFIX};
use pg_core::repo::InitOptions;
use pg_core::store::RefUpdate;
use pg_core::worktree;
use pg_core::{ObjectId, Repository};
use pg_remote::follow;
use pg_remote::node::{Discovery, Node};
use pg_remote::sync::{self, Served, Url};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Addresses `pg serve` listens on when none are given: every interface, ports
/// chosen by the system.
const DEFAULT_LISTEN: [&str; 2] = ["/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/udp/0/quic-v1"];

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn keypair(context: &Context) -> Result<libp2p::identity::Keypair> {
    Ok(pg_remote::key::load_or_create(&context.pg_home().join(pg_remote::key::FILE_NAME))?)
}

/// `pg id`: this node's peer id and the addresses `pg serve` listens on by default.
/// The options of a read command with nothing to choose but its output's form.
#[derive(clap::Args, Debug)]
pub struct JsonArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn id(context: &Context, args: JsonArgs) -> Outcome {
    let peer = keypair(context)?.public().to_peer_id();
    if args.json {
        let listen: Vec<&str> = DEFAULT_LISTEN.to_vec();
        println!("{}", serde_json::json!({ "peer_id": peer.to_string(), "listen": listen }));
        return Ok(ExitCode::SUCCESS);
    }
    println!("{peer}");
    for address in DEFAULT_LISTEN {
        println!("listen {address}");
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on (repeatable; default: every interface, TCP and QUIC).
    #[arg(long, value_name = "MULTIADDR")]
    listen: Vec<libp2p::Multiaddr>,
    /// Accept pushes.
    #[arg(long)]
    allow_push: bool,
    /// Keep the served repository with this URL's id a mirror of it (fetching
    /// whenever the peer announces new refs).
    #[arg(long, value_name = "URL")]
    follow: Option<String>,
    #[command(flatten)]
    discovery: DiscoveryArgs,
    /// Repositories to serve (default: the current one).
    paths: Vec<PathBuf>,
}

/// `pg serve`: serves repositories until stopped, printing `<repo-id> <url>` for each.
pub fn serve(context: &Context, args: ServeArgs) -> Outcome {
    let paths = if args.paths.is_empty() { vec![context.cwd.clone()] } else { args.paths.clone() };
    let mut served = Served::default();
    if args.allow_push {
        served.pushes = Some(receive_hooks());
    }
    let mut repositories = Vec::new();
    for path in &paths {
        let (id, workdir) = context.repository_id_at(&context.cwd.join(path))?;
        repositories.push((id, workdir.clone()));
        served.add(id, workdir);
    }
    let follow = match &args.follow {
        Some(url) => {
            let url: Url = url.parse().map_err(|e: String| anyhow::anyhow!("{e}"))?;
            let Some((_, workdir)) = repositories.iter().find(|(id, _)| *id == url.repository) else {
                bail!("no served repository has the id {}: clone it first (pg clone {url})", url.repository);
            };
            Some((url, workdir.clone()))
        }
        None => None,
    };
    let listen = if args.listen.is_empty() {
        DEFAULT_LISTEN.iter().map(|a| a.parse().expect("default addresses parse")).collect()
    } else {
        args.listen
    };
    let key = keypair(context)?;
    let discovery = args.discovery.discovery(true);
    runtime()?.block_on(async move {
        let node = Node::start_with(key, &listen, &discovery).await?;
        for (id, _) in &repositories {
            node.provide(id)?;
        }
        let address = node
            .listen_addresses
            .iter()
            .find(|a| a.iter().any(|p| matches!(p, libp2p::multiaddr::Protocol::Tcp(_))))
            .or(node.listen_addresses.first())
            .cloned()
            .context("the node listens nowhere")?;
        let mut out = std::io::stdout().lock();
        for (id, _) in &repositories {
            writeln!(out, "{id} {}", Url { address: node.url_address(&address), repository: *id })?;
        }
        out.flush()?;
        drop(out);
        let mut incoming = node.accept();
        let node = Arc::new(node);
        for (id, workdir) in repositories {
            tokio::spawn(follow::announce(node.clone(), workdir, id));
        }
        if let Some((url, workdir)) = follow {
            let announcements = node.announcements().context("announcements are taken once")?;
            tokio::spawn(follow::follow(node.clone(), url.clone(), workdir, announcements, move |round| {
                match round {
                    Ok(mirrored) if mirrored.moved > 0 => {
                        eprintln!(
                            "following {url}: {} refs moved, {} objects fetched",
                            mirrored.moved, mirrored.objects
                        )
                    }
                    Ok(_) => {}
                    Err(error) => eprintln!("following {url}: {error} (trying again)"),
                }
            }));
        }
        let served = Arc::new(served);
        while let Some((peer, mut stream)) = incoming.next().await {
            let served = served.clone();
            tokio::spawn(async move {
                if let Err(error) = served.answer(&mut stream).await {
                    eprintln!("peer {peer}: {error}");
                }
            });
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// `pre-receive` and `post-receive`, run in the served repository as git runs them:
/// `<old> <new> <ref>` on standard input; a failing `pre-receive` refuses the push.
fn receive_hooks() -> sync::ReceiveHooks {
    fn input(change: &sync::RefChange) -> Vec<u8> {
        let old = change.old.map_or_else(|| "0".repeat(change.new.to_hex().len()), |id| id.to_hex());
        format!("{old} {} {}\n", change.new, change.name).into_bytes()
    }
    sync::ReceiveHooks {
        before: Box::new(|repo, change| {
            match super::hook_runner(repo).run_with_input(pg_hooks::Hook::PreReceive, &[], &input(change)) {
                Ok(Some(outcome)) if !outcome.success => {
                    let said = String::from_utf8_lossy(&outcome.output).trim().to_owned();
                    Err(format!("the pre-receive hook refused the push: {said}"))
                }
                Ok(_) => Ok(()),
                Err(error) => Err(format!("the pre-receive hook could not run: {error}")),
            }
        }),
        after: Box::new(|repo, change| {
            let _ = super::hook_runner(repo).run_with_input(pg_hooks::Hook::PostReceive, &[], &input(change));
        }),
    }
}

/// How a node finds peers (`pg serve`, and `pg clone` of a bare repository id).
#[derive(clap::Args, Debug)]
pub struct DiscoveryArgs {
    /// A peer to find others through (Kademlia), `<multiaddr>/p2p/<peer id>`
    /// (repeatable).
    #[arg(long = "peer", value_name = "MULTIADDR")]
    peers: Vec<libp2p::Multiaddr>,
    /// Do not look for peers on the local network (mDNS).
    #[arg(long)]
    no_mdns: bool,
}

impl DiscoveryArgs {
    fn discovery(&self, serve: bool) -> Discovery {
        Discovery { mdns: !self.no_mdns, peers: self.peers.clone(), serve }
    }
}

/// How long `pg clone` of a bare repository id looks for a peer serving it.
const LOCATE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(clap::Args, Debug)]
pub struct CloneArgs {
    /// What `pg serve` printed, `<multiaddr>/p2p/<peer id>#<repository id>`, or
    /// a bare repository id, to find a peer serving it on the LAN (mDNS) or
    /// through Kademlia.
    url: String,
    /// Where to put the clone (default: `pg-` and the start of the repository id).
    dir: Option<PathBuf>,
    #[command(flatten)]
    discovery: DiscoveryArgs,
}

/// `pg clone`: a new repository with the served one's id, history and branches.
pub fn clone(context: &Context, args: CloneArgs) -> Outcome {
    let (repository, given) = match args.url.parse::<Url>() {
        Ok(url) => (url.repository, Some(url)),
        Err(error) => (args.url.parse::<ObjectId>().map_err(|_| anyhow::Error::msg(error))?, None),
    };
    let dir = context.cwd.join(
        args.dir
            .unwrap_or_else(|| PathBuf::from(format!("pg-{}", repository.abbrev(pg_core::id::ABBREV_LEN)))),
    );
    let resuming = dir.join(".pg").exists();
    if resuming && !is_unfinished_clone(&dir, &repository)? {
        bail!("{} is already a repository; clone somewhere else", dir.display());
    }
    let key = keypair(context)?;
    let op = context.op_context(None);
    let existed = dir.exists();
    let target = dir.clone();
    let discovery = args.discovery.discovery(false);
    let cloned = runtime()?.block_on(async move {
        let (_node, url, session) = match given {
            Some(url) => {
                let node = Node::start(key, &[]).await?;
                let session = sync::connect(&node, &url).await?;
                (node, url, session)
            }
            None => {
                let node = Node::start_with(key, &[], &discovery).await?;
                let (url, session) = sync::locate(&node, repository, LOCATE_PATIENCE).await?;
                (node, url, session)
            }
        };
        let advertised = session.advertised.clone();
        let mut repo = if resuming {
            Repository::discover(&target)?
        } else {
            let options = InitOptions {
                hash: advertised.algorithm,
                default_branch: advertised.head.clone().unwrap_or_else(|| "main".into()),
                repository_id: Some(url.repository),
            };
            Repository::init(&target, &options, &op)?
        };
        repo.config_mut().set("remote.origin.url", &url.to_string())?;
        let peer = advertised.peer;
        let receiving = context.counter("receiving");
        let fetched = session
            .fetch(repo.store(), &[], &receiving)
            .await
            .with_context(|| format!("refused what peer {peer} sent"))?;
        let mut updates = tracking_updates(&repo, "origin", &advertised.refs)?;
        let head = advertised.head.as_ref().and_then(|branch| {
            advertised
                .refs
                .iter()
                .find(|(name, _)| *name == format!("{BRANCH_PREFIX}{branch}"))
                .map(|(_, id)| (branch, *id))
        });
        if let Some((branch, id)) = head {
            updates.push(RefUpdate {
                name: format!("{BRANCH_PREFIX}{branch}"),
                expected: None,
                new: Some(RefTarget::Object(id)),
            });
        }
        repo.update_refs(&context.op_context(Some(&repo)), Vec::new(), updates)?;
        if let Some((_, id)) = head {
            worktree::switch(&repo, &mut Index::default(), None, Some(&id), &context.progress("checkout"))?;
        }
        writeln!(
            context.reports(),
            "Cloned {} into {}: {} objects, {:.1} MB (wire {} bytes)",
            repo.store().abbreviate(&url.repository),
            target.display(),
            fetched.objects,
            fetched.bytes as f64 / 1e6,
            fetched.wire_bytes
        )?;
        Ok(ExitCode::SUCCESS)
    });
    let Err(error) = cloned else { return cloned };
    // What an interrupted clone stored is kept for the next attempt; otherwise a
    // failed clone leaves nothing behind (and never removes what was there).
    let kept = Repository::discover_read_only(&dir).is_ok_and(|repo| {
        pg_remote::receive::unfinished(repo.store()).is_ok_and(|commits| !commits.is_empty())
    });
    if kept {
        return Err(error.context(format!(
            "the clone stopped; what arrived is kept in {}: run the same pg clone again to go on",
            dir.display()
        )));
    }
    if !existed {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Err(error)
}

/// Whether `dir` holds a clone of `repository` that stopped before its refs were
/// set (same repository id, no refs yet): `pg clone` goes on with it.
fn is_unfinished_clone(dir: &std::path::Path, repository: &ObjectId) -> Result<bool> {
    let repo = Repository::discover_read_only(dir)?;
    Ok(repo.repository_id()? == Some(*repository) && repo.list_refs("refs/")?.is_empty())
}

/// Ref updates that make `refs/remotes/<remote>/<branch>` (and new tags) match what
/// the remote advertised.
fn tracking_updates(repo: &Repository, remote: &str, refs: &[(String, ObjectId)]) -> Result<Vec<RefUpdate>> {
    let mut updates = Vec::new();
    for (name, id) in refs {
        let local = match name.strip_prefix(BRANCH_PREFIX) {
            Some(branch) => format!("refs/remotes/{remote}/{branch}"),
            None => name.clone(),
        };
        let current = repo.read_ref(&local)?;
        let is_tag = !name.starts_with(BRANCH_PREFIX);
        // Tags never move once made (as in git without --force).
        if current == Some(RefTarget::Object(*id)) || (is_tag && current.is_some()) {
            continue;
        }
        updates.push(RefUpdate { name: local, expected: current, new: Some(RefTarget::Object(*id)) });
    }
    Ok(updates)
}

#[derive(clap::Args, Debug)]
pub struct FetchArgs {
    /// The remote to fetch from.
    #[arg(default_value = "origin")]
    remote: String,
}

/// `pg fetch`: brings the remote's new objects and moves its remote-tracking refs.
pub fn fetch(context: &Context, args: FetchArgs) -> Outcome {
    let repo = context.repo()?;
    let url = remote_url(&repo, &args.remote)?;
    let haves = local_commits(&repo)?;
    let key = keypair(context)?;
    runtime()?.block_on(async move {
        let node = Node::start(key, &[]).await?;
        let session = sync::connect(&node, &url).await?;
        if session.advertised.algorithm != repo.store().algorithm() {
            bail!(
                "the remote uses {} ids and this repository {}",
                session.advertised.algorithm.name(),
                repo.store().algorithm().name()
            );
        }
        let advertised = session.advertised.clone();
        let peer = advertised.peer;
        let receiving = context.counter("receiving");
        let fetched = session
            .fetch(repo.store(), &haves, &receiving)
            .await
            .with_context(|| format!("refused what peer {peer} sent"))?;
        let updates = tracking_updates(&repo, &args.remote, &advertised.refs)?;
        let mut out = context.reports();
        writeln!(out, "From {url}")?;
        for update in &updates {
            let old = update
                .expected
                .as_ref()
                .and_then(RefTarget::as_object)
                .map_or("(new)".to_owned(), |id| repo.store().abbreviate(id));
            let new = update
                .new
                .as_ref()
                .and_then(RefTarget::as_object)
                .map_or(String::new(), |id| repo.store().abbreviate(id));
            writeln!(out, "  {old}..{new}  {}", update.name)?;
        }
        writeln!(
            out,
            "received {} objects, {} bytes (wire {} bytes)",
            fetched.objects, fetched.bytes, fetched.wire_bytes
        )?;
        if !updates.is_empty() {
            repo.update_refs(&context.op_context(Some(&repo)), Vec::new(), updates)?;
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// The commits local refs point at: what a fetch tells the peer it has.
fn local_commits(repo: &Repository) -> Result<Vec<ObjectId>> {
    let mut commits = Vec::new();
    for prefix in ["refs/heads/", "refs/remotes/", "refs/tags/"] {
        for (_, target) in repo.list_refs(prefix)? {
            if let Some(id) = target.as_object() {
                if repo.store().kind(id)? == pg_core::object::ObjectKind::Commit && !commits.contains(id) {
                    commits.push(*id);
                }
            }
        }
    }
    Ok(commits)
}

#[derive(clap::Args, Debug)]
pub struct PushArgs {
    /// The remote to push to.
    remote: String,
    /// The branch to push (to the branch of the same name).
    branch: String,
    /// Move the remote branch even if it has commits this one does not.
    #[arg(short, long)]
    force: bool,
}

/// The URL of a configured remote.
fn remote_url(repo: &Repository, remote: &str) -> Result<Url> {
    repo.config()
        .get(&format!("remote.{remote}.url"))?
        .with_context(|| format!("no remote '{remote}' (`pg remote add {remote} URL` makes one)"))?
        .parse()
        .map_err(anyhow::Error::msg)
}

/// `pg push`: moves a branch on a remote to this repository's, sending what it lacks.
pub fn push(context: &Context, args: PushArgs) -> Outcome {
    let repo = context.repo()?;
    let url = remote_url(&repo, &args.remote)?;
    let name = format!("{BRANCH_PREFIX}{}", args.branch);
    let new = repo.resolve_ref(&name)?.with_context(|| format!("no branch '{}' here", args.branch))?;
    let key = keypair(context)?;
    runtime()?.block_on(async {
        let node = Node::start(key, &[]).await?;
        let session = sync::connect(&node, &url).await?;
        let peer = session.advertised.peer;
        let outcome = session
            .push(repo.store(), &name, new, args.force)
            .await
            .with_context(|| format!("peer {peer} refused the push"))?;
        let mut out = context.reports();
        writeln!(out, "To {url}")?;
        match outcome {
            sync::PushOutcome::UpToDate => writeln!(out, "  {} is up to date", args.branch)?,
            sync::PushOutcome::Moved { old, objects } => {
                let old = old.map_or("(new)".to_owned(), |id| repo.store().abbreviate(&id));
                let new = repo.store().abbreviate(&new);
                writeln!(out, "  {old}..{new}  {} ({objects} objects sent)", args.branch)?;
            }
        }
        let tracking = format!("refs/remotes/{}/{}", args.remote, args.branch);
        let current = repo.read_ref(&tracking)?;
        if current != Some(RefTarget::Object(new)) {
            let update = RefUpdate { name: tracking, expected: current, new: Some(RefTarget::Object(new)) };
            repo.update_refs(&context.op_context(Some(&repo)), Vec::new(), vec![update])?;
        }
        Ok(ExitCode::SUCCESS)
    })
}

#[derive(clap::Args, Debug)]
pub struct PullArgs {
    /// The remote to pull from.
    #[arg(default_value = "origin")]
    remote: String,
    /// Its branch to merge (default: the current branch's name).
    branch: Option<String>,
}

/// `pg pull`: `pg fetch`, then `pg merge` of the remote's branch (through the merge
/// engine: a fast-forward, a clean merge, or conflicts in the queue).
pub fn pull(context: &Context, args: PullArgs) -> Outcome {
    let branch = match args.branch {
        Some(branch) => branch,
        None => {
            let repo = context.repo_to_read()?;
            repo.head()?.branch().map(str::to_owned).context("HEAD is detached: name the branch to pull")?
        }
    };
    fetch(context, FetchArgs { remote: args.remote.clone() })?;
    super::merge::merge_revision(context, &format!("{}/{branch}", args.remote))
}

#[derive(clap::Args, Debug)]
pub struct RemoteArgs {
    #[command(subcommand)]
    command: RemoteCommand,
}

#[derive(clap::Subcommand, Debug)]
enum RemoteCommand {
    /// Adds a remote.
    Add {
        /// Its name.
        name: String,
        /// Its URL, as `pg serve` prints it.
        url: String,
    },
    /// Removes a remote (and its remote-tracking refs).
    Remove {
        /// Its name.
        name: String,
    },
    /// Lists remotes with their URLs.
    List(JsonArgs),
}

/// `pg remote add|remove|list`.
pub fn remote(context: &Context, args: RemoteArgs) -> Outcome {
    match args.command {
        RemoteCommand::Add { name, url } => add_remote(context, &name, &url),
        RemoteCommand::Remove { name } => remove_remote(context, &name),
        RemoteCommand::List(args) => list_remotes(context, args),
    }
}

fn add_remote(context: &Context, name: &str, url: &str) -> Outcome {
    pg_core::refs::check_name(&format!("refs/remotes/{name}"), "remote name")?;
    url.parse::<Url>().map_err(anyhow::Error::msg)?;
    let mut repo = context.repo()?;
    let key = format!("remote.{name}.url");
    if repo.config().get(&key)?.is_some() {
        bail!("remote '{name}' exists already");
    }
    repo.config_mut().set(&key, url)?;
    Ok(ExitCode::SUCCESS)
}

fn remove_remote(context: &Context, name: &str) -> Outcome {
    let mut repo = context.repo()?;
    if !repo.config_mut().remove(&format!("remote.{name}.url"))? {
        bail!("no remote '{name}'");
    }
    let tracking = repo.list_refs(&format!("refs/remotes/{name}/"))?;
    let updates = tracking
        .into_iter()
        .map(|(name, target)| RefUpdate { name, expected: Some(target), new: None })
        .collect();
    repo.update_refs(&context.op_context(Some(&repo)), Vec::new(), updates)?;
    Ok(ExitCode::SUCCESS)
}

fn list_remotes(context: &Context, args: JsonArgs) -> Outcome {
    let repo = context.repo_to_read()?;
    let section = repo.config().section("remote");
    let remotes: Vec<(&str, &str)> =
        section.iter().filter_map(|(name, url)| Some((name.strip_suffix(".url")?, url.as_str()))).collect();
    if args.json {
        let list = remotes.iter().map(|(name, url)| serde_json::json!({ "name": name, "url": url }));
        println!("{}", serde_json::Value::Array(list.collect()));
    }
    for (name, url) in remotes.iter().filter(|_| !args.json) {
        println!("{name}\t{url}");
    }
    Ok(ExitCode::SUCCESS)
}

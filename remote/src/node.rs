//! A running libp2p node: TCP (noise, yamux) and QUIC, identify (on nodes that
//! serve or discover), raw streams for the sync protocol, gossipsub for
//! announcements, and discovery:
//! mDNS on the LAN and a Kademlia DHT (pg's own protocol) where serving nodes
//! keep provider records of the repositories they serve. The swarm runs on its
//! own task; the node's handle opens and accepts streams and asks the task.

use futures::StreamExt;
use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{gossipsub, identify, kad, mdns, noise, tcp, yamux, Multiaddr, PeerId, StreamProtocol};
use pg_core::ObjectId;
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Errors starting or using a node.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The transport or behaviour could not be set up.
    #[error("cannot start the node: {0}")]
    Setup(String),
    /// A listen address was refused.
    #[error("cannot listen on {address}: {reason}")]
    Listen {
        /// The address.
        address: Multiaddr,
        /// Why.
        reason: String,
    },
    /// A stream could not be opened to a peer.
    #[error("cannot reach peer {peer}: {reason}")]
    Unreachable {
        /// The peer.
        peer: PeerId,
        /// Why.
        reason: String,
    },
    /// The node's task has stopped.
    #[error("the node stopped")]
    Stopped,
}

/// The behaviours a pg node runs. A node that only fetches (given its peer's
/// address) runs the sync streams alone: a fetch needs no identify, and on a
/// one-commit fetch its streams, both ways, cost more bytes than the fetch itself.
/// No node runs ping: nothing acted on its round trips, and the ping a server
/// opened to each client, which the client refused, cost 180 bytes of a
/// one-commit fetch (a dead peer shows as a failed stream; idle connections close
/// after [`IDLE_TIMEOUT`]).
#[derive(NetworkBehaviour)]
struct Behaviour {
    identify: Toggle<identify::Behaviour>,
    stream: libp2p_stream::Behaviour,
    gossipsub: Toggle<gossipsub::Behaviour>,
    kad: Toggle<kad::Behaviour<kad::store::MemoryStore>>,
    mdns: Toggle<mdns::tokio::Behaviour>,
}

/// A gossipsub message: its topic and bytes, and the peer that published it.
#[derive(Debug, Clone)]
pub struct Announcement {
    /// The topic.
    pub topic: String,
    /// The message.
    pub data: Vec<u8>,
    /// Who published it (as signed).
    pub source: Option<PeerId>,
}

/// How a node finds others: on the LAN (mDNS) and through Kademlia, starting from
/// known peers. A node without any (the default: a client that is given its peer's
/// address) runs neither Kademlia nor gossipsub, and spends no bytes on them.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    /// Find and announce peers on the local network (mDNS).
    pub mdns: bool,
    /// Peers to start Kademlia from, each `<multiaddr>/p2p/<peer id>`.
    pub peers: Vec<Multiaddr>,
    /// Serve: answer Kademlia queries and keep provider records (Kademlia server
    /// mode), and publish and hear ref announcements on gossipsub.
    pub serve: bool,
}

impl Discovery {
    /// Whether the node runs Kademlia.
    fn uses_kademlia(&self) -> bool {
        self.serve || self.mdns || !self.peers.is_empty()
    }
}

/// Connections idle this long are closed (libp2p's default, 10 s, would cut a
/// clone that pauses to write to disk).
const IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// What identify tells peers this node runs (libp2p's default names libp2p).
const AGENT: &str = concat!("pg/", env!("CARGO_PKG_VERSION"));

/// The Kademlia protocol of pg's DHT (its own, not the IPFS one).
const KAD_PROTOCOL: &str = "/pg/kad/1.0.0";

/// A Kademlia query gives up after this long (libp2p's default, a minute, is
/// long to wait for a `pg clone`; a caller asks again if it wants).
const KAD_QUERY_TIMEOUT: Duration = Duration::from_secs(5);

/// What the node's task is asked to do.
enum Command {
    /// Connect to a peer at an address; answer once connected or failed.
    Dial(PeerId, Multiaddr, oneshot::Sender<Result<(), String>>),
    /// Receive a gossipsub topic's messages.
    Subscribe(String),
    /// Publish on a topic (dropped when no peer listens: announcements are hints).
    Publish(String, Vec<u8>),
    /// Announce in Kademlia that this node provides a key.
    Provide(Vec<u8>),
    /// Find the providers of a key: their addresses (with `/p2p/`), once the query
    /// ends and the providers found were dialled.
    FindProviders(Vec<u8>, oneshot::Sender<Vec<Multiaddr>>),
}

/// A handle to a running node.
pub struct Node {
    /// This node's peer id.
    pub peer_id: PeerId,
    /// The addresses it listens on (resolved: no wildcard, no port 0).
    pub listen_addresses: Vec<Multiaddr>,
    control: libp2p_stream::Control,
    commands: mpsc::UnboundedSender<Command>,
    announcements: std::sync::Mutex<Option<mpsc::UnboundedReceiver<Announcement>>>,
}

impl Node {
    /// Starts a node with `keypair`, listening on `listen` (none: a client only),
    /// without discovery. Must be called within a tokio runtime.
    pub async fn start(keypair: Keypair, listen: &[Multiaddr]) -> Result<Node, Error> {
        Node::start_with(keypair, listen, &Discovery::default()).await
    }

    /// Starts a node that finds others as `discovery` says.
    pub async fn start_with(
        keypair: Keypair,
        listen: &[Multiaddr],
        discovery: &Discovery,
    ) -> Result<Node, Error> {
        let mut swarm = build_swarm(keypair, discovery)?;
        for address in listen {
            swarm
                .listen_on(address.clone())
                .map_err(|e| Error::Listen { address: address.clone(), reason: e.to_string() })?;
        }
        let mut listen_addresses = Vec::new();
        while listen_addresses.len() < listen.len() {
            match swarm.select_next_some().await {
                SwarmEvent::NewListenAddr { address, .. } => listen_addresses.push(address),
                SwarmEvent::ListenerError { error, .. }
                | SwarmEvent::ListenerClosed { reason: Err(error), .. } => {
                    return Err(Error::Setup(error.to_string()));
                }
                _ => {}
            }
        }
        if discovery.serve {
            // What Kademlia gives others as this node's addresses (in provider
            // records): where it listens.
            for address in &listen_addresses {
                swarm.add_external_address(address.clone());
            }
        }
        for address in &discovery.peers {
            let peer = peer_of(address)
                .ok_or_else(|| Error::Setup(format!("{address} does not end in /p2p/<peer id>")))?;
            if let Some(kad) = swarm.behaviour_mut().kad.as_mut() {
                kad.add_address(&peer, address.clone());
            }
            let _ = swarm.dial(DialOpts::peer_id(peer).addresses(vec![address.clone()]).build());
        }
        let peer_id = *swarm.local_peer_id();
        let control = swarm.behaviour().stream.new_control();
        let (commands, receive) = mpsc::unbounded_channel();
        let (announce, announcements) = mpsc::unbounded_channel();
        tokio::spawn(Driver::new(swarm, announce).run(receive));
        let announcements = std::sync::Mutex::new(Some(announcements));
        Ok(Node { peer_id, listen_addresses, control, commands, announcements })
    }

    /// Announces in Kademlia that this node serves the repository `id`.
    pub fn provide(&self, id: &ObjectId) -> Result<(), Error> {
        self.commands.send(Command::Provide(id.as_bytes().to_vec())).map_err(|_| Error::Stopped)
    }

    /// The addresses (with `/p2p/`) of peers that say they serve the repository
    /// `id`, found through Kademlia from the known and discovered peers.
    pub async fn find_providers(&self, id: &ObjectId) -> Result<Vec<Multiaddr>, Error> {
        let (reply, found) = oneshot::channel();
        self.commands
            .send(Command::FindProviders(id.as_bytes().to_vec(), reply))
            .map_err(|_| Error::Stopped)?;
        found.await.map_err(|_| Error::Stopped)
    }

    /// Receives `topic`'s messages (see [`Node::announcements`]).
    pub fn subscribe(&self, topic: &str) -> Result<(), Error> {
        self.commands.send(Command::Subscribe(topic.to_owned())).map_err(|_| Error::Stopped)
    }

    /// Publishes on `topic`.
    pub fn publish(&self, topic: &str, data: Vec<u8>) -> Result<(), Error> {
        self.commands.send(Command::Publish(topic.to_owned(), data)).map_err(|_| Error::Stopped)
    }

    /// The messages of subscribed topics, as they come (taken once).
    pub fn announcements(&self) -> Option<mpsc::UnboundedReceiver<Announcement>> {
        self.announcements.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// Connects to the peer at `address` (ending in `/p2p/<peer id>`), unless
    /// connected already.
    pub async fn dial(&self, address: &Multiaddr) -> Result<PeerId, Error> {
        let peer = peer_of(address)
            .ok_or_else(|| Error::Setup(format!("{address} does not end in /p2p/<peer id>")))?;
        if peer == self.peer_id {
            let reason = "it has this node's own peer id (both sides use the same node key)".into();
            return Err(Error::Unreachable { peer, reason });
        }
        let (done, connected) = oneshot::channel();
        self.commands.send(Command::Dial(peer, address.clone(), done)).map_err(|_| Error::Stopped)?;
        connected.await.map_err(|_| Error::Stopped)?.map_err(|reason| Error::Unreachable { peer, reason })?;
        Ok(peer)
    }

    /// Accepts the sync protocol's incoming streams.
    pub fn accept(&self) -> libp2p_stream::IncomingStreams {
        self.control
            .clone()
            .accept(StreamProtocol::new(crate::protocol::STREAM_PROTOCOL))
            .expect("accepted once per node")
    }

    /// Opens a sync stream to the peer at `address` (which ends in `/p2p/<peer>`).
    pub async fn open(&self, address: &Multiaddr) -> Result<(PeerId, libp2p::Stream), Error> {
        let peer = self.dial(address).await?;
        let stream = self
            .control
            .clone()
            .open_stream(peer, StreamProtocol::new(crate::protocol::STREAM_PROTOCOL))
            .await
            .map_err(|e| Error::Unreachable { peer, reason: e.to_string() })?;
        Ok((peer, stream))
    }

    /// The address others reach this node at for `address`: it with `/p2p/<peer id>`.
    pub fn url_address(&self, address: &Multiaddr) -> Multiaddr {
        address.clone().with(Protocol::P2p(self.peer_id))
    }
}

/// The peer id an address ends in.
pub fn peer_of(address: &Multiaddr) -> Option<PeerId> {
    address.iter().find_map(|p| match p {
        Protocol::P2p(peer) => Some(peer),
        _ => None,
    })
}

fn build_swarm(keypair: Keypair, discovery: &Discovery) -> Result<libp2p::Swarm<Behaviour>, Error> {
    let setup = |e: &dyn std::fmt::Display| Error::Setup(e.to_string());
    let swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
        .map_err(|e| setup(&e))?
        .with_quic()
        .with_behaviour(|key| {
            let peer = key.public().to_peer_id();
            let gossipsub = match discovery.serve {
                true => Some(gossipsub_behaviour(key)?),
                false => None,
            };
            let kad = discovery.uses_kademlia().then(|| kademlia(peer, discovery.serve));
            let mdns = match discovery.mdns {
                true => Some(mdns::tokio::Behaviour::new(mdns::Config::default(), peer)?),
                false => None,
            };
            let lasting = discovery.serve || discovery.uses_kademlia();
            let identify = lasting.then(|| {
                identify::Behaviour::new(
                    identify::Config::new("/pg/1".into(), key.public()).with_agent_version(AGENT.into()),
                )
            });
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(Behaviour {
                identify: Toggle::from(identify),
                stream: libp2p_stream::Behaviour::new(),
                gossipsub: Toggle::from(gossipsub),
                kad: Toggle::from(kad),
                mdns: Toggle::from(mdns),
            })
        })
        .map_err(|e| setup(&e))?
        .with_swarm_config(|config| config.with_idle_connection_timeout(IDLE_TIMEOUT))
        .build();
    Ok(swarm)
}

/// pg's gossipsub protocol: one id (not IPFS's three versions), so a peer without
/// gossipsub (a client) refuses it once per connection, not three times.
const GOSSIPSUB_PROTOCOL: &str = "/pg/gossipsub/1.1.0";

/// Gossipsub for ref announcements, every message signed by its publisher.
fn gossipsub_behaviour(
    key: &Keypair,
) -> Result<gossipsub::Behaviour, Box<dyn std::error::Error + Send + Sync>> {
    let config = gossipsub::ConfigBuilder::default()
        .protocol_id(GOSSIPSUB_PROTOCOL, gossipsub::Version::V1_1)
        .heartbeat_interval(Duration::from_millis(500))
        .build()?;
    Ok(gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Signed(key.clone()), config)?)
}

/// pg's Kademlia, in server mode on a serving node.
fn kademlia(peer: PeerId, serve: bool) -> kad::Behaviour<kad::store::MemoryStore> {
    let mut config = kad::Config::new(StreamProtocol::new(KAD_PROTOCOL));
    config.set_query_timeout(KAD_QUERY_TIMEOUT);
    let mut kad = kad::Behaviour::with_config(peer, kad::store::MemoryStore::new(peer), config);
    kad.set_mode(Some(if serve { kad::Mode::Server } else { kad::Mode::Client }));
    kad
}

/// A providers query under way.
struct Finding {
    reply: oneshot::Sender<Vec<Multiaddr>>,
    /// Providers being dialled.
    dialling: HashSet<PeerId>,
    /// Providers reached, at these addresses.
    found: Vec<Multiaddr>,
    /// Whether the query has ended.
    ended: bool,
}

/// The node's task: drives the swarm and carries out commands.
struct Driver {
    swarm: libp2p::Swarm<Behaviour>,
    announce: mpsc::UnboundedSender<Announcement>,
    dialing: HashMap<PeerId, Vec<oneshot::Sender<Result<(), String>>>>,
    /// Where each connected peer was reached.
    connected: HashMap<PeerId, Multiaddr>,
    finding: HashMap<kad::QueryId, Finding>,
}

impl Driver {
    fn new(swarm: libp2p::Swarm<Behaviour>, announce: mpsc::UnboundedSender<Announcement>) -> Driver {
        Driver {
            swarm,
            announce,
            dialing: HashMap::new(),
            connected: HashMap::new(),
            finding: HashMap::new(),
        }
    }

    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_event(event),
                command = commands.recv() => match command {
                    Some(command) => self.on_command(command),
                    None => break,
                },
            }
        }
    }

    fn on_command(&mut self, command: Command) {
        let behaviour = self.swarm.behaviour_mut();
        match command {
            Command::Dial(peer, address, done) => {
                if self.swarm.is_connected(&peer) {
                    let _ = done.send(Ok(()));
                    return;
                }
                match self.swarm.dial(DialOpts::peer_id(peer).addresses(vec![address]).build()) {
                    Ok(()) => self.dialing.entry(peer).or_default().push(done),
                    Err(error) => {
                        let _ = done.send(Err(error.to_string()));
                    }
                }
            }
            // A node without gossipsub or Kademlia (see Discovery) has nothing to
            // announce or look up: it hears nothing and finds nobody.
            Command::Subscribe(topic) => {
                if let Some(gossipsub) = behaviour.gossipsub.as_mut() {
                    let _ = gossipsub.subscribe(&gossipsub::IdentTopic::new(topic));
                }
            }
            Command::Publish(topic, data) => {
                if let Some(gossipsub) = behaviour.gossipsub.as_mut() {
                    let _ = gossipsub.publish(gossipsub::IdentTopic::new(topic), data);
                }
            }
            Command::Provide(key) => {
                if let Some(kad) = behaviour.kad.as_mut() {
                    let _ = kad.start_providing(kad::RecordKey::new(&key));
                }
            }
            Command::FindProviders(key, reply) => match behaviour.kad.as_mut() {
                Some(kad) => {
                    let query = kad.get_providers(kad::RecordKey::new(&key));
                    let finding =
                        Finding { reply, dialling: HashSet::new(), found: Vec::new(), ended: false };
                    self.finding.insert(query, finding);
                }
                None => {
                    let _ = reply.send(Vec::new());
                }
            },
        }
    }

    fn on_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::ConnectionEstablished { peer_id, endpoint, .. } => {
                for waiting in self.dialing.remove(&peer_id).unwrap_or_default() {
                    let _ = waiting.send(Ok(()));
                }
                // Only an address this node dialled is one to dial again (a peer that
                // dialled in shows its outgoing port).
                if endpoint.is_dialer() {
                    let address = endpoint.get_remote_address().clone();
                    self.connected.insert(peer_id, address.clone());
                    self.reached(peer_id, Some(address));
                }
            }
            SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } => {
                self.connected.remove(&peer_id);
            }
            SwarmEvent::OutgoingConnectionError { peer_id: Some(peer_id), error, .. } => {
                for waiting in self.dialing.remove(&peer_id).unwrap_or_default() {
                    let _ = waiting.send(Err(error.to_string()));
                }
                self.reached(peer_id, None);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                message, ..
            })) => {
                let _ = self.announce.send(Announcement {
                    topic: message.topic.into_string(),
                    data: message.data,
                    source: message.source,
                });
            }
            SwarmEvent::Behaviour(BehaviourEvent::Mdns(mdns::Event::Discovered(found))) => {
                if let Some(kad) = self.swarm.behaviour_mut().kad.as_mut() {
                    for (peer, address) in found {
                        kad.add_address(&peer, address);
                    }
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Kad(kad::Event::OutboundQueryProgressed {
                id,
                result: kad::QueryResult::GetProviders(result),
                step,
                ..
            })) => self.on_providers(id, result, step.last),
            _ => {}
        }
    }

    /// Dials the providers found (their addresses are known to Kademlia only while
    /// the query runs), and answers once the query ended and every dial did.
    fn on_providers(&mut self, id: kad::QueryId, result: kad::GetProvidersResult, last: bool) {
        let local = *self.swarm.local_peer_id();
        let Some(finding) = self.finding.get_mut(&id) else { return };
        if let Ok(kad::GetProvidersOk::FoundProviders { providers, .. }) = result {
            for peer in providers.into_iter().filter(|p| *p != local) {
                match self.connected.get(&peer) {
                    Some(address) => finding.found.push(address.clone().with_p2p(peer).unwrap_or_else(|a| a)),
                    None if self
                        .swarm
                        .dial(DialOpts::peer_id(peer).condition(PeerCondition::Always).build())
                        .is_ok() =>
                    {
                        finding.dialling.insert(peer);
                    }
                    None => {}
                }
            }
        }
        finding.ended |= last;
        self.answer_finished();
    }

    /// A dial of `peer` ended: at `address`, or failed.
    fn reached(&mut self, peer: PeerId, address: Option<Multiaddr>) {
        for finding in self.finding.values_mut() {
            if finding.dialling.remove(&peer) {
                if let Some(address) = &address {
                    finding.found.push(address.clone().with_p2p(peer).unwrap_or_else(|a| a));
                }
            }
        }
        self.answer_finished();
    }

    fn answer_finished(&mut self) {
        let done: Vec<kad::QueryId> = self
            .finding
            .iter()
            .filter(|(_, f)| f.ended && f.dialling.is_empty())
            .map(|(id, _)| *id)
            .collect();
        for id in done {
            if let Some(finding) = self.finding.remove(&id) {
                let _ = finding.reply.send(finding.found);
            }
        }
    }
}

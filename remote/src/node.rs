//! A running libp2p node: TCP (noise, yamux) and QUIC, identify and ping, and raw
//! streams for the sync protocol. The swarm runs on its own task; the node's
//! handle opens and accepts streams.

use futures::StreamExt;
use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{gossipsub, identify, noise, ping, tcp, yamux, Multiaddr, PeerId, StreamProtocol};
use std::collections::HashMap;
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

/// The behaviours every pg node runs.
#[derive(NetworkBehaviour)]
struct Behaviour {
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    stream: libp2p_stream::Behaviour,
    gossipsub: gossipsub::Behaviour,
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

/// Connections idle this long are closed (libp2p's default, 10 s, would cut a
/// clone that pauses to write to disk).
const IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// What the node's task is asked to do.
enum Command {
    /// Connect to a peer at an address; answer once connected or failed.
    Dial(PeerId, Multiaddr, oneshot::Sender<Result<(), String>>),
    /// Receive a gossipsub topic's messages.
    Subscribe(String),
    /// Publish on a topic (dropped when no peer listens: announcements are hints).
    Publish(String, Vec<u8>),
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
    /// Starts a node with `keypair`, listening on `listen` (none: a client only).
    /// Must be called within a tokio runtime.
    pub async fn start(keypair: Keypair, listen: &[Multiaddr]) -> Result<Node, Error> {
        let setup = |e: &dyn std::fmt::Display| Error::Setup(e.to_string());
        let mut swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
            .with_tokio()
            .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
            .map_err(|e| setup(&e))?
            .with_quic()
            .with_behaviour(|key| {
                let config = gossipsub::ConfigBuilder::default()
                    .heartbeat_interval(Duration::from_millis(500))
                    .build()?;
                let gossipsub =
                    gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Signed(key.clone()), config)?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(Behaviour {
                    identify: identify::Behaviour::new(identify::Config::new("/pg/1".into(), key.public())),
                    ping: ping::Behaviour::default(),
                    stream: libp2p_stream::Behaviour::new(),
                    gossipsub,
                })
            })
            .map_err(|e| setup(&e))?
            .with_swarm_config(|config| config.with_idle_connection_timeout(IDLE_TIMEOUT))
            .build();
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
        let peer_id = *swarm.local_peer_id();
        let control = swarm.behaviour().stream.new_control();
        let (commands, mut receive) = mpsc::unbounded_channel();
        let (announce, announcements) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut dialing: HashMap<PeerId, Vec<oneshot::Sender<Result<(), String>>>> = HashMap::new();
            loop {
                tokio::select! {
                    event = swarm.select_next_some() => match event {
                        SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                            for waiting in dialing.remove(&peer_id).unwrap_or_default() {
                                let _ = waiting.send(Ok(()));
                            }
                        }
                        SwarmEvent::OutgoingConnectionError { peer_id: Some(peer_id), error, .. } => {
                            for waiting in dialing.remove(&peer_id).unwrap_or_default() {
                                let _ = waiting.send(Err(error.to_string()));
                            }
                        }
                        SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message { message, .. })) => {
                            let _ = announce.send(Announcement {
                                topic: message.topic.into_string(),
                                data: message.data,
                                source: message.source,
                            });
                        }
                        _ => {}
                    },
                    command = receive.recv() => match command {
                        Some(Command::Dial(peer, address, done)) => {
                            if swarm.is_connected(&peer) {
                                let _ = done.send(Ok(()));
                                continue;
                            }
                            let options = DialOpts::peer_id(peer).addresses(vec![address]).build();
                            match swarm.dial(options) {
                                Ok(()) => dialing.entry(peer).or_default().push(done),
                                Err(error) => { let _ = done.send(Err(error.to_string())); }
                            }
                        }
                        Some(Command::Subscribe(topic)) => {
                            let _ = swarm.behaviour_mut().gossipsub.subscribe(&gossipsub::IdentTopic::new(topic));
                        }
                        Some(Command::Publish(topic, data)) => {
                            let _ = swarm.behaviour_mut().gossipsub.publish(gossipsub::IdentTopic::new(topic), data);
                        }
                        None => break,
                    },
                }
            }
        });
        let announcements = std::sync::Mutex::new(Some(announcements));
        Ok(Node { peer_id, listen_addresses, control, commands, announcements })
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

//! The messages between a client and the daemon: one request, one reply, each
//! framed as a u32 little-endian length and a body whose first byte says what
//! it is. Documented with test vectors in `docs/FORMAT.md` ("watch protocol").

use pg_core::bytes::{put_bytes, put_u32, put_u64, Reader, Truncated};
use std::io::{Read, Write};

/// The longest body either side accepts (a journal at its bound fits).
pub const MAX_MESSAGE: u32 = 64 << 20;

/// What a client asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// What changed since this token (empty: the client has none)?
    Changes(Vec<u8>),
    /// How is the daemon?
    Status,
    /// Stop.
    Stop,
}

/// What the daemon answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// The token for now, and the paths changed since the one asked about,
    /// or `None` if the daemon cannot tell.
    Changes {
        /// Ask with this next time.
        token: Vec<u8>,
        /// Changed paths, sorted; `None`: look at everything.
        changed: Option<Vec<Vec<u8>>>,
    },
    /// The daemon's state.
    Status(DaemonStatus),
    /// It is stopping.
    Stopped,
    /// The request made no sense to it.
    Refused(String),
}

/// What `pg watch status` shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DaemonStatus {
    /// The daemon's process id.
    pub pid: u32,
    /// When it started (seconds since 1970).
    pub started: u64,
    /// How many directories it watches.
    pub watched: u32,
    /// How many changed paths its journal holds.
    pub journal: u32,
    /// The working copy it watches.
    pub workdir: Vec<u8>,
}

impl Request {
    /// The request's body.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Request::Changes(token) => [&b"q"[..], token].concat(),
            Request::Status => b"s".to_vec(),
            Request::Stop => b"x".to_vec(),
        }
    }

    /// A request from its body.
    pub fn decode(body: &[u8]) -> Option<Request> {
        match body.split_first()? {
            (b'q', token) => Some(Request::Changes(token.to_vec())),
            (b's', []) => Some(Request::Status),
            (b'x', []) => Some(Request::Stop),
            _ => None,
        }
    }
}

impl Reply {
    /// The reply's body.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Reply::Changes { token, changed } => {
                out.push(b'c');
                put_bytes(&mut out, token);
                out.push(changed.is_some() as u8);
                if let Some(paths) = changed {
                    put_u32(&mut out, paths.len() as u32);
                    paths.iter().for_each(|p| put_bytes(&mut out, p));
                }
            }
            Reply::Status(status) => {
                out.push(b's');
                put_u32(&mut out, status.pid);
                put_u64(&mut out, status.started);
                put_u32(&mut out, status.watched);
                put_u32(&mut out, status.journal);
                put_bytes(&mut out, &status.workdir);
            }
            Reply::Stopped => out.push(b'x'),
            Reply::Refused(why) => {
                out.push(b'e');
                out.extend_from_slice(why.as_bytes());
            }
        }
        out
    }

    /// A reply from its body.
    pub fn decode(body: &[u8]) -> Option<Reply> {
        let (&kind, rest) = body.split_first()?;
        let mut input = Reader::new(rest);
        let reply = match kind {
            b'c' => read_changes(&mut input).ok()?,
            b's' => Reply::Status(read_status(&mut input).ok()?),
            b'x' => Reply::Stopped,
            b'e' => return Some(Reply::Refused(String::from_utf8_lossy(rest).into_owned())),
            _ => return None,
        };
        input.rest().is_empty().then_some(reply)
    }
}

fn read_changes(input: &mut Reader) -> Result<Reply, Truncated> {
    let token = input.bytes()?.to_vec();
    let changed = match input.u8()? {
        0 => None,
        _ => {
            let count = input.u32()? as usize;
            let mut paths = Vec::with_capacity(count.min(input.rest().len() / 4));
            for _ in 0..count {
                paths.push(input.bytes()?.to_vec());
            }
            Some(paths)
        }
    };
    Ok(Reply::Changes { token, changed })
}

fn read_status(input: &mut Reader) -> Result<DaemonStatus, Truncated> {
    Ok(DaemonStatus {
        pid: input.u32()?,
        started: input.u64()?,
        watched: input.u32()?,
        journal: input.u32()?,
        workdir: input.bytes()?.to_vec(),
    })
}

/// Sends one framed message.
pub fn send(stream: &mut impl Write, body: &[u8]) -> std::io::Result<()> {
    let mut framed = Vec::with_capacity(4 + body.len());
    put_bytes(&mut framed, body);
    stream.write_all(&framed)?;
    stream.flush()
}

/// Receives one framed message, refusing one longer than [`MAX_MESSAGE`].
pub fn receive(stream: &mut impl Read) -> std::io::Result<Vec<u8>> {
    let mut len = [0; 4];
    stream.read_exact(&mut len)?;
    let len = u32::from_le_bytes(len);
    if len > MAX_MESSAGE {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "message too long"));
    }
    let mut body = vec![0; len as usize];
    stream.read_exact(&mut body)?;
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn path() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(any::<u8>(), 0..10)
    }

    fn reply() -> impl Strategy<Value = Reply> {
        prop_oneof![
            (path(), proptest::option::of(proptest::collection::vec(path(), 0..5)))
                .prop_map(|(token, changed)| Reply::Changes { token, changed }),
            (any::<u32>(), any::<u64>(), any::<u32>(), any::<u32>(), path()).prop_map(
                |(pid, started, watched, journal, workdir)| Reply::Status(DaemonStatus {
                    pid,
                    started,
                    watched,
                    journal,
                    workdir
                })
            ),
            Just(Reply::Stopped),
            "[a-z ]{0,12}".prop_map(Reply::Refused),
        ]
    }

    proptest! {
        #[test]
        fn replies_decode_to_what_was_encoded(reply in reply()) {
            let body = reply.encode();
            prop_assert_eq!(Reply::decode(&body), Some(reply.clone()));
            if !matches!(reply, Reply::Stopped | Reply::Refused(_)) {
                prop_assert_eq!(Reply::decode(&body[..body.len() - 1]), None);
                prop_assert_eq!(Reply::decode(&[&body[..], b"!"].concat()), None);
            }
        }

        #[test]
        fn requests_decode_to_what_was_encoded(token in path()) {
            for request in [Request::Changes(token.clone()), Request::Status, Request::Stop] {
                prop_assert_eq!(Request::decode(&request.encode()), Some(request));
            }
        }

        #[test]
        fn frames_carry_their_body(body in proptest::collection::vec(any::<u8>(), 0..100)) {
            let mut wire = Vec::new();
            send(&mut wire, &body).unwrap();
            prop_assert_eq!(receive(&mut &wire[..]).unwrap(), body);
            prop_assert!(receive(&mut &wire[..wire.len() - 1]).is_err() || wire.len() == 4);
        }
    }

    #[test]
    fn test_vectors_of_docs_format() {
        let reply = Reply::Changes { token: vec![1, 2], changed: Some(vec![b"a/b".to_vec()]) };
        assert_eq!(reply.encode(), b"c\x02\x00\x00\x00\x01\x02\x01\x01\x00\x00\x00\x03\x00\x00\x00a/b");
        let unknown = Reply::Changes { token: vec![], changed: None };
        assert_eq!(unknown.encode(), b"c\x00\x00\x00\x00\x00");
        assert_eq!(Request::Changes(vec![9]).encode(), b"q\x09");
        let mut wire = Vec::new();
        send(&mut wire, b"s").unwrap();
        assert_eq!(wire, b"\x01\x00\x00\x00s");
        assert_eq!(Request::decode(b"sx"), None);
        let too_long = [&(MAX_MESSAGE + 1).to_le_bytes()[..], b"x"].concat();
        assert!(receive(&mut &too_long[..]).is_err());
    }
}

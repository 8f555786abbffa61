//! The daemon's memory: which paths changed, each numbered by the sequence at
//! its latest change, and the tokens it can still answer for.
//!
//! Memory stays bounded: past `limit` paths the journal forgets them all and
//! answers "cannot tell" to older tokens (one full walk follows). Answering a
//! token also drops what that token no longer needs; tokens older than the
//! newest one answered are then refused, since what they would need is gone.

use std::collections::HashMap;

/// A point in a daemon's journal: its instance (a random number a restart
/// changes) and a sequence number. Sent as 16 bytes, both little-endian.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    /// Which run of the daemon issued it.
    pub instance: u64,
    /// The journal's sequence when it was issued.
    pub seq: u64,
}

impl Token {
    /// The token's 16 bytes.
    pub fn encode(&self) -> Vec<u8> {
        [self.instance.to_le_bytes(), self.seq.to_le_bytes()].concat()
    }

    /// A token from its bytes; `None` for anything else (an empty token is a
    /// client that has none yet).
    pub fn decode(bytes: &[u8]) -> Option<Token> {
        let (instance, seq) = bytes.split_first_chunk::<8>()?;
        let seq: [u8; 8] = seq.try_into().ok()?;
        Some(Token { instance: u64::from_le_bytes(*instance), seq: u64::from_le_bytes(seq) })
    }
}

/// Changed paths by sequence.
#[derive(Debug)]
pub struct Journal {
    instance: u64,
    seq: u64,
    /// Tokens older than this cannot be answered.
    answerable_from: u64,
    changed: HashMap<Vec<u8>, u64>,
    limit: usize,
}

impl Journal {
    /// An empty journal for the daemon run `instance`, holding at most `limit` paths.
    pub fn new(instance: u64, limit: usize) -> Journal {
        Journal { instance, seq: 1, answerable_from: 1, changed: HashMap::new(), limit }
    }

    /// Notes that `path` changed.
    pub fn record(&mut self, path: Vec<u8>) {
        self.seq += 1;
        self.changed.insert(path, self.seq);
        if self.changed.len() > self.limit {
            self.forget();
        }
    }

    /// Forgets every path: changes were lost, or too many to keep.
    pub fn forget(&mut self) {
        self.changed.clear();
        self.seq += 1;
        self.answerable_from = self.seq;
    }

    /// The token for now.
    pub fn token(&self) -> Token {
        Token { instance: self.instance, seq: self.seq }
    }

    /// How many paths it holds.
    pub fn len(&self) -> usize {
        self.changed.len()
    }

    /// Whether it holds no path.
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty()
    }

    /// The paths changed since `since` (sorted), or `None` if the journal
    /// cannot tell. What `since` no longer needs is dropped.
    pub fn since(&mut self, since: Option<Token>) -> Option<Vec<Vec<u8>>> {
        let since = since.filter(|t| t.instance == self.instance && t.seq >= self.answerable_from)?;
        self.changed.retain(|_, seq| *seq > since.seq);
        self.answerable_from = since.seq;
        let mut paths: Vec<Vec<u8>> = self.changed.keys().cloned().collect();
        paths.sort_unstable();
        Some(paths)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(names: &[&str]) -> Option<Vec<Vec<u8>>> {
        Some(names.iter().map(|n| n.as_bytes().to_vec()).collect())
    }

    #[test]
    fn answers_what_changed_after_a_token() {
        let mut journal = Journal::new(7, 100);
        journal.record(b"a".to_vec());
        let first = journal.token();
        journal.record(b"b".to_vec());
        journal.record(b"a/c".to_vec());
        assert_eq!(journal.since(Some(first)), paths(&["a/c", "b"]));
        let second = journal.token();
        assert_eq!(journal.since(Some(second)), paths(&[]));
        // `first` is older than a token answered since: what it needs is gone.
        assert_eq!(journal.since(Some(first)), None);
    }

    #[test]
    fn cannot_tell_for_other_runs_no_token_or_lost_changes() {
        let mut journal = Journal::new(7, 2);
        let token = journal.token();
        assert_eq!(journal.since(Some(Token { instance: 8, seq: token.seq })), None);
        assert_eq!(journal.since(None), None);
        for name in ["a", "b", "c"] {
            journal.record(name.as_bytes().to_vec());
        }
        assert!(journal.is_empty(), "past its limit the journal forgets");
        assert_eq!(journal.since(Some(token)), None);
        let after = journal.token();
        journal.record(b"d".to_vec());
        assert_eq!(journal.since(Some(after)), paths(&["d"]));
    }

    #[test]
    fn tokens_round_trip_and_reject_other_lengths() {
        let token = Token { instance: u64::MAX - 3, seq: 42 };
        assert_eq!(Token::decode(&token.encode()), Some(token));
        assert_eq!(Token::decode(b""), None);
        assert_eq!(Token::decode(&token.encode()[..15]), None);
        assert_eq!(Token::decode(&[token.encode(), vec![0]].concat()), None);
    }
}

//! The node's key: an ed25519 key pair kept in a file, made on first use.

use libp2p::identity::Keypair;
use std::path::{Path, PathBuf};

/// The key file's name in `$PG_HOME`.
pub const FILE_NAME: &str = "node.key";

/// Errors reading or making the node key.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file does not hold a key.
    #[error("{0}: not a node key (remove it to make a new one; peers will see a new peer id)")]
    Malformed(PathBuf),
}

/// The key pair in `path` (libp2p's protobuf encoding), made (readable by its owner
/// only) when the file does not exist.
pub fn load_or_create(path: &Path) -> Result<Keypair, Error> {
    let io = |source| Error::Io { path: path.to_owned(), source };
    match std::fs::read(path) {
        Ok(bytes) => Keypair::from_protobuf_encoding(&bytes).map_err(|_| Error::Malformed(path.to_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let keypair = Keypair::generate_ed25519();
            let bytes = keypair.to_protobuf_encoding().expect("ed25519 keys encode");
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(io)?;
            }
            write_private(path, &bytes).map_err(io)?;
            Ok(keypair)
        }
        Err(e) => Err(io(e)),
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_made_once_and_then_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("home").join(FILE_NAME);
        let first = load_or_create(&path).unwrap();
        let again = load_or_create(&path).unwrap();
        assert_eq!(first.public().to_peer_id(), again.public().to_peer_id());
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        std::fs::write(&path, b"junk").unwrap();
        assert!(matches!(load_or_create(&path), Err(Error::Malformed(_))));
    }
}

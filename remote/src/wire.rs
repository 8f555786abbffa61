//! Frames and envelopes: how a message travels on a stream.
//!
//! ```text
//! frame    = length (u32, big-endian) || envelope         length <= MAX_FRAME
//! envelope = function id (multihash, binary) || payload (CBOR)
//! ```
//!
//! The function id names the protocol function that handles the payload (see
//! [`crate::protocol`]); there is no version field, the hash is the version.

use crate::protocol::{Function, Message};
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use pg_core::ObjectId;

/// The largest frame a peer may send (16 MiB): anything longer is refused.
pub const MAX_FRAME: usize = 16 << 20;

/// What went wrong reading or writing a message.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The stream failed or closed.
    #[error("stream: {0}")]
    Io(#[from] std::io::Error),
    /// A frame longer than [`MAX_FRAME`].
    #[error("a frame of {0} bytes, over the limit of {MAX_FRAME}")]
    TooLarge(usize),
    /// The envelope does not start with a multihash.
    #[error("a message without a function id: {0}")]
    NoFunction(String),
    /// A function id this node does not know.
    #[error("a message for unknown protocol function {0}")]
    UnknownFunction(ObjectId),
    /// The payload does not decode for its function.
    #[error("a malformed {function} message: {reason}")]
    Payload {
        /// The function's name.
        function: &'static str,
        /// Why.
        reason: String,
    },
}

/// The bytes of a message's envelope.
pub fn envelope(message: &Message) -> Vec<u8> {
    let mut bytes = Vec::new();
    append_envelope(message, &mut bytes);
    bytes
}

fn append_envelope(message: &Message, out: &mut Vec<u8>) {
    out.extend_from_slice(message.function().id().as_bytes());
    message.write_payload(out);
}

/// Reads an envelope back into a message.
pub fn open(envelope: &[u8]) -> Result<Message, Error> {
    let (id, used) = ObjectId::read_prefix(envelope).map_err(|e| Error::NoFunction(e.to_string()))?;
    let function = Function::by_id(&id).ok_or(Error::UnknownFunction(id))?;
    Message::read_payload(function, &envelope[used..])
        .map_err(|reason| Error::Payload { function: function.name(), reason })
}

/// Writes one message as a frame, in one write: on a yamux stream each write is a
/// data frame of its own, with a 12-byte header.
pub async fn write<W: AsyncWrite + Unpin>(stream: &mut W, message: &Message) -> Result<(), Error> {
    let mut frame = vec![0; 4];
    append_envelope(message, &mut frame);
    let length = frame.len() - 4;
    if length > MAX_FRAME {
        return Err(Error::TooLarge(length));
    }
    frame[..4].copy_from_slice(&(length as u32).to_be_bytes());
    stream.write_all(&frame).await?;
    stream.flush().await?;
    Ok(())
}

/// Reads one frame and opens it; refuses frames over [`MAX_FRAME`] before reading
/// them.
pub async fn read<R: AsyncRead + Unpin>(stream: &mut R) -> Result<Message, Error> {
    read_sized(stream).await.map(|(message, _)| message)
}

/// [`read`], also returning the frame's size on the wire.
pub async fn read_sized<R: AsyncRead + Unpin>(stream: &mut R) -> Result<(Message, usize), Error> {
    let mut length = [0; 4];
    stream.read_exact(&mut length).await?;
    let length = u32::from_be_bytes(length) as usize;
    if length > MAX_FRAME {
        return Err(Error::TooLarge(length));
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await?;
    Ok((open(&body)?, 4 + length))
}

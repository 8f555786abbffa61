//! Parsing a fast-import stream, command by command.

use super::{Command, CommitCommand, CommitIsh, DataRef, FileOp, Mark, Signature, TagCommand};
use std::io::{BufRead, Read};

/// Why a stream could not be read: where, and what was expected there.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The bytes do not follow the grammar.
    #[error("line {line} (byte {offset}): expected {expected}, found '{found}'")]
    Syntax {
        /// 1-based line number.
        line: u64,
        /// Byte offset of the line's start.
        offset: u64,
        /// What the grammar allows here.
        expected: String,
        /// What was there (shortened).
        found: String,
    },
    /// The stream ended inside a command.
    #[error("line {line} (byte {offset}): the stream ends inside a command; expected {expected}")]
    Truncated {
        /// 1-based line number.
        line: u64,
        /// Byte offset.
        offset: u64,
        /// What was still expected.
        expected: String,
    },
    /// A feature pg does not implement (git refuses unknown features too).
    #[error("line {line}: feature '{feature}' is not supported by pg")]
    UnsupportedFeature {
        /// 1-based line number.
        line: u64,
        /// The feature.
        feature: String,
    },
    /// Reading the input failed.
    #[error("reading the stream: {0}")]
    Io(#[from] std::io::Error),
}

/// The features pg's importer implements, as `feature` may name them.
const FEATURES: &[&str] = &[
    "date-format",
    "import-marks",
    "import-marks-if-exists",
    "export-marks",
    "relative-marks",
    "no-relative-marks",
    "force",
    "done",
    "alias",
    "notes",
];

/// Reads commands from a stream one at a time.
pub struct Parser<R> {
    input: R,
    /// A line read but not yet consumed (without its LF).
    pending: Option<Vec<u8>>,
    /// Line number and offset of the pending line, or of the next one.
    line: u64,
    offset: u64,
    /// Offset where the pending line started.
    pending_offset: u64,
    done: bool,
}

fn shorten(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    if text.chars().count() > 60 {
        format!("{}…", text.chars().take(60).collect::<String>())
    } else {
        text.into_owned()
    }
}

impl<R: BufRead> Parser<R> {
    /// A parser over `input`.
    pub fn new(input: R) -> Self {
        Parser { input, pending: None, line: 0, offset: 0, pending_offset: 0, done: false }
    }

    /// How many bytes have been consumed.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    fn syntax(&self, expected: &str, found: &[u8]) -> ParseError {
        ParseError::Syntax {
            line: self.line,
            offset: self.pending_offset,
            expected: expected.to_owned(),
            found: shorten(found),
        }
    }

    fn truncated(&self, expected: &str) -> ParseError {
        ParseError::Truncated { line: self.line + 1, offset: self.offset, expected: expected.to_owned() }
    }

    /// The next line (without LF), or `None` at the end of the stream.
    fn peek_line(&mut self) -> Result<Option<&[u8]>, ParseError> {
        if self.pending.is_none() {
            let mut line = Vec::new();
            let read = self.input.read_until(b'\n', &mut line)?;
            if read == 0 {
                return Ok(None);
            }
            self.pending_offset = self.offset;
            self.offset += read as u64;
            self.line += 1;
            if line.last() == Some(&b'\n') {
                line.pop();
            }
            self.pending = Some(line);
        }
        Ok(self.pending.as_deref())
    }

    fn take_line(&mut self, expected: &str) -> Result<Vec<u8>, ParseError> {
        self.peek_line()?;
        self.pending.take().ok_or_else(|| self.truncated(expected))
    }

    /// Takes the next line when it starts with `prefix`, returning the rest.
    fn take_prefixed(&mut self, prefix: &[u8]) -> Result<Option<Vec<u8>>, ParseError> {
        match self.peek_line()? {
            Some(line) if line.starts_with(prefix) => {
                let line = self.pending.take().expect("peeked");
                Ok(Some(line[prefix.len()..].to_vec()))
            }
            _ => Ok(None),
        }
    }

    fn skip_blank_and_comments(&mut self) -> Result<(), ParseError> {
        while let Some(line) = self.peek_line()? {
            if !(line.is_empty() || line.starts_with(b"#")) {
                break;
            }
            self.pending = None;
        }
        Ok(())
    }

    /// The next command, or `None` at the end of the stream (or after `done`).
    pub fn next_command(&mut self) -> Result<Option<Command>, ParseError> {
        if self.done {
            return Ok(None);
        }
        self.skip_blank_and_comments()?;
        let Some(line) = self.pending.take() else { return Ok(None) };
        let (word, rest) = match line.iter().position(|&b| b == b' ') {
            Some(space) => (&line[..space], Some(&line[space + 1..])),
            None => (&line[..], None),
        };
        let command = match (word, rest) {
            (b"blob", None) => self.blob()?,
            (b"commit", Some(reference)) => Command::Commit(self.commit(reference.to_vec())?),
            (b"tag", Some(name)) => Command::Tag(self.tag(name.to_vec())?),
            (b"reset", Some(reference)) => {
                let from = self.take_prefixed(b"from ")?.map(|c| commit_ish(&c));
                Command::Reset { reference: reference.to_vec(), from }
            }
            (b"alias", None) => {
                let mark = self.required_mark()?;
                let to =
                    self.take_prefixed(b"to ")?.ok_or_else(|| self.expected_here("'to <commit-ish>'"))?;
                Command::Alias { mark, to: commit_ish(&to) }
            }
            (b"checkpoint", None) => Command::Checkpoint,
            (b"progress", Some(message)) => Command::Progress(message.to_vec()),
            (b"done", None) => {
                self.done = true;
                Command::Done
            }
            (b"feature", Some(spec)) => self.feature(spec)?,
            (b"option", Some(option)) => Command::Option(option.to_vec()),
            (b"ls" | b"cat-blob" | b"get-mark", _) => {
                return Err(self.syntax("a command (pg answers no interactive ls/cat-blob/get-mark)", &line))
            }
            _ => return Err(self.syntax(
                "a command (blob, commit, tag, reset, alias, checkpoint, progress, done, feature, option)",
                &line,
            )),
        };
        Ok(Some(command))
    }

    fn expected_here(&mut self, expected: &str) -> ParseError {
        match self.pending.clone() {
            Some(line) => self.syntax(expected, &line),
            None => self.truncated(expected),
        }
    }

    fn feature(&self, spec: &[u8]) -> Result<Command, ParseError> {
        let (name, argument) = match spec.iter().position(|&b| b == b'=') {
            Some(eq) => (&spec[..eq], Some(spec[eq + 1..].to_vec())),
            None => (spec, None),
        };
        let known = FEATURES.iter().any(|f| f.as_bytes() == name);
        let date_ok =
            name != b"date-format" || matches!(argument.as_deref(), Some(b"raw" | b"raw-permissive"));
        if !known || !date_ok {
            return Err(ParseError::UnsupportedFeature { line: self.line, feature: shorten(spec) });
        }
        Ok(Command::Feature { name: name.to_vec(), argument })
    }

    fn mark(&mut self) -> Result<Option<Mark>, ParseError> {
        match self.take_prefixed(b"mark ")? {
            None => Ok(None),
            Some(text) => parse_mark(&text).map(Some).ok_or_else(|| self.syntax("'mark :<number>'", &text)),
        }
    }

    fn required_mark(&mut self) -> Result<Mark, ParseError> {
        self.peek_line()?;
        match self.mark()? {
            Some(mark) => Ok(mark),
            None => Err(self.expected_here("'mark :<number>'")),
        }
    }

    fn blob(&mut self) -> Result<Command, ParseError> {
        let mark = self.mark()?;
        let original_oid = self.take_prefixed(b"original-oid ")?;
        let data = self.data()?;
        Ok(Command::Blob { mark, original_oid, data })
    }

    fn commit(&mut self, reference: Vec<u8>) -> Result<CommitCommand, ParseError> {
        let mut commit = CommitCommand { reference, ..CommitCommand::default() };
        commit.mark = self.mark()?;
        commit.original_oid = self.take_prefixed(b"original-oid ")?;
        commit.author = self.take_prefixed(b"author ")?;
        commit.committer = match self.take_prefixed(b"committer ")? {
            Some(committer) => committer,
            None => return Err(self.expected_here("'committer <identity>'")),
        };
        while let Some(spec) = self.take_prefixed(b"gpgsig ")? {
            let mut words = spec.splitn(2, |&b| b == b' ');
            let algorithm = words.next().unwrap_or_default().to_vec();
            let format = words.next().map(<[u8]>::to_vec);
            let data = self.data()?;
            commit.signatures.push(Signature { algorithm, format, data });
        }
        commit.encoding = self.take_prefixed(b"encoding ")?;
        commit.message = self.data()?;
        commit.from = self.take_prefixed(b"from ")?.map(|c| commit_ish(&c));
        while let Some(merge) = self.take_prefixed(b"merge ")? {
            commit.merges.push(commit_ish(&merge));
        }
        while let Some(op) = self.file_op()? {
            commit.ops.push(op);
        }
        Ok(commit)
    }

    fn tag(&mut self, name: Vec<u8>) -> Result<TagCommand, ParseError> {
        let mark = self.mark()?;
        let from = match self.take_prefixed(b"from ")? {
            Some(from) => commit_ish(&from),
            None => return Err(self.expected_here("'from <commit-ish>'")),
        };
        let original_oid = self.take_prefixed(b"original-oid ")?;
        let tagger = self.take_prefixed(b"tagger ")?;
        let message = self.data()?;
        Ok(TagCommand { name, mark, from, original_oid, tagger, message })
    }

    /// The next file operation of a commit, or `None` when the commit ends.
    fn file_op(&mut self) -> Result<Option<FileOp>, ParseError> {
        let Some(line) = self.peek_line()? else { return Ok(None) };
        let op = match line.first() {
            _ if line.is_empty() => {
                self.pending = None;
                return Ok(None);
            }
            _ if line == b"deleteall" => FileOp::DeleteAll,
            Some(b'#') => {
                self.pending = None;
                return self.file_op();
            }
            Some(b'M' | b'D' | b'C' | b'R' | b'N') if line.get(1) == Some(&b' ') => {
                let line = line.to_vec();
                self.pending = None;
                return self.parse_file_op(&line).map(Some);
            }
            // Anything else starts the next command.
            _ => return Ok(None),
        };
        self.pending = None;
        Ok(Some(op))
    }

    fn parse_file_op(&mut self, line: &[u8]) -> Result<FileOp, ParseError> {
        let body = &line[2..];
        match line[0] {
            b'M' => {
                let mut parts = body.splitn(3, |&b| b == b' ');
                let (Some(mode), Some(dataref), Some(path)) = (parts.next(), parts.next(), parts.next())
                else {
                    return Err(self.syntax("'M <mode> <dataref> <path>'", line));
                };
                let mode = normal_mode(mode)
                    .ok_or_else(|| self.syntax("a mode (100644, 100755, 120000, 160000, 040000)", mode))?;
                let path = self.whole_path(path, line)?;
                let source = self.data_ref(dataref, line)?;
                Ok(FileOp::Modify { mode, source, path })
            }
            b'D' => Ok(FileOp::Delete(self.whole_path(body, line)?)),
            b'C' | b'R' => {
                let (source, rest) =
                    split_path(body).ok_or_else(|| self.syntax("'<source> <destination>'", line))?;
                let destination = self.whole_path(rest, line)?;
                Ok(if line[0] == b'C' {
                    FileOp::Copy { source, destination }
                } else {
                    FileOp::Rename { source, destination }
                })
            }
            _ => {
                let (dataref, commit) = match body.iter().position(|&b| b == b' ') {
                    Some(space) => (&body[..space], &body[space + 1..]),
                    None => return Err(self.syntax("'N <dataref> <commit-ish>'", line)),
                };
                let source = self.data_ref(dataref, line)?;
                Ok(FileOp::Note { source, commit: commit_ish(commit) })
            }
        }
    }

    fn data_ref(&mut self, text: &[u8], line: &[u8]) -> Result<DataRef, ParseError> {
        if text == b"inline" {
            return Ok(DataRef::Inline(self.data()?));
        }
        if let Some(mark) = parse_mark(text) {
            return Ok(DataRef::Mark(mark));
        }
        if !text.is_empty() && text.iter().all(u8::is_ascii_hexdigit) {
            return Ok(DataRef::Id(text.to_ascii_lowercase()));
        }
        Err(self.syntax("a data reference (:mark, an object id, or inline)", line))
    }

    fn whole_path(&self, text: &[u8], line: &[u8]) -> Result<Vec<u8>, ParseError> {
        let path = if text.starts_with(b"\"") {
            match unquote(text) {
                Some((path, [])) => path,
                _ => return Err(self.syntax("a path (a C-style quoted string)", line)),
            }
        } else {
            text.to_vec()
        };
        if path.is_empty() {
            return Err(self.syntax("a non-empty path", line));
        }
        Ok(path)
    }

    /// `data <count>` and that many bytes, or `data <<DELIM` and lines up to DELIM.
    fn data(&mut self) -> Result<Vec<u8>, ParseError> {
        let header = self.take_line("'data <count>'")?;
        let Some(spec) = header.strip_prefix(b"data ") else {
            self.pending = Some(header.clone());
            return Err(self.syntax("'data <count>' or 'data <<<delimiter>'", &header));
        };
        if let Some(delimiter) = spec.strip_prefix(b"<<") {
            return self.delimited_data(delimiter.to_vec());
        }
        let count: usize = std::str::from_utf8(spec)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| self.syntax("a byte count after 'data'", &header))?;
        let mut data = Vec::with_capacity(count.min(64 << 20));
        let read = (&mut self.input).take(count as u64).read_to_end(&mut data)?;
        self.offset += read as u64;
        if read < count {
            return Err(self.truncated(&format!("{count} bytes of data, got {read}")));
        }
        self.line += data.iter().filter(|&&b| b == b'\n').count() as u64;
        // One LF may follow the data.
        if self.input.fill_buf()?.first() == Some(&b'\n') {
            self.input.consume(1);
            self.offset += 1;
            self.line += 1;
        }
        Ok(data)
    }

    fn delimited_data(&mut self, delimiter: Vec<u8>) -> Result<Vec<u8>, ParseError> {
        let mut data = Vec::new();
        loop {
            let line = self.take_line(&format!("the data delimiter '{}'", shorten(&delimiter)))?;
            if line == delimiter {
                return Ok(data);
            }
            data.extend_from_slice(&line);
            data.push(b'\n');
        }
    }
}

fn parse_mark(text: &[u8]) -> Option<Mark> {
    let digits = text.strip_prefix(b":")?;
    std::str::from_utf8(digits).ok()?.parse().ok().filter(|&m| m > 0)
}

fn commit_ish(text: &[u8]) -> CommitIsh {
    match parse_mark(text) {
        Some(mark) => CommitIsh::Mark(mark),
        None => CommitIsh::Name(text.to_vec()),
    }
}

/// git's modes, normalised to how trees write them.
fn normal_mode(mode: &[u8]) -> Option<Vec<u8>> {
    let normal: &[u8] = match mode {
        b"644" | b"100644" => b"100644",
        b"755" | b"100755" => b"100755",
        b"120000" => b"120000",
        b"160000" => b"160000",
        b"040000" | b"40000" => b"40000",
        _ => return None,
    };
    Some(normal.to_vec())
}

/// Splits `<path> SP <rest>`, the first path quoted or ending at the first space.
fn split_path(text: &[u8]) -> Option<(Vec<u8>, &[u8])> {
    if text.starts_with(b"\"") {
        let (path, rest) = unquote(text)?;
        Some((path, rest.strip_prefix(b" ")?))
    } else {
        let space = text.iter().position(|&b| b == b' ')?;
        Some((text[..space].to_vec(), &text[space + 1..]))
    }
}

/// Reads a C-style quoted string at the start of `text`; returns it and the rest.
fn unquote(text: &[u8]) -> Option<(Vec<u8>, &[u8])> {
    let mut out = Vec::new();
    let mut i = 1;
    loop {
        match *text.get(i)? {
            b'"' => return Some((out, &text[i + 1..])),
            b'\\' => {
                let escaped = *text.get(i + 1)?;
                i += 2;
                let byte = match escaped {
                    b'a' => 7,
                    b'b' => 8,
                    b'f' => 12,
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'v' => 11,
                    b'"' | b'\\' => escaped,
                    b'0'..=b'3' => {
                        let octal = text.get(i - 1..i + 2)?;
                        i += 2;
                        u8::from_str_radix(std::str::from_utf8(octal).ok()?, 8).ok()?
                    }
                    _ => return None,
                };
                out.push(byte);
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(stream: &[u8]) -> Result<Vec<Command>, ParseError> {
        let mut parser = Parser::new(stream);
        let mut commands = Vec::new();
        while let Some(command) = parser.next_command()? {
            commands.push(command);
        }
        Ok(commands)
    }

    #[test]
    fn parses_blobs_commits_and_file_operations() {
        let stream = b"# a comment\nfeature done\nblob\nmark :1\ndata 6\nhello\n\n\
commit refs/heads/main\nmark :2\nauthor A <a@x> 1 +0000\ncommitter C <c@x> 2 -0130\ndata <<EOF\nsubject\nEOF\n\
M 644 :1 \"sp ace\\t\\\"q\\\"\\303\\251\"\nM 100755 inline bin/run\ndata 3\nrun\nD old\nC \"a b\" c d\nR src dst\ndeleteall\n\n\
reset refs/heads/topic\nfrom :2\n\ndone\nnot read\n";
        let commands = parse_all(stream).unwrap();
        assert_eq!(commands.len(), 5);
        assert_eq!(
            commands[1],
            Command::Blob { mark: Some(1), original_oid: None, data: b"hello\n".to_vec() }
        );
        let Command::Commit(commit) = &commands[2] else { panic!("{:?}", commands[2]) };
        assert_eq!(commit.message, b"subject\n");
        assert_eq!(commit.committer, b"C <c@x> 2 -0130");
        assert_eq!(
            commit.ops,
            vec![
                FileOp::Modify {
                    mode: b"100644".to_vec(),
                    source: DataRef::Mark(1),
                    path: "sp ace\t\"q\"é".as_bytes().to_vec()
                },
                FileOp::Modify {
                    mode: b"100755".to_vec(),
                    source: DataRef::Inline(b"run".to_vec()),
                    path: b"bin/run".to_vec()
                },
                FileOp::Delete(b"old".to_vec()),
                FileOp::Copy { source: b"a b".to_vec(), destination: b"c d".to_vec() },
                FileOp::Rename { source: b"src".to_vec(), destination: b"dst".to_vec() },
                FileOp::DeleteAll,
            ]
        );
        assert_eq!(
            commands[3],
            Command::Reset { reference: b"refs/heads/topic".to_vec(), from: Some(CommitIsh::Mark(2)) }
        );
        assert_eq!(commands[4], Command::Done);
    }

    #[test]
    fn parses_merges_signatures_encodings_tags_and_notes() {
        let stream = b"commit refs/heads/m\ncommitter C <c@x> 2 +0000\ngpgsig sha1 openpgp\ndata 4\nSIG\n\
encoding ISO-8859-1\ndata 2\nm\nfrom :1\nmerge :2\nmerge 0123456789abcdef0123456789abcdef01234567\n\
N inline :1\ndata 4\nnote\n\ntag v1\nmark :9\nfrom :3\noriginal-oid 89ab\ntagger T <t@x> 3 +0100\ndata 4\ntag\n\
alias\nmark :10\nto :3\n\n";
        let commands = parse_all(stream).unwrap();
        let Command::Commit(commit) = &commands[0] else { panic!() };
        assert_eq!(
            commit.signatures,
            vec![Signature {
                algorithm: b"sha1".to_vec(),
                format: Some(b"openpgp".to_vec()),
                data: b"SIG\n".to_vec()
            }]
        );
        assert_eq!(commit.encoding.as_deref(), Some(&b"ISO-8859-1"[..]));
        assert_eq!(commit.merges.len(), 2);
        assert_eq!(
            commit.ops,
            vec![FileOp::Note { source: DataRef::Inline(b"note".to_vec()), commit: CommitIsh::Mark(1) }]
        );
        let Command::Tag(tag) = &commands[1] else { panic!() };
        assert_eq!((tag.mark, tag.tagger.as_deref()), (Some(9), Some(&b"T <t@x> 3 +0100"[..])));
        assert_eq!(commands[2], Command::Alias { mark: 10, to: CommitIsh::Mark(3) });
    }

    #[test]
    fn errors_give_the_line_offset_and_what_was_expected() {
        let err = parse_all(b"blob\ndata 3\nabc\nbogus command\n").unwrap_err().to_string();
        assert_eq!(err, "line 4 (byte 16): expected a command (blob, commit, tag, reset, alias, checkpoint, progress, done, feature, option), found 'bogus command'");
        let err = parse_all(b"blob\ndata 10\nabc").unwrap_err().to_string();
        assert!(
            err.contains("stream ends inside a command") && err.contains("10 bytes of data, got 3"),
            "{err}"
        );
        let err = parse_all(b"commit refs/heads/x\ndata 0\n").unwrap_err().to_string();
        assert!(err.starts_with("line 2 (byte 20): expected 'committer <identity>'"), "{err}");
        let err = parse_all(b"commit refs/heads/x\ncommitter a <b> 1 +0000\ndata 0\nM 999 :1 f\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected a mode"), "{err}");
        let err = parse_all(b"feature no-such-thing\n").unwrap_err().to_string();
        assert_eq!(err, "line 1: feature 'no-such-thing' is not supported by pg");
        assert!(parse_all(b"feature date-format=rfc2822\n").is_err());
    }

    #[test]
    fn unquote_handles_octal_and_escapes() {
        assert_eq!(unquote(b"\"a\\\\b\\n\\101\" rest"), Some((b"a\\b\nA".to_vec(), &b" rest"[..])));
        assert_eq!(unquote(b"\"unterminated"), None);
    }
}

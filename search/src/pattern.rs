//! A compiled pattern and what it finds in one file's bytes.

use super::{Error, Result};
use grep_matcher::Matcher;
use grep_regex::{RegexMatcher, RegexMatcherBuilder};
use grep_searcher::{sinks, BinaryDetection, Searcher, SearcherBuilder};

/// How a pattern is read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PatternOptions {
    /// Letters match either case.
    pub ignore_case: bool,
    /// Matches must be whole words.
    pub word: bool,
    /// The pattern is a literal string, not a regular expression.
    pub fixed: bool,
}

/// A pattern ready to search with.
#[derive(Clone, Debug)]
pub struct Pattern {
    matcher: RegexMatcher,
}

/// One matching line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// From 1.
    pub number: u64,
    /// The line, without its line terminator.
    pub text: Vec<u8>,
}

/// What a pattern found in one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    /// The matching lines of a text file.
    Lines(Vec<Line>),
    /// The file is binary (a NUL among its first 8000 bytes, as git decides) and
    /// matches somewhere: its lines mean nothing, so none are given.
    Binary,
}

/// How far into a file git looks for a NUL to call it binary.
const BINARY_PROBE: usize = 8000;

impl Pattern {
    /// Compiles `pattern`.
    pub fn new(pattern: &str, options: PatternOptions) -> Result<Pattern> {
        let matcher = RegexMatcherBuilder::new()
            .case_insensitive(options.ignore_case)
            .word(options.word)
            .fixed_strings(options.fixed)
            .line_terminator(Some(b'\n'))
            .build(pattern)
            .map_err(|e| Error::Pattern(e.to_string()))?;
        Ok(Pattern { matcher })
    }

    /// What the pattern finds in `bytes`; `None` when nothing matches.
    pub fn search(&self, bytes: &[u8]) -> Option<Found> {
        if bytes[..bytes.len().min(BINARY_PROBE)].contains(&0) {
            let matched = self.matcher.is_match(bytes).unwrap_or(false);
            return matched.then_some(Found::Binary);
        }
        let mut lines = Vec::new();
        let sink = sinks::Bytes(|number, line| {
            let text = line.strip_suffix(b"\n").unwrap_or(line);
            lines.push(Line { number, text: text.strip_suffix(b"\r").unwrap_or(text).to_vec() });
            Ok(true)
        });
        // Searching a slice in memory cannot fail, and the sink never fails.
        let _ = searcher().search_slice(&self.matcher, bytes, sink);
        (!lines.is_empty()).then_some(Found::Lines(lines))
    }
}

fn searcher() -> Searcher {
    SearcherBuilder::new().line_number(true).binary_detection(BinaryDetection::none()).build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(found: Option<Found>) -> Vec<(u64, String)> {
        match found {
            Some(Found::Lines(lines)) => {
                lines.into_iter().map(|l| (l.number, String::from_utf8(l.text).unwrap())).collect()
            }
            other => panic!("expected lines, found {other:?}"),
        }
    }

    #[test]
    fn finds_lines_with_their_numbers() {
        let pattern = Pattern::new(r"fn \w+", PatternOptions::default()).unwrap();
        let text = b"use x;\nfn main() {}\n\npub fn other()\r\nno";
        assert_eq!(
            lines(pattern.search(text)),
            vec![(2, "fn main() {}".into()), (4, "pub fn other()".into())]
        );
        assert_eq!(pattern.search(b"nothing here\n"), None);
    }

    #[test]
    fn options_change_what_matches() {
        let text = b"Foo\nfoobar\na.b\n";
        let case = Pattern::new("foo", PatternOptions { ignore_case: true, ..Default::default() }).unwrap();
        assert_eq!(lines(case.search(text)).len(), 2);
        let word =
            Pattern::new("foo", PatternOptions { ignore_case: true, word: true, fixed: false }).unwrap();
        assert_eq!(lines(word.search(text)), vec![(1, "Foo".into())]);
        let fixed = Pattern::new("a.b", PatternOptions { fixed: true, ..Default::default() }).unwrap();
        assert_eq!(lines(fixed.search(b"axb\na.b\n")), vec![(2, "a.b".into())]);
    }

    #[test]
    fn binary_files_match_whole_and_bad_patterns_are_errors() {
        let pattern = Pattern::new("needle", PatternOptions::default()).unwrap();
        assert_eq!(pattern.search(b"\0\x01needle"), Some(Found::Binary));
        assert_eq!(pattern.search(b"\0\x01hay"), None);
        assert!(matches!(Pattern::new("(unclosed", PatternOptions::default()), Err(Error::Pattern(_))));
    }
}

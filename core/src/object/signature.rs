//! Parsing the raw identity lines of commits and tags.

/// An identity line parsed: `Name <email> <seconds> <±hhmm>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    /// The name, lossily as text.
    pub name: String,
    /// The email, lossily as text.
    pub email: String,
    /// Seconds since the Unix epoch.
    pub seconds: i64,
    /// The offset as written, e.g. `+0100` or `-0000`.
    pub offset: String,
}

impl Signature {
    /// The raw form pg writes for a new commit.
    pub fn format(name: &str, email: &str, seconds: i64, offset_minutes: i32) -> Vec<u8> {
        let sign = if offset_minutes < 0 { '-' } else { '+' };
        let abs = offset_minutes.unsigned_abs();
        format!("{name} <{email}> {seconds} {sign}{:02}{:02}", abs / 60, abs % 60).into_bytes()
    }

    /// Parses a raw identity; `None` when it does not have git's shape.
    pub fn parse(raw: &[u8]) -> Option<Signature> {
        let lt = raw.iter().position(|&b| b == b'<')?;
        let gt = lt + raw[lt..].iter().position(|&b| b == b'>')?;
        let name = String::from_utf8_lossy(raw[..lt].strip_suffix(b" ").unwrap_or(&raw[..lt])).into_owned();
        let email = String::from_utf8_lossy(&raw[lt + 1..gt]).into_owned();
        let rest = std::str::from_utf8(&raw[gt + 1..]).ok()?.trim();
        let (seconds, offset) = rest.split_once(' ')?;
        let valid_offset = offset.len() == 5
            && matches!(offset.as_bytes()[0], b'+' | b'-')
            && offset[1..].bytes().all(|b| b.is_ascii_digit());
        valid_offset.then_some(())?;
        Some(Signature { name, email, seconds: seconds.parse().ok()?, offset: offset.to_owned() })
    }

    /// The offset in minutes east of UTC.
    pub fn offset_minutes(&self) -> i32 {
        let sign = if self.offset.starts_with('-') { -1 } else { 1 };
        let hours: i32 = self.offset[1..3].parse().unwrap_or(0);
        let minutes: i32 = self.offset[3..5].parse().unwrap_or(0);
        sign * (hours * 60 + minutes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_git_identities() {
        let raw = Signature::format("A U Thor", "a@example.com", 1_700_000_000, -(13 * 60 + 45));
        assert_eq!(raw, b"A U Thor <a@example.com> 1700000000 -1345");
        let sig = Signature::parse(&raw).unwrap();
        assert_eq!(sig.name, "A U Thor");
        assert_eq!(sig.offset_minutes(), -825);
        assert!(Signature::parse(b"no email 12 +0000").is_none());
        assert!(Signature::parse(b"A <a> 12 0100").is_none());
    }
}

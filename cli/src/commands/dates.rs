//! Dates as a person types them for `--since` and `--until`.

use anyhow::Result;

/// Seconds since the Unix epoch that `text` names, `now` being the present:
/// `@SECONDS`, `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS]` (or with `T`), all UTC,
/// `now`, `yesterday`, or `N UNIT[s] ago` with a unit from second to year.
///
/// A day without a clock means its midnight. git fills in the present time of
/// day instead, so the same `--until 2024-05-03` selects different commits in the
/// morning and in the evening; pg's answer does not depend on when it is asked.
pub fn parse(text: &str, now: i64) -> Result<i64> {
    let text = text.trim();
    if let Some(seconds) = text.strip_prefix('@') {
        return Ok(seconds.parse()?);
    }
    match text {
        "now" => return Ok(now),
        "yesterday" => return Ok(now - 86_400),
        _ => {}
    }
    if let Some(ago) = text.strip_suffix(" ago") {
        return relative(ago, now).ok_or_else(|| unknown(text));
    }
    absolute(text).ok_or_else(|| unknown(text))
}

fn unknown(text: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "cannot read '{text}' as a date: give 2024-05-01, 2024-05-01 12:00, @SECONDS or '3 weeks ago'"
    )
}

fn relative(ago: &str, now: i64) -> Option<i64> {
    let (count, unit) = ago.split_once(' ')?;
    let count: i64 = count.parse().ok()?;
    let seconds = match unit.trim().trim_end_matches('s') {
        "second" => 1,
        "minute" => 60,
        "hour" => 3_600,
        "day" => 86_400,
        "week" => 7 * 86_400,
        "month" => 30 * 86_400,
        "year" => 365 * 86_400,
        _ => return None,
    };
    Some(now - count * seconds)
}

fn absolute(text: &str) -> Option<i64> {
    let (day, clock) = match text.split_once([' ', 'T']) {
        Some((day, clock)) => (day, clock),
        None => (text, "00:00:00"),
    };
    let mut parts = day.split('-').map(|p| p.parse::<i32>().ok());
    let (year, month, day) = (parts.next()??, parts.next()??, parts.next()??);
    let date = time::Date::from_calendar_date(
        year,
        time::Month::try_from(u8::try_from(month).ok()?).ok()?,
        u8::try_from(day).ok()?,
    )
    .ok()?;
    let mut hms = clock.split(':').map(|p| p.parse::<u8>().ok());
    let (hour, minute, second) =
        (hms.next()??, hms.next().unwrap_or(Some(0))?, hms.next().unwrap_or(Some(0))?);
    let at = date.with_hms(hour, minute, second).ok()?;
    Some(at.assume_utc().unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_forms_git_users_type() {
        let now = 1_700_000_000;
        assert_eq!(parse("@1234", now).unwrap(), 1234);
        assert_eq!(parse("2023-11-14", now).unwrap(), 1_699_920_000);
        assert_eq!(parse("2023-11-14 22:13:20", now).unwrap(), now);
        assert_eq!(parse("2023-11-14T22:13", now).unwrap(), now - 20);
        assert_eq!(parse("3 weeks ago", now).unwrap(), now - 21 * 86_400);
        assert_eq!(parse("1 day ago", now).unwrap(), now - 86_400);
        assert_eq!(parse("yesterday", now).unwrap(), now - 86_400);
        for bad in ["soon", "2023-13-01", "3 fortnights ago", "2023-11"] {
            assert!(parse(bad, now).is_err(), "{bad}");
        }
    }
}

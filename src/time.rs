//! UTC instants parsed from RFC 3339 text, with no clock and no dependency.
//!
//! Every timestamp the engine reads must carry an offset (`Z`, `+09:00`, `-05:00`): a local time without
//! one is ambiguous, so it is an input error. Instants compare as UTC whatever offset they came with.

use std::fmt;

const SECS_PER_DAY: i64 = 86_400;

/// An instant in UTC, to the nanosecond.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    secs: i64,
    nanos: u32,
}

/// Why a timestamp did not parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimestampError {
    /// Not of the form `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
    #[error("expected RFC 3339, like `2026-11-20T10:00:00Z`")]
    Format,
    /// No `Z` or `±HH:MM` at the end: a local time is ambiguous.
    #[error("it has no UTC offset (add `Z` or `±HH:MM`)")]
    MissingOffset,
    /// A field out of its range, like month 13 or February 30.
    #[error("a date or time field is out of range")]
    OutOfRange,
}

impl Timestamp {
    /// The instant `secs` seconds after 1970-01-01T00:00:00Z.
    #[must_use]
    pub const fn from_unix(secs: i64) -> Self {
        Self { secs, nanos: 0 }
    }

    /// The instant `millis` milliseconds after 1970-01-01T00:00:00Z, as JavaScript's `Date` counts.
    #[must_use]
    pub const fn from_unix_millis(millis: i64) -> Self {
        Self {
            secs: millis.div_euclid(1000),
            // In 0..1000, so the product fits.
            #[expect(
                clippy::cast_possible_truncation,
                reason = "a count or a duration, far within the range of the other type"
            )]
            nanos: (millis.rem_euclid(1000) as u32) * 1_000_000,
        }
    }

    /// Seconds since 1970-01-01T00:00:00Z, rounded down.
    #[must_use]
    pub const fn unix_seconds(self) -> i64 {
        self.secs
    }

    /// Milliseconds since 1970-01-01T00:00:00Z, rounded down.
    #[must_use]
    pub const fn unix_millis(self) -> i64 {
        self.secs
            .saturating_mul(1000)
            .saturating_add((self.nanos / 1_000_000) as i64)
    }

    /// This instant plus `hours`, or `None` past the representable range.
    #[must_use]
    pub fn plus_hours(self, hours: u32) -> Option<Self> {
        let secs = self.secs.checked_add(i64::from(hours).checked_mul(3600)?)?;
        Some(Self { secs, ..self })
    }

    /// Parses an RFC 3339 date-time with a mandatory offset.
    ///
    /// # Errors
    /// [`TimestampError`] when the text is not RFC 3339, has no offset, or a field is out of range.
    pub fn parse(text: &str) -> Result<Self, TimestampError> {
        let mut p = Parser {
            bytes: text.as_bytes(),
            pos: 0,
        };
        let year = p.digits(4)?;
        p.expect(b'-')?;
        let month = p.digits(2)?;
        p.expect(b'-')?;
        let day = p.digits(2)?;
        if !matches!(p.next(), Some(b'T' | b't' | b' ')) {
            return Err(TimestampError::Format);
        }
        let hour = p.digits(2)?;
        p.expect(b':')?;
        let minute = p.digits(2)?;
        p.expect(b':')?;
        let second = p.digits(2)?;
        let mut nanos = 0u32;
        if p.peek() == Some(b'.') {
            p.pos += 1;
            let mut count = 0;
            while let Some(d) = p.peek().filter(u8::is_ascii_digit) {
                if count < 9 {
                    nanos = nanos * 10 + u32::from(d - b'0');
                }
                count += 1;
                p.pos += 1;
            }
            if count == 0 {
                return Err(TimestampError::Format);
            }
            for _ in count..9 {
                nanos *= 10;
            }
        }
        let offset_secs = match p.next() {
            Some(b'Z' | b'z') => 0,
            Some(sign @ (b'+' | b'-')) => {
                let oh = p.digits(2)?;
                p.expect(b':')?;
                let om = p.digits(2)?;
                if oh > 23 || om > 59 {
                    return Err(TimestampError::OutOfRange);
                }
                let secs = oh * 3600 + om * 60;
                if sign == b'-' {
                    -secs
                } else {
                    secs
                }
            }
            None => return Err(TimestampError::MissingOffset),
            Some(_) => return Err(TimestampError::Format),
        };
        if p.pos != p.bytes.len() {
            return Err(TimestampError::Format);
        }
        if !(1..=12).contains(&month)
            || day < 1
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 59
        {
            return Err(TimestampError::OutOfRange);
        }
        let days = days_from_civil(year, month, day);
        let secs = days * SECS_PER_DAY + hour * 3600 + minute * 60 + second - offset_secs;
        Ok(Self { secs, nanos })
    }
}

struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    fn expect(&mut self, want: u8) -> Result<(), TimestampError> {
        match self.next() {
            Some(b) if b == want => Ok(()),
            Some(_) => Err(TimestampError::Format),
            None if want == b'-' || want == b':' => Err(TimestampError::Format),
            None => Err(TimestampError::MissingOffset),
        }
    }

    fn digits(&mut self, n: usize) -> Result<i64, TimestampError> {
        let mut value = 0i64;
        for _ in 0..n {
            match self.next() {
                Some(d @ b'0'..=b'9') => value = value * 10 + i64::from(d - b'0'),
                _ => return Err(TimestampError::Format),
            }
        }
        Ok(value)
    }
}

const fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

const fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
const fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01, as (year, month, day).
const fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    (year, month, day)
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC (`2026-11-23T10:00:00Z`), with a fraction only when there is one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.secs.div_euclid(SECS_PER_DAY);
        let rem = self.secs.rem_euclid(SECS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
            rem / 3600,
            rem % 3600 / 60,
            rem % 60
        )?;
        if self.nanos != 0 {
            let mut frac = self.nanos;
            let mut width = 9;
            while frac % 10 == 0 {
                frac /= 10;
                width -= 1;
            }
            write!(f, ".{frac:0width$}")?;
        }
        f.write_str("Z")
    }
}

/// The message of a timestamp that did not parse.
pub(crate) fn timestamp_message(text: &str, err: TimestampError) -> String {
    let shown: String = text.chars().take(64).collect();
    format!("invalid timestamp `{shown}`: {err}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_offsets_as_utc_instants() {
        let z = Timestamp::parse("2026-11-20T10:00:00Z").unwrap();
        assert_eq!(Timestamp::parse("2026-11-20T19:00:00+09:00").unwrap(), z);
        assert_eq!(Timestamp::parse("2026-11-20T05:00:00-05:00").unwrap(), z);
        assert_eq!(z.to_string(), "2026-11-20T10:00:00Z");
        assert_eq!(z.unix_seconds(), 1_795_168_800);
    }

    #[test]
    fn reads_javascript_milliseconds() {
        let t = Timestamp::from_unix_millis(1_795_168_800_250);
        assert_eq!(t.to_string(), "2026-11-20T10:00:00.25Z");
        assert_eq!(
            Timestamp::from_unix_millis(-1).to_string(),
            "1969-12-31T23:59:59.999Z"
        );
    }

    #[test]
    fn keeps_fractions() {
        let t = Timestamp::parse("2026-11-20T10:00:00.250+00:00").unwrap();
        assert_eq!(t.to_string(), "2026-11-20T10:00:00.25Z");
        assert!(t > Timestamp::parse("2026-11-20T10:00:00Z").unwrap());
    }

    #[test]
    fn rejects_bad_text() {
        use TimestampError::*;
        for (text, err) in [
            ("2026-11-20T10:00:00", MissingOffset),
            ("2026-11-20", Format),
            ("", Format),
            ("2026-02-29T00:00:00Z", OutOfRange),
            ("2026-13-01T00:00:00Z", OutOfRange),
            ("2026-11-20T24:00:00Z", OutOfRange),
            ("2026-11-20T10:00:00+25:00", OutOfRange),
            ("2026-11-20T10:00:00.Z", Format),
            ("2026-11-20T10:00:00Zjunk", Format),
            ("２026-11-20T10:00:00Z", Format),
        ] {
            assert_eq!(Timestamp::parse(text), Err(err), "{text}");
        }
        assert!(Timestamp::parse("2024-02-29T00:00:00Z").is_ok());
    }

    #[test]
    fn round_trips_the_calendar() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}

//! Go `time.ParseDuration` syntax, which Velero (`ttl`) and the policy file (`rpo`, `rto`,
//! `minRetention`) use: a sequence of decimal numbers with units `ns`, `us`/`µs`, `ms`, `s`,
//! `m`, `h` (`15m`, `1h30m`, `720h0m0s`, `1.5h`). The chaos harness's scenario files and flags
//! use the stricter [`Syntax::Whole`] dialect of the same parser (whole numbers, plus `d`).
//!
//! Not `humantime` (accepts `2 days` and spaces, which Go rejects) and not `kube::core::Duration`
//! (its `mul_f64` panics on an overflowing input such as `1e300h`-sized numbers; a policy or a
//! Schedule is user input and must never panic). This parser uses checked integer arithmetic.

use std::fmt::Write as _;
use std::time::Duration;

use crate::PolicyError;

/// Which spellings [`parse_duration`] accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// Go's `time.ParseDuration`: decimal fractions, a leading `+`, a bare `0`.
    Go,
    /// Whole numbers only, no sign, and `d` for days (`12m`, `1h30m`, `1d`): what the chaos
    /// harness's scenario files and flags accept, so a file says exactly what it means.
    Whole,
}

const DAY_NANOS: u128 = 86_400_000_000_000;

const UNITS: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Parses a non-negative Go duration. `0` alone is allowed, as in Go.
pub fn parse_go_duration(input: &str) -> Result<Duration, PolicyError> {
    parse_duration(input, Syntax::Go)
}

/// Parses a duration in the given dialect, with checked arithmetic (never panics).
pub fn parse_duration(input: &str, syntax: Syntax) -> Result<Duration, PolicyError> {
    let fail = |reason: &str| PolicyError::Duration {
        input: input.to_string(),
        reason: reason.to_string(),
    };
    let units = match syntax {
        Syntax::Go => "ns, us, ms, s, m, h",
        Syntax::Whole => "ns, us, ms, s, m, h, d",
    };
    let mut rest = input;
    if syntax == Syntax::Go {
        if let Some(stripped) = rest.strip_prefix('+') {
            rest = stripped;
        }
        if rest == "0" {
            return Ok(Duration::ZERO);
        }
    }
    if rest.starts_with('-') {
        return Err(fail("negative durations are not allowed"));
    }
    if rest.is_empty() {
        return Err(fail("empty duration; write e.g. 15m, 24h or 720h0m0s"));
    }
    let is_number = |c: char| c.is_ascii_digit() || (syntax == Syntax::Go && c == '.');
    let mut total_nanos: u128 = 0;
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !is_number(c)).unwrap_or(rest.len());
        let (number, after) = rest.split_at(number_len);
        if number.is_empty() || number == "." {
            return Err(fail("expected a number before each unit"));
        }
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after_unit) = after.split_at(unit_len);
        let scale = UNITS
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|(_, scale)| *scale)
            .or_else(|| (syntax == Syntax::Whole && unit == "d").then_some(DAY_NANOS))
            .ok_or_else(|| {
                if unit.is_empty() {
                    fail(&format!("missing unit (one of {units})"))
                } else {
                    fail(&format!("unknown unit {unit:?} (one of {units})"))
                }
            })?;
        total_nanos = total_nanos
            .checked_add(scale_number(number, scale).ok_or_else(|| fail("malformed number"))?)
            .ok_or_else(|| fail("duration overflows"))?;
        rest = after_unit;
    }
    let nanos = u64::try_from(total_nanos).map_err(|_| fail("duration overflows"))?;
    Ok(Duration::from_nanos(nanos))
}

fn scale_number(number: &str, scale: u128) -> Option<u128> {
    let (whole, fraction) = match number.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (number, ""),
    };
    if whole.is_empty() && fraction.is_empty() || fraction.contains('.') {
        return None;
    }
    let whole_value: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut nanos = whole_value.checked_mul(scale)?;
    let mut place = scale;
    for digit in fraction.chars() {
        place /= 10;
        nanos = nanos.checked_add(u128::from(digit.to_digit(10)?) * place)?;
    }
    Some(nanos)
}

/// Formats a duration the way Go's `time.Duration.String` prints it (`1h0m0s`, `15m0s`,
/// `1.5s`): what Velero writes back into a Schedule's `ttl`.
pub fn format_go_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    if secs == 0 && duration.subsec_nanos() == 0 {
        return "0s".to_string();
    }
    let (h, m) = (secs / 3600, (secs % 3600) / 60);
    let seconds = seconds_part(duration);
    match (h, m) {
        (0, 0) => seconds,
        (0, m) => format!("{m}m{seconds}"),
        (h, m) => format!("{h}h{m}m{seconds}"),
    }
}

/// The shortest spelling Go (and the policy file) parses back: zero parts left out (`15m`,
/// `24h`, `1h30m`, `1m30s`, `1.5s`).
pub fn format_go_duration_short(duration: Duration) -> String {
    let secs = duration.as_secs();
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || duration.subsec_millis() > 0 || out.is_empty() {
        out.push_str(&seconds_part(duration));
    }
    out
}

/// `30s`, `1.5s`: seconds with trailing fractional zeros dropped, as Go does (milliseconds).
fn seconds_part(duration: Duration) -> String {
    let s = duration.as_secs() % 60;
    match duration.subsec_millis() {
        0 => format!("{s}s"),
        millis => {
            let fraction = format!("{millis:03}");
            format!("{s}.{}s", fraction.trim_end_matches('0'))
        }
    }
}

/// Human-friendly rendering for tables and messages: `15m`, `1h1m`, `7d`, `72h`.
pub fn format_human(duration: Duration) -> String {
    let secs = duration.as_secs();
    let (d, h, m, s) = (
        secs / 86_400,
        (secs % 86_400) / 3600,
        (secs % 3600) / 60,
        secs % 60,
    );
    let mut out = String::with_capacity(12);
    for (value, unit) in [(d, 'd'), (h, 'h'), (m, 'm')] {
        if value > 0 {
            let _ = write!(out, "{value}{unit}");
        }
    }
    if s > 0 || out.is_empty() {
        let _ = write!(out, "{s}s");
    }
    out
}

/// The shortest exact [`Syntax::Whole`] spelling of a duration (`1h30m`, `250ms`, `1d`): it
/// parses back to the same duration, to the nanosecond.
pub fn format_whole(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    let units: [(u128, &str); 7] = [
        (DAY_NANOS, "d"),
        (3_600_000_000_000, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
        (1_000_000, "ms"),
        (1_000, "us"),
        (1, "ns"),
    ];
    let mut out = String::new();
    let mut rest = nanos;
    for (size, unit) in units {
        if rest >= size {
            let _ = write!(out, "{}{unit}", rest / size);
            rest %= size;
        }
    }
    out
}

/// An elapsed time for reports, on a readable scale: `850ms`, `42.3s`, `12m 05s`, `1h 02m 05s`.
pub fn format_elapsed(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms < 1_000 {
        return format!("{ms}ms");
    }
    let secs = duration.as_secs();
    if secs < 60 {
        return format!("{}.{}s", secs, duration.subsec_millis() / 100);
    }
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    if h == 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{h}h {m:02}m {s:02}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(input: &str) -> Duration {
        parse_go_duration(input).unwrap()
    }

    #[test]
    fn parses_single_units() {
        assert_eq!(parsed("15m"), Duration::from_secs(900));
        assert_eq!(parsed("24h"), Duration::from_secs(86_400));
        assert_eq!(parsed("90s"), Duration::from_secs(90));
        assert_eq!(parsed("250ms"), Duration::from_millis(250));
    }

    #[test]
    fn parses_velero_style_compound_durations() {
        assert_eq!(parsed("720h0m0s"), Duration::from_secs(720 * 3600));
        assert_eq!(parsed("1h30m"), Duration::from_secs(5400));
    }

    #[test]
    fn parses_fractions_like_go() {
        assert_eq!(parsed("1.5h"), Duration::from_secs(5400));
        assert_eq!(parsed(".5s"), Duration::from_millis(500));
    }

    #[test]
    fn accepts_bare_zero() {
        assert_eq!(parsed("0"), Duration::ZERO);
    }

    #[test]
    fn rejects_what_go_rejects() {
        for bad in [
            "", "15", "1d", "2 days", "-1h", "h", "1..5h", "1h 30m", "1week",
        ] {
            assert!(
                parse_go_duration(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn formats_like_go() {
        assert_eq!(format_go_duration(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(format_go_duration(Duration::from_secs(900)), "15m0s");
        assert_eq!(format_go_duration(Duration::from_secs(5_430)), "1h30m30s");
        assert_eq!(format_go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_go_duration(Duration::ZERO), "0s");
    }

    #[test]
    fn writes_short_go_durations_that_parse_back() {
        for (secs, text) in [
            (900, "15m"),
            (86_400, "24h"),
            (5400, "1h30m"),
            (90, "1m30s"),
            (0, "0s"),
            (604_800, "168h"),
        ] {
            let duration = Duration::from_secs(secs);
            assert_eq!(format_go_duration_short(duration), text);
            assert_eq!(parse_go_duration(text).unwrap(), duration);
        }
        assert_eq!(
            format_go_duration_short(Duration::from_millis(1500)),
            "1.5s"
        );
    }

    #[test]
    fn formats_for_humans() {
        assert_eq!(format_human(Duration::from_secs(3660)), "1h1m");
        assert_eq!(format_human(Duration::from_secs(72 * 3600)), "3d");
        assert_eq!(format_human(Duration::ZERO), "0s");
    }

    fn whole(input: &str) -> Result<Duration, PolicyError> {
        parse_duration(input, Syntax::Whole)
    }

    #[test]
    fn the_whole_syntax_adds_days_and_every_micro_sign() {
        let cases = [
            ("500ms", Duration::from_millis(500)),
            ("12m", Duration::from_secs(720)),
            ("1h30m", Duration::from_secs(5400)),
            ("1d", Duration::from_secs(86_400)),
            ("250us", Duration::from_micros(250)),
            ("250\u{b5}s", Duration::from_micros(250)),
            ("250\u{3bc}s", Duration::from_micros(250)),
            ("0s", Duration::ZERO),
        ];
        for (text, expected) in cases {
            assert_eq!(whole(text).ok(), Some(expected), "{text}");
        }
    }

    #[test]
    fn the_whole_syntax_rejects_fractions_signs_and_bare_numbers() {
        for text in [
            "", "0", "12", "5x", "-1s", "+1s", "1.5h", ".5s", "1 h", "h", "5µ",
        ] {
            assert!(whole(text).is_err(), "{text} should be rejected");
        }
    }

    #[test]
    fn whole_spelling_parses_back_to_the_same_duration() {
        for d in [
            Duration::from_secs(5400),
            Duration::from_millis(1_250),
            Duration::from_nanos(3_600_000_000_001),
            Duration::from_secs(86_400 + 60),
        ] {
            assert_eq!(whole(&format_whole(d)).ok(), Some(d));
        }
        assert_eq!(format_whole(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_whole(Duration::from_secs(86_400)), "1d");
    }

    #[test]
    fn elapsed_times_pick_a_readable_scale() {
        assert_eq!(format_elapsed(Duration::from_millis(850)), "850ms");
        assert_eq!(format_elapsed(Duration::from_millis(42_345)), "42.3s");
        assert_eq!(format_elapsed(Duration::from_secs(725)), "12m 05s");
        assert_eq!(format_elapsed(Duration::from_secs(3725)), "1h 02m 05s");
    }

    #[test]
    fn go_syntax_still_rejects_days() {
        assert!(parse_go_duration("1d").is_err());
    }
}

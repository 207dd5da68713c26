//! Human durations (`500ms`, `12m`, `1h30m`): parsing for flags and scenario files,
//! and one compact rendering for reports.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Parses a duration written as one or more `<integer><unit>` parts, units
/// `ns`, `us` (or `µs`), `ms`, `s`, `m`, `h`, `d` (`90s`, `1h30m`). No sign, no fractions,
/// no spaces: a scenario file says exactly what it means.
pub fn parse(text: &str) -> Result<Duration, String> {
    if text.is_empty() {
        return Err("empty duration (write e.g. 30s, 12m, 1h30m)".into());
    }
    let mut total: u128 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!(
                "invalid duration {text:?}: expected a number at {rest:?}"
            ));
        }
        let (number, tail) = rest.split_at(digits);
        // Up to the next number: `µ` is not ASCII, so `µs` must not be cut at a byte class.
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let nanos_per_unit: u128 = match unit {
            "ns" => 1,
            // The micro sign (U+00B5, as Go prints it) and the Greek mu (U+03BC) look alike.
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "d" => 86_400_000_000_000,
            "" => {
                return Err(format!(
                    "invalid duration {text:?}: {number} has no unit (ns, us, ms, s, m, h, d)"
                ));
            }
            other => return Err(format!("invalid duration {text:?}: unknown unit {other:?}")),
        };
        let value: u128 = number
            .parse()
            .map_err(|_| format!("invalid duration {text:?}: {number} is too large"))?;
        total = value
            .checked_mul(nanos_per_unit)
            .and_then(|part| total.checked_add(part))
            .ok_or_else(|| format!("invalid duration {text:?}: too large"))?;
        rest = tail;
    }
    let nanos =
        u64::try_from(total).map_err(|_| format!("invalid duration {text:?}: too large"))?;
    Ok(Duration::from_nanos(nanos))
}

/// Renders a duration compactly for people: `850ms`, `42.3s`, `12m 05s`, `1h 02m 05s`.
pub fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1_000 {
        return format!("{ms}ms");
    }
    let secs = d.as_secs();
    if secs < 60 {
        return format!("{}.{}s", secs, d.subsec_millis() / 100);
    }
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    if h == 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{h}h {m:02}m {s:02}s")
    }
}

/// A duration read from and written as text (`12m`), for scenario files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct HumanDuration(pub Duration);

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&canonical(self.0))
    }
}

/// The shortest exact `parse`-able spelling of a duration (`1h30m`, `250ms`).
pub fn canonical(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    let units: [(u128, &str); 7] = [
        (86_400_000_000_000, "d"),
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
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse(&text).map(Self).map_err(serde::de::Error::custom)
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_single_and_compound_units() {
        let cases = [
            ("500ms", Duration::from_millis(500)),
            ("12m", Duration::from_secs(720)),
            ("1h30m", Duration::from_secs(5400)),
            ("1d", Duration::from_secs(86_400)),
            ("250us", Duration::from_micros(250)),
            ("250µs", Duration::from_micros(250)),
            ("250\u{3bc}s", Duration::from_micros(250)),
            ("0s", Duration::ZERO),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn rejects_missing_units_unknown_units_and_signs() {
        for text in ["", "12", "5x", "-1s", "1.5h", "1 h", "h", "5µ"] {
            assert!(parse(text).is_err(), "{text} should be rejected");
        }
    }

    #[test]
    fn canonical_spelling_parses_back_to_the_same_duration() {
        for d in [
            Duration::from_secs(5400),
            Duration::from_millis(1_250),
            Duration::from_nanos(3_600_000_000_001),
        ] {
            assert_eq!(parse(&canonical(d)), Ok(d));
        }
        assert_eq!(canonical(Duration::from_secs(5400)), "1h30m");
    }

    #[test]
    fn human_rendering_picks_a_readable_scale() {
        assert_eq!(human(Duration::from_millis(850)), "850ms");
        assert_eq!(human(Duration::from_millis(42_345)), "42.3s");
        assert_eq!(human(Duration::from_secs(725)), "12m 05s");
        assert_eq!(human(Duration::from_secs(3725)), "1h 02m 05s");
    }
}

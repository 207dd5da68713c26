//! Velero's schedule syntax, which is robfig/cron v3 `cron.ParseStandard`, checked the way
//! robfig checks it and rewritten into the plain five-field form croner parses identically.
//!
//! croner is more permissive than robfig in some places (`L`, `W`, `#`, weekday `7`, six or
//! seven fields, case-insensitive descriptors) and stricter in others (`?` outside the day
//! fields, `5/15`, `+5`, `*-5`, names in ranges it rewrites differently). So every list item is
//! checked against robfig's rules here and re-emitted as `N`, `A-B` or `A-B/S` with numbers
//! only; croner then builds the bit sets and answers every matching question.

use std::time::Duration;

use chrono_tz::Tz;

use crate::duration::parse_go_duration;

/// What a schedule expression means once its prefix and descriptor are resolved.
#[derive(Debug)]
pub(super) struct Syntax {
    /// `None` without a `CRON_TZ=`/`TZ=` prefix.
    pub zone: Option<Tz>,
    pub body: Body,
}

#[derive(Debug)]
pub(super) enum Body {
    /// `@every <duration>`, already rounded the way robfig's `Every` rounds it.
    Every(Duration),
    /// A canonical five-field pattern for croner (`minute hour dom month dow`).
    Fields(String),
}

pub(super) fn parse(expr: &str) -> Result<Syntax, String> {
    // Velero's schedule controller refuses "" before calling robfig (which would panic on it).
    if expr.is_empty() {
        return Err(
            "the schedule is empty (Velero rejects an empty schedule); write five fields \
                    such as \"0 2 * * *\" or a descriptor such as \"@daily\""
                .to_string(),
        );
    }
    let (zone, spec) = split_zone_prefix(expr)?;
    let body = if spec.starts_with('@') {
        descriptor(spec)?
    } else {
        Body::Fields(fields(spec)?)
    };
    Ok(Syntax { zone, body })
}

/// robfig: a spec starting with `TZ=` or `CRON_TZ=` has its zone up to the first space, and the
/// rest is trimmed. Without a space robfig panics (Velero reports the panic as invalid).
fn split_zone_prefix(expr: &str) -> Result<(Option<Tz>, &str), String> {
    let prefix = if expr.starts_with("CRON_TZ=") {
        "CRON_TZ="
    } else if expr.starts_with("TZ=") {
        "TZ="
    } else {
        // No prefix: robfig uses time.Local, which is UTC in Velero's server image (no TZ set),
        // and Velero reads `lastBackup` back as UTC, so Backstop evaluates such schedules in UTC.
        return Ok((None, expr));
    };
    let Some(space) = expr.find(' ') else {
        return Err(format!(
            "the {prefix} prefix must be followed by a space and the schedule; write e.g. \
             \"{prefix}Europe/Berlin 0 2 * * *\""
        ));
    };
    let name = &expr[prefix.len()..space];
    let zone = match name {
        // Go's time.LoadLocation: "" and "UTC" are UTC; "Local" is the server's zone, UTC in Velero.
        "" | "UTC" | "Local" => Tz::UTC,
        _ => name.parse::<Tz>().map_err(|_| {
            format!(
                "unknown time zone {name:?} in the {prefix} prefix; use an IANA zone name such as \
                 \"Europe/Berlin\" or \"UTC\" (names are case-sensitive)"
            )
        })?,
    };
    Ok((Some(zone), expr[space..].trim()))
}

const DESCRIPTORS: &[(&str, &str)] = &[
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
    ("@monthly", "0 0 1 * *"),
    // robfig: Dom = all (star bit), Dow = Sunday only.
    ("@weekly", "0 0 * * 0"),
    ("@daily", "0 0 * * *"),
    ("@midnight", "0 0 * * *"),
    ("@hourly", "0 * * * *"),
];

fn descriptor(spec: &str) -> Result<Body, String> {
    if let Some((_, fields)) = DESCRIPTORS.iter().find(|(name, _)| *name == spec) {
        return Ok(Body::Fields((*fields).to_string()));
    }
    if let Some(duration) = spec.strip_prefix("@every ") {
        return every(duration).map(Body::Every);
    }
    let known = DESCRIPTORS
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(", ");
    let trimmed = spec.trim_end();
    let hint = if trimmed.len() != spec.len() {
        "remove the trailing whitespace after the descriptor".to_string()
    } else if let Some((name, _)) = DESCRIPTORS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(spec))
    {
        format!("descriptors are case-sensitive: write {name}")
    } else if spec.to_ascii_lowercase().starts_with("@every") {
        "write \"@every <duration>\" with exactly one space, such as \"@every 15m\"".to_string()
    } else {
        format!("use one of {known}, or \"@every <duration>\" such as \"@every 15m\"")
    };
    Err(format!("unknown descriptor {spec:?}; {hint}"))
}

/// `@every <Go duration>`; robfig's `Every` raises anything under a second (zero and negative
/// included) to one second and drops the sub-second part.
fn every(text: &str) -> Result<Duration, String> {
    let (negative, magnitude) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let duration = parse_go_duration(magnitude).map_err(|error| {
        let reason = match error {
            crate::PolicyError::Duration { reason, .. } => reason,
            other => other.to_string(),
        };
        format!(
            "{text:?} after \"@every \" is not a Go duration ({reason}); write e.g. \
             \"@every 15m\" or \"@every 1h30m\""
        )
    })?;
    // Go durations are int64 nanoseconds (about 292 years).
    if duration.as_nanos() > u128::from(i64::MAX.unsigned_abs()) {
        return Err(format!(
            "\"@every {text}\" overflows a Go duration (about 292 years at most); use a shorter \
             interval"
        ));
    }
    let seconds = if negative { 0 } else { duration.as_secs() };
    Ok(Duration::from_secs(seconds.max(1)))
}

/// The five fields robfig's standard parser reads, with their bounds and names.
struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
    hint: &'static str,
}

const FIELDS: [Field; 5] = [
    Field {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
        hint: "0-59",
    },
    Field {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
        hint: "0-23",
    },
    Field {
        name: "day-of-month",
        min: 1,
        max: 31,
        names: &[],
        hint: "1-31",
    },
    Field {
        name: "month",
        min: 1,
        max: 12,
        names: &[
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        ],
        hint: "1-12 or jan-dec",
    },
    Field {
        name: "day-of-week",
        min: 0,
        max: 6,
        names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
        hint: "0-6 (0 is Sunday) or sun-sat",
    },
];

const FIELD_ORDER: &str = "minute hour day-of-month month day-of-week";

fn fields(spec: &str) -> Result<String, String> {
    // strings.Fields: any Unicode white space separates fields, runs of it count once.
    let parts: Vec<&str> = spec.split_whitespace().collect();
    if parts.len() != FIELDS.len() {
        let found = parts.len();
        return Err(if parts.iter().any(|part| part.contains('=')) {
            "a CRON_TZ=<zone> or TZ=<zone> prefix must start the schedule; remove any leading \
             space or other text before it"
                .to_string()
        } else if found == 6 {
            format!(
                "found 6 fields, but Velero schedules have exactly 5 ({FIELD_ORDER}) and no \
                 seconds field; drop the leading seconds field"
            )
        } else if parts.iter().any(|part| part.starts_with('@')) {
            "descriptors such as @daily must start the schedule and stand alone; remove any \
             leading space or other fields"
                .to_string()
        } else {
            format!("expected exactly 5 fields ({FIELD_ORDER}), found {found}")
        });
    }
    let canonical = parts
        .iter()
        .zip(FIELDS.iter())
        .map(|(text, field)| canonical_field(text, field))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(canonical.join(" "))
}

/// One field, checked like robfig's `getField`/`getRange` and rewritten for croner.
fn canonical_field(text: &str, field: &Field) -> Result<String, String> {
    let fail = |problem: String| format!("{} field {text:?}: {problem}", field.name);
    let mut items = Vec::new();
    let mut star = false;
    // strings.FieldsFunc: empty list items ("1,,2", ",5") are skipped, not errors.
    for item in text.split(',').filter(|item| !item.is_empty()) {
        let range = canonical_range(item, field).map_err(fail)?;
        star |= range.star;
        items.push(range.text);
    }
    // robfig's "star bit" is what switches day-of-month/day-of-week from OR to AND. It comes
    // only from an item starting with `*` or `?` with step 1, and such an item covers the
    // whole range, so croner's own rule (AND exactly when the field is `*`) agrees once the
    // field is written as `*`.
    if star {
        return Ok("*".to_string());
    }
    if items.is_empty() {
        // A field with no values never matches; croner reads "," the same way robfig reads it.
        return Ok(",".to_string());
    }
    Ok(items.join(","))
}

struct Range {
    text: String,
    star: bool,
}

fn canonical_range(item: &str, field: &Field) -> Result<Range, String> {
    let range_and_step: Vec<&str> = item.split('/').collect();
    let low_and_high: Vec<&str> = range_and_step[0].split('-').collect();
    let (start, mut end, mut star) = if matches!(low_and_high[0], "*" | "?") {
        // robfig ignores anything after "*-" here: "*-5" is "*".
        (u64::from(field.min), u64::from(field.max), true)
    } else {
        let start = value(low_and_high[0], field)?;
        let end = match low_and_high.len() {
            1 => start,
            2 => value(low_and_high[1], field)?,
            _ => return Err(format!("{item:?} has more than one '-'; write start-end")),
        };
        (start, end, false)
    };
    let step = match range_and_step.len() {
        1 => 1,
        2 => {
            let step = number(range_and_step[1])
                .map_err(|problem| format!("step {problem}; write e.g. */5 or 0-30/5"))?;
            // robfig: "N/step" means "N-max/step".
            if low_and_high.len() == 1 {
                end = u64::from(field.max);
            }
            if step > 1 {
                star = false;
            }
            step
        }
        _ => {
            return Err(format!(
                "{item:?} has more than one '/'; write start-end/step, e.g. 0-30/5"
            ));
        }
    };
    if start < u64::from(field.min) {
        return Err(format!(
            "{start} is below the minimum {} of the {} field; use a value in {}",
            field.min, field.name, field.hint
        ));
    }
    if end > u64::from(field.max) {
        let mut message = format!(
            "{end} is above the maximum {} of the {} field; use a value in {}",
            field.max, field.name, field.hint
        );
        if field.name == "day-of-week" && end == 7 {
            message.push_str(" (Velero does not accept 7 for Sunday: write 0 or sun)");
        }
        return Err(message);
    }
    if start > end {
        return Err(format!(
            "the range {start}-{end} runs backwards; write the smaller value first (ranges do \
             not wrap around)"
        ));
    }
    if step == 0 {
        return Err("the step must be a positive number, not 0; write e.g. */5".to_string());
    }
    // A step wider than the range selects only its start; croner reads steps as u16.
    let step = step.min(64);
    let text = if step == 1 {
        if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        }
    } else {
        format!("{start}-{end}/{step}")
    };
    Ok(Range { text, star })
}

/// robfig's `parseIntOrName`: a three-letter name (any case) or a number.
fn value(text: &str, field: &Field) -> Result<u64, String> {
    let lower = text.to_lowercase();
    if let Some(index) = field.names.iter().position(|name| *name == lower) {
        return Ok(index as u64 + u64::from(field.min));
    }
    number(text).map_err(|problem| {
        let named = if field.names.is_empty() {
            String::new()
        } else {
            format!(" or a three-letter name ({})", field.names.join(", "))
        };
        if uses_quartz_modifier(text) {
            format!(
                "{text:?} uses L, W or #, which Velero's cron (robfig/cron v3) does not support; \
                 list the days explicitly"
            )
        } else {
            format!("{problem}; expected a number ({}){named}", field.hint)
        }
    })
}

/// `L`, `5L`, `LW`, `15W`, `1#2`: Quartz-style modifiers that croner knows and robfig does not.
fn uses_quartz_modifier(text: &str) -> bool {
    let upper = text.to_ascii_uppercase();
    let digits_then = |suffix: char| {
        upper
            .strip_suffix(suffix)
            .is_some_and(|head| head.chars().all(|c| c.is_ascii_digit()))
    };
    upper.contains('#') || upper == "LW" || digits_then('L') || digits_then('W')
}

/// robfig's `mustParseInt`: Go's `strconv.Atoi` (optional sign, decimal digits), not negative.
fn number(text: &str) -> Result<u64, String> {
    let parsed: i64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    u64::try_from(parsed).map_err(|_| format!("{text:?} is negative"))
}

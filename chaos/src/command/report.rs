//! `backstop-chaos report`: render a result.json; the exit code is its verdict.

use crate::cli::ReportArgs;
use crate::command::Outcome;
use crate::drill;
use crate::error::Error;
use crate::report::{render, render_drill};
use crate::result;
use crate::verdict::Verdict;

/// Renders a run's or a drill's result (a drill's has a `drill` field).
pub fn report(args: &ReportArgs) -> Result<Outcome, Error> {
    let input = std::fs::read_to_string(&args.result).map_err(|source| Error::ReadInput {
        path: args.result.clone(),
        source,
    })?;
    let (text, verdict) = if drill::result::is_drill(&input) {
        let result = drill::result::parse(&args.result, &input)?;
        (render_drill(&result, args.format), result.verdict)
    } else {
        let result = result::parse(&args.result, &input)?;
        (render(&result, args.format), result.verdict)
    };
    match &args.out {
        Some(path) => std::fs::write(path, text).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?,
        None => print!("{text}"),
    }
    Ok(match verdict {
        Verdict::Pass => Outcome::Pass,
        Verdict::Fail => Outcome::Fail,
    })
}

//! `backstop-chaos report`: render a result.json; the exit code is its verdict.

use crate::cli::ReportArgs;
use crate::command::Outcome;
use crate::error::Error;
use crate::report::render;
use crate::result;
use crate::verdict::Verdict;

pub fn report(args: &ReportArgs) -> Result<Outcome, Error> {
    let result = result::load(&args.result)?;
    let text = render(&result, args.format);
    match &args.out {
        Some(path) => std::fs::write(path, text).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?,
        None => print!("{text}"),
    }
    Ok(match result.verdict {
        Verdict::Pass => Outcome::Pass,
        Verdict::Fail => Outcome::Fail,
    })
}

//! Namespace name patterns as Velero matches them: a plain name, or a glob with `*`, `?`, `[...]`
//! (Velero compiles namespace includes/excludes with gobwas/glob; `globset` implements the same
//! wildcard classes and is the maintained ripgrep matcher).

use globset::{Glob, GlobMatcher};

#[derive(Debug, Clone)]
pub enum NamePattern {
    /// `*`: every name (kept apart from globs: it is common and needs no matcher).
    Any,
    Exact(String),
    Glob {
        source: String,
        matcher: GlobMatcher,
    },
}

impl NamePattern {
    pub fn parse(source: &str) -> Result<Self, String> {
        if source.is_empty() {
            return Err("empty namespace pattern".to_string());
        }
        if source == "*" {
            return Ok(Self::Any);
        }
        if !source.contains(['*', '?', '[', ']', '{', '}']) {
            return Ok(Self::Exact(source.to_string()));
        }
        let glob =
            Glob::new(source).map_err(|error| format!("invalid glob {source:?}: {error}"))?;
        Ok(Self::Glob {
            source: source.to_string(),
            matcher: glob.compile_matcher(),
        })
    }

    pub fn matches(&self, name: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Exact(exact) => exact == name,
            Self::Glob { matcher, .. } => matcher.is_match(name),
        }
    }

    /// `*` alone: every namespace.
    pub fn is_match_all(&self) -> bool {
        matches!(self, Self::Any)
    }

    pub fn exact(&self) -> Option<&str> {
        match self {
            Self::Exact(exact) => Some(exact),
            Self::Any | Self::Glob { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_name_matches_only_itself() {
        let pattern = NamePattern::parse("data-platform").unwrap();
        assert!(pattern.matches("data-platform"));
        assert!(!pattern.matches("data-platform-2"));
    }

    #[test]
    fn star_question_and_class_globs_match_like_velero() {
        let star = NamePattern::parse("team-*").unwrap();
        assert!(star.matches("team-a") && star.matches("team-") && !star.matches("teams"));
        let one = NamePattern::parse("ns-?").unwrap();
        assert!(one.matches("ns-1") && !one.matches("ns-12"));
        let class = NamePattern::parse("db-[ab]").unwrap();
        assert!(class.matches("db-a") && !class.matches("db-c"));
    }

    #[test]
    fn rejects_unclosed_class() {
        assert!(NamePattern::parse("db-[ab").is_err());
    }
}

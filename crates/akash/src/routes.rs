//! The function route matcher: one pure module shared by the Function spec's validation and by
//! the functions runtime, so that what validation accepts is exactly what the runtime serves.
//!
//! A pattern is `/` followed by segments: a literal (`users`), a parameter (`:id`, one
//! non-empty segment) or, as the last segment only, `*` (zero or more segments). A trailing
//! `/` is ignored (`/a/` is `/a`). When several patterns match a path, the winner is decided
//! segment by segment from the left: a literal beats a parameter, which beats `*`; a pattern
//! that ends where the path ends beats one that goes on with `*`. So exact beats `:param`
//! beats `*`, a longer pattern beats a shorter one that would reach the same place with `*`,
//! and `/*` is always last. Two patterns of the same shape (`/a/:x` and `/a/:y`, or `/a` and
//! `/a/`) could never be told apart and are refused.
//!
//! Matching walks a segment trie depth first in that priority order, so its cost follows the
//! path's length, not the table's size.

use std::collections::HashMap;
use std::fmt;

/// One segment of a parsed pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// A literal segment that must equal the path's.
    Exact(String),
    /// `:name`: any one non-empty segment, captured under `name`.
    Param(String),
    /// `*`, last only: zero or more segments.
    Rest,
}

/// A parsed route pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    /// The pattern as written.
    pub source: String,
    /// Its segments, without the trailing empty one of `/a/`.
    pub segments: Vec<Segment>,
}

impl Pattern {
    /// Parses a pattern; the error says what is wrong and what would be valid.
    pub fn parse(pattern: &str) -> Result<Pattern, RouteError> {
        let bad = |why: String| RouteError::Pattern {
            pattern: pattern.to_string(),
            why,
        };
        let Some(rest) = pattern.strip_prefix('/') else {
            return Err(bad(format!(
                "must start with \"/\", e.g. \"/{}\"",
                pattern.trim_start_matches('/')
            )));
        };
        let mut segments = Vec::new();
        if rest.is_empty() {
            return Ok(Pattern {
                source: pattern.to_string(),
                segments,
            });
        }
        let parts: Vec<&str> = rest.split('/').collect();
        let last = parts.len() - 1;
        for (i, seg) in parts.iter().enumerate() {
            if seg.is_empty() {
                if i == last {
                    continue;
                }
                return Err(bad("has an empty segment (\"//\")".into()));
            }
            if *seg == "*" {
                if i != last {
                    return Err(bad("`*` is only allowed as the last segment".into()));
                }
                segments.push(Segment::Rest);
                continue;
            }
            if let Some(name) = seg.strip_prefix(':') {
                let ok = !name.is_empty()
                    && !name.starts_with(|c: char| c.is_ascii_digit())
                    && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                if !ok {
                    return Err(bad(format!(
                        "`{seg}` is not a parameter: expected `:` and a name such as `:id`"
                    )));
                }
                if segments
                    .iter()
                    .any(|s| matches!(s, Segment::Param(n) if n == name))
                {
                    return Err(bad(format!("parameter `:{name}` appears twice")));
                }
                segments.push(Segment::Param(name.to_string()));
                continue;
            }
            let ok = seg
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~%!$&'()+,;=@".contains(&b));
            if !ok {
                return Err(bad(format!(
                    "segment `{seg}` has characters a path cannot hold (`*` only as a whole last segment, `:` only to start a parameter)"
                )));
            }
            segments.push(Segment::Exact((*seg).to_string()));
        }
        Ok(Pattern {
            source: pattern.to_string(),
            segments,
        })
    }

    /// The pattern's shape: parameters without their names. Two patterns of one shape match
    /// exactly the same paths with the same priority.
    pub fn shape(&self) -> String {
        let mut s = String::new();
        for seg in &self.segments {
            s.push('/');
            match seg {
                Segment::Exact(e) => s.push_str(e),
                Segment::Param(_) => s.push(':'),
                Segment::Rest => s.push('*'),
            }
        }
        if s.is_empty() {
            s.push('/');
        }
        s
    }
}

/// What is wrong with a route table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// A pattern that does not parse.
    #[error("route pattern `{pattern}` {why}")]
    Pattern { pattern: String, why: String },
    /// Two patterns that match the same paths with the same priority.
    #[error("route pattern `{pattern}` is ambiguous with `{other}`: both match the same paths (parameter names and a trailing \"/\" do not tell routes apart)")]
    Ambiguous { pattern: String, other: String },
}

impl RouteError {
    /// The pattern the error is about.
    pub fn pattern(&self) -> &str {
        match self {
            RouteError::Pattern { pattern, .. } | RouteError::Ambiguous { pattern, .. } => pattern,
        }
    }
}

/// A route that matched a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match<'a, T> {
    /// The winning pattern as written.
    pub pattern: &'a str,
    /// Its target.
    pub target: &'a T,
    /// `:param` captures, in pattern order.
    pub params: Vec<(&'a str, String)>,
    /// What `*` matched (without a leading `/`), empty when the pattern has no `*`.
    pub rest: String,
}

#[derive(Debug)]
struct Node {
    exact: HashMap<String, Node>,
    param: Option<Box<Node>>,
    /// Index of the route that ends here.
    end: Option<usize>,
    /// Index of the route whose `*` starts here.
    rest: Option<usize>,
}

impl Node {
    fn new() -> Node {
        Node {
            exact: HashMap::new(),
            param: None,
            end: None,
            rest: None,
        }
    }
}

/// A compiled route table.
#[derive(Debug)]
pub struct RouteTable<T> {
    routes: Vec<(Pattern, T)>,
    root: Node,
}

impl<T> fmt::Display for RouteTable<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} routes", self.routes.len())
    }
}

impl<T> RouteTable<T> {
    /// Compiles a table; every bad or ambiguous pattern is reported (in input order).
    pub fn new(routes: impl IntoIterator<Item = (String, T)>) -> Result<Self, Vec<RouteError>> {
        let mut errors = Vec::new();
        let mut table = RouteTable {
            routes: Vec::new(),
            root: Node::new(),
        };
        let mut shapes: HashMap<String, usize> = HashMap::new();
        for (source, target) in routes {
            let pattern = match Pattern::parse(&source) {
                Ok(p) => p,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            let idx = table.routes.len();
            if let Some(&other) = shapes.get(&pattern.shape()) {
                errors.push(RouteError::Ambiguous {
                    pattern: source,
                    other: table.routes[other].0.source.clone(),
                });
                continue;
            }
            shapes.insert(pattern.shape(), idx);
            let mut node = &mut table.root;
            for seg in &pattern.segments {
                node = match seg {
                    Segment::Exact(e) => node.exact.entry(e.clone()).or_insert_with(Node::new),
                    Segment::Param(_) => node.param.get_or_insert_with(|| Box::new(Node::new())),
                    Segment::Rest => break,
                };
            }
            if pattern.segments.last() == Some(&Segment::Rest) {
                node.rest = Some(idx);
            } else {
                node.end = Some(idx);
            }
            table.routes.push((pattern, target));
        }
        if errors.is_empty() {
            Ok(table)
        } else {
            Err(errors)
        }
    }

    /// The number of routes.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// Whether the table has no routes.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// The route that serves `path` (a request path, without the query), if any.
    pub fn find(&self, path: &str) -> Option<Match<'_, T>> {
        let path = path.split(['?', '#']).next().unwrap_or("");
        let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let idx = walk(&self.root, &segs)?;
        let (pattern, target) = &self.routes[idx];
        let mut params = Vec::new();
        let mut rest = String::new();
        for (i, seg) in pattern.segments.iter().enumerate() {
            match seg {
                Segment::Param(name) => params.push((name.as_str(), segs[i].to_string())),
                Segment::Rest => rest = segs[i..].join("/"),
                Segment::Exact(_) => {}
            }
        }
        Some(Match {
            pattern: &pattern.source,
            target,
            params,
            rest,
        })
    }
}

fn walk(node: &Node, segs: &[&str]) -> Option<usize> {
    match segs.split_first() {
        None => node.end.or(node.rest),
        Some((first, tail)) => node
            .exact
            .get(*first)
            .and_then(|n| walk(n, tail))
            .or_else(|| node.param.as_ref().and_then(|n| walk(n, tail)))
            .or(node.rest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(patterns: &[&str]) -> RouteTable<usize> {
        RouteTable::new(
            patterns
                .iter()
                .enumerate()
                .map(|(i, p)| ((*p).to_string(), i)),
        )
        .unwrap()
    }

    fn winner<'a>(t: &'a RouteTable<usize>, path: &str) -> Option<&'a str> {
        t.find(path).map(|m| m.pattern)
    }

    #[test]
    fn exact_beats_param_beats_star() {
        let t = table(&["/*", "/api/*", "/api/:id", "/api/users"]);
        assert_eq!(winner(&t, "/api/users"), Some("/api/users"));
        assert_eq!(winner(&t, "/api/42"), Some("/api/:id"));
        assert_eq!(winner(&t, "/api/42/x"), Some("/api/*"));
        assert_eq!(winner(&t, "/other"), Some("/*"));
        // Order in the table does not matter.
        let t = table(&["/api/users", "/api/:id", "/api/*", "/*"]);
        assert_eq!(winner(&t, "/api/users"), Some("/api/users"));
        assert_eq!(winner(&t, "/api/42"), Some("/api/:id"));
    }

    #[test]
    fn longer_beats_shorter() {
        let t = table(&["/api/*", "/api/users/*", "/api/users/:id/posts"]);
        assert_eq!(winner(&t, "/api/users/7"), Some("/api/users/*"));
        assert_eq!(
            winner(&t, "/api/users/7/posts"),
            Some("/api/users/:id/posts")
        );
        assert_eq!(winner(&t, "/api/orders"), Some("/api/*"));
        // A pattern that ends where the path ends beats a `*` that matches nothing.
        let t = table(&["/api/users/*", "/api/users"]);
        assert_eq!(winner(&t, "/api/users"), Some("/api/users"));
        assert_eq!(winner(&t, "/api/users/"), Some("/api/users"));
        assert_eq!(winner(&t, "/api/users/1"), Some("/api/users/*"));
    }

    #[test]
    fn star_is_last_and_matches_nothing_too() {
        let t = table(&["/*", "/a/:x/:y"]);
        assert_eq!(winner(&t, "/"), Some("/*"));
        assert_eq!(winner(&t, "/a/b/c"), Some("/a/:x/:y"));
        assert_eq!(winner(&t, "/a/b"), Some("/*"));
        let m = t.find("/z/y/x?q=1").unwrap();
        assert_eq!(m.rest, "z/y/x");
    }

    #[test]
    fn backtracks_from_a_dead_literal_branch() {
        // `/a/b` exists but does not go on to `c`; `/a/:x/c` must still be found.
        let t = table(&["/a/b/d", "/a/:x/c"]);
        assert_eq!(winner(&t, "/a/b/c"), Some("/a/:x/c"));
        assert_eq!(winner(&t, "/a/b/d"), Some("/a/b/d"));
        assert_eq!(winner(&t, "/a/b"), None);
    }

    #[test]
    fn params_are_captured() {
        let t = table(&["/v1/:org/items/:item"]);
        let m = t.find("/v1/acme/items/9").unwrap();
        assert_eq!(
            m.params,
            vec![("org", "acme".to_string()), ("item", "9".to_string())]
        );
        assert_eq!(t.find("/v1/acme/items"), None);
    }

    #[test]
    fn root_and_no_match() {
        let t = table(&["/", "/api/users/*"]);
        assert_eq!(winner(&t, "/"), Some("/"));
        assert_eq!(winner(&t, ""), Some("/"));
        assert_eq!(winner(&t, "/nope"), None);
        assert!(table(&[]).find("/").is_none());
    }

    #[test]
    fn ambiguous_and_duplicate_patterns_are_refused() {
        let errs = RouteTable::new([
            ("/a/:x".to_string(), 0),
            ("/a/:y".to_string(), 1),
            ("/b".to_string(), 2),
            ("/b/".to_string(), 3),
            ("/c/*".to_string(), 4),
        ])
        .unwrap_err();
        assert_eq!(errs.len(), 2);
        assert_eq!(
            errs[0],
            RouteError::Ambiguous {
                pattern: "/a/:y".into(),
                other: "/a/:x".into()
            }
        );
        assert_eq!(errs[1].pattern(), "/b/");
        assert!(errs[1].to_string().contains("ambiguous with `/b`"));
    }

    #[test]
    fn invalid_patterns_say_why() {
        let why = |p: &str| Pattern::parse(p).unwrap_err().to_string();
        assert!(why("api/*").contains("must start with \"/\", e.g. \"/api/*\""));
        assert!(why("/a/*/b").contains("last segment"));
        assert!(why("/a//b").contains("empty segment"));
        assert!(why("/:1x").contains("not a parameter"));
        assert!(why("/a*b").contains("characters a path cannot hold"));
        assert!(why("/:id/:id").contains("appears twice"));
        for ok in [
            "/",
            "/*",
            "/api/users/*",
            "/api/:id",
            "/a/b/",
            "/v1/:org_id/items",
        ] {
            assert!(Pattern::parse(ok).is_ok(), "{ok}");
        }
    }

    /// The trie agrees with the rule stated in the module doc, applied by brute force: among
    /// the patterns that match, the one with the best segment ranks from the left wins.
    #[test]
    fn trie_agrees_with_the_ranking_rule() {
        fn matches(p: &Pattern, segs: &[&str]) -> bool {
            let mut i = 0;
            for s in &p.segments {
                match s {
                    Segment::Rest => return true,
                    Segment::Exact(e) => {
                        if segs.get(i) != Some(&e.as_str()) {
                            return false;
                        }
                    }
                    Segment::Param(_) => {
                        if i >= segs.len() {
                            return false;
                        }
                    }
                }
                i += 1;
            }
            i == segs.len()
        }
        // Rank per segment: literal 0, param 1, end-of-pattern 2, `*` 3.
        fn ranks(p: &Pattern) -> Vec<u8> {
            let mut r: Vec<u8> = p
                .segments
                .iter()
                .map(|s| match s {
                    Segment::Exact(_) => 0,
                    Segment::Param(_) => 1,
                    Segment::Rest => 3,
                })
                .collect();
            if p.segments.last() != Some(&Segment::Rest) {
                r.push(2);
            }
            r
        }
        let patterns = [
            "/", "/*", "/a", "/a/*", "/a/:x", "/a/b", "/a/b/*", "/a/:x/c", "/a/b/c", "/:x/b",
            "/:x/:y/*", "/:x", "/c/:x/:y",
        ];
        let t = table(&patterns);
        let parsed: Vec<Pattern> = patterns
            .iter()
            .map(|p| Pattern::parse(p).unwrap())
            .collect();
        let words = ["a", "b", "c", "d"];
        let mut paths = vec![String::from("/")];
        for a in words {
            paths.push(format!("/{a}"));
            for b in words {
                paths.push(format!("/{a}/{b}"));
                for c in words {
                    paths.push(format!("/{a}/{b}/{c}"));
                    paths.push(format!("/{a}/{b}/{c}/d"));
                }
            }
        }
        for path in &paths {
            let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
            let expected = parsed
                .iter()
                .filter(|p| matches(p, &segs))
                .min_by_key(|p| ranks(p))
                .map(|p| p.source.as_str());
            assert_eq!(winner(&t, path), expected, "{path}");
        }
    }
}

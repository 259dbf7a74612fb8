//! Errors of SDL conversion: every problem names where it is in the SDL.

use std::fmt;

use super::yaml::{self, Node, Pos};

/// One problem found in an SDL: where it is and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    /// Dotted path inside the SDL, e.g. `services.web.expose[0].port`; empty for the whole document.
    pub path: String,
    /// What is wrong and, where it helps, what would be valid.
    pub message: String,
    /// 1-based line of the node the path names (of its nearest written ancestor when the
    /// node is missing).
    pub line: usize,
    /// 1-based column, with [`Issue::line`].
    pub column: usize,
}

impl Issue {
    /// `line:column`, as the spec loader prints positions.
    pub fn position(&self) -> String {
        format!("{}:{}", self.line, self.column)
    }
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Why an SDL could not be converted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SdlError {
    /// The text is not well-formed YAML, or is beyond the parser's limits.
    #[error("cannot read the sdl as yaml: {message} at line {line} column {column}")]
    Syntax {
        /// The YAML parser's description of the problem.
        message: String,
        /// 1-based line where the problem was found.
        line: usize,
        /// 1-based column where the problem was found.
        column: usize,
        /// The path of the node being read (empty at the document level).
        path: String,
    },
    /// The YAML is well-formed but breaks one or more SDL rules.
    #[error("invalid sdl: {}", IssueList(.issues))]
    Invalid {
        /// Every problem found, in document order where possible.
        issues: Vec<Issue>,
    },
}

impl SdlError {
    pub(crate) fn syntax(message: impl Into<String>, pos: Pos, path: &str) -> SdlError {
        SdlError::Syntax {
            message: message.into(),
            line: pos.line as usize,
            column: pos.column as usize,
            path: path.to_owned(),
        }
    }

    /// The individual problems, each with its path, line and column (one for a syntax
    /// error).
    pub fn issues(&self) -> Vec<Issue> {
        match self {
            SdlError::Syntax {
                message,
                line,
                column,
                path,
            } => vec![Issue {
                path: path.clone(),
                message: message.clone(),
                line: *line,
                column: *column,
            }],
            SdlError::Invalid { issues } => issues.clone(),
        }
    }
}

struct IssueList<'a>(&'a [Issue]);

impl fmt::Display for IssueList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, issue) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{issue}")?;
        }
        Ok(())
    }
}

/// A path inside the SDL, built while walking it: a chain of borrowed segments on the
/// walk's stack, so naming a child costs nothing; it is written out as text (dotted, e.g.
/// `services.web.expose[0].port`) only when an issue is reported.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Path<'a> {
    /// The whole document.
    Root,
    /// A mapping key below a path.
    Key(&'a Path<'a>, &'a str),
    /// A sequence item below a path.
    Index(&'a Path<'a>, usize),
}

static ROOT: Path<'static> = Path::Root;

impl<'a> Path<'a> {
    pub(crate) fn root() -> &'static Path<'static> {
        &ROOT
    }

    /// The path of a mapping key below this one.
    pub(crate) fn key<'b>(&'b self, key: &'b str) -> Path<'b> {
        Path::Key(self, key)
    }

    /// The path of a sequence item below this one.
    pub(crate) fn index(&self, i: usize) -> Path<'_> {
        Path::Index(self, i)
    }

    fn write(&self, out: &mut String) {
        match self {
            Path::Root => {}
            Path::Key(parent, key) => {
                parent.write(out);
                push_key(out, key);
            }
            Path::Index(parent, i) => {
                parent.write(out);
                push_index(out, *i);
            }
        }
    }

    /// The dotted text of the path.
    pub(crate) fn text(&self) -> String {
        let mut s = String::new();
        self.write(&mut s);
        s
    }
}

/// Appends a mapping key to a path's text: `.key`, or `["a.b"]` for a key that would make
/// the dotted form ambiguous.
pub(crate) fn push_key(s: &mut String, key: &str) {
    let plain = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'/'));
    if plain {
        if !s.is_empty() {
            s.push('.');
        }
        s.push_str(key);
    } else {
        s.push('[');
        s.push_str(&format!("{key:?}"));
        s.push(']');
    }
}

/// Appends a sequence index to a path's text: `[i]`.
pub(crate) fn push_index(s: &mut String, i: usize) {
    s.push('[');
    s.push_str(&i.to_string());
    s.push(']');
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

/// Collects issues while the SDL is walked, so that several can be reported at once.
#[derive(Debug, Default)]
pub(crate) struct Issues(Vec<Issue>);

impl Issues {
    pub(crate) fn push(&mut self, path: &Path, message: impl Into<String>) {
        self.0.push(Issue {
            path: path.text(),
            message: message.into(),
            line: 0,
            column: 0,
        });
    }

    /// Gives every issue the line and column of its path in `root`.
    pub(crate) fn locate(mut self, root: &Node) -> Issues {
        if !self.0.is_empty() {
            let positions = yaml::positions(root);
            for issue in &mut self.0 {
                let pos = yaml::locate(&positions, &issue.path);
                issue.line = pos.line as usize;
                issue.column = pos.column as usize;
            }
        }
        self
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn into_result<T>(self, value: T) -> Result<T, SdlError> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(SdlError::Invalid { issues: self.0 })
        }
    }

    pub(crate) fn into_error(self) -> SdlError {
        SdlError::Invalid { issues: self.0 }
    }
}

//! A fast reader for the YAML that SDLs are written in, giving the same tree as the full
//! parser in `yaml.rs` (same scalars, kinds and positions) or nothing.
//!
//! SDLs use a small part of YAML: block mappings and sequences (sequences also unindented
//! under a key), plain scalars and single- or double-quoted ones on one line, one-line flow
//! collections (`{units: 0.5}`, `[a, b]`), literal and folded block scalars (`|`, `|-`, `>`,
//! `>-`), comments and one leading `---`. This reader handles exactly that, byte by byte with
//! no lookahead buffer. On anything else (anchors, aliases, tags, multi-line plain or quoted
//! scalars, empty values, tabs, CR, non-ASCII text, indentation it does not expect, any syntax
//! error) it gives up, and `yaml::parse_document` reads the text with the full parser, which
//! also reports every error with its line and column. So the fast path never changes what is
//! accepted or how it is read; the tests compare both readers on every fixture and on many
//! edited variants of them.

use std::borrow::Cow;
use std::cell::RefCell;

use super::yaml::{resolve_plain, Kind, Node, Pos, MAX_NODES};

/// The reader gave up: the full parser reads the text instead.
struct GiveUp;

type Res<T> = Result<T, GiveUp>;

/// Nesting this reader follows; deeper documents (up to the full parser's own limit) go to
/// the full parser, which bounds and reports them.
const MAX_FAST_DEPTH: usize = 64;

/// Longest key a block mapping may have on this path (the full parser's simple-key limit
/// is 1024 characters).
const MAX_KEY: usize = 1000;

/// Reads `text` as one YAML document, or `None` when the full parser must read it. The
/// flag says whether a scalar `<<` was read, as `yaml::parse_document` says it.
pub(crate) fn parse(text: &str) -> Option<(Node<'_>, bool)> {
    let s = text.as_bytes();
    // Printable ASCII and line feeds only: columns are then byte offsets, and no character
    // needs YAML's rules for tabs, CR, BOMs or Unicode line breaks.
    // (A fold without early exit, which the compiler vectorizes.)
    let printable = s.iter().fold(true, |ok, &b| {
        ok & (b == b'\n' || b.wrapping_sub(0x20) < 0x5f)
    });
    if !printable {
        return None;
    }
    let (entries, items) = STACKS.with(|stacks| {
        stacks
            .try_borrow_mut()
            .map(|mut stacks| std::mem::take(&mut *stacks))
            .unwrap_or_default()
    });
    let mut r = Reader {
        text,
        s,
        i: 0,
        line: 1,
        line_start: 0,
        nodes: 0,
        depth: 0,
        merge: false,
        next: None,
        entries: recycle(entries),
        items: recycle(items),
    };
    let root = r.document();
    // The stacks go back for the next read, empty (a huge document's are let go).
    let stacks = (
        recycle(std::mem::take(&mut r.entries)),
        recycle(std::mem::take(&mut r.items)),
    );
    if stacks.0.capacity() <= KEEP_STACK && stacks.1.capacity() <= KEEP_STACK {
        STACKS.with(|kept| {
            if let Ok(mut kept) = kept.try_borrow_mut() {
                *kept = stacks;
            }
        });
    }
    Some((root.ok()?, r.merge))
}

type Stacks = (Vec<(Node<'static>, Node<'static>)>, Vec<Node<'static>>);

thread_local! {
    /// The reader's stacks between reads, empty: their room is reused, where growing
    /// them anew for each document cost several reallocations.
    static STACKS: RefCell<Stacks> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// Largest stack kept between reads (in entries).
const KEEP_STACK: usize = 256;

/// An empty vector with the room of `v`, for elements of another type with the same layout
/// (here the same nodes borrowing another text): the standard library collects a vector's
/// own iterator in place when the layouts match, so the allocation is kept.
fn recycle<T, U>(mut v: Vec<T>) -> Vec<U> {
    v.clear();
    v.into_iter().filter_map(|_| None).collect()
}

struct Reader<'a> {
    text: &'a str,
    s: &'a [u8],
    i: usize,
    line: u32,
    line_start: usize,
    nodes: usize,
    depth: usize,
    merge: bool,
    /// After a block node: the column of the next content line (`i` is at its content), or
    /// `None` at the end of the text.
    next: Option<usize>,
    /// Entries and items of the open collections, innermost last: each collection is
    /// moved out at its end into a vector of its exact size, with no growing.
    entries: Vec<(Node<'a>, Node<'a>)>,
    items: Vec<Node<'a>>,
}

/// Bits of [`PLAIN_STOPS`]: the character may end a plain scalar in block context, in
/// flow context.
const STOP_BLOCK: u8 = 1;
const STOP_FLOW: u8 = 2;

/// For each byte, in which contexts it may end a plain scalar (or needs a closer look):
/// line feeds, blanks and `:` in both, flow indicators in flow context.
static PLAIN_STOPS: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b'\n' as usize] = STOP_BLOCK | STOP_FLOW;
    t[b' ' as usize] = STOP_BLOCK | STOP_FLOW;
    t[b':' as usize] = STOP_BLOCK | STOP_FLOW;
    t[0] = STOP_BLOCK | STOP_FLOW;
    t[b',' as usize] = STOP_FLOW;
    t[b'[' as usize] = STOP_FLOW;
    t[b']' as usize] = STOP_FLOW;
    t[b'{' as usize] = STOP_FLOW;
    t[b'}' as usize] = STOP_FLOW;
    t
};

/// The items of a stack from `base` on (a collection's, which are the last), moved out in
/// one copy into a vector of their exact size.
fn take_from<T>(stack: &mut Vec<T>, base: usize) -> Vec<T> {
    if base >= stack.len() {
        Vec::new()
    } else if base == 0 {
        // `split_off(0)` would hand over the stack's own buffer and allocate another.
        let mut out = Vec::with_capacity(stack.len());
        out.append(stack);
        out
    } else {
        stack.split_off(base)
    }
}

fn is_flow(b: u8) -> bool {
    matches!(b, b',' | b'[' | b']' | b'{' | b'}')
}

/// A blank or the end of a line or of the text (0 stands for the end: the text has no NUL).
fn is_blankz(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | 0)
}

impl<'a> Reader<'a> {
    fn at(&self, i: usize) -> u8 {
        self.s.get(i).copied().unwrap_or(0)
    }

    /// Text between two byte offsets (all ASCII, so any offsets are character boundaries).
    fn slice(&self, start: usize, end: usize) -> Res<&'a str> {
        self.text.get(start..end).ok_or(GiveUp)
    }

    fn peek(&self) -> u8 {
        self.at(self.i)
    }

    fn col(&self) -> usize {
        self.i - self.line_start
    }

    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            column: u32::try_from(self.col() + 1).unwrap_or(u32::MAX),
        }
    }

    fn count(&mut self) -> Res<()> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(GiveUp);
        }
        Ok(())
    }

    fn enter(&mut self) -> Res<()> {
        self.depth += 1;
        if self.depth > MAX_FAST_DEPTH {
            return Err(GiveUp);
        }
        self.count()
    }

    fn skip_spaces(&mut self) {
        while self.peek() == b' ' {
            self.i += 1;
        }
    }

    /// Past the line feed at `i` (or at the end of the text).
    fn next_line(&mut self) {
        if self.i < self.s.len() {
            self.i += 1;
            self.line += 1;
            self.line_start = self.i;
        }
    }

    /// The rest of the line after a value: blanks, then a comment or nothing. Moves to the
    /// next line.
    fn end_of_line(&mut self) -> Res<()> {
        self.skip_spaces();
        match self.peek() {
            b'\n' | 0 => {}
            // A comment needs a blank before it (or the line's start).
            b'#' if self.i == self.line_start || self.s[self.i - 1] == b' ' => {
                while !matches!(self.peek(), b'\n' | 0) {
                    self.i += 1;
                }
            }
            _ => return Err(GiveUp),
        }
        self.next_line();
        Ok(())
    }

    /// From the start of a line, skips blank and comment lines; stops at the first content
    /// character and returns its column, or `None` at the end of the text. A document marker
    /// (`---`, `...`) gives up.
    fn next_content(&mut self) -> Res<Option<usize>> {
        loop {
            self.skip_spaces();
            match self.peek() {
                0 if self.i >= self.s.len() => return Ok(None),
                b'\n' => self.next_line(),
                b'#' => {
                    while !matches!(self.peek(), b'\n' | 0) {
                        self.i += 1;
                    }
                    self.next_line();
                }
                _ => {
                    if self.col() == 0 && self.document_marker() {
                        return Err(GiveUp);
                    }
                    return Ok(Some(self.col()));
                }
            }
        }
    }

    fn document_marker(&self) -> bool {
        let s = &self.s[self.i..];
        (s.starts_with(b"---") || s.starts_with(b"...")) && is_blankz(self.at(self.i + 3))
    }

    fn document(&mut self) -> Res<Node<'a>> {
        // Leading comments, then at most one `---` (with nothing but a comment after it).
        loop {
            self.skip_spaces();
            match self.peek() {
                b'\n' => self.next_line(),
                b'#' => self.end_of_line()?,
                _ => break,
            }
        }
        if self.col() == 0 && self.s[self.i..].starts_with(b"---") && is_blankz(self.at(self.i + 3))
        {
            self.i += 3;
            self.end_of_line()?;
        } else if self.col() != 0 {
            return Err(GiveUp);
        }
        let Some(_) = self.next_content()? else {
            // An empty document: the full parser says what it is.
            return Err(GiveUp);
        };
        let root = self.block_node(-1)?;
        if self.next.is_some() {
            return Err(GiveUp);
        }
        Ok(root)
    }

    /// A block node whose first character is at `i`, inside a collection indented `parent`
    /// (-1 at the root). Returns the node and the column of the next content line.
    fn block_node(&mut self, parent: isize) -> Res<Node<'a>> {
        let c = self.col();
        match self.peek() {
            b'-' if is_blankz(self.at(self.i + 1)) => self.block_seq(c, false),
            b'[' | b'{' => {
                let node = self.flow_node()?;
                self.after_scalar(parent)?;
                Ok(node)
            }
            b'|' | b'>' => self.block_scalar(parent),
            _ => {
                let (kind, text, pos) = self.scalar(false)?;
                let mark = self.i;
                self.skip_spaces();
                if self.peek() == b':' && is_blankz(self.at(self.i + 1)) {
                    self.block_map(c, (kind, text, pos))
                } else {
                    self.i = mark;
                    let node = self.leaf(kind, text, pos)?;
                    self.after_scalar(parent)?;
                    Ok(node)
                }
            }
        }
    }

    /// After a value that ends on its line: the rest of the line, then the next content line,
    /// which may not be indented more than `parent` (that would continue a plain scalar, or
    /// be an error).
    fn after_scalar(&mut self, parent: isize) -> Res<()> {
        self.end_of_line()?;
        let next = self.next_content()?;
        match next {
            Some(m) if m as isize > parent => Err(GiveUp),
            _ => {
                self.next = next;
                Ok(())
            }
        }
    }

    fn leaf(&mut self, kind: Kind, text: Cow<'a, str>, pos: Pos) -> Res<Node<'a>> {
        self.count()?;
        let text = if kind == Kind::Null {
            Cow::Borrowed("")
        } else {
            text
        };
        self.merge |= text == "<<";
        Ok(Node::Scalar(kind, text, pos))
    }

    /// A block mapping at column `c` whose first key has been read (`i` is at its `:`).
    fn block_map(&mut self, c: usize, first: (Kind, Cow<'a, str>, Pos)) -> Res<Node<'a>> {
        self.enter()?;
        // The full parser places a block mapping at the `:` of its first key.
        let pos = self.pos();
        let base = self.entries.len();
        let mut key = Some(first);
        loop {
            let (kind, text, kpos) = match key.take() {
                Some(k) => k,
                None => {
                    let k = self.scalar(false)?;
                    self.skip_spaces();
                    if !(self.peek() == b':' && is_blankz(self.at(self.i + 1))) {
                        return Err(GiveUp);
                    }
                    k
                }
            };
            if self.line_start + kpos.column as usize - 1 + MAX_KEY < self.i {
                return Err(GiveUp);
            }
            let k = self.leaf(kind, text, kpos)?;
            // Past the `:`.
            self.i += 1;
            self.skip_spaces();
            let value = match self.peek() {
                b'\n' | 0 | b'#' => {
                    self.end_of_line()?;
                    match self.next_content()? {
                        Some(m) if m > c => self.block_node(c as isize)?,
                        Some(m)
                            if m == c && self.peek() == b'-' && is_blankz(self.at(self.i + 1)) =>
                        {
                            self.block_seq(c, true)?
                        }
                        // An empty value: its position is the full parser's business.
                        _ => return Err(GiveUp),
                    }
                }
                b'-' if is_blankz(self.at(self.i + 1)) => return Err(GiveUp),
                b'[' | b'{' => {
                    let node = self.flow_node()?;
                    self.after_scalar(c as isize)?;
                    node
                }
                b'|' | b'>' => self.block_scalar(c as isize)?,
                _ => {
                    let (kind, text, vpos) = self.scalar(false)?;
                    let node = self.leaf(kind, text, vpos)?;
                    self.after_scalar(c as isize)?;
                    node
                }
            };
            self.entries.push((k, value));
            let next = self.next;
            match next {
                Some(m) if m == c => {
                    if self.peek() == b'-' && is_blankz(self.at(self.i + 1)) {
                        return Err(GiveUp);
                    }
                }
                Some(m) if m > c => return Err(GiveUp),
                _ => {
                    self.depth -= 1;
                    return Ok(Node::Map(take_from(&mut self.entries, base), pos));
                }
            }
        }
    }

    /// A block sequence whose first `-` is at `i`, at column `c`; `indentless` when it is
    /// a mapping's value at the mapping's own column.
    fn block_seq(&mut self, c: usize, indentless: bool) -> Res<Node<'a>> {
        self.enter()?;
        let mut pos = self.pos();
        let base = self.items.len();
        loop {
            // Past the `-`.
            self.i += 1;
            self.skip_spaces();
            if indentless && self.items.len() == base {
                // The full parser places an unindented sequence where its first item's
                // content starts (at the line's end when there is none on the line).
                if self.peek() == b'#' {
                    let at = self.i;
                    while !matches!(self.peek(), b'\n' | 0) {
                        self.i += 1;
                    }
                    pos = self.pos();
                    self.i = at;
                } else {
                    pos = self.pos();
                }
            }
            let item = match self.peek() {
                b'\n' | 0 | b'#' => {
                    self.end_of_line()?;
                    match self.next_content()? {
                        Some(m) if m > c => self.block_node(c as isize)?,
                        _ => return Err(GiveUp),
                    }
                }
                _ => self.block_node(c as isize)?,
            };
            self.items.push(item);
            let next = self.next;
            match next {
                Some(m) if m == c && self.peek() == b'-' && is_blankz(self.at(self.i + 1)) => {}
                Some(m) if m > c => return Err(GiveUp),
                _ => {
                    self.depth -= 1;
                    return Ok(Node::Seq(take_from(&mut self.items, base), pos));
                }
            }
        }
    }

    /// A scalar on one line: quoted, or plain (in block or flow context). `i` ends after it.
    fn scalar(&mut self, flow: bool) -> Res<(Kind, Cow<'a, str>, Pos)> {
        let pos = self.pos();
        match self.peek() {
            b'"' => {
                let text = self.double_quoted()?;
                self.after_quoted(flow)?;
                Ok((Kind::Str, text, pos))
            }
            b'\'' => {
                let text = self.single_quoted()?;
                self.after_quoted(flow)?;
                Ok((Kind::Str, text, pos))
            }
            _ => {
                let text = self.plain(flow)?;
                Ok((resolve_plain(text), Cow::Borrowed(text), pos))
            }
        }
    }

    /// What may follow a closing quote.
    fn after_quoted(&self, flow: bool) -> Res<()> {
        match self.peek() {
            b' ' | b'\n' | 0 | b':' => Ok(()),
            b if flow && is_flow(b) => Ok(()),
            _ => Err(GiveUp),
        }
    }

    fn plain(&mut self, flow: bool) -> Res<&'a str> {
        let first = self.peek();
        let second = self.at(self.i + 1);
        let starts = match first {
            b'-' | b'?' | b':' => {
                if flow {
                    second.is_ascii_alphanumeric() || second == b'.'
                } else {
                    !is_blankz(second)
                }
            }
            b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'\''
            | b'"' | b'%' | b'@' | b'`' | b' ' | b'\n' | 0 => false,
            _ => true,
        };
        if !starts {
            return Err(GiveUp);
        }
        let start = self.i;
        let mut end = self.i;
        let stop = if flow { STOP_FLOW } else { STOP_BLOCK };
        loop {
            // A run of characters that cannot end the scalar, at once.
            let run = self.s[self.i..]
                .iter()
                .position(|&b| PLAIN_STOPS[usize::from(b)] & stop != 0)
                .unwrap_or(self.s.len() - self.i);
            if run > 0 {
                self.i += run;
                end = self.i;
            }
            match self.peek() {
                b'\n' | 0 => break,
                b' ' => {
                    let mut j = self.i;
                    while self.at(j) == b' ' {
                        j += 1;
                    }
                    if matches!(self.at(j), b'#' | b'\n' | 0) {
                        break;
                    }
                    // In flow context the full parser reads what follows a blank as a
                    // new token start (`[mo -]`: "plain scalar cannot start with '-'
                    // followed by ,[]{}"): the same rule as a scalar's first character.
                    if flow
                        && matches!(self.at(j), b'-' | b'?' | b':')
                        && !(self.at(j + 1).is_ascii_alphanumeric() || self.at(j + 1) == b'.')
                    {
                        return Err(GiveUp);
                    }
                    self.i = j;
                }
                b':' if is_blankz(self.at(self.i + 1))
                    || (flow && is_flow(self.at(self.i + 1))) =>
                {
                    break
                }
                b if flow && is_flow(b) => break,
                _ => {
                    self.i += 1;
                    end = self.i;
                }
            }
        }
        self.i = end;
        // A `---`/`...` inside a line is text; at column 0 `next_content` has refused it.
        self.slice(start, end)
    }

    fn double_quoted(&mut self) -> Res<Cow<'a, str>> {
        self.i += 1;
        // Without escapes the text is the document's own.
        let start = self.i;
        while !matches!(self.peek(), b'"' | b'\\' | b'\n' | 0) {
            self.i += 1;
        }
        if self.peek() == b'"' {
            self.i += 1;
            return Ok(Cow::Borrowed(self.slice(start, self.i - 1)?));
        }
        self.i = start;
        let mut out = String::new();
        loop {
            let b = self.peek();
            match b {
                b'"' => {
                    self.i += 1;
                    return Ok(Cow::Owned(out));
                }
                b'\n' | 0 => return Err(GiveUp),
                b'\\' => {
                    let e = self.at(self.i + 1);
                    self.i += 2;
                    let c = match e {
                        b'0' => '\0',
                        b'a' => '\x07',
                        b'b' => '\x08',
                        b't' => '\t',
                        b'n' => '\n',
                        b'v' => '\x0b',
                        b'f' => '\x0c',
                        b'r' => '\r',
                        b'e' => '\x1b',
                        b' ' => ' ',
                        b'"' => '"',
                        b'/' => '/',
                        b'\\' => '\\',
                        b'x' | b'u' | b'U' => {
                            let n = match e {
                                b'x' => 2,
                                b'u' => 4,
                                _ => 8,
                            };
                            let hex = self.s.get(self.i..self.i + n).ok_or(GiveUp)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return Err(GiveUp);
                            }
                            let hex = std::str::from_utf8(hex).map_err(|_| GiveUp)?;
                            let code = u32::from_str_radix(hex, 16).map_err(|_| GiveUp)?;
                            self.i += n;
                            char::from_u32(code).ok_or(GiveUp)?
                        }
                        _ => return Err(GiveUp),
                    };
                    out.push(c);
                }
                _ => {
                    let start = self.i;
                    while !matches!(self.peek(), b'"' | b'\\' | b'\n' | 0) {
                        self.i += 1;
                    }
                    out.push_str(self.slice(start, self.i)?);
                }
            }
        }
    }

    fn single_quoted(&mut self) -> Res<Cow<'a, str>> {
        self.i += 1;
        let start = self.i;
        while !matches!(self.peek(), b'\'' | b'\n' | 0) {
            self.i += 1;
        }
        if self.peek() == b'\'' && self.at(self.i + 1) != b'\'' {
            self.i += 1;
            return Ok(Cow::Borrowed(self.slice(start, self.i - 1)?));
        }
        self.i = start;
        let mut out = String::new();
        loop {
            match self.peek() {
                b'\'' if self.at(self.i + 1) == b'\'' => {
                    out.push('\'');
                    self.i += 2;
                }
                b'\'' => {
                    self.i += 1;
                    return Ok(Cow::Owned(out));
                }
                b'\n' | 0 => return Err(GiveUp),
                b => {
                    out.push(b as char);
                    self.i += 1;
                }
            }
        }
    }

    /// A flow collection on one line; `i` ends after its closing bracket.
    fn flow_node(&mut self) -> Res<Node<'a>> {
        self.enter()?;
        let pos = self.pos();
        let open = self.peek();
        self.i += 1;
        self.skip_spaces();
        let node = if open == b'[' {
            let base = self.items.len();
            if self.peek() != b']' {
                loop {
                    let item = self.flow_item()?;
                    self.items.push(item);
                    self.skip_spaces();
                    if self.peek() == b':' {
                        return Err(GiveUp);
                    }
                    if !self.flow_next(b']')? {
                        break;
                    }
                }
            }
            self.i += 1;
            Node::Seq(take_from(&mut self.items, base), pos)
        } else {
            let base = self.entries.len();
            if self.peek() != b'}' {
                loop {
                    if matches!(self.peek(), b'[' | b'{') {
                        return Err(GiveUp);
                    }
                    let (kind, text, kpos) = self.scalar(true)?;
                    let key = self.leaf(kind, text, kpos)?;
                    self.skip_spaces();
                    if !(self.peek() == b':' && self.at(self.i + 1) == b' ') {
                        return Err(GiveUp);
                    }
                    self.i += 1;
                    self.skip_spaces();
                    let value = self.flow_item()?;
                    self.skip_spaces();
                    self.entries.push((key, value));
                    if !self.flow_next(b'}')? {
                        break;
                    }
                }
            }
            self.i += 1;
            Node::Map(take_from(&mut self.entries, base), pos)
        };
        self.depth -= 1;
        Ok(node)
    }

    /// After a flow item: `,` and another item (true), or the closing bracket (false, `i`
    /// at it).
    fn flow_next(&mut self, close: u8) -> Res<bool> {
        match self.peek() {
            b',' => {
                self.i += 1;
                self.skip_spaces();
                // A trailing comma, or an empty item.
                if matches!(self.peek(), b',' | b']' | b'}' | b'\n' | 0) {
                    return Err(GiveUp);
                }
                Ok(true)
            }
            b if b == close => Ok(false),
            _ => Err(GiveUp),
        }
    }

    fn flow_item(&mut self) -> Res<Node<'a>> {
        match self.peek() {
            b'[' | b'{' => self.flow_node(),
            _ => {
                let (kind, text, pos) = self.scalar(true)?;
                self.leaf(kind, text, pos)
            }
        }
    }

    /// A literal or folded block scalar (`|`, `|-`, `>`, `>-`) whose indicator is at `i`,
    /// inside a collection indented `parent`. Content lines must all be indented alike
    /// (more-indented lines are left to the full parser in folded scalars), the first one
    /// right after the header.
    fn block_scalar(&mut self, parent: isize) -> Res<Node<'a>> {
        let folded = self.peek() == b'>';
        self.i += 1;
        let strip = match self.peek() {
            b'-' => {
                self.i += 1;
                true
            }
            b' ' | b'\n' => false,
            _ => return Err(GiveUp),
        };
        self.end_of_line()?;
        // The first content line sets the indentation.
        let mut m = 0;
        while self.at(self.i + m) == b' ' {
            m += 1;
        }
        if matches!(self.at(self.i + m), b'\n' | 0) || m as isize <= parent || m == 0 {
            return Err(GiveUp);
        }
        // The full parser places a block scalar where its content starts.
        let pos = Pos {
            line: self.line,
            column: u32::try_from(m + 1).unwrap_or(u32::MAX),
        };
        let mut out = String::new();
        let mut empty_run = 0usize;
        let mut any = false;
        loop {
            if self.i >= self.s.len() {
                break;
            }
            let mut k = 0;
            while self.at(self.i + k) == b' ' {
                k += 1;
            }
            let b = self.at(self.i + k);
            if b == b'\n' {
                if k > m {
                    return Err(GiveUp);
                }
                empty_run += 1;
                self.i += k;
                self.next_line();
                continue;
            }
            if b == 0 {
                // Blanks at the very end: the full parser's business.
                return Err(GiveUp);
            }
            if k < m {
                break;
            }
            if folded && k > m {
                return Err(GiveUp);
            }
            let start = self.i + m;
            self.i += k;
            while !matches!(self.peek(), b'\n' | 0) {
                self.i += 1;
            }
            if self.peek() == 0 {
                // The text ends inside a content line, with no line break to chomp.
                return Err(GiveUp);
            }
            if any {
                if folded {
                    if empty_run == 0 {
                        out.push(' ');
                    }
                } else {
                    out.push('\n');
                }
                for _ in 0..empty_run {
                    out.push('\n');
                }
            } else if empty_run > 0 {
                return Err(GiveUp);
            }
            out.push_str(self.slice(start, self.i)?);
            any = true;
            empty_run = 0;
            self.next_line();
        }
        if !strip {
            out.push('\n');
        }
        self.count()?;
        self.merge |= out == "<<";
        let node = Node::Scalar(Kind::Str, Cow::Owned(out), pos);
        let next = self.next_content()?;
        match next {
            Some(m) if m as isize > parent => Err(GiveUp),
            _ => {
                self.next = next;
                Ok(node)
            }
        }
    }
}

/// Equal trees: the same kinds, texts and positions everywhere (floats by their bits).
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn identical(a: &Node<'_>, b: &Node<'_>) -> bool {
    match (a, b) {
        (Node::Scalar(k, x, p), Node::Scalar(l, y, q)) => {
            let kinds = match (k, l) {
                (Kind::Float(f), Kind::Float(g)) => f.to_bits() == g.to_bits(),
                _ => k == l,
            };
            kinds && x == y && p == q
        }
        (Node::Seq(a, p), Node::Seq(b, q)) => {
            p == q && a.len() == b.len() && a.iter().zip(b).all(|(x, y)| identical(x, y))
        }
        (Node::Map(a, p), Node::Map(b, q)) => {
            p == q
                && a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|((k, v), (l, w))| identical(k, l) && identical(v, w))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::super::yaml::parse_full;
    use super::identical;

    /// Whenever the fast reader gives a tree, the full parser gives the same one. Returns
    /// whether the fast reader read the text.
    fn agree(text: &str) -> bool {
        let Some((fast, merge)) = super::parse(text) else {
            return false;
        };
        match parse_full(text) {
            Ok((full, full_merge)) => {
                assert!(
                    identical(&fast, &full),
                    "the readers differ on {text:?}:\nfast {fast:?}\nfull {full:?}"
                );
                assert_eq!(merge, full_merge, "merge flag of {text:?}");
            }
            Err(e) => panic!("the fast reader took {text:?}, which the full parser refuses: {e}"),
        }
        true
    }

    fn collect(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            if path.is_dir() {
                collect(&path, out);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                if let Ok(text) = std::fs::read_to_string(&path) {
                    out.push((path, text));
                }
            }
        }
    }

    /// Every YAML file of the SDL fixtures and the operator's rendered golden SDLs.
    fn corpus() -> Vec<(PathBuf, String)> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut out = Vec::new();
        collect(&root.join("../../../shared/akash/fixtures"), &mut out);
        collect(&root.join("../../tests/golden"), &mut out);
        out
    }

    #[test]
    fn fixtures_take_the_fast_path_and_read_as_the_full_parser_reads_them() {
        let corpus = corpus();
        let mut fast = 0;
        for (path, text) in &corpus {
            let took = agree(text);
            // The valid inputs the benchmark converts, and the operator's own SDLs, must
            // not fall back: the fast path is what makes conversion fast.
            let name = path.to_string_lossy();
            if name.ends_with("input.yaml") || name.contains("golden") {
                assert!(took, "{} fell back to the full parser", path.display());
            }
            fast += usize::from(took);
        }
        if corpus.is_empty() {
            eprintln!("NOTICE: no fixture SDLs found; only the built-in cases ran");
        } else {
            assert!(
                fast >= 20,
                "only {fast} of {} files read fast",
                corpus.len()
            );
        }
    }

    #[test]
    fn each_supported_form_reads_as_the_full_parser_reads_it() {
        let taken = [
            "a: 1\nb: two\n",
            "# c\n---\na: 1\n",
            "--- # c\na: x # trailing\n",
            "a:\n  b:\n    c: 1\n  d: [1, \"two\", 'th''ree', {e: f}]\n",
            "a:\n- x\n- y\nb: 2\n",
            "a:\n  - x: 1\n    y: 2\n  - z: 3\n",
            "a:\n  -\n    x: 1\n",
            "a: {}\nb: []\nc: { x: 1 , y: [ ] }\n",
            "a: \"q\\n\\t\\\"\\\\\\/\\x41\\u00e9\"\n",
            "a: nginx:1.27\nb: http://x:80/y#z\nc: a b  c\n",
            "a: |\n  line one\n    indented\n\n  three\nb: 1\n",
            "a: |-\n  x\n  y\n\n\nb: 1\n",
            "a: >\n  folded\n  text\n\n  para\nb: 1\n",
            "a: >-\n  x\n  y\n",
            "- |\n  x\n- y\n",
            "a:\n  - - x\n    - y\n",
            "~: null\nTrue: 0x1F\n.5: -.inf\n<<: {a: 1}\n",
            "\"quoted key\": 1\n'other': 2\n",
            "a: -1\nb: -x\nc: ?y\nd: :z\n",
            "a:\n    # comment inside\n  b: 1\n",
            "a: b\n\n\n# end\n",
            "a: 1",
            "a:\n  b: c\n  d:\n  - e\n",
        ];
        for text in taken {
            assert!(agree(text), "the fast reader gave up on {text:?}");
        }
        let left = [
            "",
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "a:\nb: 1\n",
            "a: multi\n  line\n",
            "a: \"multi\n  line\"\n",
            "a:\tb\n",
            "a: b\r\n",
            "a: \u{e9}\n",
            "a: 1\n---\nb: 2\n",
            "a: [1,\n 2]\n",
            "a: |2\n   x\n",
            "a: |+\n  x\n",
            "a: |\n  x",
            "? a\n: b\n",
            "a: b: c\n",
            "a: - b\n",
            "a: [1, 2,]\n",
            "%YAML 1.2\n---\na: 1\n",
            "a: 1\n  b: 2\n",
            "  a: 1\n",
            "a: {b: }\n",
            "a: >\n  x\n    more\n  y\n",
            // Found by the fuzz target: after a blank in flow context, `-` before a flow
            // indicator starts a token the full parser refuses.
            "[mo -]\n ",
            "a: [x -, y]\n",
            "a: {k: v ?}\n",
        ];
        for text in left {
            assert!(!agree(text), "the fast reader took {text:?}");
        }
    }

    /// A small deterministic generator (xorshift), so failures repeat.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    const PIECES: [&str; 32] = [
        " ", "  ", "\n", "- ", "-", ":", ": ", "#", " #", "'", "\"", "[", "]", "{", "}", ",", "|",
        ">", "|-\n", ">-\n", "&a ", "*a", "!", "\\", "x", "~", "<<", "---\n", "\n  ", "\t", "0x1",
        "é",
    ];

    /// `AF_SCAN_EDITS` edits per text (150 by default; raise it for a longer search, and
    /// set `AF_SCAN_SEED` for other edits).
    fn edits_per_text() -> usize {
        std::env::var("AF_SCAN_EDITS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(150)
    }

    /// Edited fixtures (pieces of YAML syntax inserted, bytes deleted, lines repeated or
    /// re-indented): whatever the fast reader takes reads exactly as the full parser reads it.
    #[test]
    fn edited_fixtures_read_as_the_full_parser_reads_them() {
        let mut corpus: Vec<String> = corpus().into_iter().map(|(_, t)| t).collect();
        corpus.push("a:\n  b: [1, {c: d}]\n  e: |\n    x\n\n    y\n  f:\n  - g: 'h'\n".into());
        // `AF_SCAN_SEED` picks other edits.
        let seed = std::env::var("AF_SCAN_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0x9E37_79B9_7F4A_7C15_u64);
        let mut rng = Rng(seed | 1);
        let (mut taken, mut total) = (0, 0);
        for text in &corpus {
            for _ in 0..edits_per_text() {
                let mut t = text.clone();
                for _ in 0..=rng.below(3) {
                    let at = rng.below(t.len() + 1);
                    let at = (0..=at).rev().find(|&i| t.is_char_boundary(i)).unwrap_or(0);
                    match rng.below(4) {
                        0 | 1 => t.insert_str(at, PIECES[rng.below(PIECES.len())]),
                        2 => {
                            let end = (at + 1 + rng.below(6)).min(t.len());
                            if let Some(end) = (at..=end).rev().find(|&i| t.is_char_boundary(i)) {
                                t.replace_range(at..end, "");
                            }
                        }
                        _ => {
                            let start = t[..at].rfind('\n').map_or(0, |i| i + 1);
                            let end = t[at..].find('\n').map_or(t.len(), |i| at + i + 1);
                            let line = t[start..end].to_owned();
                            if rng.below(2) == 0 {
                                t.insert_str(start, &line);
                            } else {
                                t.insert_str(start, "  ");
                            }
                        }
                    }
                }
                total += 1;
                taken += usize::from(agree(&t));
            }
        }
        eprintln!("{taken} of {total} edited texts read by the fast reader");
        // Most edits keep the text readable by the fast path, so the comparison means
        // something.
        assert!(
            taken * 4 > total,
            "only {taken} of {total} edited texts read fast"
        );
    }
}

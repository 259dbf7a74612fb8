//! Go-canonical JSON: the bytes Akash hashes for a manifest version.
//!
//! Go computes `sdk.SortJSON(json.Marshal(manifest))`: the JSON is decoded into `interface{}`
//! and encoded again by `encoding/json`. So the result has:
//! * object keys sorted bytewise at every level, and no whitespace;
//! * strings escaped as Go escapes them: `"` `\` and control characters (`\b \f \n \r \t`
//!   short, others as `\u00XX`), plus `<` `>` `&` U+2028 U+2029 as `\u003c` `\u003e`
//!   `\u0026` `\u2028` `\u2029` (Go's HTML-safe default);
//! * every number as the float64 it decodes to, printed as Go prints a float64: shortest
//!   round-trip digits, in exponent form (`1e+21`, `1e-7`) below 1e-6 or from 1e21 up.

use std::fmt::Write;

use serde_json::{Number, Value};

/// Encodes a JSON value the way Go's `sdk.SortJSON` does (see the module docs).
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(&mut out, value);
    out
}

enum Frame<'a> {
    Array(std::slice::Iter<'a, Value>, bool),
    Object(std::vec::IntoIter<(&'a String, &'a Value)>, bool),
}

/// Appends the canonical form of `value` to `out`.
///
/// Works with an explicit stack, so even a value nested far deeper than any parser allows
/// cannot overflow the call stack.
pub fn write_canonical(out: &mut String, value: &Value) {
    let mut stack: Vec<Frame<'_>> = Vec::new();
    let mut next = Some(value);
    loop {
        if let Some(v) = next.take() {
            match v {
                Value::Null => out.push_str("null"),
                Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                Value::Number(n) => write_number(out, n),
                Value::String(s) => write_str(out, s),
                Value::Array(items) => {
                    out.push('[');
                    stack.push(Frame::Array(items.iter(), true));
                }
                Value::Object(map) => {
                    out.push('{');
                    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
                    stack.push(Frame::Object(entries.into_iter(), true));
                }
            }
        }
        match stack.last_mut() {
            None => return,
            Some(Frame::Array(items, first)) => match items.next() {
                Some(item) => {
                    if !std::mem::take(first) {
                        out.push(',');
                    }
                    next = Some(item);
                }
                None => {
                    out.push(']');
                    stack.pop();
                }
            },
            Some(Frame::Object(entries, first)) => match entries.next() {
                Some((k, item)) => {
                    if !std::mem::take(first) {
                        out.push(',');
                    }
                    write_str(out, k);
                    out.push(':');
                    next = Some(item);
                }
                None => {
                    out.push('}');
                    stack.pop();
                }
            },
        }
    }
}

fn write_number(out: &mut String, n: &Number) {
    // Go decodes every JSON number into a float64 first; Rust's `as` rounds to nearest like
    // Go's ParseFloat does.
    let f = if let Some(u) = n.as_u64() {
        u as f64
    } else if let Some(i) = n.as_i64() {
        i as f64
    } else {
        n.as_f64().unwrap_or(0.0)
    };
    write_go_float(out, f);
}

/// Appends a float64 as Go's `encoding/json` prints it.
pub(crate) fn write_go_float(out: &mut String, f: f64) {
    if !f.is_finite() {
        // Go refuses to encode these; serde_json values cannot hold them.
        out.push_str("null");
        return;
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let text = format!("{f:e}");
        let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        out.push_str(mantissa);
        // strconv writes at least two exponent digits, and encoding/json then trims the
        // leading zero of a negative one ("e-07" becomes "e-7").
        if exp < 0 {
            let _ = write!(out, "e-{}", exp.unsigned_abs());
        } else {
            let _ = write!(out, "e+{exp:02}");
        }
    } else {
        let _ = write!(out, "{f}");
    }
}

/// Appends a JSON string literal escaped as Go's `encoding/json` escapes it.
pub(crate) fn write_str(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(s.len() + 2);
    out.push('"');
    // Most strings (names, images, units) need no escape at all.
    if s.bytes()
        .all(|b| (b' '..0x80).contains(&b) && !matches!(b, b'"' | b'\\' | b'<' | b'>' | b'&'))
    {
        out.push_str(s);
        out.push('"');
        return;
    }
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let short = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\u{8}' => Some("\\b"),
            '\u{c}' => Some("\\f"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            '<' => Some("\\u003c"),
            '>' => Some("\\u003e"),
            '&' => Some("\\u0026"),
            '\u{2028}' => Some("\\u2028"),
            '\u{2029}' => Some("\\u2029"),
            _ => None,
        };
        if short.is_none() && c >= ' ' {
            continue;
        }
        out.push_str(&s[start..i]);
        match short {
            Some(esc) => out.push_str(esc),
            None => {
                let b = c as u32;
                out.push_str("\\u00");
                out.push(char::from(HEX[((b >> 4) & 0xf) as usize]));
                out.push(char::from(HEX[(b & 0xf) as usize]));
            }
        }
        start = i + c.len_utf8();
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Appends the decimal digits of `v` (what `{v}` formats, without the formatter).
fn push_digits(out: &mut String, v: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    let mut rest = v;
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    for &d in &digits[start..] {
        out.push(char::from(d));
    }
}

/// Writes one JSON object whose keys the caller gives in bytewise order.
///
/// Keys are trusted ASCII literals that need no escaping.
pub(crate) struct Obj<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Obj<'a> {
    pub(crate) fn new(out: &'a mut String) -> Obj<'a> {
        out.push('{');
        Obj { out, first: true }
    }

    pub(crate) fn key(&mut self, key: &str) -> &mut Self {
        if !std::mem::take(&mut self.first) {
            self.out.push(',');
        }
        self.out.push('"');
        self.out.push_str(key);
        self.out.push_str("\":");
        self
    }

    pub(crate) fn out(&mut self) -> &mut String {
        self.out
    }

    pub(crate) fn str(&mut self, v: &str) {
        write_str(self.out, v);
    }

    pub(crate) fn uint(&mut self, v: u64) {
        // Every number in a manifest is an integer far below 2^53, so float64 printing is
        // the integer itself.
        if v < (1 << 53) {
            push_digits(self.out, v);
        } else {
            write_go_float(self.out, v as f64);
        }
    }

    pub(crate) fn int(&mut self, v: i64) {
        if v.unsigned_abs() < (1 << 53) {
            if v < 0 {
                self.out.push('-');
            }
            push_digits(self.out, v.unsigned_abs());
        } else {
            write_go_float(self.out, v as f64);
        }
    }

    pub(crate) fn bool(&mut self, v: bool) {
        self.out.push_str(if v { "true" } else { "false" });
    }

    pub(crate) fn null(&mut self) {
        self.out.push_str("null");
    }

    pub(crate) fn strs(&mut self, v: &[String]) {
        self.list(v, |out, s| write_str(out, s));
    }

    pub(crate) fn opt_strs(&mut self, v: Option<&[String]>) {
        match v {
            Some(v) => self.strs(v),
            None => self.null(),
        }
    }

    pub(crate) fn list<T>(&mut self, items: &[T], mut each: impl FnMut(&mut String, &T)) {
        self.out.push('[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            each(self.out, item);
        }
        self.out.push(']');
    }

    pub(crate) fn end(self) {
        self.out.push('}');
    }
}

//! Checks of names and other short strings: services, endpoints, attribute keys,
//! environment variables, hostnames, denominations; and typo suggestions.

/// Service names, as the manifest requires: `^[a-z]([-a-z0-9]*[a-z0-9])?$`.
pub(crate) fn valid_service_name(name: &str) -> bool {
    let b = name.as_bytes();
    match (b.first(), b.last()) {
        (Some(f), Some(l)) => {
            f.is_ascii_lowercase()
                && (l.is_ascii_lowercase() || l.is_ascii_digit())
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        }
        _ => false,
    }
}

/// Endpoint names: `^[a-z]+[-_0-9a-z]+$`.
pub(crate) fn valid_endpoint_name(name: &str) -> bool {
    let b = name.as_bytes();
    let letters = b.iter().take_while(|c| c.is_ascii_lowercase()).count();
    letters >= 1
        && b.len() >= 2
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-' || *c == b'_')
}

/// Attribute keys as Akash validates them: `^([a-zA-Z][\w/.\-]{1,126}[\w*]?)$`.
pub(crate) fn valid_attribute_key(key: &str) -> bool {
    let b = key.as_bytes();
    let Some((first, rest)) = b.split_first() else {
        return false;
    };
    if !first.is_ascii_alphabetic() {
        return false;
    }
    let mid = |c: &u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'/' | b'.' | b'-');
    let last = |c: &u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'*');
    let plain = (1..=126).contains(&rest.len()) && rest.iter().all(mid);
    let with_last = match rest.split_last() {
        Some((l, body)) => last(l) && (1..=126).contains(&body.len()) && body.iter().all(mid),
        None => false,
    };
    plain || with_last
}

/// Environment variable names as Kubernetes validates them (`IsEnvVarName`).
pub(crate) fn check_env_name(name: &str) -> Result<(), &'static str> {
    let b = name.as_bytes();
    let ok_first = |c: &u8| c.is_ascii_alphabetic() || matches!(c, b'-' | b'.' | b'_');
    let ok_rest = |c: &u8| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_');
    match b.split_first() {
        None => Err("is empty; write NAME=value"),
        Some((f, rest)) if !ok_first(f) || !rest.iter().all(ok_rest) => {
            Err("is not valid: use letters, digits, '_', '-' and '.', not starting with a digit")
        }
        _ if name == "." || name == ".." || name.starts_with("..") => {
            Err("must not be '.', '..' or start with '..'")
        }
        _ => Ok(()),
    }
}

/// An `accept` item as Go's SDL parser reads it (chain-sdk `go/sdl/expose.go`,
/// `v2Accept.UnmarshalYAML`): `url.ParseRequestURI("http://" + item)` must succeed. This is
/// Go's `net/url` (1.25) for that input, step by step: control characters are refused; the
/// query (from the first `?`) is dropped unchecked; the authority ends at the first `/`; its
/// userinfo (up to the last `@`) takes Go's `validUserinfo` characters; the host takes letters,
/// digits, `-._~`, `!$&'()*+,;=:[]<>"`, any non-ASCII byte, and `%XX` escapes of non-ASCII bytes
/// (or `%25`); a `:port` after the host is digits only; a bracketed host must be an IPv6
/// address (Go 1.25.2's CVE-2025-47912 rule); `%` escapes in the path must be well formed.
/// So `*.example.com`, `Example.com` and `a.com:8080` pass here; whether a hostname is also
/// valid in the manifest is [`check_manifest_hostname`]'s question.
///
/// The error is Go's, e.g. `parse "http://a b": invalid character " " in host name`.
pub(crate) fn check_accept_item(item: &str) -> Result<(), String> {
    let raw = format!("http://{item}");
    go_request_uri(&raw).map_err(|why| format!("parse {raw:?}: {why}"))
}

fn go_request_uri(raw: &str) -> Result<(), String> {
    if raw.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err("net/url: invalid control character in URL".into());
    }
    // `raw` is `http:` + `//` + item: the scheme is valid and the rest starts with `//`, so
    // Go reads an authority. Whether or not a lone trailing `?` forces an empty query, the
    // query starts at the first `?` and is not checked.
    let rest = raw.strip_prefix("http:").unwrap_or(raw);
    let rest = rest.split_once('?').map_or(rest, |(before, _)| before);
    let after = rest.strip_prefix("//").unwrap_or(rest);
    let (authority, path) = match after.find('/') {
        Some(i) => after.split_at(i),
        None => (after, ""),
    };
    match authority.rfind('@') {
        None => go_parse_host(authority)?,
        Some(i) => {
            go_parse_host(&authority[i + 1..])?;
            let userinfo = &authority[..i];
            if !go_valid_userinfo(userinfo) {
                return Err("net/url: invalid userinfo".into());
            }
            go_unescape(userinfo, Mode::Other)?;
        }
    }
    go_unescape(path, Mode::Other)
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Host,
    Zone,
    /// Path and userinfo: only the `%` escapes are checked.
    Other,
}

fn go_valid_optional_port(port: &str) -> bool {
    match port.strip_prefix(':') {
        None => port.is_empty(),
        Some(digits) => digits.bytes().all(|b| b.is_ascii_digit()),
    }
}

fn go_parse_host(host: &str) -> Result<(), String> {
    if host.starts_with('[') {
        let Some(i) = host.rfind(']') else {
            return Err("missing ']' in host".into());
        };
        let colon_port = &host[i + 1..];
        if !go_valid_optional_port(colon_port) {
            return Err(format!("invalid port {colon_port:?} after host"));
        }
        let inside = &host[1..i];
        let (addr, zone) = match inside.find("%25") {
            Some(z) => {
                go_unescape(&inside[..z], Mode::Host)?;
                go_unescape(&inside[z..], Mode::Zone)?;
                (&inside[..z], Some(&inside[z + 3..]))
            }
            None => {
                go_unescape(inside, Mode::Host)?;
                (inside, None)
            }
        };
        // Only an IPv6 address may be bracketed (`netip.ParseAddr`, IPv4 refused); a zone,
        // when present, must not be empty.
        let is_v6 = addr.parse::<std::net::Ipv6Addr>().is_ok() && zone != Some("");
        if !is_v6 {
            return Err(format!("invalid host: {inside:?} is not an IPv6 address"));
        }
        return go_unescape(colon_port, Mode::Host);
    }
    if let Some(i) = host.rfind(':') {
        let colon_port = &host[i..];
        if !go_valid_optional_port(colon_port) {
            return Err(format!("invalid port {colon_port:?} after host"));
        }
    }
    go_unescape(host, Mode::Host)
}

fn go_valid_userinfo(s: &str) -> bool {
    s.chars().all(|c| {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                '-' | '.'
                    | '_'
                    | ':'
                    | '~'
                    | '!'
                    | '$'
                    | '&'
                    | '\''
                    | '('
                    | ')'
                    | '*'
                    | '+'
                    | ','
                    | ';'
                    | '='
                    | '%'
                    | '@'
            )
    })
}

/// Go's `shouldEscape(c, encodeHost)`: whether an ASCII byte cannot appear in a host as is.
fn go_host_needs_escape(c: u8) -> bool {
    !(c.is_ascii_alphanumeric() || b"!$&'()*+,;=:[]<>\"-_.~".contains(&c))
}

fn go_unescape(s: &str, mode: Mode) -> Result<(), String> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = |j: usize| b.get(j).and_then(|c| (*c as char).to_digit(16));
            let (Some(hi), Some(lo)) = (hex(i + 1), hex(i + 2)) else {
                let end = (i + 3).min(b.len());
                return Err(format!(
                    "invalid URL escape {:?}",
                    String::from_utf8_lossy(&b[i..end])
                ));
            };
            let is_25 = &b[i..i + 3] == b"%25";
            let escape = || format!("invalid URL escape {:?}", &s[i..i + 3]);
            // In a host, `%` may only escape a non-ASCII byte (or be `%25`, RFC 6874).
            if mode == Mode::Host && hi < 8 && !is_25 {
                return Err(escape());
            }
            // In a zone, an escape may not produce a byte a host could not hold (a space is
            // allowed: Windows zone names have them).
            let v = (hi << 4 | lo) as u8;
            if mode == Mode::Zone && !is_25 && v != b' ' && go_host_needs_escape(v) {
                return Err(escape());
            }
            i += 3;
            continue;
        }
        if mode != Mode::Other && b[i] < 0x80 && go_host_needs_escape(b[i]) {
            return Err(format!(
                "invalid character {:?} in host name",
                (b[i] as char).to_string()
            ));
        }
        i += 1;
    }
    Ok(())
}

/// A hostname in the manifest, as chain-sdk's `Manifest.Validate` (run by Go's `sdl.Read` and
/// by every provider on a received manifest) checks it: at most 255 bytes and a Kubernetes
/// DNS-1123 subdomain (lowercase letters, digits, `-` and `.`, each part starting and ending
/// with a letter or digit, at most 253 characters).
pub(crate) fn check_manifest_hostname(host: &str) -> Result<(), &'static str> {
    if host.is_empty() {
        return Err("it is empty");
    }
    if host.len() > 253 {
        return Err("it is longer than 253 characters");
    }
    for label in host.split('.') {
        let b = label.as_bytes();
        let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
        let valid = match (b.first(), b.last()) {
            (Some(f), Some(l)) => alnum(f) && alnum(l) && b.iter().all(|c| alnum(c) || *c == b'-'),
            _ => false,
        };
        if !valid {
            return Err("use lowercase letters, digits, '-' and '.', each part starting and ending with a letter or digit");
        }
    }
    Ok(())
}

/// Price denominations: `uact` and `uakt`, and IBC denominations (`ibc/<hash>`) that Go and
/// earlier schemas accept.
pub(crate) fn check_denom(denom: &str) -> Result<(), String> {
    let cosmos_valid = {
        // Cosmos `ValidateDenom`: [a-zA-Z][a-zA-Z0-9/:._-]{2,127}
        let b = denom.as_bytes();
        (3..=128).contains(&b.len())
            && b[0].is_ascii_alphabetic()
            && b[1..]
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'/' | b':' | b'.' | b'_' | b'-'))
    };
    match denom {
        "uact" | "uakt" => Ok(()),
        d if d.len() > 4 && d.starts_with("ibc/") && cosmos_valid => Ok(()),
        d => Err(format!(
            "unsupported denomination {d:?}; use uact (or uakt, or an ibc/<hash> denomination)"
        )),
    }
}

/// The allowed word nearest to `word`, when it is close enough to be a likely typo.
pub(crate) fn closest<'a>(word: &str, allowed: &[&'a str]) -> Option<&'a str> {
    allowed
        .iter()
        .map(|a| (edit_distance(word, a), *a))
        .filter(|(d, a)| *d <= 2.max(a.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = Vec::with_capacity(b.len() + 1);
        cur.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            let del = prev[j + 1] + 1;
            let ins = cur[j] + 1;
            cur.push(sub.min(del).min(ins));
        }
        prev = cur;
    }
    prev[b.len()]
}

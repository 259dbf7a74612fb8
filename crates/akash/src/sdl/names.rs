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

/// Hostnames in `accept`: a lowercase DNS-1123 subdomain (Kubernetes `IsDNS1123Subdomain`).
pub(crate) fn check_hostname(host: &str) -> Result<(), &'static str> {
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

//! Quantities in SDL text: CPU units, byte sizes, GPU counts, prices and durations.
//!
//! The rules follow Akash's Go SDL (`go/sdl/units.go`, `cpu.go`, `coin.go`,
//! `reclamation.go`), including its float arithmetic and truncation, because the results
//! enter the manifest hash.

use std::time::Duration;

/// 10^18: the fixed-point scale of Cosmos `LegacyDec`.
pub(crate) const DEC_SCALE: u128 = 1_000_000_000_000_000_000;

/// Decimal suffixes and their multipliers; `Ki`-style suffixes are binary.
const SIZE_SUFFIXES: [(&str, u64); 12] = [
    ("Ki", 1 << 10),
    ("Mi", 1 << 20),
    ("Gi", 1 << 30),
    ("Ti", 1 << 40),
    ("Pi", 1 << 50),
    ("Ei", 1 << 60),
    ("k", 1_000),
    ("M", 1_000_000),
    ("G", 1_000_000_000),
    ("T", 1_000_000_000_000),
    ("P", 1_000_000_000_000_000),
    ("E", 1_000_000_000_000_000_000),
];

/// One gibibyte, the unit of GPU memory in attribute keys.
pub(crate) const GI: u64 = 1 << 30;

/// Parses a decimal float as Go's `strconv.ParseFloat` does for plain decimal text.
fn parse_float(text: &str) -> Option<f64> {
    // Rust also accepts "inf"/"nan" like Go; those are caught by the range checks of callers.
    text.parse::<f64>().ok()
}

/// CPU units to millicores: `"500m"` is 500, `0.5` and `"0.5"` are 500, `2` is 2000.
///
/// Like Go, a fractional value is multiplied by 1000 in float64 and truncated, so `1.001`
/// becomes 1000 (1.001 × 1000 = 1000.9999999999999).
pub(crate) fn parse_cpu_millis(text: &str) -> Result<u64, String> {
    if text.starts_with('-') {
        return Err(format!("must not be negative, got {text:?}"));
    }
    if let Some(millis) = text.strip_suffix('m') {
        if millis.is_empty() || !millis.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "{text:?} is not a number of millicores; write e.g. \"500m\" or 0.5"
            ));
        }
        return millis
            .parse::<u32>()
            .map(u64::from)
            .map_err(|_| format!("{text:?} is too large"));
    }
    let cores = parse_float(text).ok_or_else(|| {
        format!("{text:?} is not a cpu quantity; write cores (e.g. 0.5 or 2) or millicores (e.g. \"500m\")")
    })?;
    let millis = cores * 1000.0;
    if millis.is_nan() {
        return Err(format!("{text:?} is not a number"));
    }
    if millis < 0.0 {
        return Err(format!("must not be negative, got {text:?}"));
    }
    if millis >= 4_294_967_296.0 {
        return Err(format!("{text:?} is too large"));
    }
    // Truncation toward zero, as Go's float-to-integer conversion does.
    Ok(millis as u64)
}

/// A byte size: a number with an optional suffix (`k`, `Ki`, `M`, `Mi`, `G`, `Gi`, `T`, `Ti`,
/// `P`, `Pi`, `E`, `Ei`; case-sensitive). Without a suffix the number is bytes. The value is
/// computed in float64 and truncated, as Go does (`0.01Gi` is 10737418 bytes).
///
/// With `binary_only`, only the `Ki`-style suffixes are accepted (Go's GPU `ram`).
pub(crate) fn parse_size(text: &str, binary_only: bool) -> Result<u64, String> {
    let (number, unit) = SIZE_SUFFIXES
        .iter()
        .filter(|(suffix, _)| !binary_only || suffix.ends_with('i'))
        .find_map(|&(suffix, unit)| text.strip_suffix(suffix).map(|n| (n, unit)))
        .unwrap_or((text, 1));
    let expected = if binary_only {
        "a size such as \"80Gi\" (suffixes Ki, Mi, Gi, Ti, Pi, Ei)"
    } else {
        "a size such as \"512Mi\" or \"1G\" (suffixes k, Ki, M, Mi, G, Gi, T, Ti, P, Pi, E, Ei; none means bytes)"
    };
    let value = parse_float(number).ok_or_else(|| format!("{text:?} is not {expected}"))?;
    // Go multiplies in float64 before checking the sign.
    let bytes = value * unit as f64;
    if bytes.is_nan() {
        return Err(format!("{text:?} is not {expected}"));
    }
    if bytes < 0.0 {
        return Err(format!("must not be negative, got {text:?}"));
    }
    if bytes >= 18_446_744_073_709_551_616.0 {
        return Err(format!("{text:?} is too large"));
    }
    Ok(bytes as u64)
}

/// A GPU count: a plain unsigned integer, as Go's `strconv.ParseUint(s, 10, 64)`.
pub(crate) fn parse_gpu_units(text: &str) -> Result<u64, String> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{text:?} is not a whole number of GPUs"));
    }
    text.parse::<u64>()
        .map_err(|_| format!("{text:?} is too large"))
}

/// A price amount as Cosmos `LegacyDec`: the value scaled by 10^18.
///
/// Accepts decimal text with at most 18 fractional digits; refuses zero and negatives,
/// as Go's `v2Coin` does.
pub(crate) fn parse_price_amount(text: &str) -> Result<u128, String> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let decimal = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !decimal(int) || !frac.is_none_or(decimal) {
        return Err(format!(
            "{text:?} is not a decimal amount; write e.g. 1000 or \"0.5\""
        ));
    }
    let frac = frac.unwrap_or("");
    if frac.len() > 18 {
        return Err(format!("{text:?} has more than 18 decimal places"));
    }
    let mut scaled: u128 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        scaled = scaled
            .checked_mul(10)
            .and_then(|v| v.checked_add(u128::from(b - b'0')))
            .ok_or_else(|| format!("{text:?} is too large"))?;
    }
    for _ in frac.len()..18 {
        scaled = scaled
            .checked_mul(10)
            .ok_or_else(|| format!("{text:?} is too large"))?;
    }
    if scaled == 0 {
        return Err("must be greater than zero".to_owned());
    }
    if negative {
        return Err(format!("must be positive, got {text:?}"));
    }
    Ok(scaled)
}

/// `reclamation.min_window`: a whole number followed by `s`, `m` or `h` (the schema's form);
/// it must be positive and fit Go's `time.Duration`.
pub(crate) fn parse_min_window(text: &str) -> Result<Duration, String> {
    let bad = || {
        format!(
            "{text:?} is not a duration; write a whole number followed by s, m or h, e.g. \"24h\""
        )
    };
    let unit_secs: u64 = match text.as_bytes().last() {
        Some(b's') => 1,
        Some(b'm') => 60,
        Some(b'h') => 3600,
        _ => return Err(bad()),
    };
    let number = &text[..text.len() - 1];
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is too long"))?;
    if n == 0 {
        return Err("must be greater than zero".to_owned());
    }
    if number.starts_with('0') {
        return Err(bad());
    }
    // Go's time.Duration counts nanoseconds in an int64.
    let secs = n
        .checked_mul(unit_secs)
        .filter(|s| {
            s.checked_mul(1_000_000_000)
                .is_some_and(|ns| ns <= i64::MAX as u64)
        })
        .ok_or_else(|| format!("{text:?} is too long"))?;
    Ok(Duration::from_secs(secs))
}

/// Formats a `LegacyDec` scaled integer as Go prints it: 18 fractional digits.
pub(crate) fn format_dec(scaled: u128) -> String {
    let int = scaled / DEC_SCALE;
    let frac = scaled % DEC_SCALE;
    format!("{int}.{frac:018}")
}

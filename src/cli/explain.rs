//! `explain KIND[.field.path]`: a kind's or a field's documentation, read from the JSON
//! Schemas the code generates (the same as `crds/`).

use anyhow::{anyhow, bail};
use serde_json::Value;

use super::{ExplainArgs, Io};
use crate::spec::Kind;

/// Follows `$ref`s and the `anyOf [X, null]` of optional fields to the schema that describes
/// the value. Bounded, so a cyclic reference cannot loop.
fn resolve<'a>(root: &'a Value, mut node: &'a Value) -> &'a Value {
    for _ in 0..32 {
        if let Some(r) = node.get("$ref").and_then(Value::as_str) {
            let Some(name) = r.strip_prefix("#/$defs/") else {
                return node;
            };
            match root.get("$defs").and_then(|d| d.get(name)) {
                Some(next) => node = next,
                None => return node,
            }
        } else if let Some(alts) = node.get("anyOf").and_then(Value::as_array) {
            let non_null: Vec<&Value> = alts
                .iter()
                .filter(|a| a.get("type").and_then(Value::as_str) != Some("null"))
                .collect();
            match non_null.as_slice() {
                [one] => node = one,
                _ => return node,
            }
        } else {
            return node;
        }
    }
    node
}

/// The schema of the values inside a list or map (so `agent.spec.env.name` works).
fn element<'a>(root: &'a Value, node: &'a Value) -> &'a Value {
    let node = resolve(root, node);
    if let Some(items) = node.get("items") {
        return resolve(root, items);
    }
    node
}

/// A short type name: `string`, `integer`, `[]EnvVar`, `map[string]string`, `Cpu`, ….
fn type_name(node: &Value) -> String {
    let named = |n: &Value| {
        n.get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/$defs/"))
            .map(str::to_string)
    };
    if let Some(n) = named(node) {
        return n;
    }
    if let Some(alts) = node.get("anyOf").and_then(Value::as_array) {
        let non_null: Vec<&Value> = alts
            .iter()
            .filter(|a| a.get("type").and_then(Value::as_str) != Some("null"))
            .collect();
        if let [one] = non_null.as_slice() {
            return type_name(one);
        }
        return "one of several".into();
    }
    if node.get("oneOf").is_some() {
        return named(node).unwrap_or_else(|| "one of several".into());
    }
    if let Some(c) = node.get("const") {
        return format!("{c} (constant)");
    }
    let ty = match node.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect::<Vec<_>>()
            .join("|"),
        _ => String::new(),
    };
    match ty.as_str() {
        "array" => match node.get("items") {
            Some(items) => format!("[]{}", type_name(items)),
            None => "[]".into(),
        },
        "object" if node.get("properties").is_none() => match node.get("additionalProperties") {
            Some(v @ Value::Object(_)) => format!("map[string]{}", type_name(v)),
            _ => "object".into(),
        },
        "" if node.get("enum").is_some() => "string".into(),
        "" => "value".into(),
        _ => ty,
    }
}

fn description(node: &Value) -> Option<&str> {
    node.get("description").and_then(Value::as_str)
}

fn indent(text: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    text.lines().map(|l| format!("{pad}{l}\n")).collect()
}

/// Runs `explain`.
pub fn run(args: &ExplainArgs, io: &mut Io<'_>) -> anyhow::Result<()> {
    let mut parts = args.path.split('.');
    let kind_word = parts.next().unwrap_or_default();
    let kind = Kind::parse(kind_word).map_err(|e| anyhow!("{e}"))?;
    let root = crate::spec::schema::for_kind(kind);
    let mut node = &root;
    let mut described = &root;
    let mut path: Vec<&str> = Vec::new();
    for field in parts {
        let here = element(&root, node);
        let props = here.get("properties").and_then(Value::as_object);
        let Some(next) = props.and_then(|p| p.get(field)) else {
            let valid: Vec<&str> = props
                .map(|p| p.keys().map(String::as_str).collect())
                .unwrap_or_default();
            let at = if path.is_empty() {
                kind.as_str().to_string()
            } else {
                path.join(".")
            };
            if valid.is_empty() {
                bail!("field `{field}` does not exist: `{at}` has no fields");
            }
            let near = crate::spec::validate::nearest(field, valid.iter().copied())
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            bail!(
                "field `{field}` does not exist in `{at}`{near} (fields: {})",
                valid.join(", ")
            );
        };
        path.push(field);
        described = next;
        node = next;
    }
    let out = &mut *io.stdout;
    writeln!(out, "KIND:     {}", kind.as_str())?;
    writeln!(out, "VERSION:  {}", crate::spec::API_VERSION)?;
    if !path.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "FIELD:    {} <{}>",
            path.join("."),
            type_name(described)
        )?;
    }
    let target = resolve(&root, described);
    writeln!(out)?;
    writeln!(out, "DESCRIPTION:")?;
    let text = description(described)
        .or_else(|| description(target))
        .unwrap_or("<no description>");
    write!(out, "{}", indent(text, 4))?;
    if let Some(values) = target.get("enum").and_then(Value::as_array) {
        let values: Vec<String> = values
            .iter()
            .map(|v| v.as_str().map_or(v.to_string(), str::to_string))
            .collect();
        writeln!(out)?;
        writeln!(out, "VALUES:   {}", values.join(", "))?;
    }
    let fields_of = element(&root, described);
    if let Some(props) = fields_of.get("properties").and_then(Value::as_object) {
        let required: Vec<&str> = fields_of
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        writeln!(out)?;
        writeln!(out, "FIELDS:")?;
        for (name, field) in props {
            let req = if required.contains(&name.as_str()) {
                " -required-"
            } else {
                ""
            };
            writeln!(out, "  {name}\t<{}>{req}", type_name(field))?;
            let text = description(field)
                .or_else(|| description(resolve(&root, field)))
                .unwrap_or("<no description>");
            write!(out, "{}", indent(text, 4))?;
            writeln!(out)?;
        }
    }
    Ok(())
}

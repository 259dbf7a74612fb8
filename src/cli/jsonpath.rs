//! `-o jsonpath=TEMPLATE`: kubectl's JSONPath templates over the JSON output.
//!
//! A template is literal text with `{…}` expressions in it:
//! `{range .items[*]}{.metadata.name}{"\t"}{.spec.image}{"\n"}{end}`. Inside braces go a
//! JSONPath (kubectl's form, without the leading `$`: `.spec.image`, `.items[*]`,
//! `[?(@.kind=="Agent")]`; or RFC 9535 with `$`), a quoted string with JSON escapes (`"\n"`),
//! or `range PATH` … `end`, which repeats its body once per node the path selects, the body's
//! relative paths then starting at that node (`$…` still starts at the document). The paths
//! themselves are evaluated by `serde_json_path` (RFC 9535). Text outside braces is copied as
//! it is, like kubectl. A template without braces is one RFC 9535 path (`$.spec.replicas`).
//!
//! What a path selects prints as kubectl prints it: strings as they are, other values as
//! JSON, several nodes separated by one space.

use serde_json::Value;
use serde_json_path::JsonPath;

/// A parsed `-o jsonpath=` template.
#[derive(Debug)]
pub struct Template {
    nodes: Vec<Node>,
}

/// Where a path starts: the document, or the node a `range` is at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    Root,
    Current,
}

#[derive(Debug)]
enum Node {
    /// Text copied to the output.
    Text(String),
    /// The values a path selects.
    Path(Start, JsonPath),
    /// The body once per node the path selects.
    Range(Start, JsonPath, Vec<Node>),
}

/// One `{…}` of a template, before it is parsed.
enum Action<'a> {
    Path(&'a str),
    Quoted(&'a str),
    Range(&'a str),
    End,
}

impl Template {
    /// Parses a template; errors say what is wrong and at which expression.
    pub fn parse(template: &str) -> Result<Self, String> {
        if !template.contains('{') && !template.contains('}') {
            let (start, path) = parse_path(template.trim(), template)?;
            return Ok(Self {
                nodes: vec![Node::Path(start, path)],
            });
        }
        // A stack of open ranges: their start, path and the nodes collected so far.
        let mut open: Vec<(Start, JsonPath, Vec<Node>)> = Vec::new();
        let mut nodes: Vec<Node> = Vec::new();
        let mut rest = template;
        while !rest.is_empty() {
            let (text, action, after) = next_piece(rest, template)?;
            let target = match open.last_mut() {
                Some((_, _, body)) => body,
                None => &mut nodes,
            };
            if !text.is_empty() {
                target.push(Node::Text(text.to_string()));
            }
            rest = after;
            match action {
                None => {}
                Some(Action::Quoted(q)) => {
                    let s: String = serde_json::from_str(q).map_err(|e| {
                        format!("invalid jsonpath template `{template}`: bad string {q}: {e}")
                    })?;
                    target.push(Node::Text(s));
                }
                Some(Action::Path(p)) => {
                    let (start, path) = parse_path(p, template)?;
                    target.push(Node::Path(start, path));
                }
                Some(Action::Range(p)) => {
                    let (start, path) = parse_path(p, template)?;
                    open.push((start, path, Vec::new()));
                }
                Some(Action::End) => {
                    let Some((start, path, body)) = open.pop() else {
                        return Err(format!(
                            "invalid jsonpath template `{template}`: {{end}} without {{range …}}"
                        ));
                    };
                    let target = match open.last_mut() {
                        Some((_, _, body)) => body,
                        None => &mut nodes,
                    };
                    target.push(Node::Range(start, path, body));
                }
            }
        }
        if !open.is_empty() {
            return Err(format!(
                "invalid jsonpath template `{template}`: {{range …}} without {{end}}"
            ));
        }
        Ok(Self { nodes })
    }

    /// The template's text for this document.
    pub fn render(&self, root: &Value) -> String {
        let mut out = String::new();
        render_nodes(&self.nodes, root, root, &mut out);
        out
    }
}

fn render_nodes(nodes: &[Node], root: &Value, current: &Value, out: &mut String) {
    for node in nodes {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Path(start, path) => {
                let from = if *start == Start::Root { root } else { current };
                for (i, v) in path.query(from).all().into_iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    match v {
                        Value::String(s) => out.push_str(s),
                        other => out.push_str(&other.to_string()),
                    }
                }
            }
            Node::Range(start, path, body) => {
                let from = if *start == Start::Root { root } else { current };
                for v in path.query(from).all() {
                    render_nodes(body, root, v, out);
                }
            }
        }
    }
}

/// Splits off the text before the next `{…}` and that action; `None` when only text is
/// left. Braces inside quotes (`{"}"}`, `[?(@.name=="a}")]`) do not count.
fn next_piece<'a>(
    s: &'a str,
    template: &str,
) -> Result<(&'a str, Option<Action<'a>>, &'a str), String> {
    let Some(open) = s.find(['{', '}']) else {
        return Ok((s, None, ""));
    };
    if s.as_bytes()[open] == b'}' {
        return Err(format!(
            "invalid jsonpath template `{template}`: `}}` without `{{` at `{}`",
            &s[open..]
        ));
    }
    let text = &s[..open];
    let inner_start = open + 1;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut close = None;
    for (i, c) in s[inner_start..].char_indices() {
        match quote {
            Some(_) if escaped => escaped = false,
            Some(_) if c == '\\' => escaped = true,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '}' => {
                close = Some(inner_start + i);
                break;
            }
            None if c == '{' => {
                return Err(format!(
                    "invalid jsonpath template `{template}`: `{{` inside `{{…}}` at `{}`",
                    &s[open..]
                ))
            }
            None => {}
        }
    }
    let Some(close) = close else {
        return Err(format!(
            "invalid jsonpath template `{template}`: unclosed `{{` at `{}`",
            &s[open..]
        ));
    };
    let inner = s[inner_start..close].trim();
    let action = if inner == "end" {
        Action::End
    } else if let Some(p) = inner
        .strip_prefix("range ")
        .or(inner.strip_prefix("range\t"))
    {
        Action::Range(p.trim())
    } else if inner.len() >= 2 && inner.starts_with('"') && inner.ends_with('"') {
        Action::Quoted(inner)
    } else if inner.is_empty() || inner == "range" {
        return Err(format!(
            "invalid jsonpath template `{template}`: `{{{inner}}}` needs a path"
        ));
    } else {
        Action::Path(inner)
    };
    Ok((text, Some(action), &s[close + 1..]))
}

/// Parses one path: `$…` starts at the document, `@…`, `.…` and `[…]` at the current node
/// (the document outside a `range`); a bare name is a child of the current node.
fn parse_path(expr: &str, template: &str) -> Result<(Start, JsonPath), String> {
    let (start, rfc) = if let Some(rest) = expr.strip_prefix('$') {
        (Start::Root, format!("${rest}"))
    } else if let Some(rest) = expr.strip_prefix('@') {
        (Start::Current, format!("${rest}"))
    } else if expr == "." {
        (Start::Current, "$".to_string())
    } else if expr.starts_with('.') || expr.starts_with('[') {
        (Start::Current, format!("${expr}"))
    } else {
        (Start::Current, format!("$.{expr}"))
    };
    let path = JsonPath::parse(&rfc).map_err(|err| {
        if expr == template.trim() {
            format!("invalid jsonpath `{expr}`: {err}")
        } else {
            format!("invalid jsonpath `{expr}` in template `{template}`: {err}")
        }
    })?;
    Ok((start, path))
}

#[cfg(test)]
mod tests {
    use super::Template;
    use serde_json::json;

    fn render(t: &str, v: &serde_json::Value) -> String {
        Template::parse(t).unwrap().render(v)
    }

    fn list() -> serde_json::Value {
        json!({"kind": "List", "items": [
            {"metadata": {"name": "a", "labels": {"x": "1"}}, "spec": {"replicas": 2, "ports": [80, 443]}},
            {"metadata": {"name": "b}", "labels": {}}, "spec": {"replicas": 1, "ports": []}},
        ]})
    }

    #[test]
    fn one_expression_in_braces_or_rfc_9535() {
        let v = list();
        assert_eq!(render("{.items[*].metadata.name}", &v), "a b}");
        assert_eq!(render("$.items[0].spec.replicas", &v), "2");
        assert_eq!(render("{$.items[0].spec.ports}", &v), "[80,443]");
        assert_eq!(render("{.kind}", &v), "List");
        assert_eq!(render("{kind}", &v), "List");
        assert_eq!(render("{.missing}", &v), "");
    }

    #[test]
    fn text_strings_and_several_expressions() {
        let v = list();
        assert_eq!(
            render(
                r#"kind={.kind}{"\t"}first={.items[0].metadata.name}{"\n"}"#,
                &v
            ),
            "kind=List\tfirst=a\n"
        );
        // Text outside braces is copied as is (no escapes), as kubectl does.
        assert_eq!(render(r"{.kind}\n", &v), r"List\n");
        assert_eq!(render(r#"{"}"}{.kind}"#, &v), "}List");
    }

    #[test]
    fn range_repeats_its_body_per_node() {
        let v = list();
        assert_eq!(
            render(
                r#"{range .items[*]}{.metadata.name}{"\t"}{.spec.replicas}{"\n"}{end}"#,
                &v
            ),
            "a\t2\nb}\t1\n"
        );
        // Nested ranges; `$` inside a range still starts at the document; `@` is the node.
        assert_eq!(
            render(
                r#"{range .items[*]}{.metadata.name}:{range .spec.ports[*]} {@}{end};{$.kind}|{end}"#,
                &v
            ),
            "a: 80 443;List|b}:;List|"
        );
        // A filter, with a brace inside its string.
        assert_eq!(
            render(
                r#"{range .items[?(@.metadata.name=="b}")]}{.spec.replicas}{end}"#,
                &v
            ),
            "1"
        );
        assert_eq!(render("{range .nothing[*]}x{end}done", &v), "done");
    }

    #[test]
    fn bad_templates_say_what_is_wrong() {
        for (t, want) in [
            ("{.items[}", "invalid jsonpath `.items[`"),
            ("{.kind", "unclosed `{`"),
            ("x}", "`}` without `{`"),
            ("{range .items[*]}{.a}", "without {end}"),
            ("{.a}{end}", "{end} without {range"),
            ("{}", "needs a path"),
            ("{range}", "needs a path"),
            (r#"{"\q"}"#, "bad string"),
            ("{.a{.b}}", "`{` inside"),
            ("{range .items[*]}{.a[}{end}", "in template"),
        ] {
            let err = Template::parse(t).unwrap_err();
            assert!(err.contains(want), "{t}: {err}");
        }
    }
}

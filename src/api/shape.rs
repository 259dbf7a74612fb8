//! What a GraphQL document asks for, counted before it runs: its root fields (each one an
//! operation of its own for the rate limit: one request of 3,000 aliased `delete`s is 3,000
//! deletes), its mutations and its aliases.
//!
//! Fragment spreads are expanded where they are used, since that is what runs; the walk
//! stops after a fixed number of selections, so a document built to expand exponentially
//! costs little to measure (and is refused as too complex).

use std::collections::HashSet;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
};

/// The longest query text parsed, in bytes: GraphiQL's introspection query is about 2 KiB,
/// and the documents `apply` takes travel as variables.
pub const MAX_QUERY_BYTES: usize = 32 * 1024;

/// The most selections (fields, spreads, inline fragments, expanded) measured in a document.
pub const MAX_SELECTIONS: usize = 50_000;

/// The counts of one document.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shape {
    /// Fields at the root of every operation (aliases counted one by one).
    pub root_fields: usize,
    /// Root fields of mutation operations.
    pub mutations: usize,
    /// Fields that carry an alias, anywhere.
    pub aliases: usize,
    /// Whether the walk stopped at [`MAX_SELECTIONS`]: the counts are then lower bounds.
    pub truncated: bool,
}

struct Walk<'a> {
    doc: &'a ExecutableDocument,
    shape: Shape,
    visited: usize,
    /// The fragments being expanded (a cycle is refused by validation later; here it only
    /// must not loop).
    open: HashSet<&'a str>,
}

impl<'a> Walk<'a> {
    /// Walks a selection set; returns the fields directly in it (through fragments).
    fn set(&mut self, set: &'a SelectionSet) -> usize {
        let mut fields = 0;
        for item in &set.items {
            if self.visited >= MAX_SELECTIONS {
                self.shape.truncated = true;
                return fields;
            }
            self.visited += 1;
            match &item.node {
                Selection::Field(f) => {
                    fields += 1;
                    if f.node.alias.is_some() {
                        self.shape.aliases += 1;
                    }
                    self.set(&f.node.selection_set.node);
                }
                Selection::InlineFragment(i) => fields += self.set(&i.node.selection_set.node),
                Selection::FragmentSpread(s) => {
                    let name = s.node.fragment_name.node.as_str();
                    let Some(def) = self.doc.fragments.get(name) else {
                        continue;
                    };
                    if !self.open.insert(name) {
                        continue;
                    }
                    fields += self.set(&def.node.selection_set.node);
                    self.open.remove(name);
                }
            }
        }
        fields
    }
}

/// Measures a parsed document.
pub fn measure(doc: &ExecutableDocument) -> Shape {
    let mut walk = Walk {
        doc,
        shape: Shape::default(),
        visited: 0,
        open: HashSet::new(),
    };
    let operations: Vec<_> = match &doc.operations {
        DocumentOperations::Single(op) => vec![op],
        DocumentOperations::Multiple(ops) => ops.values().collect(),
    };
    for op in operations {
        let root = walk.set(&op.node.selection_set.node);
        walk.shape.root_fields += root;
        if op.node.ty == OperationType::Mutation {
            walk.shape.mutations += root;
        }
    }
    walk.shape
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(q: &str) -> Shape {
        measure(&async_graphql::parser::parse_query(q).unwrap())
    }

    #[test]
    fn counts_root_fields_mutations_and_aliases() {
        assert_eq!(
            shape("{ viewer { project } }"),
            Shape {
                root_fields: 1,
                ..Shape::default()
            }
        );
        let s = shape(
            r#"mutation { a: delete(kind: SITE, name: "a") { name } b: delete(kind: SITE, name: "b") { name } ...M }
               fragment M on Mutation { c: delete(kind: SITE, name: "c") { n: name } }"#,
        );
        assert_eq!((s.root_fields, s.mutations, s.aliases), (3, 3, 4));
        assert!(!s.truncated);
    }

    #[test]
    fn fragments_expand_where_used_and_cycles_end() {
        let s = shape("{ ...A ...A } fragment A on Query { x: viewer { project } }");
        assert_eq!((s.root_fields, s.aliases), (2, 2));
        let s = shape("{ ...A } fragment A on Query { viewer { ...A } }");
        assert_eq!(s.root_fields, 1);
        // Ten spreads per level, six levels: a million fields; the walk stops early.
        let mut q = String::from("{ ...F0 }\n");
        for i in 0..6 {
            q.push_str(&format!(
                "fragment F{i} on Query {{ {} }}\n",
                format!("...F{} ", i + 1).repeat(10)
            ));
        }
        q.push_str("fragment F6 on Query { a: viewer { project } }\n");
        let s = shape(&q);
        assert!(s.truncated, "{s:?}");
    }
}

//! The house's rule, checked: in the engine, the widget and the sync API, no module imports (directly or
//! through others) a module that imports it, so each floor uses only the floors below it.
//!
//! A module's imports are the `crate::…` and `super::…` paths its file names (comments aside), resolved
//! to the deepest module they reach; `crate::Name` for an item the crate root re-exports resolves to the
//! module it comes from. Paths down into a module's own children (`self::`, or a child's name) are not
//! imports of a module above it, so they cannot close a cycle and are not followed.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Each module of a crate (by path, `""` for the root, `model::read`) and the modules it imports.
type Graph = BTreeMap<String, BTreeSet<String>>;

/// The modules under `src` and their source files.
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let Ok(relative) = path.strip_prefix(src) else {
                    continue;
                };
                let mut parts: Vec<String> = relative
                    .with_extension("")
                    .iter()
                    .map(|p| p.to_string_lossy().into_owned())
                    .collect();
                if matches!(
                    parts.last().map(String::as_str),
                    Some("lib" | "main" | "mod")
                ) {
                    parts.pop();
                }
                out.insert(parts.join("::"), path);
            }
        }
    }
    out
}

/// The text without `//` comments (doc comments included, whose links name paths too).
fn without_comments(text: &str) -> String {
    text.lines()
        .map(|line| line.split_once("//").map_or(line, |(code, _)| code))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths after each `prefix` (`crate::` or `super::`) in `text`, with `{a, b::c}` groups expanded
/// one level: `crate::x::{a, b}` gives `x::a` and `x::b`.
fn paths_after(text: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some((before, after)) = rest.split_once(prefix) {
        rest = after;
        if before
            .chars()
            .last()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
        {
            continue; // part of a longer name
        }
        let path: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        let tail = rest.get(path.len()..).unwrap_or_default();
        let path = path.trim_end_matches(':').to_owned();
        if let Some(group) = tail.trim_start_matches(':').strip_prefix('{') {
            let group: String = group.chars().take_while(|c| *c != '}').collect();
            for item in group.split(',') {
                let item = item.trim().split([' ', ':']).next().unwrap_or_default();
                if !item.is_empty() && item != "self" {
                    out.push(if path.is_empty() {
                        item.to_owned()
                    } else {
                        format!("{path}::{item}")
                    });
                }
            }
        }
        if !path.is_empty() {
            out.push(path);
        }
    }
    out
}

/// The deepest module a path reaches, if any but the root.
fn resolve(path: &[&str], modules: &BTreeMap<String, PathBuf>) -> Option<String> {
    (1..=path.len())
        .rev()
        .filter_map(|n| path.get(..n))
        .map(|parts| parts.join("::"))
        .find(|m| modules.contains_key(m))
}

/// The items the root re-exports (`pub use module::{A, B};`), by name, with the module each comes from.
fn root_exports(root: &str, modules: &BTreeMap<String, PathBuf>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for statement in root.split(';') {
        let statement = statement.trim();
        let Some(used) = statement.strip_prefix("pub use ") else {
            continue;
        };
        let used = used.trim_start_matches("crate::");
        let (module, names) = match used.split_once("::{") {
            Some((module, names)) => (module, names.trim_end_matches('}').to_owned()),
            None => match used.rsplit_once("::") {
                Some((module, name)) => (module, name.to_owned()),
                None => continue,
            },
        };
        let Some(module) = resolve(&module.split("::").collect::<Vec<_>>(), modules) else {
            continue;
        };
        for name in names.split(',') {
            let name = name.trim().rsplit(' ').next().unwrap_or_default();
            if !name.is_empty() {
                out.insert(name.to_owned(), module.clone());
            }
        }
    }
    out
}

/// The import graph of the crate whose sources are under `src`.
fn import_graph(src: &Path) -> Graph {
    let modules = modules(src);
    let root_text = modules
        .get("")
        .and_then(|p| fs::read_to_string(p).ok())
        .map(|t| without_comments(&t))
        .unwrap_or_default();
    let exports = root_exports(&root_text, &modules);
    let mut graph = Graph::new();
    for (module, file) in &modules {
        let text = without_comments(&fs::read_to_string(file).unwrap_or_default());
        let mut imports = BTreeSet::new();
        for path in paths_after(&text, "crate::") {
            let parts: Vec<&str> = path.split("::").collect();
            let target = resolve(&parts, &modules)
                .or_else(|| parts.first().and_then(|name| exports.get(*name).cloned()));
            imports.extend(target);
        }
        let mut parent: Vec<&str> = module.split("::").filter(|p| !p.is_empty()).collect();
        parent.pop();
        for path in paths_after(&text, "super::") {
            let mut parts = parent.clone();
            parts.extend(path.split("::"));
            imports.extend(resolve(&parts, &modules).or_else(|| Some(parent.join("::"))));
        }
        imports.remove(module);
        imports.remove("");
        graph.insert(module.clone(), imports);
    }
    graph
}

/// The groups of modules that import one another (Tarjan's strongly connected components of two or
/// more modules), each sorted.
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    struct Walk<'g> {
        graph: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        found: Vec<Vec<String>>,
    }
    impl<'g> Walk<'g> {
        fn visit(&mut self, v: &'g str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.graph.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !self.graph.contains_key(w) {
                    continue;
                }
                let reached = if self.index.contains_key(w) {
                    if !self.on_stack.contains(w) {
                        continue;
                    }
                    self.index.get(w).copied()
                } else {
                    self.visit(w);
                    self.low.get(w).copied()
                };
                if let (Some(reached), Some(low)) = (reached, self.low.get_mut(v)) {
                    *low = (*low).min(reached);
                }
            }
            if self.low.get(v) == self.index.get(v) {
                let mut group = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    group.push(w.to_owned());
                    if w == v {
                        break;
                    }
                }
                if group.len() > 1 {
                    group.sort();
                    self.found.push(group);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !walk.index.contains_key(v.as_str()) {
            walk.visit(v);
        }
    }
    walk.found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_module_imports_one_that_imports_it() {
        for src in ["src", "widget/src", "server/src", "xtask/src"] {
            let graph = import_graph(&crate::root().join(src));
            assert!(graph.len() > 3, "{src}: no modules found");
            assert_eq!(cycles(&graph), Vec::<Vec<String>>::new(), "{src}");
        }
    }

    #[test]
    fn finds_a_cycle_through_a_group_a_parent_and_a_root_export() {
        let dir = std::env::temp_dir().join(format!("layers-{}", std::process::id()));
        let write = |path: &str, text: &str| {
            let path = dir.join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        };
        write("lib.rs", "mod a; mod b; mod c;\npub use c::Thing;\n");
        write("a/mod.rs", "mod inner;\nuse crate::{b, c};\n");
        write(
            "a/inner.rs",
            "// crate::c is only a comment\nuse super::x;\n",
        );
        write("b.rs", "fn f() -> crate::a::inner::T {}\n");
        write("c.rs", "pub struct Thing;\n");
        let graph = import_graph(&dir);
        assert_eq!(graph["a"], BTreeSet::from(["b".to_owned(), "c".to_owned()]));
        assert_eq!(graph["a::inner"], BTreeSet::from(["a".to_owned()]));
        assert_eq!(cycles(&graph), vec![vec!["a", "a::inner", "b"]]);
        write("c.rs", "use crate::Thing;\npub struct Thing;\n");
        write("b.rs", "use crate::Thing;\n");
        let graph = import_graph(&dir);
        assert_eq!(graph["b"], BTreeSet::from(["c".to_owned()]));
        assert!(cycles(&graph).is_empty());
        fs::remove_dir_all(&dir).unwrap();
    }
}

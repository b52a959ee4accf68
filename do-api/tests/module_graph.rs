//! No module of do-api depends on itself through others (issue 9: `error.rs` imported
//! `actions.rs`, which imports `error.rs`).
//!
//! Each source file is a node. A file depends on the files its code names: `crate::a::b::...`
//! and `super::...` paths resolve to the deepest module file they reach, a name re-exported at
//! the crate root (`crate::string_enum!`) to the module it comes from, and a `mod child;`
//! declaration to the child. So a child that imports through its parent (`super::Name`) instead
//! of from its sibling (`super::sibling::Name`) counts as a cycle too. The crate root only
//! declares modules and re-exports, and is left out; comments and `#[cfg(test)]` modules are
//! not read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;
type Graph = BTreeMap<Module, BTreeSet<Module>>;

#[test]
fn do_api_has_no_module_cycle() {
    let graph = graph();
    let name = |m: &Module| m.join("::");
    // The reader works: the edges this test exists for are seen (or not).
    let edges = |from: &[&str]| -> BTreeSet<String> {
        let from: Module = from.iter().map(|s| s.to_string()).collect();
        graph[&from].iter().map(name).collect()
    };
    assert!(edges(&["actions"]).contains("error"), "{graph:?}");
    assert!(!edges(&["error"]).contains("actions"), "{graph:?}");
    assert!(edges(&["droplets"]).contains("droplets::handler"));
    assert!(edges(&["droplets", "action"]).contains("droplets::request"));
    assert!(edges(&["floating_ips"]).contains("reserved_ips"));
    assert!(
        edges(&["tags"]).contains("macros"),
        "crate::string_enum! is macros'"
    );
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "module cycle in do-api: {}",
            cycle.iter().map(name).collect::<Vec<_>>().join(" -> ")
        );
    }
}

#[test]
fn a_cycle_is_found() {
    let m = |s: &str| -> Module { s.split("::").map(str::to_owned).collect() };
    let mut g = Graph::new();
    g.entry(m("a")).or_default().insert(m("b"));
    g.entry(m("b")).or_default().insert(m("c"));
    g.entry(m("c")).or_default();
    assert_eq!(find_cycle(&g), None);
    g.entry(m("c")).or_default().insert(m("a"));
    assert_eq!(find_cycle(&g), Some(vec![m("a"), m("b"), m("c"), m("a")]));
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// `droplets/model.rs` -> `["droplets", "model"]`, `droplets/mod.rs` -> `["droplets"]`.
fn module_of(file: &Path) -> Module {
    let rel = file.strip_prefix(src_dir()).unwrap().with_extension("");
    let mut parts: Module = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().map(String::as_str) == Some("mod") || parts == ["lib"] {
        parts.pop();
    }
    parts
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file: without comment lines and without `#[cfg(test)]` modules (which, in
/// this crate, end at the first `}` in column 0).
fn code(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim_start().starts_with("//") {
            continue;
        }
        if line.trim() == "#[cfg(test)]" {
            let next = lines.next().unwrap_or_default();
            if next.starts_with("mod ") && next.trim_end().ends_with('{') {
                for l in lines.by_ref() {
                    if l == "}" {
                        break;
                    }
                }
                continue;
            }
            out.push_str(next);
            out.push('\n');
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every path starting with `prefix` (`crate::` or `super::`), as its identifiers: for
/// `use crate::client::{Client, Request}`, `["client"]`.
fn paths(code: &str, prefix: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find(prefix) {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + prefix.len()..];
        if before.is_some_and(|c| is_ident(c) || c == ':' || c == '$') {
            continue;
        }
        let mut parts = Vec::new();
        let mut s = rest;
        loop {
            let end = s.find(|c: char| !is_ident(c)).unwrap_or(s.len());
            if end == 0 {
                break;
            }
            parts.push(s[..end].to_owned());
            match s[end..].strip_prefix("::") {
                Some(tail) => s = tail,
                None => break,
            }
        }
        found.push(parts);
    }
    found
}

/// Names the crate root re-exports (`pub use x::{A, B};`, `pub(crate) use x::y;`), by module.
fn root_exports(lib: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for stmt in code(lib).split(';') {
        let stmt = stmt.trim();
        let Some(at) = stmt.find("use ") else {
            continue;
        };
        let path = &stmt[at + 4..];
        let Some((module, names)) = path.split_once("::") else {
            continue;
        };
        for name in names.trim_matches(|c| c == '{' || c == '}').split(',') {
            let name = name.trim();
            if !name.is_empty() {
                map.insert(name.to_owned(), module.trim().to_owned());
            }
        }
    }
    map
}

fn graph() -> Graph {
    let mut all = Vec::new();
    files(&src_dir(), &mut all);
    let modules: BTreeSet<Module> = all.iter().map(|f| module_of(f)).collect();
    let lib = std::fs::read_to_string(src_dir().join("lib.rs")).unwrap();
    let exports = root_exports(&lib);
    // The deepest module file a path reaches.
    let resolve = |mut path: Module| -> Option<Module> {
        if path.len() == 1 {
            if let Some(m) = exports.get(&path[0]) {
                return Some(vec![m.clone()]);
            }
        }
        while !path.is_empty() {
            if modules.contains(&path) {
                return Some(path);
            }
            path.pop();
        }
        None
    };
    let mut graph = Graph::new();
    for file in &all {
        let me = module_of(file);
        if me.is_empty() {
            continue; // the crate root
        }
        let text = code(&std::fs::read_to_string(file).unwrap());
        let mut deps = BTreeSet::new();
        for p in paths(&text, "crate::") {
            deps.extend(resolve(p));
        }
        // `super::` from a file's code is relative to its parent module.
        let parent: Module = me[..me.len() - 1].to_vec();
        for p in paths(&text, "super::") {
            let mut full = parent.clone();
            let mut p = p.into_iter().peekable();
            while p.peek().map(String::as_str) == Some("super") {
                p.next();
                full.pop();
            }
            full.extend(p);
            deps.extend(resolve(full));
        }
        for line in text.lines() {
            let l = line.trim();
            let decl = l
                .strip_prefix("mod ")
                .or_else(|| l.strip_prefix("pub mod "))
                .or_else(|| l.strip_prefix("pub(crate) mod "));
            if let Some(child) = decl.and_then(|d| d.strip_suffix(';')) {
                let mut m = me.clone();
                m.push(child.to_owned());
                deps.insert(m);
            }
        }
        deps.remove(&me);
        deps.remove(&Module::new());
        graph.insert(me, deps);
    }
    graph
}

/// A path `a -> ... -> a`, if the graph has a cycle.
fn find_cycle(graph: &Graph) -> Option<Vec<Module>> {
    fn visit(
        node: &Module,
        graph: &Graph,
        done: &mut BTreeSet<Module>,
        stack: &mut Vec<Module>,
    ) -> Option<Vec<Module>> {
        if let Some(at) = stack.iter().position(|m| m == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.clone());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, done, stack) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(node.clone());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(c) = visit(node, graph, &mut done, &mut Vec::new()) {
            return Some(c);
        }
    }
    None
}

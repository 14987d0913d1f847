//! The crate's layers, checked from its source: every `crate::` and `super::` path in `src/`
//! (outside unit-test modules) is resolved to the file that defines the item, through the
//! `use` re-exports of `mod.rs` files, and the resulting file graph must have no cycle and no
//! edge from a lower layer to a higher one. `docs/design.md` draws the same picture.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The layers, bottom to top, by top-level module. A file may use its own layer and the ones
/// below it.
const LAYERS: &[(&str, &[&str])] = &[
    ("model", &["model"]),
    ("query language", &["lang"]),
    ("errors", &["error"]),
    ("dialogs", &["dialog"]),
    ("index", &["index"]),
    ("storage", &["storage"]),
    ("query pipeline", &["query"]),
    ("facade", &["ops", "calling", "store", "batch", "group_commit", "writes", "builder"]),
];

/// A module: `a::b` for `src/a/b.rs` or `src/a/b/mod.rs`.
type Module = String;

struct Source {
    /// The text without comments and unit-test modules.
    code: String,
    /// Whether it is a `mod.rs` (or `lib.rs`) whose `use` re-exports stand for other files.
    is_dir: bool,
}

fn load(dir: &Path, prefix: &str, out: &mut BTreeMap<Module, Source>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let join =
            |n: &str| if prefix.is_empty() { n.to_owned() } else { format!("{prefix}::{n}") };
        if path.is_dir() {
            load(&path, &join(&name), out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let (module, is_dir) = match name.as_str() {
                "mod" => (prefix.to_owned(), true),
                "lib" if prefix.is_empty() => (String::new(), true),
                _ => (join(&name), false),
            };
            let text = std::fs::read_to_string(&path).unwrap();
            out.insert(module, Source { code: strip(&text), is_dir });
        }
    }
}

/// Drops line comments and everything from a `#[cfg(test)]` module on.
fn strip(text: &str) -> String {
    let mut code = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]")
            && lines.peek().is_some_and(|next| next.trim_start().starts_with("mod "))
        {
            break;
        }
        let line = match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        };
        code.push_str(line);
        code.push('\n');
    }
    code
}

/// Expands a `use` tree (`a::{b, c::{d, e}}`) into its paths.
fn expand(tree: &str, prefix: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    if tree.is_empty() {
        return;
    }
    let join = |p: &str| if prefix.is_empty() { p.to_owned() } else { format!("{prefix}::{p}") };
    match tree.find('{') {
        Some(open) if tree.ends_with('}') => {
            let head = tree[..open].trim_end_matches("::");
            let inner = &tree[open + 1..tree.len() - 1];
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        expand(&inner[start..i], &join(head), out);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            expand(&inner[start..], &join(head), out);
        }
        _ => {
            let path = tree.split(" as ").next().unwrap().trim();
            out.push(join(path));
        }
    }
}

/// Every path a file names: its `use` trees and the `crate::`/`super::` paths in its code.
fn paths(code: &str) -> (Vec<String>, Vec<String>) {
    let mut uses = Vec::new();
    let mut inline = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("use ") {
        let before_ok = at == 0 || !rest.as_bytes()[at - 1].is_ascii_alphanumeric();
        let Some(end) = rest[at..].find(';') else { break };
        if before_ok {
            let tree: String = rest[at + 4..at + end]
                .chars()
                .filter(|c| !c.is_whitespace() || *c == ' ')
                .collect();
            expand(&tree, "", &mut uses);
        }
        rest = &rest[at + 4..];
    }
    for start in ["crate::", "super::"] {
        let mut rest = code;
        while let Some(at) = rest.find(start) {
            let before_ok = at == 0
                || !(rest.as_bytes()[at - 1].is_ascii_alphanumeric()
                    || rest.as_bytes()[at - 1] == b':'
                    || rest.as_bytes()[at - 1] == b'_');
            let tail = &rest[at..];
            let len = tail
                .char_indices()
                .find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .map_or(tail.len(), |(i, _)| i);
            if before_ok {
                inline.push(tail[..len].trim_end_matches(':').to_owned());
            }
            rest = &rest[at + start.len()..];
        }
    }
    (uses, inline)
}

struct Crate {
    sources: BTreeMap<Module, Source>,
    /// For each `mod.rs`, its re-exported names and the absolute paths they stand for.
    reexports: BTreeMap<Module, BTreeMap<String, String>>,
}

impl Crate {
    fn absolute(&self, from: &Module, path: &str) -> Option<String> {
        let mut segs: Vec<&str> = path.split("::").collect();
        let mut base: Vec<&str> = if from.is_empty() { vec![] } else { from.split("::").collect() };
        // `super` is the parent module (of `a::b`, in `a/b.rs`, or of `a`, in `a/mod.rs`).
        match segs.first().copied() {
            Some("crate") => {
                base.clear();
                segs.remove(0);
            }
            Some("super") => {
                while segs.first() == Some(&"super") {
                    segs.remove(0);
                    base.pop();
                }
            }
            Some("self") => {
                segs.remove(0);
            }
            _ => {
                // A path relative to this module's children (`use child::X` in a mod.rs).
                let dir = if self.sources.get(from).is_some_and(|s| s.is_dir) {
                    from.clone()
                } else {
                    return None;
                };
                let first = segs.first()?;
                let child =
                    if dir.is_empty() { first.to_string() } else { format!("{dir}::{first}") };
                if !self.sources.contains_key(&child) {
                    return None;
                }
            }
        }
        base.extend(segs);
        Some(base.join("::"))
    }

    /// The file that defines what an absolute path names.
    fn resolve(&self, path: &str, depth: u32) -> Option<Module> {
        let segs: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
        let mut module = String::new();
        for (i, seg) in segs.iter().enumerate() {
            let child =
                if module.is_empty() { seg.to_string() } else { format!("{module}::{seg}") };
            if self.sources.contains_key(&child) {
                module = child;
                continue;
            }
            // An item of `module`: defined there, or re-exported from elsewhere.
            if let Some(target) = self.reexports.get(&module).and_then(|r| r.get(*seg)) {
                if depth < 8 {
                    let rest = segs[i + 1..].join("::");
                    let full =
                        if rest.is_empty() { target.clone() } else { format!("{target}::{rest}") };
                    return self.resolve(&full, depth + 1);
                }
            }
            return Some(module);
        }
        Some(module)
    }
}

fn load_crate() -> Crate {
    let mut sources = BTreeMap::new();
    load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), "", &mut sources);
    let mut krate = Crate { sources, reexports: BTreeMap::new() };
    let mut reexports = BTreeMap::new();
    for (module, source) in &krate.sources {
        if !source.is_dir {
            continue;
        }
        let mut table = BTreeMap::new();
        for line in source.code.split(';') {
            let line = line.trim();
            let Some(at) = line.find("use ") else { continue };
            if !line[..at].trim_start().starts_with("pub") {
                continue;
            }
            let mut items = Vec::new();
            expand(&line[at + 4..].replace('\n', " "), "", &mut items);
            for item in items {
                let (path, name) = match item.split_once(" as ") {
                    Some((p, n)) => (p.trim().to_owned(), n.trim().to_owned()),
                    None => (item.clone(), item.rsplit("::").next().unwrap().to_owned()),
                };
                if let Some(abs) = krate.absolute(module, &path) {
                    table.insert(name, abs);
                }
            }
        }
        reexports.insert(module.clone(), table);
    }
    krate.reexports = reexports;
    krate
}

fn layer_of(module: &str) -> Option<usize> {
    let top = module.split("::").next()?;
    LAYERS.iter().position(|(_, tops)| tops.contains(&top))
}

/// The file-to-file edges: which files each file uses. A `mod.rs` declares and re-exports its
/// children (its re-exports are resolved through, above), so it is left out of the graph the
/// cycle check walks; `with_dirs` adds its own imports, for the layer check.
fn edges(krate: &Crate, with_dirs: bool) -> BTreeMap<Module, BTreeSet<Module>> {
    let mut out: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (module, source) in &krate.sources {
        if source.is_dir && !with_dirs {
            continue;
        }
        let (uses, inline) = paths(&source.code);
        for path in uses.iter().chain(&inline) {
            let Some(abs) = krate.absolute(module, path) else { continue };
            let Some(target) = krate.resolve(&abs, 0) else { continue };
            if target != *module && !target.is_empty() {
                out.entry(module.clone()).or_default().insert(target);
            }
        }
    }
    out
}

#[test]
fn every_file_belongs_to_a_layer() {
    let krate = load_crate();
    let strays: Vec<_> =
        krate.sources.keys().filter(|m| !m.is_empty() && layer_of(m).is_none()).collect();
    assert!(strays.is_empty(), "modules outside every layer: {strays:?}");
}

#[test]
fn imports_point_down_the_layers() {
    let krate = load_crate();
    let mut upward = Vec::new();
    for (from, targets) in edges(&krate, true) {
        for to in targets {
            if let (Some(a), Some(b)) = (layer_of(&from), layer_of(&to)) {
                if b > a {
                    upward.push(format!("{from} ({}) uses {to} ({})", LAYERS[a].0, LAYERS[b].0));
                }
            }
        }
    }
    assert!(upward.is_empty(), "imports up the layers:\n{}", upward.join("\n"));
}

#[test]
fn the_files_import_no_cycle() {
    let krate = load_crate();
    let graph = edges(&krate, false);
    // Depth-first search for a back edge, reporting the cycle it closes.
    fn visit(
        node: &str,
        graph: &BTreeMap<Module, BTreeSet<Module>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
        cycles: &mut Vec<String>,
    ) {
        state.insert(node.to_owned(), 1);
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next.as_str()) {
                Some(1) => {
                    let at = stack.iter().position(|n| n == next).unwrap();
                    cycles.push(format!("{} -> {next}", stack[at..].join(" -> ")));
                }
                Some(_) => {}
                None => visit(next, graph, state, stack, cycles),
            }
        }
        stack.pop();
        state.insert(node.to_owned(), 2);
    }
    let mut state = BTreeMap::new();
    let mut cycles = Vec::new();
    for node in krate.sources.keys() {
        if !state.contains_key(node) {
            visit(node, &graph, &mut state, &mut Vec::new(), &mut cycles);
        }
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_checker_sees_known_edges() {
    // A guard against a checker that finds nothing: the facade must be seen using storage.
    let krate = load_crate();
    let graph = edges(&krate, false);
    assert!(
        graph
            .iter()
            .any(|(from, to)| from.starts_with("store")
                && to.iter().any(|t| t.starts_with("storage"))),
        "{graph:#?}"
    );
}

#[test]
#[ignore]
fn print_edges() {
    let krate = load_crate();
    for (from, to) in edges(&krate, true) {
        println!("{from} -> {to:?}");
    }
}

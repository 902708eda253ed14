//! No import circles inside the rules (`shared/rules`), the cart clients (`shared/carts`) or the
//! service (`shared/sync`): a module uses only modules below it, so each can be read, tested and
//! moved on its own. The graph is drawn from the code itself: every `crate::…` path in a module's
//! own code (its `#[cfg(test)]` module left out), resolved through the crate root's `pub use`,
//! its own items and `#[macro_export]` macros; `x.rs` with `x/` is one module.
//!
//! Run: `cargo test -p mallsync-test-support --test import_circles`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[test]
fn the_service_has_no_import_circle() {
    assert_no_circle("shared/sync");
}

#[test]
fn the_rules_have_no_import_circle() {
    assert_no_circle("shared/rules");
}

#[test]
fn the_cart_clients_have_no_import_circle() {
    assert_no_circle("shared/carts");
}

#[test]
fn the_checker_sees_circles_through_use_groups_paths_re_exports_macros_and_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    write(
        "lib.rs",
        "pub mod a;\npub mod b;\npub mod c;\npub mod d;\npub mod io;\n#[doc(hidden)]\npub use c::{Thing, other};\n\
         use crate::d::D;\npub struct Root;\npub fn start() { io::go() }\n",
    );
    // a → b and io through a nested use group (comments and strings do not count), b → c
    // through the root's re-export, c → d through an inline path (its tests do not count),
    // d → io through io's exported macro and d → a through d's own macro.
    write(
        "a.rs",
        "use crate::{b::{self, X}, io};\n// crate::d\nfn f() { let _ = \"crate::c\"; }\n",
    );
    write("b.rs", "fn f() -> crate::Thing { todo!() }\n");
    write(
        "c.rs",
        "fn f() { crate::d::g(); }\n#[cfg(test)]\nmod tests {\n    use crate::a;\n}\n",
    );
    write(
        "d.rs",
        "fn g() { crate::n!(); }\n#[macro_export]\nmacro_rules! m { () => { $crate::a::h() } }\n",
    );
    write(
        "io.rs",
        "#[macro_export]\nmacro_rules! n { () => {} }\nfn f(_: crate::Root) {}\n",
    );
    let graph = import_graph(dir.path());
    let uses = |module: &str| graph[module].keys().cloned().collect::<Vec<_>>();
    assert_eq!(uses("a"), ["b", "io"], "{graph:?}");
    assert_eq!(uses("b"), ["c"], "{graph:?}");
    assert_eq!(uses("c"), ["d"], "{graph:?}");
    assert_eq!(uses("d"), ["a", "io"], "{graph:?}");
    // The root: io uses what it defines, it calls io (its `use` lines do not count).
    assert_eq!(uses("io"), ["lib"], "{graph:?}");
    assert_eq!(uses("lib"), ["io"], "{graph:?}");
    assert_eq!(
        circles(&graph),
        [
            BTreeSet::from(["a", "b", "c", "d"].map(String::from)),
            BTreeSet::from(["io", "lib"].map(String::from)),
        ]
    );
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn assert_no_circle(crate_dir: &str) {
    let graph = import_graph(&workspace().join(crate_dir).join("src"));
    assert!(graph.len() > 5, "{crate_dir}: no modules found");
    let found = circles(&graph);
    assert!(
        found.is_empty(),
        "{crate_dir} has an import circle; move the helper that closes it to where it belongs \
         (a small module of its own, or the module that owns the concept):\n{}",
        found
            .iter()
            .map(|circle| describe(&graph, circle))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The circle's modules and its shortest loop, each step with the path that makes it.
fn describe(graph: &Graph, circle: &BTreeSet<String>) -> String {
    let mut shortest: Option<Vec<String>> = None;
    for start in circle {
        // Breadth-first inside the circle, back to `start`.
        let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start.as_str()]);
        'search: while let Some(module) = queue.pop_front() {
            for used in graph[module].keys().filter(|u| circle.contains(*u)) {
                if used == start {
                    let mut lap = vec![start.clone()];
                    let mut at = module;
                    while at != start {
                        lap.push(at.to_string());
                        at = came_from[at];
                    }
                    lap.push(start.clone());
                    lap.reverse();
                    if shortest.as_ref().is_none_or(|s| lap.len() < s.len()) {
                        shortest = Some(lap);
                    }
                    break 'search;
                }
                if !came_from.contains_key(used.as_str()) {
                    came_from.insert(used, module);
                    queue.push_back(used);
                }
            }
        }
    }
    let lap = shortest.expect("a circle has a loop");
    let steps: Vec<String> = lap
        .windows(2)
        .map(|w| {
            format!(
                "  {}.rs uses {} (crate::{})",
                w[0], w[1], graph[&w[0]][&w[1]]
            )
        })
        .collect();
    format!(
        "  {} modules in the circle: {}\n  its shortest loop:\n{}",
        circle.len(),
        circle.iter().cloned().collect::<Vec<_>>().join(", "),
        steps.join("\n")
    )
}

/// Module → the modules it uses, each with one of the paths it was seen through.
type Graph = BTreeMap<String, BTreeMap<String, String>>;

/// The crate's top-level modules (`src/x.rs` with everything in `src/x/`) and their uses.
fn import_graph(src: &Path) -> Graph {
    let root = std::fs::read_to_string(src.join("lib.rs")).expect("reading lib.rs");
    let mut sources: BTreeMap<String, String> = BTreeMap::new();
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        // `x.rs` and its submodules in `x/` are one node.
        if path.is_dir() {
            sources.entry(name).or_default().push_str(&read_tree(&path));
        } else if path.extension().is_some_and(|e| e == "rs") && name != "lib" && name != "main" {
            let text = std::fs::read_to_string(&path).unwrap();
            sources.entry(name).or_default().push_str(&text);
        }
    }
    let code: BTreeMap<&String, String> = sources
        .iter()
        .map(|(name, text)| (name, without_tests(&code_only(text))))
        .collect();
    // The crate root is a node too ("lib"): what it defines, and its own code's uses, count;
    // its `use` and `pub use` lines only re-export.
    let root_code = without_tests(&code_only(&root));
    // Names that stand for a module: the root's `pub use module::{A, b}`, exported macros, and
    // the root's own items.
    let mut stands_for: BTreeMap<String, String> = BTreeMap::new();
    for name in defined_items(&root_code) {
        stands_for.insert(name, ROOT.to_string());
    }
    for (module, names) in root_re_exports(&root_code) {
        for name in names {
            stands_for.insert(name, module.clone());
        }
    }
    for (module, text) in &code {
        for name in exported_macros(text) {
            stands_for.insert(name, module.to_string());
        }
    }
    let resolve = |module: &str, path: &str| -> String {
        let first = path.split("::").next().unwrap();
        if sources.contains_key(first) {
            first.to_string()
        } else if let Some(module) = stands_for.get(first) {
            module.clone()
        } else {
            panic!("{module}: crate::{path} names nothing the checker knows; teach it");
        }
    };
    let mut graph = Graph::new();
    for (module, text) in &code {
        let mut uses = BTreeMap::new();
        for path in crate_paths(text) {
            let used = resolve(module, &path);
            if &used != *module {
                uses.entry(used).or_insert(path);
            }
        }
        graph.insert(module.to_string(), uses);
    }
    let own_code = without_use_lines(&root_code);
    let mut uses = BTreeMap::new();
    for path in crate_paths(&own_code) {
        let used = resolve(ROOT, &path);
        uses.entry(used).or_insert(path);
    }
    // In the root, a module is also named without `crate::`.
    for path in bare_paths(&own_code) {
        if let Some(first) = path.split("::").next().filter(|m| sources.contains_key(*m)) {
            uses.entry(first.to_string()).or_insert(path.clone());
        }
    }
    uses.remove(ROOT);
    graph.insert(ROOT.to_string(), uses);
    graph
}

/// The crate root's name in the graph.
const ROOT: &str = "lib";

/// Names the code defines: `fn`, `struct`, `enum`, `trait`, `type`, `const`, `static`, `union`,
/// `macro_rules!`.
fn defined_items(code: &str) -> Vec<String> {
    let words: Vec<&str> = code
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '!'))
        .filter(|w| !w.is_empty())
        .collect();
    words
        .windows(2)
        .filter(|w| {
            matches!(
                w[0],
                "fn" | "struct"
                    | "enum"
                    | "trait"
                    | "type"
                    | "const"
                    | "static"
                    | "union"
                    | "macro_rules!"
            )
        })
        .map(|w| w[1].trim_end_matches('!').to_string())
        .collect()
}

/// The code without its `use …;` statements.
fn without_use_lines(code: &str) -> String {
    let mut out = String::new();
    let mut rest = code;
    while let Some(at) = rest.find("use ") {
        let before = rest[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            out.push_str(&rest[..at + 4]);
            rest = &rest[at + 4..];
            continue;
        }
        out.push_str(&rest[..at]);
        rest = rest[at..].split_once(';').map_or("", |(_, after)| after);
    }
    out.push_str(rest);
    out
}

/// Paths written without a `crate::`/`self::`/`super::` prefix: `x::y` where `x` starts a path.
fn bare_paths(code: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let mut from = 0;
    while let Some(found) = code[from..].find("::") {
        let at = from + found;
        let start = code[..at]
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        let starts_a_path = !code[..start].ends_with(':') && !code[..start].ends_with('$');
        if starts_a_path && start < at {
            paths.push(leading_path(&code[start..]));
        }
        from = at + 2;
    }
    paths
}

fn read_tree(dir: &Path) -> String {
    let mut text = String::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            text.push_str(&read_tree(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            text.push_str(&std::fs::read_to_string(&path).unwrap());
            text.push('\n');
        }
    }
    text
}

/// The text with comments and the contents of string and char literals blanked out.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && !chars
                .get(i.wrapping_sub(1))
                .is_some_and(|p| p.is_alphanumeric() || *p == '_')
        {
            // A raw string: r"…", r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= chars.len() {
                    break;
                }
                if chars[j] == '"' && (0..hashes).all(|h| chars.get(j + 1 + h) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && next == Some('\\') {
            // An escaped char literal: '\n', '\'', '\u{..}'.
            i += 2;
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            i += 1;
            out.push_str("' '");
        } else if c == '\'' && chars.get(i + 2) == Some(&'\'') {
            i += 3;
            out.push_str("' '");
        } else {
            // Anything else, lifetimes included.
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The code without its `#[cfg(test)]` / `#[cfg(all(test, …))]` modules: tests may reach
/// anywhere (a native `Io`, the route table) without making the module depend on it.
fn without_tests(code: &str) -> String {
    let mut out = String::new();
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(") {
        let attribute_end = rest[at..].find(']').map_or(rest.len(), |e| at + e + 1);
        let attribute = &rest[at..attribute_end];
        let after = rest[attribute_end..].trim_start();
        let is_test = attribute.starts_with("#[cfg(test)")
            || (attribute.starts_with("#[cfg(all(test")
                || attribute.starts_with("#[cfg(all(test,"));
        if is_test && (after.starts_with("mod ") || after.starts_with("pub mod ")) {
            out.push_str(&rest[..at]);
            let open = rest[attribute_end..]
                .find('{')
                .map(|o| attribute_end + o)
                .expect("a test module has a body");
            let mut depth = 0;
            let mut end = rest.len();
            for (k, ch) in rest[open..].char_indices() {
                match ch {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            end = open + k + 1;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            rest = &rest[end..];
        } else {
            out.push_str(&rest[..attribute_end]);
            rest = &rest[attribute_end..];
        }
    }
    out.push_str(rest);
    out
}

/// Every path after `crate::` or `$crate::`, a `use crate::{a, b::c}` group giving each of its
/// top-level names.
fn crate_paths(code: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut item = String::new();
            let mut items = Vec::new();
            for ch in group.chars() {
                match ch {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    break;
                }
                if depth == 1 && ch == ',' {
                    items.push(std::mem::take(&mut item));
                } else {
                    item.push(ch);
                }
            }
            items.push(item);
            for item in items {
                let path = leading_path(item.trim());
                if !path.is_empty() && path != "self" {
                    paths.push(path);
                }
            }
        } else {
            let path = leading_path(rest);
            if !path.is_empty() {
                paths.push(path);
            }
        }
    }
    paths
}

/// `a::b::C` from the start of `text`.
fn leading_path(text: &str) -> String {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(text.len());
    text[..end].trim_end_matches(':').to_string()
}

/// `pub use module::{A, b};` / `pub use module::A;` in the crate root: name → module.
fn root_re_exports(root: &str) -> Vec<(String, Vec<String>)> {
    let mut found = Vec::new();
    for statement in root.split(';') {
        let Some(path) = statement
            .find("pub use ")
            .map(|at| &statement[at + "pub use ".len()..])
        else {
            continue;
        };
        let path = path.trim_start_matches("crate::");
        let Some((module, names)) = path.split_once("::") else {
            continue;
        };
        let names = names
            .trim_matches(|c| c == '{' || c == '}')
            .split(',')
            .map(|n| {
                let n = n.trim();
                // `A as B` is known by B; a path by its last segment.
                n.rsplit(" as ")
                    .next()
                    .unwrap()
                    .rsplit("::")
                    .next()
                    .unwrap()
                    .trim()
                    .to_string()
            })
            .filter(|n| !n.is_empty())
            .collect();
        found.push((module.trim().to_string(), names));
    }
    found
}

/// Names of the `#[macro_export] macro_rules!` a module defines (used as `crate::name!`).
fn exported_macros(code: &str) -> Vec<String> {
    code.split("#[macro_export]")
        .skip(1)
        .filter_map(|after| {
            let at = after.find("macro_rules!")?;
            let name = after[at + "macro_rules!".len()..].trim_start();
            Some(leading_path(name))
        })
        .collect()
}

/// The strongly connected components of more than one module (Tarjan), each a circle.
fn circles(graph: &Graph) -> Vec<BTreeSet<String>> {
    struct State<'a> {
        graph: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<BTreeSet<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        let graph = s.graph;
        for w in graph[v].keys().filter(|w| graph.contains_key(*w)) {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = BTreeSet::new();
            loop {
                let w = s.stack.pop().unwrap();
                s.on_stack.remove(w);
                component.insert(w.to_string());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                s.found.push(component);
            }
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.found.sort();
    s.found
}

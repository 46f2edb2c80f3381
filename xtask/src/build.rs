//! The browser package: the engine compiled to wasm for size, its JS glue and TypeScript types, an entry
//! for Node, and `package.json` from the top-level `pkg.json`, all in `pkg/`.

use std::fs;
use std::io::Write as _;
use std::process::{Command, Stdio};

use crate::{cargo, root, run, tools};

/// A built `.wasm`'s size.
pub struct Size {
    path: &'static str,
    raw: usize,
    gzip: usize,
}

impl Size {
    fn of(path: &'static str) -> Result<Self, String> {
        let bytes = fs::read(root().join(path)).map_err(|e| format!("cannot read {path}: {e}"))?;
        Ok(Self {
            path,
            raw: bytes.len(),
            gzip: gzip_len(&bytes)?,
        })
    }
}

/// The built package's sizes: the engine alone, and the widget.
pub struct Package {
    engine: Size,
    widget: Size,
}

impl Package {
    /// One line a build: the `.wasm` raw and gzip sizes.
    pub fn summary(&self) -> String {
        [&self.engine, &self.widget]
            .iter()
            .map(|s| format!("{}: {} bytes raw, {} bytes gzip", s.path, s.raw, s.gzip))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Node's entry: the web build, with the `.wasm` read from disk instead of fetched.
const NODE_ENTRY: &str = r#"// Node entry: the same module as the browser's, with the .wasm read from disk instead of fetched.
import { readFileSync } from "node:fs";
import initWeb, { initSync } from "./preflight.js";

export * from "./preflight.js";

export default async function init(options) {
  if (options !== undefined) return initWeb(options);
  // Read and compile synchronously: the module is small, and a cold start then waits on no thread pool.
  const bytes = readFileSync(new URL("./preflight_bg.wasm", import.meta.url));
  return initSync({ module: new WebAssembly.Module(bytes) });
}
"#;

const NODE_TYPES: &str = r#"export * from "./preflight.js";
import type { InitInput, InitOutput } from "./preflight.js";
/** Loads the module: from disk when called with no argument. */
export default function init(options?: { module_or_path: InitInput | Promise<InitInput> }): Promise<InitOutput>;
"#;

/// Builds `pkg/`: the engine's JS API at its root, the widget (the engine too, plus the DOM and the
/// sync API client) in `pkg/widget/`.
pub fn build() -> Result<Package, String> {
    tools::wasm_target()?;
    tools::wasm_bindgen()?;
    tools::npm_install()?;
    let root = root();
    let pkg = root.join("pkg");
    if pkg.exists() {
        fs::remove_dir_all(&pkg).map_err(|e| format!("cannot clear pkg/: {e}"))?;
    }
    compile("preflight")?;
    bindgen("preflight", "pkg", "preflight")?;
    compile("preflight-widget")?;
    bindgen("preflight_widget", "pkg/widget", "preflight_widget")?;

    let write = |name: &str, text: &str| {
        fs::write(pkg.join(name), text).map_err(|e| format!("cannot write pkg/{name}: {e}"))
    };
    write("node.js", NODE_ENTRY)?;
    write("node.d.ts", NODE_TYPES)?;
    write("package.json", &manifest()?)?;
    // The custom element, importing the widget's module from beside it.
    let element = fs::read_to_string(root.join("www/fulfillment-preflight.js"))
        .map_err(|e| format!("cannot read www/fulfillment-preflight.js: {e}"))?;
    write("widget/element.js", &element.replace("./pkg/widget/", "./"))?;
    write("widget/element.d.ts", ELEMENT_TYPES)?;
    fs::copy(
        root.join("www/preflight.css"),
        pkg.join("widget/preflight.css"),
    )
    .map_err(|e| format!("cannot copy www/preflight.css: {e}"))?;
    for dir in ["pkg", "pkg/widget"] {
        let _ = fs::remove_file(root.join(dir).join(".gitignore"));
    }

    let package = Package {
        engine: Size::of("pkg/preflight_bg.wasm")?,
        widget: Size::of("pkg/widget/preflight_widget_bg.wasm")?,
    };
    eprintln!("xtask: {}", package.summary());
    Ok(package)
}

/// The types of the custom element's module.
const ELEMENT_TYPES: &str = r#"export * from "./preflight_widget.js";
import type { MountOptions, Widget } from "./preflight_widget.js";
/** Loads the module once, then mounts the widget in `element`. */
export function mount(element: HTMLElement, options: MountOptions): Promise<Widget>;
/** `<fulfillment-preflight api-base="…">`: set `getToken` before it connects. */
export class FulfillmentPreflight extends HTMLElement {
  getToken: (() => string | Promise<string>) | null;
}
"#;

/// Compiles a package's library for the browser, size-optimized: as a `cdylib` alone, since cargo
/// applies the profile's link-time optimization only to a library built as no `rlib` too.
fn compile(package: &str) -> Result<(), String> {
    cargo(&[
        "rustc",
        "--package",
        package,
        "--lib",
        "--target",
        "wasm32-unknown-unknown",
        "--profile",
        "wasm",
        "--crate-type",
        "cdylib",
    ])
}

/// Runs wasm-bindgen (target `web`) on the compiled `{crate_name}.wasm` into `out_dir`, then
/// `wasm-opt -Oz`.
fn bindgen(crate_name: &str, out_dir: &str, out_name: &str) -> Result<(), String> {
    let wasm = root().join(format!(
        "target/wasm32-unknown-unknown/wasm/{crate_name}.wasm"
    ));
    run(
        "wasm-bindgen",
        &[
            &wasm.to_string_lossy(),
            "--target",
            "web",
            "--out-dir",
            out_dir,
            "--out-name",
            out_name,
        ],
    )?;
    let wasm_opt = root().join("tests/js/node_modules/.bin/wasm-opt");
    let file = format!("{out_dir}/{out_name}_bg.wasm");
    run(
        &wasm_opt.to_string_lossy(),
        &[
            &file,
            "-Oz",
            "--enable-bulk-memory",
            "--enable-nontrapping-float-to-int",
            "--enable-sign-ext",
            "--enable-mutable-globals",
            "--enable-reference-types",
            "--enable-multivalue",
            "--strip-debug",
            "--strip-producers",
            "-o",
            &file,
        ],
    )
}

/// `pkg.json` with the crate's version.
fn manifest() -> Result<String, String> {
    let template = fs::read_to_string(root().join("pkg.json"))
        .map_err(|e| format!("cannot read pkg.json: {e}"))?;
    let version = format!("\"version\": \"{}\"", env!("CARGO_PKG_VERSION"));
    let mut out = String::new();
    for line in template.lines() {
        if line.trim_start().starts_with("\"version\"") {
            let indent = &line[..line.len() - line.trim_start().len()];
            let comma = if line.trim_end().ends_with(',') {
                ","
            } else {
                ""
            };
            out.push_str(&format!("{indent}{version}{comma}\n"));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
}

/// The size of `bytes` compressed by `gzip -9`.
fn gzip_len(bytes: &[u8]) -> Result<usize, String> {
    let mut child = Command::new("gzip")
        .args(["-9", "-c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run gzip: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("gzip has no stdin")?;
    let data = bytes.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child
        .wait_with_output()
        .map_err(|e| format!("gzip failed: {e}"))?;
    writer
        .join()
        .map_err(|_| "gzip writer panicked".to_owned())?
        .map_err(|e| format!("gzip failed: {e}"))?;
    Ok(out.stdout.len())
}

/// Every vector's native report (or input error), for the wasm layers to compare against:
/// `target/vector-reports.json`.
pub fn native_reports() -> Result<(), String> {
    cargo(&[
        "run",
        "--quiet",
        "--release",
        "--package",
        "preflight",
        "--example",
        "vector_reports",
        "--",
        "target/vector-reports.json",
    ])
}

//! The browser package: the engine compiled to wasm for size, its JS glue and TypeScript types, an entry
//! for Node, and `package.json` from the top-level `pkg.json`, all in `pkg/`.

use std::fs;
use std::io::Write as _;
use std::process::{Command, Stdio};

use crate::{cargo, root, run, tools};

/// The built package's size.
pub struct Package {
    raw: usize,
    gzip: usize,
}

impl Package {
    /// One line: the `.wasm` raw and gzip sizes.
    pub fn summary(&self) -> String {
        format!(
            "pkg/preflight_bg.wasm: {} bytes raw, {} bytes gzip",
            self.raw, self.gzip
        )
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

/// Builds `pkg/`.
pub fn build() -> Result<Package, String> {
    tools::wasm_target()?;
    tools::wasm_bindgen()?;
    tools::npm_install()?;
    let root = root();
    cargo(&[
        "build",
        "--package",
        "preflight",
        "--lib",
        "--target",
        "wasm32-unknown-unknown",
        "--profile",
        "wasm",
    ])?;
    let pkg = root.join("pkg");
    if pkg.exists() {
        fs::remove_dir_all(&pkg).map_err(|e| format!("cannot clear pkg/: {e}"))?;
    }
    let wasm = root.join("target/wasm32-unknown-unknown/wasm/preflight.wasm");
    run(
        "wasm-bindgen",
        &[
            &wasm.to_string_lossy(),
            "--target",
            "web",
            "--out-dir",
            "pkg",
            "--out-name",
            "preflight",
        ],
    )?;
    let wasm_opt = root.join("tests/js/node_modules/.bin/wasm-opt");
    run(
        &wasm_opt.to_string_lossy(),
        &[
            "pkg/preflight_bg.wasm",
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
            "pkg/preflight_bg.wasm",
        ],
    )?;
    let write = |name: &str, text: &str| {
        fs::write(pkg.join(name), text).map_err(|e| format!("cannot write pkg/{name}: {e}"))
    };
    write("node.js", NODE_ENTRY)?;
    write("node.d.ts", NODE_TYPES)?;
    write("package.json", &manifest()?)?;
    let _ = fs::remove_file(pkg.join(".gitignore"));

    let bytes = fs::read(pkg.join("preflight_bg.wasm"))
        .map_err(|e| format!("cannot read the wasm: {e}"))?;
    let package = Package {
        raw: bytes.len(),
        gzip: gzip_len(&bytes)?,
    };
    eprintln!("xtask: {}", package.summary());
    Ok(package)
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

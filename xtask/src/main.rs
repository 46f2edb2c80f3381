//! The project's tasks: `cargo xtask build | test | bench | demo`.
//!
//! Each task installs what it needs, idempotently, and runs every step, stopping at the first that
//! fails.

mod build;
mod demo;
#[cfg(test)]
mod layers;
mod postgres;
mod tools;

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  build   the browser package: wasm (size-optimized), JS glue and types, into pkg/
  test    formatting, lints, and every test layer (native, wasm in Node and Chromium, TypeScript)
  bench   the engine natively, the wasm package in Node and headless Chromium, the sync API's load
  demo    the product on http://127.0.0.1:8787/ (PREFLIGHT_DEMO_PORT): the widget, the sync API
          and a TikTok Shop simulator, with a seeded demo shop on a fresh database
          [--instances N --database postgres]: N instances on a PostgreSQL server of their own,
          sharing one simulated TikTok Shop and Shopify (`preflight-simulators`)";

fn main() -> ExitCode {
    let task = env::args().nth(1);
    let result = match task.as_deref() {
        Some("build") => build::build().map(|_| ()),
        Some("test") => test(),
        Some("bench") => bench(),
        Some("demo") => demo::demo(&env::args().skip(2).collect::<Vec<_>>()),
        Some("-h" | "--help" | "help") | None => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown task `{other}`\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of this crate's folder).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Runs a command in `dir`, failing with its name when it fails.
pub fn run_in(dir: &Path, program: &str, args: &[&str]) -> Result<(), String> {
    run_with(dir, program, args, &[])
}

/// Runs a command in `dir` with `envs` set, failing with its name when it fails.
pub fn run_with(
    dir: &Path,
    program: &str,
    args: &[&str],
    envs: &[(&str, &str)],
) -> Result<(), String> {
    eprintln!("xtask: $ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(dir)
        .status()
        .map_err(|e| format!("cannot run `{program}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{program} {}` failed ({status})", args.join(" ")))
    }
}

/// Runs a command in the workspace root.
pub fn run(program: &str, args: &[&str]) -> Result<(), String> {
    run_in(&root(), program, args)
}

/// Runs cargo, the same one that runs xtask.
pub fn cargo(args: &[&str]) -> Result<(), String> {
    run(&cargo_program(), args)
}

/// The cargo that runs xtask.
pub fn cargo_program() -> String {
    env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

fn test() -> Result<(), String> {
    cargo(&["fmt", "--all", "--", "--check"])?;
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    tools::wasm_target()?;
    // The browser builds: the engine's JS API, and the widget (with the engine linked in).
    cargo(&[
        "clippy",
        "--package",
        "preflight",
        "--package",
        "preflight-widget",
        "--lib",
        "--target",
        "wasm32-unknown-unknown",
        "--",
        "-D",
        "warnings",
    ])?;
    // Every crate natively, the widget's model (what the list shows, without the DOM) among them;
    // the store's PostgreSQL suites against a server of their own.
    let postgres = postgres::Postgres::start()?;
    run_with(
        &root(),
        &cargo_program(),
        &["test", "--workspace"],
        &[
            ("PREFLIGHT_TEST_POSTGRES", &postgres.url()),
            ("PREFLIGHT_TEST_POSTGRES_CTL", &postgres.control()?),
        ],
    )?;
    drop(postgres);
    let package = build::build()?;
    build::native_reports()?;
    tools::npm_install()?;
    let js = root().join("tests/js");
    run_in(
        &js,
        "node",
        &["--test", "--test-reporter=spec", "node.test.mjs"],
    )?;
    // The TypeScript types, checked against every vector's settings, input and native report too.
    run_in(&js, "node", &["vector-types.mjs"])?;
    run_in(&js, "node_modules/.bin/tsc", &["-p", "tsconfig.json"])?;
    tools::chromium()?;
    run_in(
        &js,
        "node",
        &["--test", "--test-reporter=spec", "chromium.test.mjs"],
    )?;
    // The widget end to end: the real server (demo mode, SQLite, simulator) and headless Chromium.
    cargo(&["build", "--package", "preflight-server"])?;
    run_in(
        &js,
        "node",
        &["--test", "--test-reporter=spec", "widget.test.mjs"],
    )?;
    eprintln!("xtask: package {}", package.summary());
    Ok(())
}

fn bench() -> Result<(), String> {
    cargo(&["bench", "--package", "preflight", "--bench", "validate"])?;
    let package = build::build()?;
    tools::npm_install()?;
    tools::chromium()?;
    let js = root().join("tests/js");
    run_in(&js, "node", &["bench.mjs"])?;
    cargo(&["build", "--package", "preflight-server"])?;
    run_in(&js, "node", &["widget-bench.mjs"])?;
    eprintln!("xtask: package {}", package.summary());
    // The sync API's load run: on SQLite, then on a PostgreSQL server of its own.
    let postgres = postgres::Postgres::start()?;
    run_with(
        &root(),
        &cargo_program(),
        &[
            "run",
            "--release",
            "--quiet",
            "--package",
            "preflight-server",
            "--example",
            "load",
        ],
        &[("PREFLIGHT_BENCH_POSTGRES", &postgres.url())],
    )
}

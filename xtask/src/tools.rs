//! Installs what the tasks need, each only when missing: the wasm target, the wasm-bindgen CLI of the
//! locked version, the npm tooling, Debian's Chromium and ChromeDriver (and PostgreSQL, for
//! [`crate::postgres`]).

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::{cargo_program, root, run, run_in};

fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The `wasm32-unknown-unknown` target, through rustup.
pub fn wasm_target() -> Result<(), String> {
    let installed = output("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if installed
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        return Ok(());
    }
    run("rustup", &["target", "add", "wasm32-unknown-unknown"])
}

/// The version of a package in Cargo.lock.
pub fn locked_version(package: &str) -> Result<String, String> {
    let lock = fs::read_to_string(root().join("Cargo.lock"))
        .map_err(|e| format!("cannot read Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == format!("name = \"{package}\"") {
            if let Some(version) = lines
                .next()
                .and_then(|l| l.strip_prefix("version = \""))
                .and_then(|l| l.strip_suffix('"'))
            {
                return Ok(version.to_owned());
            }
        }
    }
    Err(format!("`{package}` is not in Cargo.lock"))
}

/// The wasm-bindgen CLI at exactly the locked `wasm-bindgen` version.
pub fn wasm_bindgen() -> Result<(), String> {
    let want = locked_version("wasm-bindgen")?;
    let have = output("wasm-bindgen", &["--version"]).unwrap_or_default();
    if have.split_whitespace().nth(1) == Some(want.as_str()) {
        return Ok(());
    }
    // Not --locked: a dependency the CLI's own lock file names is not served by every registry mirror.
    run(
        &cargo_program(),
        &["install", "wasm-bindgen-cli", "--version", &want],
    )
}

/// The npm tooling of `tests/js` (wasm-opt, TypeScript, playwright-core), as its lock file pins it.
pub fn npm_install() -> Result<(), String> {
    let js = root().join("tests/js");
    let lock = js.join("package-lock.json");
    let stamp = js.join("node_modules/.package-lock.json");
    let fresh = match (fs::metadata(&lock), fs::metadata(&stamp)) {
        (Ok(lock), Ok(stamp)) => match (lock.modified(), stamp.modified()) {
            (Ok(lock), Ok(stamp)) => stamp >= lock,
            _ => false,
        },
        _ => false,
    };
    if fresh {
        return Ok(());
    }
    run_in(&js, "npm", &["ci", "--no-audit", "--no-fund"])
}

/// Debian's Chromium and ChromeDriver, for the browser tests.
pub fn chromium() -> Result<(), String> {
    if Path::new("/usr/bin/chromium").exists() && Path::new("/usr/bin/chromedriver").exists() {
        return Ok(());
    }
    apt_install(&["chromium", "chromium-driver"])
}

/// Debian packages, through apt-get (with sudo when not root).
pub fn apt_install(packages: &[&str]) -> Result<(), String> {
    let sudo = output("id", &["-u"]).is_some_and(|id| id.trim() != "0");
    let apt = |args: &[&str]| {
        if sudo {
            let mut all = vec!["apt-get"];
            all.extend_from_slice(args);
            run("sudo", &all)
        } else {
            run("apt-get", args)
        }
    };
    apt(&["update", "-qq"])?;
    let mut install = vec!["install", "-y", "-qq"];
    install.extend_from_slice(packages);
    apt(&install)
}

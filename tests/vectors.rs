//! Runs every golden vector in `tests/vectors/` through the engine's JSON form.
//!
//! A vector is `{name, settings, now, input, expected}`; `expected` is `{verdict, codes}` with optional
//! `action`, `updateDeadline`, `lineItemIds`, `shippingProviderId`, `trackingNumber`, or
//! `{error: {code, path}}` for malformed input. Every layer (native, wasm, sync API) reads these files.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "a test: a failure panics with what it found"
)]

use std::fs;
use std::path::{Path, PathBuf};

use preflight::Code;
use serde_json::Value;

#[path = "common/vector.rs"]
mod vector;

fn vector_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

fn run(vector: &Value) -> Value {
    vector::outcome(vector)
}

/// The parts of an outcome a vector's `expected` speaks of.
fn observed(expected: &Value, outcome: &Value) -> Value {
    if outcome.get("error").is_some() || expected.get("error").is_some() {
        return serde_json::json!({ "error": outcome.get("error") });
    }
    let mut codes: Vec<&str> = outcome["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    codes.sort_unstable();
    let mut seen = serde_json::json!({ "verdict": outcome["verdict"], "codes": codes });
    let plan = &outcome["plan"];
    for (key, value) in [
        ("action", &plan["action"]),
        ("updateDeadline", &outcome["updateDeadline"]),
        ("lineItemIds", &plan["lineItemIds"]),
        ("shippingProviderId", &plan["shippingProviderId"]),
        ("trackingNumber", &plan["trackingNumber"]),
    ] {
        if expected.get(key).is_some() {
            seen[key] = value.clone();
        }
    }
    seen
}

fn normalized_expected(expected: &Value) -> Value {
    let mut expected = expected.clone();
    if let Some(codes) = expected.get_mut("codes").and_then(Value::as_array_mut) {
        codes.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    }
    expected
}

#[test]
fn golden_vectors() {
    let files = vector_files();
    assert!(files.len() >= 80, "only {} vectors", files.len());
    let mut failures = Vec::new();
    for file in &files {
        let vector: Value = serde_json::from_str(&fs::read_to_string(file).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let expected = normalized_expected(&vector["expected"]);
        let outcome = run(&vector);
        let seen = observed(&expected, &outcome);
        if seen != expected {
            failures.push(format!(
                "{} ({}):\n  expected {expected}\n  got      {seen}",
                file.file_name().unwrap().to_string_lossy(),
                vector["name"].as_str().unwrap_or("?"),
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} vectors failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn every_code_is_covered_by_a_vector() {
    let mut missing: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    for file in vector_files() {
        let text = fs::read_to_string(file).unwrap();
        missing.retain(|code| !text.contains(&format!("\"{code}\"")));
    }
    assert!(missing.is_empty(), "codes without a vector: {missing:?}");
}

#[test]
fn reports_are_deterministic_and_consistent() {
    for file in vector_files() {
        let vector: Value = serde_json::from_str(&fs::read_to_string(&file).unwrap()).unwrap();
        let first = run(&vector);
        assert_eq!(first, run(&vector), "{}", file.display());
        let Some(diagnostics) = first["diagnostics"].as_array() else {
            continue;
        };
        let errors = diagnostics
            .iter()
            .filter(|d| d["severity"] == "error")
            .count();
        match first["verdict"].as_str().unwrap() {
            "blocked" => assert!(errors > 0, "{}", file.display()),
            _ => assert_eq!(errors, 0, "{}", file.display()),
        }
        for d in diagnostics {
            let code = Code::from_name(d["code"].as_str().unwrap()).unwrap();
            assert_eq!(d["reason"], code.text().reason);
        }
    }
}

#[test]
fn readme_lists_every_code() {
    let readme =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    for code in Code::ALL {
        assert!(
            readme.contains(&format!("`{}`", code.as_str())),
            "{code} is not in README.md"
        );
    }
}

#[test]
fn every_report_is_json_and_the_typed_and_json_forms_agree() {
    use preflight::json::ToJson;
    for file in vector_files() {
        let vector: Value = serde_json::from_str(&fs::read_to_string(&file).unwrap()).unwrap();
        let Ok(validator) = preflight::Validator::from_json(&vector["settings"].to_string()) else {
            continue;
        };
        let Ok(input) = preflight::from_json::<preflight::Input>(&vector["input"].to_string())
        else {
            continue;
        };
        let Ok(now) = preflight::Timestamp::parse(vector["now"].as_str().unwrap_or_default())
        else {
            continue;
        };
        let report = validator.validate(&input, now);
        // The one writer writes JSON, and the same JSON as the JSON form answers.
        let written: Value = serde_json::from_str(&report.to_json()).unwrap();
        let answered: Value = serde_json::from_str(
            &validator
                .validate_json(
                    &vector["input"].to_string(),
                    vector["now"].as_str().unwrap_or_default(),
                )
                .unwrap(),
        )
        .unwrap();
        assert_eq!(written, answered, "{}", file.display());
    }
}

//! A golden vector's outcome through the engine's JSON form: the report, or the input error's code and
//! path (prefixed `settings.` or `input.`; a bad `now` keeps the path `now`). Shared by the native
//! vector test and the native reports the wasm layers compare against.

use preflight::Validator;
use serde_json::{json, Value};

/// Runs one vector.
pub fn outcome(vector: &Value) -> Value {
    let error = |code: &str, path: &str| json!({ "error": { "code": code, "path": path } });
    let validator = match Validator::from_json(&vector["settings"].to_string()) {
        Ok(v) => v,
        Err(e) => return error(e.code(), &e.within("settings").path),
    };
    // A vector may carry its input as raw text, to test malformed JSON.
    let input = match &vector["input"] {
        Value::String(raw) => raw.clone(),
        other => other.to_string(),
    };
    let now = vector["now"].as_str().unwrap_or_default();
    match validator.validate_json(&input, now) {
        Ok(report) => serde_json::from_str(&report).unwrap_or(Value::Null),
        Err(e) if e.path == "now" => error(e.code(), &e.path),
        Err(e) => error(e.code(), &e.within("input").path),
    }
}

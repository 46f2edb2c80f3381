//! Every TikTok Shop error code a diagnostic predicts is one TikTok Shop's partner docs define for the
//! push endpoints (their error-code tables, in `tests/corpus/tts_error_codes.json`).

use std::collections::BTreeSet;

use preflight::Code;
use serde_json::Value;

#[test]
fn every_predicted_code_is_documented_for_a_push_endpoint() {
    let docs: Value = serde_json::from_str(include_str!("corpus/tts_error_codes.json")).unwrap();
    let documented: BTreeSet<&str> = docs["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["codes"].as_array().unwrap())
        .map(|c| c.as_str().unwrap())
        .collect();
    let mut missing = Vec::new();
    for code in Code::ALL {
        for tts in code.text().tts_error_codes {
            if !documented.contains(tts) {
                missing.push(format!("{code}: {tts}"));
            }
        }
    }
    assert!(missing.is_empty(), "not in the docs: {missing:?}");
}

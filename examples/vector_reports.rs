//! Writes every golden vector's native outcome (the report, or the input error's code and path) to one
//! JSON file, keyed by file name, for the wasm layers to compare against field for field.

use std::fs;
use std::path::Path;

use serde_json::{Map, Value};

#[path = "../tests/common/vector.rs"]
mod vector;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .ok_or("usage: vector_reports OUT.json")?;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let mut names: Vec<_> = fs::read_dir(&dir)?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    let mut all = Map::new();
    for name in names {
        let vector: Value = serde_json::from_str(&fs::read_to_string(dir.join(&name))?)?;
        all.insert(name, vector::outcome(&vector));
    }
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join(out);
    fs::write(&out, serde_json::to_string_pretty(&Value::Object(all))?)?;
    eprintln!("wrote {}", out.display());
    Ok(())
}

//! Writes the largest line-item shapes (tests/common/shapes.rs) at n and 2n lines to one JSON file,
//! `[{shape, lines, input}]`, for the wasm benchmark to time the same inputs the native one does.

use std::fs;
use std::path::Path;

use serde_json::{json, Value};

#[path = "../tests/common/shapes.rs"]
mod shapes;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: line_item_shapes OUT.json N";
    let out = args.next().ok_or(usage)?;
    let n: usize = args.next().ok_or(usage)?.parse()?;
    let all: Vec<Value> = shapes::Shape::ALL
        .into_iter()
        .flat_map(|shape| {
            [n, 2 * n].map(
                |lines| json!({"shape": shape.name(), "lines": lines, "input": shape.input(lines)}),
            )
        })
        .collect();
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join(out);
    fs::write(&out, serde_json::to_string(&all)?)?;
    eprintln!("wrote {}", out.display());
    Ok(())
}

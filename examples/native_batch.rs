//! Times natively the batch the wasm benchmark (`tests/js/bench.mjs`) times in Node and Chromium, so the
//! two compare on the very same inputs.
//!
//! Reads a JSON file `{"settings": …, "now": …, "inputs": […], "typical": …}` (`typical` optional) and
//! prints one JSON line: the per-validation nanoseconds of the typed batch (`Validator::validate_batch`,
//! inputs parsed beforehand) and of the JSON batch (`Validator::validate_batch_json` on the whole text:
//! parse, validate and serialize), that JSON cost split into parsing the inputs alone (each input's text
//! into an `Input`) and serializing the reports alone, and the typed and JSON figures of the typical input when given. Each figure is the best
//! of a few rounds.
//!
//! ```sh
//! cargo run --release --example native_batch -- target/bench/batch.json
//! ```

use std::error::Error;
use std::hint::black_box;
use std::time::{Duration, Instant};

use preflight::json::ToJson;
use preflight::{from_json, parse_now, Input, Report, Validator, Verdict};
use serde_json::{json, Value};

/// Rounds per figure; the best is kept.
const ROUNDS: u32 = 7;
/// The least time a round runs for: short calls repeat within it.
const ROUND: Duration = Duration::from_millis(100);
/// The most calls a round makes, whatever their speed.
const MAX_CALLS: u32 = 2_000_000;

/// The best time per call of `f` over [`ROUNDS`] rounds, each repeating `f` for about [`ROUND`].
fn best(mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    f();
    let once = start.elapsed().max(Duration::from_nanos(1));
    let calls = u32::try_from(ROUND.as_nanos() / once.as_nanos())
        .unwrap_or(MAX_CALLS)
        .clamp(1, MAX_CALLS);
    (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..calls {
                f();
            }
            start.elapsed() / calls
        })
        .min()
        .unwrap_or(once)
}

fn nanos(per_call: Duration, validations: usize) -> f64 {
    per_call.as_nanos() as f64 / validations.max(1) as f64
}

fn verdicts(reports: &[Report]) -> Value {
    let count = |v: Verdict| reports.iter().filter(|r| r.verdict == v).count();
    json!({
        "ready": count(Verdict::Ready),
        "blocked": count(Verdict::Blocked),
        "in_sync": count(Verdict::InSync),
    })
}

fn main() -> Result<(), Box<dyn Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: native_batch BATCH.json")?;
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    let settings = file.get("settings").ok_or("no `settings` in the file")?;
    let now_text = file
        .get("now")
        .and_then(Value::as_str)
        .ok_or("no `now` string in the file")?;
    let inputs = file
        .get("inputs")
        .and_then(Value::as_array)
        .ok_or("no `inputs` array in the file")?;

    let validator = Validator::from_json(&settings.to_string())?;
    let now = parse_now(now_text)?;
    let texts: Vec<String> = inputs.iter().map(Value::to_string).collect();
    let typed: Vec<Input> = texts
        .iter()
        .map(|text| from_json(text))
        .collect::<Result<_, _>>()?;
    let body = json!({ "inputs": inputs }).to_string();

    let reports = validator.validate_batch(&typed, now);
    let typed_per = best(|| {
        black_box(validator.validate_batch(black_box(&typed), now));
    });
    let json_per = best(|| {
        black_box(
            validator
                .validate_batch_json(black_box(&body), now_text)
                .ok(),
        );
    });
    let parse_per = best(|| {
        for text in &texts {
            black_box(from_json::<Input>(black_box(text)).ok());
        }
    });
    let serialize_per = best(|| {
        black_box(black_box(&reports).to_json());
    });

    let mut out = json!({
        "inputs": typed.len(),
        "rounds": ROUNDS,
        "typedNsPerValidation": nanos(typed_per, typed.len()),
        "jsonNsPerValidation": nanos(json_per, typed.len()),
        "jsonParseNsPerValidation": nanos(parse_per, typed.len()),
        "jsonSerializeNsPerValidation": nanos(serialize_per, typed.len()),
        "jsonInputBytes": body.len(),
        "jsonReportBytes": validator.validate_batch_json(&body, now_text)?.len(),
        "verdicts": verdicts(&reports),
    });
    if let (Some(typical), Some(slot)) = (file.get("typical"), out.as_object_mut()) {
        let text = typical.to_string();
        let input: Input = from_json(&text)?;
        let typed_per = best(|| {
            black_box(validator.validate(black_box(&input), now));
        });
        let json_per = best(|| {
            black_box(validator.validate_json(black_box(&text), now_text).ok());
        });
        slot.insert("typicalTypedNs".into(), json!(nanos(typed_per, 1)));
        slot.insert("typicalJsonNs".into(), json!(nanos(json_per, 1)));
    }
    println!("{out}");
    Ok(())
}

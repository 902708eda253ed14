//! Where in a cart's JSON body a parse error is, as a path (`orders[1].id`), found from the byte
//! position serde_json reports. A body is parsed straight into its types; only when that fails
//! is the text read again up to the error, so no type is compiled a second time through a
//! path-tracking deserializer (serde_path_to_error, which did that, cost the dispatcher ~100 KB:
//! it links every cart's response types). The notation is serde_path_to_error's, and a test
//! checks the two agree on every wrong value and missing field. Two cases name less: a value of
//! an untagged enum that fits no variant names the object holding it (serde reports it when that
//! object ends), and text that is not JSON names roughly where it broke off.

/// The path of the value at fault when parsing `body` failed with `error`: `.` for the top
/// level, `orders[1].id` below. serde_json reports an error where it stopped reading: after the
/// value at fault (after its closing bracket for a missing field), or before an array element
/// it could not start, which is then the element's.
pub fn of_error(body: &[u8], error: &serde_json::Error) -> String {
    let end = offset(body, error.line(), error.column()).min(body.len());
    let mut frames: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < end {
        let byte = body[i];
        match byte {
            b'"' => {
                let close = string_end(body, i);
                if let Some(Frame::Object { key, phase }) = frames.last_mut() {
                    if *phase == Phase::Key {
                        *key = serde_json::from_slice::<String>(&body[i..close.min(body.len())])
                            .unwrap_or_default();
                        *phase = Phase::AfterKey;
                    }
                }
                i = close;
                continue;
            }
            b'{' => {
                frames.push(Frame::Object {
                    key: String::new(),
                    phase: Phase::Key,
                });
            }
            b'[' => {
                frames.push(Frame::Array { index: 0 });
            }
            b'}' | b']' => {
                frames.pop();
            }
            b':' => {
                if let Some(Frame::Object { phase, .. }) = frames.last_mut() {
                    *phase = Phase::Value;
                }
            }
            b',' => match frames.last_mut() {
                Some(Frame::Object { phase, .. }) => *phase = Phase::Key,
                Some(Frame::Array { index }) => *index += 1,
                None => {}
            },
            // A number, `true`, `false` or `null`, or whitespace.
            _ => {}
        }
        i += 1;
    }
    let mut path = String::new();
    for frame in &frames {
        match frame {
            Frame::Object {
                key,
                phase: Phase::Value,
            } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            Frame::Array { index } => path.push_str(&format!("[{index}]")),
            _ => {}
        }
    }
    if path.is_empty() {
        ".".to_string()
    } else {
        path
    }
}

/// An open object or array, and where in it the text is.
enum Frame {
    Object {
        key: String,
        phase: Phase,
    },
    /// `index`: the element being read (from the `[` or the `,` before it on).
    Array {
        index: usize,
    },
}

/// Where in an object's member the text is: an error before the `:` is the object's, after it
/// the member's.
#[derive(PartialEq)]
enum Phase {
    Key,
    AfterKey,
    Value,
}

/// The index just past the string starting at `start` (its opening quote), or the body's end.
fn string_end(body: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < body.len() {
        match body[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    body.len()
}

/// serde_json's position as a byte offset: the start of line `line` plus `column` bytes.
fn offset(body: &[u8], line: usize, column: usize) -> usize {
    let line_start = if line <= 1 {
        0
    } else {
        body.iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(line - 2)
            .map_or(body.len(), |(i, _)| i + 1)
    };
    line_start + column
}

#[cfg(test)]
mod tests {
    use crate::values::{id, keyed, opt_count, opt_text, opt_unix_time, opt_yen};
    use chrono::{DateTime, FixedOffset};
    use serde::Deserialize;
    use serde_json::error::Category;
    use serde_json::{json, Value};

    // Response shapes as the carts send them: nested objects and arrays, the lenient readers,
    // PHP's keyed collections, enums, an untagged enum and a flattened struct.
    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Page {
        orders: Vec<Order>,
        #[serde(default, deserialize_with = "opt_count")]
        total: Option<u32>,
    }

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Order {
        #[serde(deserialize_with = "id")]
        id: String,
        #[serde(default, deserialize_with = "opt_yen")]
        total: Option<i64>,
        #[serde(default, deserialize_with = "opt_unix_time")]
        ordered: Option<DateTime<FixedOffset>>,
        status: Status,
        count: u32,
        buyer: Person,
        #[serde(flatten)]
        delivery: Delivery,
        #[serde(default, deserialize_with = "keyed")]
        products: Vec<(String, Product)>,
        #[serde(default)]
        note: Option<String>,
    }

    #[derive(Deserialize, Debug)]
    #[serde(rename_all = "snake_case")]
    enum Status {
        Ordered,
        Dispatched,
    }

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Person {
        name: String,
        #[serde(default, deserialize_with = "opt_text")]
        tel: Option<String>,
    }

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Delivery {
        #[serde(default)]
        delivery_date: Option<String>,
        delivery_count: u32,
    }

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Product {
        code: String,
        price: Price,
        tags: Vec<String>,
    }

    #[derive(Deserialize, Debug)]
    #[serde(untagged)]
    #[allow(dead_code)]
    enum Price {
        Priced { price: i64 },
        Bare(i64),
    }

    fn sample() -> Value {
        json!({
            "orders": [
                {
                    "id": 1, "total": "1200", "ordered": 1764500000, "status": "ordered",
                    "count": 2, "buyer": {"name": "山田", "tel": "03"},
                    "delivery_date": "2026-12-01", "delivery_count": 1,
                    "products": {"8731": {"code": "A\"1", "price": {"price": 5}, "tags": ["x"]}},
                    "note": null
                },
                {
                    "id": "2", "status": "dispatched", "count": 1, "buyer": {"name": "佐藤"},
                    "delivery_count": 2,
                    "products": [{"code": "B", "price": 7, "tags": []}]
                }
            ],
            "total": 2
        })
    }

    /// Every variant of `value` with one node replaced by a value of another kind, or one
    /// member taken out.
    fn variants(value: &Value) -> Vec<Value> {
        let others = [
            json!("x"),
            json!(""),
            json!(1),
            json!(-1.5),
            json!(true),
            json!(null),
            json!({}),
            json!([]),
            json!({"price": "x"}),
            json!(["x", 1]),
        ];
        let mut out: Vec<Value> = others.to_vec();
        match value {
            Value::Object(map) => {
                for (key, member) in map {
                    let mut without = map.clone();
                    without.remove(key);
                    out.push(Value::Object(without));
                    for variant in variants(member) {
                        let mut changed = map.clone();
                        changed.insert(key.clone(), variant);
                        out.push(Value::Object(changed));
                    }
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    for variant in variants(item) {
                        let mut changed = items.clone();
                        changed[i] = variant;
                        out.push(Value::Array(changed));
                    }
                }
            }
            _ => {}
        }
        out
    }

    /// The message as serde_path_to_error made it before (crate::wire::json_body's old body).
    fn with_serde_path_to_error(body: &[u8]) -> Option<String> {
        let de = &mut serde_json::Deserializer::from_slice(body);
        serde_path_to_error::deserialize::<_, Page>(de)
            .err()
            .map(|e| format!("at {}: {}", e.path(), e.inner()))
    }

    fn with_the_position(body: &[u8]) -> Option<String> {
        serde_json::from_slice::<Page>(body)
            .err()
            .map(|e| format!("at {}: {e}", super::of_error(body, &e)))
    }

    #[test]
    fn the_path_is_serde_path_to_errors_for_every_wrong_value_and_missing_member() {
        let (mut compared, mut untagged) = (0, 0);
        let mut differing = Vec::new();
        for variant in variants(&sample()) {
            let pretty = serde_json::to_string_pretty(&variant).unwrap();
            for body in [
                serde_json::to_vec(&variant).unwrap(),
                pretty.clone().into_bytes(),
                pretty.replace('\n', "\r\n").into_bytes(),
            ] {
                let before = with_serde_path_to_error(&body);
                let now = with_the_position(&body);
                assert_eq!(before.is_some(), now.is_some());
                let Some(error) = serde_json::from_slice::<Page>(&body).err() else {
                    continue;
                };
                if error.classify() != Category::Data {
                    continue;
                }
                compared += 1;
                let (before, now) = (before.unwrap(), now.unwrap());
                if error.to_string().contains("untagged enum") {
                    // Named by the value or by the object that holds it.
                    let (path, message) = now.split_once(": ").unwrap();
                    let (path_before, message_before) = before.split_once(": ").unwrap();
                    assert_eq!(message, message_before);
                    assert!(
                        path == path_before || path_before.starts_with(&format!("{path}.")),
                        "{before} / {now}"
                    );
                    untagged += 1;
                } else if before != now {
                    differing.push(format!(
                        "{}\n  before: {before:?}\n  now:    {now:?}",
                        String::from_utf8_lossy(&body)
                    ));
                }
            }
        }
        assert!(compared > 400 && untagged > 0, "{compared} {untagged}");
        assert!(
            differing.is_empty(),
            "{} of {compared} differ:\n{}",
            differing.len(),
            differing[..differing.len().min(5)].join("\n")
        );
    }

    #[test]
    fn a_syntax_error_names_where_the_text_broke_off() {
        let body = br#"{"orders":[{"id":1,"buyer":{"name":"x","#;
        let e = serde_json::from_slice::<Page>(body).unwrap_err();
        assert_eq!(super::of_error(body, &e), "orders[0].buyer");
        let body = b"[1, 2";
        let e = serde_json::from_slice::<Vec<u32>>(body).unwrap_err();
        assert_eq!(super::of_error(body, &e), "[1]");
    }
}

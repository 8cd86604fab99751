//! The manifest JSON Schema, generated from the raw document types so it cannot drift.

use super::raw::RawDocument;

/// Where the committed copy lives, relative to the repository root.
pub const SCHEMA_PATH: &str = "schemas/manifest.schema.json";

/// The manifest JSON Schema (draft 2020-12) as pretty-printed JSON with a trailing newline:
/// exactly what `pinbatch schema` prints and `schemas/manifest.schema.json` holds.
pub fn manifest_schema_json() -> String {
    let mut schema = schemars::schema_for!(RawDocument);
    schema.insert(
        "$id".to_owned(),
        "https://github.com/pinbatch/pinbatch/schemas/manifest.schema.json".into(),
    );
    schema.insert(
        "description".to_owned(),
        "A pinbatch manifest: Pinterest Pins to publish in bulk. Lengths are in characters.".into(),
    );
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::raw;

    #[test]
    fn committed_schema_matches_the_code() {
        let committed = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/schemas/manifest.schema.json"
        ))
        .unwrap_or_default();
        assert!(
            committed == manifest_schema_json(),
            "{SCHEMA_PATH} is out of date; regenerate it with \
             `cargo run -- schema > schemas/manifest.schema.json`"
        );
    }

    fn property_names(schema: &serde_json::Value, def: &str) -> Vec<String> {
        let properties = if def.is_empty() {
            &schema["properties"]
        } else {
            &schema["$defs"][def]["properties"]
        };
        let mut names: Vec<String> = properties
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        names.sort();
        names
    }

    fn sorted(fields: &[&str]) -> Vec<String> {
        let mut names: Vec<String> = fields.iter().map(|s| (*s).to_owned()).collect();
        names.sort();
        names
    }

    #[test]
    fn reader_field_lists_match_the_schema() {
        let schema: serde_json::Value = serde_json::from_str(&manifest_schema_json()).unwrap();
        assert_eq!(property_names(&schema, ""), sorted(raw::DOCUMENT_FIELDS));
        assert_eq!(property_names(&schema, "RawPin"), sorted(raw::PIN_FIELDS));
        assert_eq!(
            property_names(&schema, "RawDefaults"),
            sorted(raw::DEFAULT_FIELDS)
        );
        assert_eq!(
            property_names(&schema, "RawBoard"),
            sorted(raw::BOARD_FIELDS)
        );
        assert_eq!(
            property_names(&schema, "RawSlideDetail"),
            sorted(raw::SLIDE_FIELDS)
        );
        assert_eq!(
            property_names(&schema, "RawSchedule"),
            sorted(raw::SCHEDULE_FIELDS)
        );
    }

    fn example_as_json() -> serde_json::Value {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/pins.yaml"))
                .unwrap();
        serde_yaml::from_str(&text).unwrap()
    }

    #[test]
    fn the_example_passes_the_schema_and_fits_the_raw_types() {
        let schema: serde_json::Value = serde_json::from_str(&manifest_schema_json()).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let example = example_as_json();
        let errors: Vec<String> = validator
            .iter_errors(&example)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/pins.yaml"))
                .unwrap();
        let _: raw::RawDocument = serde_yaml::from_str(&text).unwrap();
    }

    #[test]
    fn the_schema_rejects_what_the_reader_rejects() {
        let schema: serde_json::Value = serde_json::from_str(&manifest_schema_json()).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let bad = [
            serde_json::json!({"version": 1, "pins": [{"titel": "x", "image": "a.jpg"}]}),
            serde_json::json!({"version": 1, "pins": [{"title": "x".repeat(101), "image": "a.jpg"}]}),
            serde_json::json!({"version": 1, "pins": [{"image": "a.jpg", "dominant_color": "red"}]}),
            serde_json::json!({"version": 1, "pins": [{"images": ["a.jpg"]}]}),
            serde_json::json!({"version": 2, "pins": []}),
            serde_json::json!({"version": 1, "pins": [{"board": "B"}]}),
            serde_json::json!({"version": 1, "pins": [{"image": "a.jpg", "video": "v.mp4"}]}),
            serde_json::json!({"version": 1, "boards": [{"name": "B", "privacy": "public"}], "pins": []}),
        ];
        for instance in bad {
            assert!(!validator.is_valid(&instance), "{instance}");
        }
    }
}

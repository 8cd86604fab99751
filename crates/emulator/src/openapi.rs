//! Body validation against the official Pinterest OpenAPI document: request bodies (to catch
//! client bugs) and the emulator's own JSON responses (to keep its shapes honest).
//!
//! OpenAPI 3.0 schemas are not plain JSON Schema, so the `components` are converted once at
//! start: `nullable: true` becomes a type union with `null`, `readOnly` properties are dropped
//! from `required` in request schemas (they only bind responses), and a `oneOf` with a `discriminator.mapping`
//! becomes one `if`/`then` per mapped value, so a body is checked against exactly the variant
//! its discriminator names (a plain `oneOf` reports "valid under more than one" for bodies that
//! fit loose variants). `#/components/schemas/...` refs resolve because every validator's root
//! document carries the converted components.
//!
//! The schema compiler (jsonschema) is a sixth of the release binary, for a check only the
//! emulator's `--openapi` and the tests use: it comes with the `openapi` cargo feature, which
//! the tests turn on (see Cargo.toml). Without it, loading a document says how to get it.

use std::path::Path;

use serde_json::{Map, Value, json};

/// Why the OpenAPI document could not be used.
#[derive(Debug, thiserror::Error)]
pub enum OpenApiError {
    /// The file could not be read.
    #[error("cannot read the OpenAPI document {path}")]
    Read {
        /// The path.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not JSON.
    #[error("the OpenAPI document {path} is not valid JSON")]
    Parse {
        /// The path.
        path: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// An overlay beside the document does not have the expected shape.
    #[error("the OpenAPI overlay {path} cannot be merged: {message}")]
    Overlay {
        /// The overlay's path.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// This build has no schema compiler (the `openapi` feature).
    #[error(
        "this pinbatch was built without OpenAPI validation; build it with `cargo install pinbatch --features openapi` (the tests always have it)"
    )]
    NotBuilt,
    /// An operation's schema could not be compiled.
    #[error("cannot compile the request schema of {operation}: {message}")]
    Compile {
        /// `METHOD /path`.
        operation: String,
        /// The compiler's message.
        message: String,
    },
}

/// The operations the emulator serves, as written in the spec's `paths`.
const EMULATED_OPERATIONS: [(&str, &str); 16] = [
    ("GET", "/user_account"),
    ("GET", "/boards"),
    ("POST", "/boards"),
    ("GET", "/boards/{board_id}"),
    ("GET", "/boards/{board_id}/sections"),
    ("POST", "/boards/{board_id}/sections"),
    ("GET", "/boards/{board_id}/pins"),
    ("GET", "/boards/{board_id}/sections/{section_id}/pins"),
    ("GET", "/pins"),
    ("POST", "/pins"),
    ("GET", "/pins/{pin_id}"),
    ("PATCH", "/pins/{pin_id}"),
    ("DELETE", "/pins/{pin_id}"),
    ("POST", "/media"),
    ("GET", "/media/{media_id}"),
    ("POST", "/oauth/token"),
];

/// Which side of the exchange a schema describes: `readOnly` properties bind only responses.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Request,
    Response,
}

/// A compiled schema.
#[cfg(feature = "openapi")]
type Validator = jsonschema::Validator;

/// Without the `openapi` feature no schema is ever compiled: no value of this type exists.
#[cfg(not(feature = "openapi"))]
enum Validator {}

struct Operation {
    method: &'static str,
    segments: Vec<Option<String>>,
    /// Request body validators by media type.
    requests: Vec<(String, Validator)>,
    /// JSON response validators by status.
    responses: Vec<(u16, Validator)>,
}

impl Operation {
    fn matches(&self, method: &str, path: &str) -> bool {
        if self.method != method {
            return false;
        }
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        parts.len() == self.segments.len()
            && self
                .segments
                .iter()
                .zip(&parts)
                .all(|(segment, part)| segment.as_deref().is_none_or(|lit| lit == *part))
    }
}

/// Compiled request- and response-body validators for the emulated operations.
pub struct SpecValidator {
    operations: Vec<Operation>,
}

#[cfg(feature = "openapi")]
fn compile(
    schema: &Value,
    components: &Value,
    direction: Direction,
    operation: &str,
) -> Result<Validator, OpenApiError> {
    let mut schema = schema.clone();
    convert_schema(&mut schema, direction);
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "allOf": [schema],
        "components": reachable_components(&schema, components),
    });
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&root)
        .map_err(|err| OpenApiError::Compile {
            operation: operation.to_string(),
            message: err.to_string(),
        })
}

#[cfg(not(feature = "openapi"))]
fn compile(
    _schema: &Value,
    _components: &Value,
    _direction: Direction,
    _operation: &str,
) -> Result<Validator, OpenApiError> {
    Err(OpenApiError::NotBuilt)
}

/// The subset of `components` that `schema` refers to, directly or through other components.
#[cfg(feature = "openapi")]
/// Compiling the whole 2 MB document into every validator would cost seconds per emulator.
fn reachable_components(schema: &Value, components: &Value) -> Value {
    let mut kept = Map::new();
    let mut pending = Vec::new();
    collect_refs(schema, &mut pending);
    while let Some(reference) = pending.pop() {
        let Some(pointer) = reference.strip_prefix("#/components/") else {
            continue;
        };
        let Some((kind, name)) = pointer.split_once('/') else {
            continue;
        };
        let section = kept
            .entry(kind.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        let Some(section) = section.as_object_mut() else {
            continue;
        };
        if section.contains_key(name) {
            continue;
        }
        if let Some(target) = components.get(kind).and_then(|k| k.get(name)) {
            collect_refs(target, &mut pending);
            section.insert(name.to_string(), target.clone());
        }
    }
    Value::Object(kept)
}

#[cfg(feature = "openapi")]
fn collect_refs(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                match (key.as_str(), child) {
                    ("$ref", Value::String(reference)) => found.push(reference.clone()),
                    _ => collect_refs(child, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, found)),
        _ => {}
    }
}

#[cfg(not(feature = "openapi"))]
fn violation_messages(validator: &Validator, _label: &str, _body: &Value) -> Vec<String> {
    match *validator {}
}

#[cfg(feature = "openapi")]
fn violation_messages(validator: &Validator, label: &str, body: &Value) -> Vec<String> {
    validator
        .iter_errors(body)
        .map(|err| {
            let at = err.instance_path().as_str();
            let at = if at.is_empty() { "/" } else { at };
            format!("{label}: {err} (at {at})")
        })
        .collect()
}

impl SpecValidator {
    /// Loads the OpenAPI JSON document at `path`, merges the overlays beside it (see
    /// `merge_overlays`) and compiles the validators.
    pub fn load(path: &Path) -> Result<Self, OpenApiError> {
        if cfg!(not(feature = "openapi")) {
            return Err(OpenApiError::NotBuilt);
        }
        let mut document = read_json(path)?;
        if let Some(dir) = path.parent() {
            merge_overlays(&mut document, dir)?;
        }
        Self::from_document(&document)
    }

    /// Compiles validators from an already parsed OpenAPI document.
    pub fn from_document(document: &Value) -> Result<Self, OpenApiError> {
        let raw_components = document.get("components").cloned().unwrap_or(json!({}));
        let mut request_components = raw_components.clone();
        convert_schema(&mut request_components, Direction::Request);
        let mut response_components = raw_components;
        convert_schema(&mut response_components, Direction::Response);
        let mut operations = Vec::new();
        for (method, template) in EMULATED_OPERATIONS {
            let label = format!("{method} {template}");
            let Some(spec) = document
                .get("paths")
                .and_then(|paths| paths.get(template))
                .and_then(|path| path.get(method.to_ascii_lowercase()))
            else {
                continue;
            };
            let mut requests = Vec::new();
            if let Some(content) = spec
                .pointer("/requestBody/content")
                .and_then(Value::as_object)
            {
                for (media_type, body) in content {
                    if let Some(schema) = body.get("schema") {
                        let validator =
                            compile(schema, &request_components, Direction::Request, &label)?;
                        requests.push((media_type.clone(), validator));
                    }
                }
            }
            let mut responses = Vec::new();
            if let Some(declared) = spec.get("responses").and_then(Value::as_object) {
                for (status, response) in declared {
                    let (Ok(status), Some(schema)) = (
                        status.parse::<u16>(),
                        response.pointer("/content/application~1json/schema"),
                    ) else {
                        continue;
                    };
                    if (200..300).contains(&status) {
                        let validator =
                            compile(schema, &response_components, Direction::Response, &label)?;
                        responses.push((status, validator));
                    }
                }
            }
            let segments = template
                .trim_matches('/')
                .split('/')
                .map(|s| (!s.starts_with('{')).then(|| s.to_string()))
                .collect();
            operations.push(Operation {
                method,
                segments,
                requests,
                responses,
            });
        }
        Ok(SpecValidator { operations })
    }

    fn operation(&self, method: &str, api_path: &str) -> Option<&Operation> {
        self.operations
            .iter()
            .find(|op| op.matches(method, api_path))
    }

    /// Validates one request body; `api_path` is the path without `/v5`. Returns one message
    /// per problem, each naming the operation, the error and the instance path. Operations the
    /// emulator does not serve, or without a declared body, pass.
    pub fn validate(
        &self,
        method: &str,
        api_path: &str,
        media_type: &str,
        body: &Value,
    ) -> Vec<String> {
        let Some(operation) = self.operation(method, api_path) else {
            return Vec::new();
        };
        if operation.requests.is_empty() {
            return Vec::new();
        }
        let label = format!("{method} /v5{api_path}");
        match operation
            .requests
            .iter()
            .find(|(declared, _)| media_type.starts_with(declared.as_str()))
        {
            Some((_, validator)) => violation_messages(validator, &label, body),
            None => vec![format!(
                "{label}: content type `{media_type}` is not declared by the spec"
            )],
        }
    }

    /// Validates a successful JSON response body against the schema declared for its status.
    pub fn validate_response(
        &self,
        method: &str,
        api_path: &str,
        status: u16,
        body: &Value,
    ) -> Vec<String> {
        let Some(operation) = self.operation(method, api_path) else {
            return Vec::new();
        };
        let label = format!("{method} /v5{api_path} -> {status}");
        match operation
            .responses
            .iter()
            .find(|(declared, _)| *declared == status)
        {
            Some((_, validator)) => violation_messages(validator, &label, body),
            None if operation.responses.is_empty() => Vec::new(),
            None => vec![format!("{label}: the spec declares no such JSON response")],
        }
    }

    /// Whether the spec declares a request body for this operation.
    pub fn covers(&self, method: &str, api_path: &str) -> bool {
        self.operation(method, api_path)
            .is_some_and(|op| !op.requests.is_empty())
    }
}

fn read_json(path: &Path) -> Result<Value, OpenApiError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| OpenApiError::Read {
        path: shown.clone(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| OpenApiError::Parse {
        path: shown,
        source,
    })
}

/// Merges every `overlay-*.json` in `dir` (in name order) into the document. The official
/// description available is 5.23; an overlay states what a later release added that pinbatch
/// uses (`overlay-5.28.json`: `ai_disclosures`, `continuous_refresh`), so that bodies using
/// it are validated rather than let through unchecked. An overlay is
/// `{"add_schemas": {NAME: schema}, "add_properties": {SCHEMA: {PROPERTY: schema}}}`.
fn merge_overlays(document: &mut Value, dir: &Path) -> Result<(), OpenApiError> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let mut overlays: Vec<std::path::PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("overlay-") && name.ends_with(".json"))
        })
        .collect();
    overlays.sort();
    for path in overlays {
        let overlay = read_json(&path)?;
        apply_overlay(document, &overlay).map_err(|message| OpenApiError::Overlay {
            path: path.display().to_string(),
            message,
        })?;
    }
    Ok(())
}

fn apply_overlay(document: &mut Value, overlay: &Value) -> Result<(), String> {
    let schemas = document
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
        .ok_or("the document has no components.schemas")?;
    if let Some(added) = overlay.get("add_schemas") {
        let added = added.as_object().ok_or("add_schemas must be an object")?;
        for (name, schema) in added {
            schemas.insert(name.clone(), schema.clone());
        }
    }
    if let Some(added) = overlay.get("add_properties") {
        let added = added
            .as_object()
            .ok_or("add_properties must be an object")?;
        for (schema_name, properties) in added {
            let properties = properties
                .as_object()
                .ok_or_else(|| format!("add_properties.{schema_name} must be an object"))?;
            let target = schemas
                .get_mut(schema_name)
                .and_then(Value::as_object_mut)
                .ok_or_else(|| format!("the document has no schema `{schema_name}`"))?;
            let slot = target
                .entry("properties")
                .or_insert_with(|| Value::Object(Map::new()))
                .as_object_mut()
                .ok_or_else(|| format!("`{schema_name}.properties` is not an object"))?;
            for (property, schema) in properties {
                slot.insert(property.clone(), schema.clone());
            }
        }
    }
    Ok(())
}

/// Rewrites an OpenAPI 3.0 schema tree into JSON Schema 2020-12, in place.
fn convert_schema(value: &mut Value, direction: Direction) {
    match value {
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| convert_schema(item, direction)),
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                // Examples and defaults are data, not schemas.
                if !matches!(key.as_str(), "example" | "examples" | "default" | "enum") {
                    convert_schema(child, direction);
                }
            }
            convert_nullable(map);
            if direction == Direction::Request {
                drop_read_only_from_required(map);
            }
            convert_discriminated_one_of(map);
        }
        _ => {}
    }
}

fn convert_nullable(map: &mut Map<String, Value>) {
    if map.get("nullable") != Some(&Value::Bool(true)) {
        map.remove("nullable");
        return;
    }
    map.remove("nullable");
    if let Some(Value::Array(options)) = map.get_mut("enum")
        && !options.contains(&Value::Null)
    {
        options.push(Value::Null);
    }
    match map.get_mut("type") {
        Some(Value::String(kind)) => {
            let kind = std::mem::take(kind);
            map.insert("type".into(), json!([kind, "null"]));
        }
        Some(Value::Array(kinds)) => {
            if !kinds.contains(&json!("null")) {
                kinds.push(json!("null"));
            }
        }
        _ => {
            let inner = std::mem::take(map);
            map.insert(
                "anyOf".into(),
                json!([Value::Object(inner), {"type": "null"}]),
            );
        }
    }
}

fn drop_read_only_from_required(map: &mut Map<String, Value>) {
    let read_only: Vec<String> = match map.get("properties").and_then(Value::as_object) {
        Some(properties) => properties
            .iter()
            .filter(|(_, schema)| schema.get("readOnly") == Some(&Value::Bool(true)))
            .map(|(name, _)| name.clone())
            .collect(),
        None => return,
    };
    if let Some(Value::Array(required)) = map.get_mut("required") {
        required.retain(|name| {
            name.as_str()
                .is_none_or(|n| !read_only.iter().any(|r| r == n))
        });
    }
}

fn convert_discriminated_one_of(map: &mut Map<String, Value>) {
    let Some(discriminator) = map.remove("discriminator") else {
        return;
    };
    let (Some(property), Some(mapping)) = (
        discriminator.get("propertyName").and_then(Value::as_str),
        discriminator.get("mapping").and_then(Value::as_object),
    ) else {
        return;
    };
    // A `oneOf` with a discriminator, or a base schema whose discriminator maps the value to a
    // subtype (the OAuth token request and response): either way the value picks the schema.
    // (`anyOf` catalogs schemas are left alone: pinbatch does not use them.)
    if map.contains_key("anyOf") {
        return;
    }
    map.remove("oneOf");
    let values: Vec<Value> = mapping.keys().map(|k| json!(k)).collect();
    let mut branches = vec![json!({
        "required": [property],
        "properties": { property: { "enum": values } },
    })];
    for (value, target) in mapping {
        branches.push(json!({
            "if": { "required": [property], "properties": { property: { "const": value } } },
            "then": { "$ref": target },
        }));
    }
    match map.get_mut("allOf") {
        Some(Value::Array(existing)) => existing.extend(branches),
        _ => {
            map.insert("allOf".into(), Value::Array(branches));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use super::*;

    fn validator() -> &'static SpecValidator {
        static VALIDATOR: OnceLock<SpecValidator> = OnceLock::new();
        VALIDATOR.get_or_init(|| {
            let path = std::env::var_os("PINBATCH_OPENAPI")
                .map(std::path::PathBuf::from)
                .unwrap_or_else(|| {
                    Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("../../../shared/pinterest-openapi/openapi.json")
                });
            SpecValidator::load(&path)
                .unwrap_or_else(|err| panic!("the OpenAPI document is needed: {err}"))
        })
    }

    fn pin_errors(body: Value) -> Vec<String> {
        validator().validate("POST", "/pins", "application/json", &body)
    }

    #[test]
    fn the_5_28_overlay_validates_ai_disclosures_and_continuous_refresh() {
        let base = json!({"board_id": "1",
            "media_source": {"source_type": "image_url", "url": "https://e.com/a.jpg"}});
        let with = |disclosures: Value| {
            let mut body = base.clone();
            body["ai_disclosures"] = disclosures;
            body
        };
        assert!(
            pin_errors(with(
                json!({"values": ["AI_MODIFIED", "SYNTHETIC_PERFORMER"]})
            ))
            .is_empty()
        );
        assert!(pin_errors(with(json!({"values": []}))).is_empty());
        let errors = pin_errors(with(json!({"values": ["AI_GENERATED"]})));
        assert!(
            errors.iter().any(|e| e.contains("ai_disclosures")),
            "{errors:?}"
        );
        assert!(!pin_errors(with(json!(["AI_MODIFIED"]))).is_empty());
        let patch = validator().validate(
            "PATCH",
            "/pins/1",
            "application/json",
            &json!({"ai_disclosures": {"values": ["BOGUS"]}}),
        );
        assert!(!patch.is_empty(), "PATCH bodies are checked too");
        let form = validator().validate(
            "POST",
            "/oauth/token",
            "application/x-www-form-urlencoded",
            &json!({"grant_type": "authorization_code", "code": "c", "redirect_uri": "http://localhost:1/", "continuous_refresh": "yes"}),
        );
        assert!(!form.is_empty(), "continuous_refresh is `true` or `false`");
    }

    #[test]
    fn overlays_add_schemas_and_properties_and_name_a_bad_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut document = json!({"components": {"schemas": {"Pin": {"type": "object"}}}});
        std::fs::write(
            dir.path().join("overlay-1.json"),
            r##"{"add_schemas": {"X": {"type": "string"}}, "add_properties": {"Pin": {"x": {"$ref": "#/components/schemas/X"}}}}"##,
        )
        .unwrap();
        merge_overlays(&mut document, dir.path()).unwrap();
        assert_eq!(
            document["components"]["schemas"]["X"],
            json!({"type": "string"})
        );
        assert_eq!(
            document["components"]["schemas"]["Pin"]["properties"]["x"],
            json!({"$ref": "#/components/schemas/X"})
        );
        std::fs::write(
            dir.path().join("overlay-2.json"),
            r#"{"add_properties": {"Missing": {"x": {}}}}"#,
        )
        .unwrap();
        let err = merge_overlays(&mut document, dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("overlay-2.json") && err.contains("Missing"),
            "{err}"
        );
    }

    #[test]
    fn nullable_becomes_a_type_union() {
        let mut schema = json!({"type": "string", "nullable": true, "enum": ["a"]});
        convert_schema(&mut schema, Direction::Request);
        assert_eq!(
            schema,
            json!({"type": ["string", "null"], "enum": ["a", null]})
        );
        let mut reference = json!({"$ref": "#/x", "nullable": true});
        convert_schema(&mut reference, Direction::Request);
        assert_eq!(
            reference,
            json!({"anyOf": [{"$ref": "#/x"}, {"type": "null"}]})
        );
    }

    #[test]
    fn every_media_source_variant_passes_when_correct() {
        let bodies = [
            json!({"board_id": "1", "title": null, "link": null,
                   "media_source": {"source_type": "image_url", "url": "https://e.com/a.jpg"}}),
            json!({"board_id": "1", "board_section_id": "2",
                   "media_source": {"source_type": "image_base64", "content_type": "image/png", "data": "iVBORw0KGgo="}}),
            json!({"board_id": "1", "media_source": {"source_type": "multiple_image_urls",
                   "items": [{"url": "https://e.com/1.jpg", "title": "a"}, {"url": "https://e.com/2.jpg"}]}}),
            json!({"board_id": "1", "media_source": {"source_type": "multiple_image_base64",
                   "items": [{"content_type": "image/jpeg", "data": "/9j/4A=="}, {"content_type": "image/png", "data": "iVBORw0KGgo="}]}}),
            json!({"board_id": "1", "media_source": {"source_type": "video_id", "media_id": "77",
                   "cover_image_url": "https://e.com/c.jpg"}}),
        ];
        for body in bodies {
            assert_eq!(pin_errors(body.clone()), Vec::<String>::new(), "{body}");
        }
    }

    #[test]
    fn bad_bodies_fail_with_the_field_named() {
        let cases = [
            (
                json!({"board_id": "1", "media_source": {"source_type": "image_url"}}),
                "/media_source",
            ),
            (
                json!({"board_id": "x1", "media_source": {"source_type": "image_url", "url": "u"}}),
                "/board_id",
            ),
            (
                json!({"board_id": "1", "title": "t".repeat(101),
                    "media_source": {"source_type": "image_url", "url": "u"}}),
                "/title",
            ),
            (
                json!({"board_id": "1", "media_source": {"source_type": "image_base64",
                    "content_type": "image/gif", "data": "AAAA"}}),
                "/media_source",
            ),
            (
                json!({"board_id": "1", "media_source": {"source_type": "image_base64",
                    "content_type": "image/png", "data": "data:image/png;base64,AA"}}),
                "/media_source",
            ),
            (
                json!({"board_id": "1", "media_source": {"source_type": "multiple_image_urls",
                    "items": [{"url": "u"}]}}),
                "/media_source",
            ),
            (
                json!({"board_id": "1", "media_source": {"source_type": "video_id"}}),
                "/media_source",
            ),
            (
                json!({"board_id": "1", "media_source": {"source_type": "gif_url", "url": "u"}}),
                "/media_source",
            ),
        ];
        for (body, at) in cases {
            let errors = pin_errors(body.clone());
            assert!(!errors.is_empty(), "{body} should fail");
            assert!(
                errors.iter().any(|e| e.contains(at)),
                "{errors:?} should name {at}"
            );
        }
    }

    #[test]
    fn other_operations_and_form_bodies() {
        let v = validator();
        assert!(
            v.validate(
                "POST",
                "/boards",
                "application/json",
                &json!({"name": "b", "privacy": "SECRET"})
            )
            .is_empty()
        );
        assert!(
            !v.validate(
                "POST",
                "/boards",
                "application/json",
                &json!({"privacy": "SECRET"})
            )
            .is_empty()
        );
        assert!(
            v.validate(
                "POST",
                "/boards/12/sections",
                "application/json",
                &json!({"name": "s"})
            )
            .is_empty()
        );
        assert!(
            !v.validate(
                "POST",
                "/boards/12/sections",
                "application/json",
                &json!({"name": ""})
            )
            .is_empty()
        );
        assert!(
            v.validate(
                "PATCH",
                "/pins/3",
                "application/json",
                &json!({"title": null, "board_section_id": "4"})
            )
            .is_empty()
        );
        assert!(
            v.validate(
                "POST",
                "/media",
                "application/json",
                &json!({"media_type": "video"})
            )
            .is_empty()
        );
        assert!(
            !v.validate(
                "POST",
                "/media",
                "application/json",
                &json!({"media_type": "image"})
            )
            .is_empty()
        );
        let form = json!({"grant_type": "refresh_token", "refresh_token": "r"});
        assert!(
            v.validate(
                "POST",
                "/oauth/token",
                "application/x-www-form-urlencoded",
                &form
            )
            .is_empty()
        );
        assert!(
            !v.validate(
                "POST",
                "/oauth/token",
                "application/x-www-form-urlencoded",
                &json!({"grant_type": "password"})
            )
            .is_empty()
        );
        assert!(
            v.validate("GET", "/boards", "application/json", &json!({}))
                .is_empty()
        );
    }
}

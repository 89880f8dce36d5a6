//! Hearth's own vocabulary: one namespace for every term ActivityStreams does not have.
//!
//! Every document Hearth sends defines the Hearth terms it uses inline in its `@context`, after
//! ActivityStreams and the security vocabulary (the two contexts every JSON-LD-processing
//! server already holds), so a processor expands it with nothing to fetch. Documents from
//! earlier versions name [`CONTEXT_IRI`] instead; instances still serve that document at
//! [`CONTEXT_PATH`], and Hearth itself reads both (it matches terms by name).

use std::sync::LazyLock;

use serde::Serialize;
use serde_json::{Map, Value, json};

/// The namespace every Hearth term expands into.
pub const NAMESPACE: &str = "https://w3id.org/hearth#";
/// The context IRI that documents from earlier versions name. It resolves nowhere; nothing
/// Hearth sends names it now.
pub const CONTEXT_IRI: &str = "https://w3id.org/hearth/v1";
/// Where each instance serves the whole context document, for peers that still name it.
pub const CONTEXT_PATH: &str = "/ns/hearth/v1";
pub const ACTIVITYSTREAMS: &str = "https://www.w3.org/ns/activitystreams";
pub const SECURITY: &str = "https://w3id.org/security/v1";

/// The JSON-LD context document for Hearth terms: the fixed ones, and each signal's term from
/// the signal table (a signal of several counts is an ordered list).
pub fn context_document() -> Value {
    let mut doc = json!({
        "@context": {
            "hearth": NAMESPACE,
            "groupProfile": "hearth:groupProfile",
            "region": "hearth:region",
            "communityFocus": { "@id": "hearth:communityFocus", "@container": "@set" },
            "sizeBand": "hearth:sizeBand",
            "instanceRole": "hearth:instanceRole",
            "schemaVersion": "hearth:schemaVersion",
            "WellbeingReport": "hearth:WellbeingReport",
            "period": "hearth:period",
            "noiseMechanism": "hearth:noiseMechanism",
            "noiseSigma": "hearth:noiseSigma",
            "privacyCostRho": "hearth:privacyCostRho",
            "respondents": "hearth:respondents",
            "sectorFigures": { "@id": "hearth:sectorFigures", "@container": "@set" },
            "segment": "hearth:segment",
            "measure": "hearth:measure",
            "share": "hearth:share",
            "intervalLow": "hearth:intervalLow",
            "intervalHigh": "hearth:intervalHigh",
            "groups": "hearth:groups",
            "aggregation": "hearth:aggregation"
        }
    });
    // A hub pair's terms (see `protocol::pair`), kept apart so each `json!` stays small.
    let pair_terms = json!({
            "HubPair": "hearth:HubPair",
            "pairs": { "@id": "hearth:pairs", "@container": "@set" },
            "leader": { "@id": "hearth:leader", "@type": "@id" },
            "helper": { "@id": "hearth:helper", "@type": "@id" },
            "cadence": "hearth:cadence",
            "dimensions": { "@id": "hearth:dimensions", "@container": "@set" },
            "minGroups": "hearth:minGroups",
            "verifyKey": "hearth:verifyKey",
            "PairShare": "hearth:PairShare",
            "pair": { "@id": "hearth:pair", "@type": "@id" },
            "nonce": "hearth:nonce",
            "publicShare": "hearth:publicShare",
            "inputShare": "hearth:inputShare",
            "PairAggregation": "hearth:PairAggregation",
            "reports": { "@id": "hearth:reports", "@container": "@set" },
            "verifierShare": "hearth:verifierShare",
            "PairVerdicts": "hearth:PairVerdicts",
            "verdicts": { "@id": "hearth:verdicts", "@container": "@set" },
            "message": "hearth:message",
            "PairCollection": "hearth:PairCollection",
            "nonces": { "@id": "hearth:nonces", "@container": "@set" },
            "PairAggregateShare": "hearth:PairAggregateShare",
            "aggregateShare": "hearth:aggregateShare"
    });
    if let Some(terms) = doc.get_mut("@context").and_then(Value::as_object_mut) {
        for signal in hearth_core::sharing::Signal::all() {
            let id = format!("hearth:{}", signal.wire());
            let term = if signal.width() == 1 {
                Value::String(id)
            } else {
                json!({ "@id": id, "@container": "@list" })
            };
            terms.insert(signal.wire().to_owned(), term);
        }
        if let Some(pair) = pair_terms.as_object() {
            terms.extend(pair.clone());
        }
    }
    doc
}

/// Every Hearth term with its definition, and the `hearth` prefix they use.
static TERMS: LazyLock<Map<String, Value>> = LazyLock::new(|| match context_document() {
    Value::Object(mut doc) => match doc.remove("@context") {
        Some(Value::Object(terms)) => terms,
        _ => Map::new(),
    },
    _ => Map::new(),
});

/// `@context` for a document Hearth sends: ActivityStreams, the security vocabulary (without
/// it JSON-LD peers drop `publicKey`), then inline definitions of exactly the Hearth terms the
/// document uses, as property names or as `type` values.
pub fn context_for(doc: &Value) -> Value {
    fn walk(node: &Value, used: &mut Map<String, Value>) {
        match node {
            Value::Array(items) => items.iter().for_each(|i| walk(i, used)),
            Value::Object(o) => {
                for (key, value) in o {
                    if let Some(def) = TERMS.get(key) {
                        used.insert(key.clone(), def.clone());
                    }
                    if key == "type"
                        && let Some(t) = value.as_str()
                        && let Some(def) = TERMS.get(t)
                    {
                        used.insert(t.into(), def.clone());
                    }
                    walk(value, used);
                }
            }
            _ => {}
        }
    }
    let mut used = Map::new();
    walk(doc, &mut used);
    if used.is_empty() {
        return json!([ACTIVITYSTREAMS, SECURITY]);
    }
    let mut terms = Map::new();
    terms.insert("hearth".into(), NAMESPACE.into());
    terms.extend(used);
    json!([ACTIVITYSTREAMS, SECURITY, terms])
}

/// `doc` as JSON with [`context_for`] as its `@context`, first.
pub fn with_context<T: Serialize>(doc: &T) -> Result<Value, serde_json::Error> {
    let value = serde_json::to_value(doc)?;
    let mut out = Map::new();
    out.insert("@context".into(), context_for(&value));
    match value {
        Value::Object(o) => out.extend(o.into_iter().filter(|(k, _)| k != "@context")),
        other => return Ok(other),
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_defines_the_terms_it_uses_and_no_others() {
        let doc = json!({
            "type": "WellbeingReport",
            "id": "https://g.example/r/1",
            "period": "2026-11",
            "groupProfile": { "region": "wales" },
            "hoursBands": [1, 2, 3],
        });
        let ctx = context_for(&doc);
        assert_eq!(ctx[0], ACTIVITYSTREAMS);
        assert_eq!(ctx[1], SECURITY);
        let terms = ctx[2].as_object().expect("inline terms");
        let mut names: Vec<&str> = terms.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "WellbeingReport",
                "groupProfile",
                "hearth",
                "hoursBands",
                "period",
                "region"
            ]
        );
        assert_eq!(terms["hoursBands"]["@container"], "@list");
        // Plain ActivityStreams needs no inline part.
        assert_eq!(
            context_for(&json!({"type": "Follow", "actor": "a", "object": "b"})),
            json!([ACTIVITYSTREAMS, SECURITY])
        );
    }

    #[test]
    fn with_context_puts_the_context_first_and_replaces_any_other() {
        let v = with_context(&json!({"type": "Note", "@context": "x", "period": "2026-10"}))
            .expect("serialisable");
        let keys: Vec<&String> = v.as_object().expect("object").keys().collect();
        assert_eq!(keys[0], "@context");
        assert_eq!(v["@context"][2]["period"], "hearth:period");
    }
}

//! Hearth's own vocabulary: one namespace and one JSON-LD context document for every term
//! ActivityStreams does not have. Every instance serves the document at [`CONTEXT_PATH`].

use serde_json::{Value, json};

/// The namespace every Hearth term expands into.
pub const NAMESPACE: &str = "https://w3id.org/hearth#";
/// The context document's canonical IRI. Instances also serve an identical copy.
pub const CONTEXT_IRI: &str = "https://w3id.org/hearth/v1";
/// Where each instance serves the context document.
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

/// `@context` for everything Hearth sends: our terms first, then ActivityStreams and the
/// security vocabulary (without it JSON-LD peers drop `publicKey`).
pub fn context() -> Value {
    json!([CONTEXT_IRI, ACTIVITYSTREAMS, SECURITY])
}

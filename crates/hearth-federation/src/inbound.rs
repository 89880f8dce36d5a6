//! Every activity an instance accepts in its inbox, as wire types: the list, and the parse that
//! reads a body as the variants of its own `type`. What each activity does lives with its
//! feature (membership, hub reports, summaries, keys), which implements `Activity` for it.

use activitypub_federation::config::Data;
use activitypub_federation::protocol::context::WithContext;
use activitypub_federation::traits::Activity;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::protocol::keys::UpdateActor;
use crate::protocol::pair::{
    AcceptPair, CreatePairAggregateShare, CreatePairAggregation, CreatePairCollection,
    CreatePairShare, CreatePairVerdicts, EndPair, OfferPair, RejectPair,
};
use crate::protocol::report::{CreateReport, DeleteReports, UpdateReport};
use crate::protocol::summary::{CreateSummary, UpdateSummary};
use crate::protocol::{Accept, Follow, Reject, Undo};

/// Every activity an instance accepts in its inbox.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(untagged)]
#[enum_delegate::implement(Activity)]
pub enum Inbound {
    Follow(Follow),
    Accept(Accept),
    Reject(Reject),
    Undo(Undo),
    CreateReport(CreateReport),
    CreateSummary(CreateSummary),
    UpdateSummary(UpdateSummary),
    UpdateReport(UpdateReport),
    UpdateActor(Box<UpdateActor>),
    DeleteReports(DeleteReports),
    OfferPair(Box<OfferPair>),
    AcceptPair(Box<AcceptPair>),
    RejectPair(Box<RejectPair>),
    CreatePairShare(Box<CreatePairShare>),
    CreatePairAggregation(Box<CreatePairAggregation>),
    CreatePairVerdicts(Box<CreatePairVerdicts>),
    CreatePairCollection(Box<CreatePairCollection>),
    CreatePairAggregateShare(Box<CreatePairAggregateShare>),
    EndPair(Box<EndPair>),
}

/// The object's own `type`, where the object is embedded.
#[derive(Deserialize)]
struct ObjectHead<'a> {
    #[serde(borrow, default)]
    object: Option<TypeOnly<'a>>,
}

#[derive(Deserialize)]
struct TypeOnly<'a> {
    #[serde(borrow, default, rename = "type")]
    kind: Option<std::borrow::Cow<'a, str>>,
}

/// The embedded object's `type`, or "" when the object is not one (a URL, or absent).
fn object_type(body: &str) -> String {
    serde_json::from_str::<ObjectHead<'_>>(body)
        .ok()
        .and_then(|h| h.object)
        .and_then(|o| o.kind)
        .map(|k| k.into_owned())
        .unwrap_or_default()
}

/// The fields [`Inbound::parse`] reads before the activity itself.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(borrow, default, rename = "type")]
    kind: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, rename = "@context", deserialize_with = "present")]
    context: bool,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(d).map(|_| true)
}

impl Inbound {
    /// Parses an inbox body as [`Inbound`] with its `@context`, as `serde_json` would parse
    /// `WithContext<Inbound>`, but trying only the variants of the body's own `type`, straight
    /// from the bytes. (The untagged enum inside `WithContext`'s flattened field copied the
    /// whole document into a buffer first and tried each variant in turn, building an error
    /// for every one that did not fit.) Refuses what that parse refused, but for one thing: an
    /// escaped lone surrogate (`"\ud800"`) in a field Hearth does not read is skipped, where
    /// that parse decoded it and refused the body.
    pub fn parse(body: &[u8]) -> Result<WithContext<Inbound>, serde_json::Error> {
        use serde::de::Error as _;
        fn one<T: serde::de::DeserializeOwned>(body: &str) -> Result<T, serde_json::Error> {
            serde_json::from_str(body)
        }
        fn boxed<T: serde::de::DeserializeOwned>(body: &str) -> Result<Box<T>, serde_json::Error> {
            one(body).map(Box::new)
        }
        /// The first variant, else the second, else an error naming both.
        fn either(
            body: &str,
            a: impl FnOnce(&str) -> Result<Inbound, serde_json::Error>,
            b: impl FnOnce(&str) -> Result<Inbound, serde_json::Error>,
        ) -> Result<Inbound, serde_json::Error> {
            match a(body) {
                Ok(v) => Ok(v),
                Err(first) => b(body).map_err(|second| {
                    serde_json::Error::custom(format!(
                        "the activity fits neither of its kinds: {first}; {second}"
                    ))
                }),
            }
        }
        // Fields the variants skip are not checked as they are read, so the text as a whole is
        // checked first: JSON is UTF-8, and the whole-document parse refused anything else.
        let body = std::str::from_utf8(body)
            .map_err(|e| serde_json::Error::custom(format!("the body is not UTF-8: {e}")))?;
        let head: Head<'_> = serde_json::from_str(body)?;
        if !head.context {
            return Err(serde_json::Error::missing_field("@context"));
        }
        let inner = match (head.kind.as_deref(), object_type(body).as_str()) {
            (Some("Follow"), _) => Inbound::Follow(one(body)?),
            (Some("Offer"), _) => Inbound::OfferPair(boxed(body)?),
            (Some("Accept"), "Offer") => Inbound::AcceptPair(boxed(body)?),
            (Some("Reject"), "Offer") => Inbound::RejectPair(boxed(body)?),
            (Some("Accept"), _) => Inbound::Accept(one(body)?),
            (Some("Reject"), _) => Inbound::Reject(one(body)?),
            (Some("Undo"), _) => Inbound::Undo(one(body)?),
            (Some("Create"), "PairShare") => Inbound::CreatePairShare(boxed(body)?),
            (Some("Create"), "PairAggregation") => Inbound::CreatePairAggregation(boxed(body)?),
            (Some("Create"), "PairVerdicts") => Inbound::CreatePairVerdicts(boxed(body)?),
            (Some("Create"), "PairCollection") => Inbound::CreatePairCollection(boxed(body)?),
            (Some("Create"), "PairAggregateShare") => {
                Inbound::CreatePairAggregateShare(boxed(body)?)
            }
            (Some("Create"), _) => either(
                body,
                |b| one(b).map(Inbound::CreateReport),
                |b| one(b).map(Inbound::CreateSummary),
            )?,
            (Some("Update"), "Note") => Inbound::UpdateSummary(one(body)?),
            (Some("Update"), _) => either(
                body,
                |b| one(b).map(Inbound::UpdateReport),
                |b| one(b).map(|u| Inbound::UpdateActor(Box::new(u))),
            )?,
            (Some("Delete"), "HubPair") => Inbound::EndPair(boxed(body)?),
            (Some("Delete"), _) => Inbound::DeleteReports(one(body)?),
            (Some(other), _) => {
                return Err(serde_json::Error::custom(format!(
                    "activity type {other:?} is not accepted here"
                )));
            }
            (None, _) => return Err(serde_json::Error::missing_field("type")),
        };
        // The context is not read again once the body has parsed.
        Ok(WithContext::new(inner, serde_json::Value::Null))
    }
}

/// The activity types [`Inbound`] covers, for refusing others before any work is done.
pub const INBOUND_TYPES: [&str; 8] = [
    "Follow", "Accept", "Reject", "Undo", "Create", "Update", "Delete", "Offer",
];

#[cfg(test)]
mod tests {
    use super::*;

    /// What `serde_json` makes of a body as `WithContext<Inbound>`: the variant as JSON.
    fn untagged(body: &[u8]) -> Option<serde_json::Value> {
        serde_json::from_slice::<WithContext<Inbound>>(body)
            .ok()
            .and_then(|a| serde_json::to_value(a.inner()).ok())
    }

    fn direct(body: &[u8]) -> Option<serde_json::Value> {
        Inbound::parse(body)
            .ok()
            .and_then(|a| serde_json::to_value(a.inner()).ok())
    }

    const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/corpus/inbox_json");

    /// The corpus's bodies, in file-name order: read once, whichever test asks first.
    fn corpus() -> &'static [Vec<u8>] {
        static BODIES: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
        BODIES.get_or_init(|| {
            let mut files: Vec<_> = std::fs::read_dir(CORPUS)
                .expect("the fuzz corpus is in the repository")
                .map(|e| e.expect("a corpus file").path())
                .collect();
            files.sort();
            files
                .iter()
                .map(|f| std::fs::read(f).expect("readable"))
                .collect()
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20000))]

        /// Any corpus body with a stretch of it cut out or bytes overwritten.
        #[test]
        fn parse_agrees_with_the_untagged_parse_on_damaged_bodies(
            which in 0usize..64,
            at in 0usize..4096,
            cut in 0usize..64,
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..8),
        ) {
            let all = corpus();
            let mut body = all[which % all.len()].clone();
            let at = at % (body.len() + 1);
            let end = (at + cut).min(body.len());
            body.splice(at..end, bytes);
            proptest::prop_assert_eq!(direct(&body), untagged(&body));
        }
    }

    #[test]
    fn parse_accepts_and_refuses_what_the_untagged_parse_does() {
        let mut bodies: Vec<Vec<u8>> = Vec::new();
        let mut kinds = std::collections::BTreeSet::new();
        for text in corpus() {
            bodies.push(text.clone());
            let Ok(serde_json::Value::Object(doc)) = serde_json::from_slice(text) else {
                continue;
            };
            if let Some(kind) = doc.get("type").and_then(|t| t.as_str()) {
                kinds.insert(kind.to_owned());
            }
            // The same body without its context, with another type, without a type, with a
            // type that is not text, and with its object emptied.
            let mut variant = |f: &dyn Fn(&mut serde_json::Map<String, serde_json::Value>)| {
                let mut d = doc.clone();
                f(&mut d);
                bodies.push(serde_json::to_vec(&d).expect("serialisable"));
            };
            variant(&|d| {
                d.remove("@context");
            });
            variant(&|d| {
                d.insert("@context".into(), serde_json::Value::Null);
            });
            for other in ["Follow", "Create", "Update", "Delete", "Announce"] {
                variant(&|d| {
                    d.insert("type".into(), other.into());
                });
            }
            variant(&|d| {
                d.remove("type");
            });
            variant(&|d| {
                d.insert("type".into(), 7.into());
            });
            variant(&|d| {
                d.insert("object".into(), serde_json::json!({}));
            });
            // Text in a field nothing reads that is not UTF-8: refused, as before.
            let mut bad = serde_json::to_vec(&doc).expect("serialisable");
            bad.splice(1..1, *b"\"x\":\"\xff\",");
            bodies.push(bad);
            // The one difference: an escaped lone surrogate in a field nothing reads is valid
            // JSON text, skipped now; the whole-document parse decoded it and refused it.
            let mut odd = serde_json::to_vec(&doc).expect("serialisable");
            odd.splice(1..1, *b"\"x\":\"\\ud800\",");
            let plain = serde_json::to_vec(&doc).expect("serialisable");
            assert_eq!(untagged(&odd), None);
            assert_eq!(direct(&odd), direct(&plain));
        }
        for kind in INBOUND_TYPES {
            assert!(kinds.contains(kind), "the corpus has a {kind}");
        }
        for junk in [
            &b"{}"[..],
            b"[]",
            b"null",
            b"not json",
            b"{\"type\":\"Create\"}",
        ] {
            bodies.push(junk.to_vec());
        }
        let mut accepted = 0;
        for body in &bodies {
            let expected = untagged(body);
            accepted += usize::from(expected.is_some());
            assert_eq!(direct(body), expected, "{}", String::from_utf8_lossy(body));
        }
        assert!(accepted >= 9, "every kind in the corpus parses: {accepted}");
    }
}

"""Expands every JSON example in FEDERATION.md with a JSON-LD processor (pyld) that holds only
what any JSON-LD-processing ActivityPub server holds: the ActivityStreams and security contexts.
It has no copy of Hearth's context and may fetch nothing, so every Hearth term must be defined
inside the document itself. Checks that every term expands to an IRI: Hearth's own terms to its
namespace, the rest to ActivityStreams or the security vocabulary. Nothing may fall back to a
blank node.

FEDERATION.md's examples are produced by Hearth's real serialisers (a Rust test fails if they
drift), so this checks exactly what instances send.

The ActivityStreams context used is bovine's offline copy, whose `"@vocab": "_:"` turns any
term the contexts do not define into a blank-node IRI, which this script then reports.

Usage: python jsonld_check.py FEDERATION.md
"""

import json
import re
import sys

from bovine.jsonld import activitystreams_context
from pyld import jsonld

NAMESPACE = "https://w3id.org/hearth#"
AS = "https://www.w3.org/ns/activitystreams"
SECURITY = "https://w3id.org/security/v1"

# The security terms Hearth's actors use (from https://w3id.org/security/v1).
SECURITY_CONTEXT = {
    "sec": "https://w3id.org/security#",
    "publicKey": {"@id": "sec:publicKey", "@type": "@id"},
    "publicKeyPem": "sec:publicKeyPem",
    "owner": {"@id": "sec:owner", "@type": "@id"},
}


def examples(doc):
    out = {}
    for m in re.finditer(r"<!-- example:([a-z0-9-]+) -->\s*```json\n(.*?)```", doc, re.S):
        out[m.group(1)] = json.loads(m.group(2))
    return out


def load(url, options=None, **kwargs):
    """The only remote documents a peer has: ActivityStreams and the security vocabulary."""
    documents = {
        AS: {"@context": activitystreams_context},
        SECURITY: {"@context": SECURITY_CONTEXT},
    }
    if url not in documents:
        raise jsonld.JsonLdError(f"{url} would have to be fetched", "loading document failed")
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": documents[url],
    }


def walk(node, path, problems, seen):
    if isinstance(node, list):
        for i, item in enumerate(node):
            walk(item, f"{path}[{i}]", problems, seen)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key == "@type":
            for t in value if isinstance(value, list) else [value]:
                if not t.startswith(("http://", "https://")):
                    problems.append(f"{path}: type {t!r} is not an IRI")
                seen.add(t)
        elif key.startswith("@"):
            walk(value, f"{path}.{key}", problems, seen)
        else:
            if not key.startswith(("http://", "https://")):
                problems.append(f"{path}: property {key!r} expands to no IRI")
            seen.add(key)
            walk(value, f"{path}.{key}", problems, seen)


def main():
    doc = open(sys.argv[1], encoding="utf-8").read()
    ex = examples(doc)
    hearth_context = ex["context"]
    ours = set(hearth_context["@context"]) - {"hearth"}
    problems = []
    checked = 0
    for name, value in ex.items():
        if name in ("webfinger", "nodeinfo", "context"):
            continue  # plain JSON, not JSON-LD
        try:
            expanded = jsonld.expand(value, {"documentLoader": load})
        except jsonld.JsonLdError as e:
            problems.append(f"{name}: does not expand: {e}")
            continue
        seen = set()
        walk(expanded, name, problems, seen)
        # Every Hearth term used in the example expands into Hearth's namespace.
        used = set(re.findall(r'"([A-Za-z]+)"\s*:', json.dumps(value))) | set(
            re.findall(r'"type":\s*"([A-Za-z]+)"', json.dumps(value))
        )
        for term in sorted(used & ours):
            if NAMESPACE + term not in seen:
                problems.append(f"{name}: {term!r} does not expand to {NAMESPACE}{term}")
        if name.startswith("report-create"):
            report = expanded[0][AS + "#object"][0]
            if report["@type"] != [NAMESPACE + "WellbeingReport"]:
                problems.append(f"{name}: object type is {report['@type']}")
            bands = report.get(NAMESPACE + "hoursBands", [{}])[0].get("@list")
            if [b["@value"] for b in bands or []] != value["object"]["hoursBands"]:
                problems.append(f"{name}: hoursBands lost its order: {bands}")
        checked += 1
    if problems:
        print("JSON-LD problems:", *problems, sep="\n  ")
        sys.exit(1)
    print(f"JSON-LD: {checked} examples expand cleanly; every Hearth term is in {NAMESPACE}")


if __name__ == "__main__":
    main()

"""Fails when a crate declares a dependency its code never names: each crate's [dependencies],
[dev-dependencies] and [build-dependencies] must each appear in its sources as a path
(`name::`), a `use`, an `extern crate` or a macro (`name!`), with `-` read as `_`. A few are
used without being named in code; each is listed with why.

Usage: python3 .ci/unused-deps.py (from the repository root)"""

import pathlib
import re
import sys
import tomllib

# Dependencies no source names, and why they are there.
USED_UNNAMED = {
    ("hearth-db", "libsqlite3-sys"): "its `bundled` feature: SQLite compiled in, no system library",
}

root = pathlib.Path(".")
members = tomllib.loads((root / "Cargo.toml").read_text())["workspace"]["members"]
problems = []
for member in members:
    manifest = root / member / "Cargo.toml"
    crate = tomllib.loads(manifest.read_text())
    name = crate["package"]["name"]
    text = "\n".join(
        p.read_text(encoding="utf-8", errors="replace")
        for p in (root / member).rglob("*.rs")
        if "target" not in p.parts
    )
    for section in ("dependencies", "dev-dependencies", "build-dependencies"):
        for dep, spec in crate.get(section, {}).items():
            ident = dep.replace("-", "_")
            if (name, dep) in USED_UNNAMED:
                continue
            if not re.search(rf"\b{re.escape(ident)}(::|!|\s+as\b|\s*;|\s*\{{)", text):
                problems.append(f"{manifest}: [{section}] {dep} is never used")
if problems:
    print("Unused dependencies (remove them, or list why in .ci/unused-deps.py):", *problems, sep="\n  ")
    sys.exit(1)
print("ok: every declared dependency is used")

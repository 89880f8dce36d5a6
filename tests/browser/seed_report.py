"""Puts one report awaiting approval into a running group instance's log, as the instance makes
them when a period closes (real time cannot be moved for a live server). Its JSON has the shape
and the exact privacy cost Hearth's own reports have, for the hub the group has joined.

Usage: python seed_report.py GROUP_DB GROUP_BASE HUB_ACTOR"""
import datetime
import json
import sqlite3
import sys
import uuid

db_path, base, hub_actor = sys.argv[1], sys.argv[2].rstrip("/"), sys.argv[3]
# d / (2σ²) for σ = 6.5 and all seven counts a member touches, rounded up to a billionth.
rho_nanos = 82_840_237
activity = {
    "@context": ["https://w3id.org/hearth/v1", "https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
    "id": f"{base}/activities/create/{uuid.uuid4().hex}",
    "type": "Create",
    "actor": f"{base}/actor",
    "to": [hub_actor],
    "object": {
        "type": "WellbeingReport",
        "id": f"{base}/reports/{uuid.uuid4().hex}",
        "attributedTo": f"{base}/actor",
        "to": [hub_actor],
        "schemaVersion": 1,
        "period": "2026-10",
        "noiseMechanism": "DiscreteGaussian",
        "noiseSigma": 6.5,
        "privacyCostRho": rho_nanos / 1e9,
        "respondents": 14,
        "lowWellbeing": 9,
        "burnout": 3,
        "timePressure": 11,
        "unpaidHours": 13,
        "fundingPaperwork": -2,
        "hoursBands": [4, 6, 1, 3, 8],
    },
}
db = sqlite3.connect(db_path, timeout=10)
name = db.execute("SELECT name FROM peers WHERE actor_url = ?", (hub_actor,)).fetchone()[0]
stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
db.execute(
    "INSERT INTO shared_reports (hub_actor, hub_name, period, budget_year, state, rho_nanos,"
    " object_id, activity, created_at) VALUES (?, ?, '2026-10', 2026, 'awaiting_approval', ?, ?, ?, ?)",
    (hub_actor, name, rho_nanos, activity["object"]["id"], json.dumps(activity, separators=(",", ":")), stamp),
)
db.commit()
print("seeded one report awaiting approval")

"""Gives a running test hub eleven member groups with eight months of reports each (six in the
North West, five elsewhere, so the network minus the North West is no few groups' sums), the
North West's burnout jumping in the last month, so the sector pages have figures, segments and an
alert to show. Reports reach a live hub only from real groups over the network; this stands in
for months of them.

Usage: python seed_sector.py HUB_DB"""
import collections
import datetime
import sqlite3
import sys

db = sqlite3.connect(sys.argv[1], timeout=10)
stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
months = [f"2026-{m:02d}" for m in range(3, 11)]
# (segment, measure, period) -> [groups, respondents, total, sigma² in hundredths], as the hub
# keeps its rollups when reports arrive.
rollups = collections.defaultdict(lambda: [0, 0, 0, 0])
for i in range(11):
    region = ("uk-north-west" if i < 6 else "uk-london" if i < 8 else "uk-wales" if i < 10
              else "uk-scotland")
    cur = db.execute(
        "INSERT INTO peers (actor_url, kind, name, inbox, public_key_pem, profile, fetched_at)"
        " VALUES (?, 'Group', ?, ?, 'none', ?, ?)",
        (f"https://g{i}.example/actor", f"Group {i}", f"https://g{i}.example/inbox",
         f'{{"region":"{region}","communityFocus":["peer-support"],"sizeBand":"6-10"}}', stamp),
    )
    peer = cur.lastrowid
    db.execute(
        "INSERT INTO memberships (peer_id, state, follow_id, requested_at, updated_at)"
        " VALUES (?, 'accepted', ?, ?, ?)",
        (peer, f"https://g{i}.example/activities/follow/1", stamp, stamp),
    )
    segments = ["network", f"region:{region}", "focus:peer-support", "size:6-10"]
    for m, period in enumerate(months):
        burnout = 28 if i < 6 and m == len(months) - 1 else 6 + (i + m) % 3
        cur = db.execute(
            "INSERT INTO received_reports (peer_id, object_id, period, schema_version, sigma_tenths,"
            " rho_nanos, received_at, updated_at, segments) VALUES (?, ?, ?, 1, 65, 35502958, ?, ?, ?)",
            (peer, f"https://g{i}.example/reports/{period}", period, stamp, stamp, ",".join(segments)),
        )
        for signal, value in [("respondents", 30), ("burnout", burnout), ("low_wellbeing", 12)]:
            db.execute(
                "INSERT INTO received_report_counts (report_id, signal, value) VALUES (?, ?, ?)",
                (cur.lastrowid, signal, value),
            )
        for measure, value in [("burnout", burnout), ("low_wellbeing", 12)]:
            for segment in segments:
                r = rollups[(segment, measure, period)]
                r[0] += 1
                r[1] += 30
                r[2] += value
                r[3] += 65 * 65
for (segment, measure, period), (g, n, total, s2) in rollups.items():
    db.execute(
        "INSERT INTO sector_rollups (segment, measure, period, groups, respondents, total,"
        " sigma_sq_hundredths) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (segment, measure, period, g, n, total, s2),
    )
db.commit()
print("seeded 11 groups x 8 months")

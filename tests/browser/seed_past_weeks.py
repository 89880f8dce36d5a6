"""Gives a running test instance some history: the group is backdated three weeks and every
account gets a check-in for each of the two weeks before this one, so those weeks can close.
Real time cannot be moved for a live server; this is the browser tests' only shortcut."""
import datetime
import sqlite3
import sys

db = sqlite3.connect(sys.argv[1], timeout=10)
now = datetime.datetime.now(datetime.timezone.utc)
db.execute(
    "UPDATE group_settings SET created_at = ? WHERE id = 1",
    ((now - datetime.timedelta(days=21)).strftime("%Y-%m-%d %H:%M:%S"),),
)
accounts = [row[0] for row in db.execute("SELECT id FROM accounts ORDER BY id")]
stamp = now.strftime("%Y-%m-%d %H:%M:%S")
for back, (who5, burnout, paid, unpaid, funding, pressure) in enumerate(
    [(3, 2, 5, 6, 2, 2), (2, 3, 4, 9, 3, 3)], start=1
):
    year, week, _ = (now - datetime.timedelta(days=7 * back)).isocalendar()
    label = f"{year:04d}-W{week:02d}"
    for i, account in enumerate(accounts):
        w = min(5, who5 + i % 2)
        db.execute(
            "INSERT INTO checkins (account_id, week, who5_1, who5_2, who5_3, who5_4, who5_5, burnout,"
            " paid_hours, unpaid_hours, funding_hours, time_pressure, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (account, label, w, w, w, w, w, burnout, paid, unpaid, funding, pressure, stamp, stamp),
        )
db.commit()
print(f"seeded {len(accounts)} accounts")

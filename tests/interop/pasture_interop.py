"""Interoperability with an independent ActivityPub implementation: fediverse-pasture's actor
and bovine's client (PyPI). It resolves a Hearth hub through WebFinger, fetches its actor with a
signed GET, and delivers signed activities to its inbox; Hearth must verify those signatures and
answer each as its rules say. The hub has published a summary before the pasture follows it, so
the pasture is a late follower: it must be sent the latest summary, and its inbox (which checks
every signature, with bovine, against the hub's actor) must take the hub's deliveries. It then
reads the hub's outbox and the summary by signed fetch (the hub does not publish publicly, so
only a follower may), and every document expands as JSON-LD with nothing fetched.

Usage: python pasture_interop.py PATH_TO_HEARTH_BINARY
Prints "N passed, M failed" last, and exits non-zero on any failure."""

import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

import aiohttp
from bovine.clients import lookup_uri_with_webfinger
from fediverse_pasture.one_actor import bovine_actor_and_session
from pyld import jsonld

from jsonld_check import load, walk

HEARTH = sys.argv[1]
HUB_LOG = os.path.join(tempfile.mkdtemp(), "hub.log")
HUB_DB = None
PASTURE_LOG = os.path.join(tempfile.mkdtemp(), "pasture.log")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail and not ok else ''}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except Exception:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


async def signed_post(bovine_actor, inbox, activity):
    """Posts with bovine's signature; returns the status (bovine raises on 4xx)."""
    try:
        response = await bovine_actor.post(inbox, activity)
        return response.status
    except aiohttp.ClientResponseError as e:
        return e.status


def db_count(what):
    """Rows in the hub's database (`what` is a table, optionally with a WHERE clause)."""
    con = sqlite3.connect(HUB_DB)
    try:
        return con.execute(f"SELECT COUNT(*) FROM {what}").fetchone()[0]
    finally:
        con.close()


def wait_until(condition, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def hub_log():
    with open(HUB_LOG) as f:
        return f.read()


def expands(doc, name):
    """Problems expanding `doc` as JSON-LD with only the ActivityStreams and security contexts."""
    problems = []
    try:
        walk(jsonld.expand(doc, {"documentLoader": load}), name, problems, set())
    except jsonld.JsonLdError as e:
        problems.append(str(e))
    return problems


async def scenario(hub_port, pasture_port):
    hub = f"http://localhost:{hub_port}"
    async with bovine_actor_and_session(f"http://localhost:{pasture_port}") as (bovine_actor, actor, session):
        uri, _ = await lookup_uri_with_webfinger(session, f"acct:hub@localhost:{hub_port}", domain=hub)
        check("WebFinger resolves the hub's handle to its actor", uri == f"{hub}/actor", str(uri))

        fetched = await bovine_actor.get(f"{hub}/actor")
        check(
            "a signed GET fetches the hub's actor, a Service with an RSA key",
            fetched.get("type") == "Service"
            and fetched.get("publicKey", {}).get("publicKeyPem", "").startswith("-----BEGIN PUBLIC KEY-----"),
            str(fetched)[:300],
        )
        problems = expands(fetched, "actor")
        check(
            "the actor as served expands with JSON-LD, fetching nothing beyond ActivityStreams and security",
            not problems,
            "; ".join(problems),
        )
        check(
            "the actor names its outbox and followers",
            fetched.get("outbox") == f"{hub}/outbox" and fetched.get("followers") == f"{hub}/followers",
            str(fetched)[:300],
        )
        inbox = fetched["inbox"]
        async with session.get(f"http://localhost:{pasture_port}/actor") as r:
            pasture_inbox = (await r.json(content_type=None))["inbox"]

        follow = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"http://localhost:{pasture_port}/activities/{uuid.uuid4()}",
            "type": "Follow",
            "actor": f"http://localhost:{pasture_port}/actor",
            "object": f"{hub}/actor",
        }
        status = await signed_post(bovine_actor, inbox, follow)
        check("a Follow signed by bovine is verified and accepted (as a reader: it is not a group)", status == 202, str(status))
        check("the hub records a reader, not a member",
              db_count("readers") == 1
              and db_count(f"memberships JOIN peers ON peers.id = memberships.peer_id WHERE actor_url LIKE '%:{pasture_port}/%'") == 0)
        fetches = hub_log().count(f"Fetching remote object http://localhost:{pasture_port}/actor")
        check("the hub fetched the new follower's actor once for its Follow", fetches == 1, str(fetches))
        to_pasture = f"outbox WHERE inbox = '{pasture_inbox}'"
        check(
            "the hub's Accept, signed, is verified and taken by the pasture's inbox",
            wait_until(lambda: db_count(f"{to_pasture} AND activity_type = 'Accept' AND state = 'delivered'") == 1),
        )
        check(
            "the late follower is sent the latest summary, and its inbox verifies the hub's signature",
            wait_until(lambda: db_count(f"{to_pasture} AND activity_type = 'Create' AND state = 'delivered'") == 1),
        )
        check("the pasture received the summary Note", wait_until(lambda: "Note" in open(PASTURE_LOG).read()))
        status = await signed_post(bovine_actor, inbox, follow)
        check("the same Follow again is accepted and changes nothing", status == 202 and db_count(to_pasture) == 2, str(status))

        # The reader reads the hub: its outbox, a page of it, and the summary itself.
        outbox = await bovine_actor.get(f"{hub}/outbox")
        check("a follower's signed GET of the outbox lists one summary", outbox.get("totalItems") == 1, str(outbox))
        page = await bovine_actor.get(outbox["first"])
        items = page.get("orderedItems", [])
        check("the outbox page holds the summary's Create", len(items) == 1 and items[0]["object"]["type"] == "Note", str(page)[:300])
        note_id = items[0]["object"]["id"]
        note = await bovine_actor.get(note_id)
        check(
            "the summary, fetched by a follower with a signed GET, has content, published and url",
            note.get("content", "").startswith("<p>") and note.get("published") and note.get("url") == note_id,
            str(note)[:300],
        )
        async with aiohttp.ClientSession() as plain:
            async with plain.get(note_id, headers={"accept": "application/activity+json"}) as r:
                check("the same summary unsigned is 404: the hub does not publish publicly", r.status == 404, str(r.status))
        for name, doc in [("outbox", outbox), ("outbox page", page), ("summary", note)]:
            problems = expands(doc, name)
            check(f"the {name} expands with JSON-LD, fetching nothing", not problems, "; ".join(problems))

        def create():
            return {
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": f"http://localhost:{pasture_port}/activities/{uuid.uuid4()}",
                "type": "Create",
                "actor": f"http://localhost:{pasture_port}/actor",
                "object": {"type": "Note", "content": "hello"},
            }

        status = await signed_post(bovine_actor, inbox, create())
        check("a reader's signed Create of a Note is refused: a hub takes only reports", status == 400, str(status))

        undo = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"http://localhost:{pasture_port}/activities/{uuid.uuid4()}",
            "type": "Undo",
            "actor": f"http://localhost:{pasture_port}/actor",
            "object": follow,
        }
        status = await signed_post(bovine_actor, inbox, undo)
        check("a signed Undo of the Follow is accepted and ends the reading", status == 202 and db_count("readers") == 0, str(status))

        status = await signed_post(bovine_actor, inbox, create())
        check("after the Undo, a Create from the pasture is refused as from a stranger", status == 403, str(status))

        async with aiohttp.ClientSession() as plain:
            async with plain.post(inbox, json=follow, headers={"content-type": "application/activity+json"}) as r:
                check("the same Follow unsigned is refused with 401", r.status == 401, str(r.status))


def main():
    tmp = tempfile.mkdtemp()
    hub_port, pasture_port = free_port(), free_port()
    hub_dir = os.path.join(tmp, "hub")
    global HUB_DB
    HUB_DB = os.path.join(hub_dir, "hearth.sqlite3")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env["RUST_LOG"] = "info"
    subprocess.run(
        [HEARTH, "--data-dir", hub_dir, "init", "--hub", "--listen", f"127.0.0.1:{hub_port}",
         "--public-url", f"http://localhost:{hub_port}/"],
        check=True, env=env, stdout=subprocess.DEVNULL,
    )
    config = os.path.join(hub_dir, "hearth.toml")
    with open(config) as f:
        text = f.read().replace("federation_insecure_local = false", "federation_insecure_local = true")
    with open(config, "w") as f:
        f.write(text)
    # Months of reports from eleven groups, so the hub publishes October's summary as it starts.
    subprocess.run([sys.executable, os.path.join(REPO, "tests", "browser", "seed_sector.py"), HUB_DB],
                   check=True, stdout=subprocess.DEVNULL)
    # The pasture's actor checks the signature of every POST to its inbox.
    subprocess.run([sys.executable, "-m", "fediverse_pasture.one_actor", "--only_generate_config"],
                   cwd=tmp, check=True, stdout=subprocess.DEVNULL)
    data = os.path.join(tmp, "data.toml")
    with open(data) as f:
        text = f.read().replace("requires_signed_post_for_inbox = false", "requires_signed_post_for_inbox = true", 1)
    with open(data, "w") as f:
        f.write(text)
    procs = [
        subprocess.Popen([HEARTH, "--data-dir", hub_dir, "serve"], env=env,
                         stdout=subprocess.DEVNULL, stderr=open(HUB_LOG, "w")),
        subprocess.Popen([sys.executable, "-m", "fediverse_pasture.one_actor", "--port", str(pasture_port)],
                         cwd=tmp, stdout=subprocess.DEVNULL, stderr=open(PASTURE_LOG, "w")),
    ]
    try:
        wait_http(f"http://127.0.0.1:{hub_port}/healthz")
        wait_http(f"http://127.0.0.1:{pasture_port}/actor")
        check("the hub publishes the newest ended period as it starts",
              wait_until(lambda: db_count("published_summaries") == 1, 30))
        # The pasture keeps its actor's keys in data.toml in its working directory.
        os.chdir(tmp)
        asyncio.run(scenario(hub_port, pasture_port))
    except Exception as e:  # a crash is a failure, with its reason
        check("interop scenario ran to the end", False, repr(e))
    finally:
        for p in procs:
            p.kill()
            p.wait()
    passed = sum(results)
    failed = len(results) - passed
    if failed:
        print(hub_log()[-3000:])
        print(open(PASTURE_LOG).read()[-3000:])
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed or not results else 0)


if __name__ == "__main__":
    main()

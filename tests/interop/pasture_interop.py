"""Interoperability with an independent ActivityPub implementation: fediverse-pasture's actor
and bovine's client (PyPI). It resolves a Hearth hub through WebFinger, fetches its actor with a
signed GET, and delivers signed activities to its inbox; Hearth must verify those signatures and
answer each as its rules say.

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
        problems = []
        try:
            walk(jsonld.expand(fetched, {"documentLoader": load}), "actor", problems, set())
        except jsonld.JsonLdError as e:
            problems.append(str(e))
        check(
            "the actor as served expands with JSON-LD, fetching nothing beyond ActivityStreams and security",
            not problems,
            "; ".join(problems),
        )
        inbox = fetched["inbox"]

        follow = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"http://localhost:{pasture_port}/activities/{uuid.uuid4()}",
            "type": "Follow",
            "actor": f"http://localhost:{pasture_port}/actor",
            "object": f"{hub}/actor",
        }
        status = await signed_post(bovine_actor, inbox, follow)
        check("a Follow signed by bovine is verified and accepted (as a reader: it is not a group)", status == 202, str(status))
        check("the hub records a reader, not a member", db_count("readers") == 1 and db_count("memberships") == 0)
        check(
            "the hub's signed Accept is delivered to the pasture's inbox",
            wait_until(lambda: db_count("outbox WHERE activity_type = 'Accept' AND state = 'delivered'") == 1),
        )
        status = await signed_post(bovine_actor, inbox, follow)
        check("the same Follow again is accepted and changes nothing", status == 202 and db_count("outbox") == 1, str(status))

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
    procs = [
        subprocess.Popen([HEARTH, "--data-dir", hub_dir, "serve"], env=env,
                         stdout=subprocess.DEVNULL, stderr=open(HUB_LOG, "w")),
        subprocess.Popen([sys.executable, "-m", "fediverse_pasture.one_actor", "--port", str(pasture_port)],
                         cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]
    try:
        wait_http(f"http://127.0.0.1:{hub_port}/healthz")
        wait_http(f"http://127.0.0.1:{pasture_port}/actor")
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
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed or not results else 0)


if __name__ == "__main__":
    main()

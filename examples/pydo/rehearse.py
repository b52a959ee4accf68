#!/usr/bin/env python3
"""A blue-green switch written with pydo, DigitalOcean's official Python client, the way a
team's existing script does it: find the live and standby droplets by tag, tag the standby
as the release, move the reserved IP to it, and wait for the move to complete.

Nothing here knows about the simulator: point it at one by its URL (a real run leaves
ZDD_DO_API_URL unset and talks to https://api.digitalocean.com).

    export DIGITALOCEAN_ACCESS_TOKEN=...   RESERVED_IP=...   RELEASE=v2
    export ZDD_DO_API_URL=https://127.0.0.1:PORT   REQUESTS_CA_BUNDLE=ca.pem   # zdd-do sim --tls
    python3 examples/pydo/rehearse.py

Prints one JSON object: the account's droplet limit, the droplets by tag, the action and
where the reserved IP ended up. Exits non-zero when the move did not complete.
"""
import json
import os
import sys
import time

from pydo import Client

token = os.environ["DIGITALOCEAN_ACCESS_TOKEN"]
endpoint = os.environ.get("ZDD_DO_API_URL", "https://api.digitalocean.com").rstrip("/")
ip = os.environ["RESERVED_IP"]
release = os.environ.get("RELEASE", "v2")
live_tag = os.environ.get("LIVE_TAG", "PROD")
standby_tag = os.environ.get("STANDBY_TAG", "FALLBACK")

client = Client(token=token, endpoint=endpoint)

account = client.account.get()["account"]
live = client.droplets.list(tag_name=live_tag)["droplets"]
standby = client.droplets.list(tag_name=standby_tag)["droplets"]
if len(live) != 1 or len(standby) != 1:
    sys.exit(f"expected one {live_tag} and one {standby_tag} droplet, found {len(live)} and {len(standby)}")
target = standby[0]

# Tag the standby with the release it runs.
release_tag = f"release-{release}"
client.tags.create(body={"name": release_tag})
client.tags.assign_resources(
    tag_id=release_tag,
    body={"resources": [{"resource_id": str(target["id"]), "resource_type": "droplet"}]},
)

# Move the reserved IP, then wait for the action to finish.
action = client.reserved_ips_actions.post(
    reserved_ip=ip, body={"type": "assign", "droplet_id": target["id"]}
)["action"]
deadline = time.monotonic() + 120
while action["status"] == "in-progress" and time.monotonic() < deadline:
    time.sleep(0.2)
    action = client.reserved_ips_actions.get(reserved_ip=ip, action_id=action["id"])["action"]

holder = client.reserved_ips.get(reserved_ip=ip)["reserved_ip"]["droplet"]
tagged = client.droplets.list(tag_name=release_tag)["droplets"]
print(json.dumps({
    "droplet_limit": account["droplet_limit"],
    "live": live[0]["name"],
    "standby": target["name"],
    "tagged": [d["name"] for d in tagged],
    "action": {"id": action["id"], "type": action["type"], "status": action["status"]},
    "holder": holder["name"] if holder else None,
}))
sys.exit(0 if action["status"] == "completed" and holder and holder["id"] == target["id"] else 1)

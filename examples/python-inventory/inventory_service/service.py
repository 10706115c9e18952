"""The inventory service: `inventory.get` in queue group `q`, the NATS services protocol's
`$SRV.PING` / `$SRV.INFO` (so Gameday can tell when a task is ready: `ready: { natsService:
inventory }`), and a graceful stop on SIGTERM.

Variables: INVENTORY_NATS_SERVERS (comma-separated, own AZ first; else NATS_URL),
INVENTORY_INSTANCE_NAME (its NATS connection name), TASK_ID, AZ, STOP_GRACE_MS — an environment
file maps Gameday's per-task values onto them (`${NATS_URL}`, `${TASK_ID}`…); WORK_DELAY_MS makes
each request take that long. INVENTORY_BROKEN=exit-on-sigterm
(exit at once, dropping what is in flight) or never-ready (never answer $SRV.PING) are the broken
variants Gameday's tests use to show their experiments catch them.
"""

import hashlib
import json
import os
import re
import secrets
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from . import proto
from .nats import Connection

NAME = "inventory"
VERSION = "1.0.0"
CATALOG = [("sword-01", "Bronze Sword"), ("shield-02", "Oak Shield"), ("potion-03", "Health Potion"),
           ("gem-04", "Blue Gem"), ("arrow-05", "Arrow"), ("map-06", "Old Map")]
PLAYER_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def fake_inventory(player_id):
    """The same player id, the same inventory, on every task (as the reference service does)."""
    digest = hashlib.sha256(player_id.encode()).digest()
    items = [(sku, name, 1 + digest[8 + i] % 20) for i, (sku, name) in enumerate(c for j, c in enumerate(CATALOG) if digest[j] % 2 == 0)]
    return items, int.from_bytes(digest[16:20], "big") % 100_000


class Service:
    def __init__(self, env):
        self.task_id = env.get("TASK_ID") or f"{NAME}-{os.getpid()}"
        self.az = env.get("AZ", "az-a")
        self.broken = env.get("INVENTORY_BROKEN", "")
        self.work_delay = int(env.get("WORK_DELAY_MS", "2")) / 1000
        self.stop_grace = int(env.get("STOP_GRACE_MS", "10000")) / 1000
        self.instance = secrets.token_hex(11)
        servers = env.get("INVENTORY_NATS_SERVERS") or env.get("NATS_URL", "nats://127.0.0.1:4222")
        self.nc = Connection([s.strip() for s in servers.split(",") if s.strip()],
                             env.get("INVENTORY_INSTANCE_NAME") or f"{NAME}/{self.task_id}", self.log)
        self.pool = ThreadPoolExecutor(max_workers=32)
        self.in_flight = 0
        self.served = 0
        self.idle = threading.Condition()
        self.endpoint_sid = None
        self.stopping = threading.Event()

    def log(self, event, **fields):
        line = {"at": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "service": NAME, "task": self.task_id, "event": event, **fields}
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()

    # -- requests ------------------------------------------------------------------------

    def on_request(self, msg):
        if not msg.reply:
            return
        with self.idle:
            self.in_flight += 1
        self.pool.submit(self.serve, msg)

    def serve(self, msg):
        try:
            headers = {"X-Request-Id": msg.headers["X-Request-Id"]} if "X-Request-Id" in msg.headers else {}
            try:
                player_id = proto.decode_get_inventory_request(msg.data)
            except (ValueError, IndexError, UnicodeDecodeError) as err:
                return self.error(msg, headers, 400, f"bad gameday.v1.GetInventoryRequest: {err}")
            if not PLAYER_ID.match(player_id):
                return self.error(msg, headers, 400, f"invalid player id {json.dumps(player_id)} (want {PLAYER_ID.pattern})")
            time.sleep(self.work_delay)
            items, gold = fake_inventory(player_id)
            self.nc.publish(msg.reply, proto.encode_get_inventory_response(player_id, items, gold, self.task_id), headers)
            self.served += 1
        finally:
            with self.idle:
                self.in_flight -= 1
                self.idle.notify_all()

    def error(self, msg, headers, code, message):
        headers = {**headers, "Nats-Service-Error-Code": str(code), "Nats-Service-Error": message}
        self.nc.publish(msg.reply, proto.encode_error_detail(code, message), headers)

    # -- the NATS services protocol ($SRV) ---------------------------------------------------

    def identity(self, kind):
        return {"type": f"io.nats.micro.v1.{kind}_response", "name": NAME, "id": self.instance, "version": VERSION,
                # naming the task lets Gameday credit this instance to it exactly
                "metadata": {"task": self.task_id, "az": self.az}}

    def on_srv(self, msg):
        if not msg.reply or self.broken == "never-ready":
            return
        kind = msg.subject.split(".")[1].lower()
        body = self.identity(kind)
        if kind == "info":
            body.update(description="Player inventories (Python, standard library only)",
                        endpoints=[{"name": "get", "subject": f"{NAME}.get", "queue_group": "q", "metadata": None}])
        elif kind == "stats":
            body.update(endpoints=[{"name": "get", "subject": f"{NAME}.get", "queue_group": "q", "num_requests": self.served}])
        self.nc.publish(msg.reply, json.dumps(body).encode())

    # -- lifecycle -----------------------------------------------------------------------

    def run(self):
        signal.signal(signal.SIGTERM, lambda *_: self.stopping.set())
        signal.signal(signal.SIGINT, lambda *_: self.stopping.set())
        self.nc.start()
        for verb in ("PING", "INFO", "STATS"):
            for subject in (f"$SRV.{verb}", f"$SRV.{verb}.{NAME}", f"$SRV.{verb}.{NAME}.{self.instance}"):
                self.nc.subscribe(subject, self.on_srv)
        self.endpoint_sid = self.nc.subscribe(f"{NAME}.get", self.on_request, queue="q")
        self.nc.flush()
        self.log("ready", subjects=[f"{NAME}.get"], queue="q", az=self.az, instance=self.instance)
        self.stopping.wait()
        self.drain()

    def drain(self):
        """Stop taking requests, answer those held, then go — within the stop grace, before the SIGKILL."""
        started = time.monotonic()
        in_flight = self.in_flight
        self.log("draining", signal="SIGTERM", inFlight=in_flight)
        if self.broken == "exit-on-sigterm":
            self.log("stopped", inFlightAtStop=in_flight, drainedMs=0, dropped=in_flight, broken=self.broken)
            os._exit(0)
        deadline = started + max(0.0, self.stop_grace - min(1.0, self.stop_grace * 0.1))
        self.nc.unsubscribe(self.endpoint_sid)
        # once the server answered a PING sent after the UNSUB, nothing more is on its way to us;
        # what came before it is being served (in_flight), and is answered before we go
        self.nc.flush(timeout=max(0.1, deadline - time.monotonic()))
        with self.idle:
            drained = self.idle.wait_for(lambda: self.in_flight == 0, timeout=max(0.0, deadline - time.monotonic()))
        self.nc.flush(timeout=max(0.1, deadline - time.monotonic()))
        self.log("stopped", inFlightAtStop=in_flight, drainedMs=round((time.monotonic() - started) * 1000), abandoned=self.in_flight,
                 **({} if drained else {"timedOut": True}))
        self.nc.close()
        os._exit(0)

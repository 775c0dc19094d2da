"""Shared pieces of the fault tests: the e2e harness (a real mosquitto and
the real daemon), the size of a run, seeds that are printed so a failure
reproduces, and checks of the store read straight from LMDB.

Sizes: the CI size by default; SW_SOAK=1 (scripts/soak.sh) for the long
runs; a build with sanitizers (SW_SANITIZE=ON, set by CTest) runs a smaller
CI size, since the daemon is several times slower there.
Seeds: SW_FAULT_SEED=N replays a run; otherwise a fresh one is drawn and
printed at the start of the test.
"""

import json
import os
import random
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))

import paho.mqtt.client as mqtt  # noqa: E402

from harness import wait_until  # noqa: E402,F401

SOAK = os.environ.get("SW_SOAK", "") not in ("", "0")
SANITIZED = os.environ.get("SW_SANITIZE", "").upper() in ("ON", "1", "TRUE", "YES")


def size(ci, sanitized, soak):
    """The figure for this kind of run."""
    if SOAK:
        return soak
    return sanitized if SANITIZED else ci


def seeded(test_name):
    """A random.Random whose seed is printed (SW_FAULT_SEED replays it)."""
    seed = int(os.environ.get("SW_FAULT_SEED") or random.SystemRandom().randrange(1 << 32))
    print("%s: seed %d (replay with SW_FAULT_SEED=%d)" % (test_name, seed, seed), flush=True)
    return random.Random(seed), seed


class Stream:
    """A QoS 1 publisher of many messages from its own thread, up to 100 in
    flight; `published()` is how many the broker has acknowledged."""

    def __init__(self, port, client_id):
        self.c = mqtt.Client(client_id=client_id, protocol=mqtt.MQTTv5)
        self.c.max_inflight_messages_set(100)
        self.c.max_queued_messages_set(0)
        self.connected = threading.Event()
        self.c.on_connect = lambda *a: self.connected.set()
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()
        wait_until(self.connected.is_set, 10, "stream publisher connection")
        self.infos = []
        self.thread = None
        self.acked = 0
        self.cond = threading.Condition()
        self.c.on_publish = self._on_publish

    def _on_publish(self, client, userdata, mid):
        with self.cond:
            self.acked += 1
            self.cond.notify_all()

    def start(self, messages, ahead=10000):
        """messages: an iterable of (topic, payload). At most `ahead` wait
        for their PUBACK: Paho's message ids are 16 bits, and a queue longer
        than that makes it refuse publications (MQTT_ERR_QUEUE_SIZE)."""
        def run():
            for topic, payload in messages:
                with self.cond:
                    self.cond.wait_for(lambda: len(self.infos) - self.acked < ahead, 600)
                info = self.c.publish(topic, payload, qos=1)
                if info.rc != mqtt.MQTT_ERR_SUCCESS:
                    raise AssertionError("publish: %s" % mqtt.error_string(info.rc))
                self.infos.append(info)
        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def wait_all_acked(self, timeout=300):
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise AssertionError("the publisher did not finish in %d s" % timeout)
        for info in self.infos:
            info.wait_for_publish(timeout)
        if not all(info.is_published() for info in self.infos):
            raise AssertionError("some publications were not acknowledged by the broker")

    def close(self):
        if self.thread is not None:
            self.thread.join(60)
        self.c.disconnect()
        self.c.loop_stop()


def deadline_keys(daemon):
    """{(incident id, obligation): due_ms} from the deadlines database."""
    out = {}
    for k, _ in daemon.items("deadlines"):
        due = int.from_bytes(k[:8], "big")
        iid, name = k[8:].decode().split("/", 1)
        out[(iid, name)] = due
    return out


def armed_obligations(daemon):
    """{(incident id, obligation): ms} of every obligation of an incident
    that is not closed and still owes a deadline (pending, or missed with a
    further escalation step), from the stored incidents."""
    open_ids = {k.decode().split("/", 1)[1] for k, _ in daemon.items("open")}
    out = {}
    for k, v in daemon.items("incidents"):
        inc = json.loads(v)
        if inc["id"] not in open_ids:
            continue
        for ob in inc.get("obligations", []):
            # The internal form: status 0 pending, 2 missed; "next" is when
            # its deadline falls (the due time while pending).
            if ob.get("status") == 0 or (ob.get("status") == 2 and ob.get("next", 0) > 0):
                out[(inc["id"], ob["name"])] = ob["next"]
    return out

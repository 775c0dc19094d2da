"""kill -9 in the middle of a burst of 10,000 QoS 1 events (and once more
while it catches up after the restart), then a restart
with the same state directory and instance name: every event id published
is in the store's dedup index, every event was applied exactly once, and no
incident is duplicated (the events are laid out so that each building and
floor makes exactly one incident)."""

import json
import threading
import unittest

import paho.mqtt.client as mqtt

from harness import E2E, Client, retained, wait_until

N = 10000
BUILDINGS, FLOORS = 10, 10          # 100 correlation keys: one incident each
DEVICES = 7


def key_of(i):
    return str(i % BUILDINGS), str((i // BUILDINGS) % FLOORS)


def event(i):
    b, f = key_of(i)
    return ("d%d" % (i % DEVICES),
            {"type": "smoke", "id": "b-%05d" % i, "location": {"building": b, "floor": f}})


class Durability(E2E):
    def start_burst(self):
        """Publish the N events from a thread (QoS 1, up to 100 in flight);
        returns (thread, publish infos)."""
        # The recording client is not needed (10,000 incident updates).
        self._close("sub")
        prefix = self.prefix
        c = mqtt.Client(client_id="burst-%d" % self.broker.port, protocol=mqtt.MQTTv5)
        c.max_inflight_messages_set(100)
        c.max_queued_messages_set(0)
        connected = threading.Event()
        c.on_connect = lambda *a: connected.set()
        c.connect("127.0.0.1", self.broker.port)
        c.loop_start()
        self.addCleanup(c.loop_stop)
        self.addCleanup(c.disconnect)
        wait_until(connected.is_set, 10, "burst publisher connection")
        infos = []

        def publish_all():
            for i in range(N):
                dev, ev = event(i)
                infos.append(c.publish("%s/A/event/sensor/%s" % (prefix, dev), json.dumps(ev),
                                       qos=1))
        publisher = threading.Thread(target=publish_all)
        publisher.start()
        self.addCleanup(publisher.join, 60)
        return publisher, infos

    def kill_when_applied(self, n):
        """kill -9 once at least n events are applied; returns how many were."""
        wait_until(lambda: self.daemon.count("dedup") >= n, 60,
                   "siteward to apply %d events" % n)
        self.daemon.kill9()
        killed_at = self.daemon.count("dedup")
        self.assertLess(killed_at, N, "killed mid-burst (%d of %d applied)" % (killed_at, N))
        return killed_at

    def wait_published(self, publisher, infos):
        # Every event reached the broker (it keeps them for siteward's
        # persistent session meanwhile).
        publisher.join(60)
        self.assertFalse(publisher.is_alive())
        for info in infos:
            info.wait_for_publish(60)
        self.assertTrue(all(info.is_published() for info in infos), "all PUBACKed")

    def restart(self):
        # Same state dir, same instance name (so the same MQTT session).
        self.daemon.start()
        self.assertEqual(retained(self.broker.port, self.daemon.status_topic),
                         {self.daemon.status_topic: b"online"}, "online after the restart")

    def test_kill9_mid_burst_loses_nothing(self):
        publisher, infos = self.start_burst()
        self.kill_when_applied(N // 10)
        self.wait_published(publisher, infos)
        self.restart()
        self.check_everything_once()

    def test_kill9_again_while_catching_up(self):
        publisher, infos = self.start_burst()
        first = self.kill_when_applied(N // 10)
        self.wait_published(publisher, infos)
        # Not waiting for "online": the replay of its inbox and the broker's
        # backlog start at once, and the second kill must land within them.
        self.daemon.start(wait_online=False)
        second = self.kill_when_applied(first + N // 20)
        self.assertGreater(second, first)
        self.restart()
        self.check_everything_once()

    def check_everything_once(self):
        prefix = self.prefix
        wait_until(lambda: self.daemon.count("dedup") >= N, 180,
                   "all %d events in the store" % N, interval=0.2)

        keys = {k.decode() for k, v in self.daemon.items("dedup")}
        expected = {"E/A/sensor/%s/%s" % (dev, ev["id"]) for dev, ev in map(event, range(N))}
        self.assertEqual(len(keys - expected), 0, "no stray dedup keys")
        self.assertEqual(len(expected - keys), 0, "every event id is in the store")

        # One incident per building and floor, every event applied once.
        incidents = {k.decode(): json.loads(v) for k, v in self.daemon.items("incidents")}
        per_key = {}
        for iid, inc in incidents.items():
            self.assertEqual(inc["id"], iid)
            loc = inc["location"]
            per_key.setdefault((loc["building"], loc["floor"]), []).append(iid)
        dup = {k: v for k, v in per_key.items() if len(v) != 1}
        self.assertEqual(dup, {}, "duplicated incidents")
        self.assertEqual(set(per_key), {key_of(i) for i in range(BUILDINGS * FLOORS)})
        self.assertEqual(sum(inc["events"] for inc in incidents.values()), N,
                         "each event applied exactly once")
        self.assertEqual(self.daemon.count("open"), BUILDINGS * FLOORS)
        self.assertEqual(self.daemon.count("corr"), BUILDINGS * FLOORS)

        # The broker's retained view agrees: one incident topic per key, and
        # the final states add up to every event.
        def retained_view():
            got = retained(self.broker.port, "%s/A/incident/+" % prefix, timeout=15)
            incs = [json.loads(p) for p in got.values() if p]
            return incs if sum(i["events"] for i in incs) == N else None
        incs = wait_until(retained_view, 60, "retained incidents to settle", interval=0.5)
        self.assertEqual(sorted(i["id"] for i in incs), sorted(incidents))
        by_key = {}
        for inc in incs:
            by_key.setdefault((inc["location"]["building"], inc["location"]["floor"]), []).append(
                inc["id"])
        self.assertEqual({k: len(v) for k, v in by_key.items() if len(v) != 1}, {})
        self.assertEqual(len(by_key), BUILDINGS * FLOORS)
        for inc in incs:
            self.assertEqual(inc["class"], "fire")
            self.assertEqual(inc["state"], "open")

        # And siteward's own counters after the restart.
        watch = Client(self.broker.port, subscribe=(self.daemon.stats_topic,))
        try:
            s = watch.last_json(self.daemon.stats_topic, timeout=15)
        finally:
            watch.close()
        self.assertEqual(s["incidents_open"], BUILDINGS * FLOORS)
        self.assertEqual(s["timers_armed"], 2 * BUILDINGS * FLOORS)
        self.assertIs(self.daemon.died(), None)


if __name__ == "__main__":
    unittest.main()

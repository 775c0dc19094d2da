"""Status: retained "online" once subscribed; "offline" as the MQTT will
after kill -9 and on a clean SIGTERM stop (exit 0); stats every interval
with the contract's counters."""

import os
import unittest

from harness import E2E, STATS_FIELDS, Daemon, retained, wait_until


class Status(E2E):
    def test_online_retained(self):
        got = retained(self.broker.port, self.daemon.status_topic)
        self.assertEqual(got, {self.daemon.status_topic: b"online"})
        m = self.sub.matching(self.daemon.status_topic)[-1]
        self.assertEqual(m.qos, 1)
        # Subscribed and ready when it says online: an event published right
        # after is handled.
        self.event("A", "d1", {"type": "smoke", "location": {"building": "1", "floor": "1"}})
        self.incident("A")

    def test_stats(self):
        first = self.last_stats()
        for k in STATS_FIELDS:
            self.assertIn(k, first)
            self.assertIsInstance(first[k], int, k)
            self.assertGreaterEqual(first[k], 0, k)
        self.assertGreater(first["store_size"], 0)
        # Every second (stats_interval "1s" in the test config): more come.
        since = self.sub.count()
        self.sub.wait_for(self.daemon.stats_topic, count=2, since=since, timeout=15)

        self.event("A", "d1", {"type": "smoke", "id": "s1",
                               "location": {"building": "1", "floor": "1"}})
        self.incident("A")
        s = self.stats(lambda s: s["accepted"] == first["accepted"] + 1)
        self.assertEqual(s["received"], first["received"] + 1)
        self.assertEqual(s["incidents_open"], first["incidents_open"] + 1)
        self.assertEqual(s["timers_armed"], first["timers_armed"] + 2)
        self.assertGreaterEqual(s["escalations_sent"], first["escalations_sent"])

    def test_will_says_offline_after_kill9(self):
        self.daemon.kill9()
        # The kernel closes the dead process's socket, so the broker sees the
        # connection drop at once; the keepalive is only the fallback.
        self.sub.wait_for(self.daemon.status_topic, lambda m: m.payload == b"offline", timeout=60)
        got = retained(self.broker.port, self.daemon.status_topic)
        self.assertEqual(got, {self.daemon.status_topic: b"offline"})

        # Back with the same instance name: online again, and it stays so
        # (the old session's will does not overwrite the new status).
        self.daemon.start(watcher=self.sub)
        self.assertEqual(retained(self.broker.port, self.daemon.status_topic),
                         {self.daemon.status_topic: b"online"})
        self.last_stats()

    def test_sigterm_publishes_offline_and_exits_0(self):
        rc = self.daemon.terminate()
        self.assertEqual(rc, 0)
        self.sub.wait_for(self.daemon.status_topic, lambda m: m.payload == b"offline")
        self.assertEqual(retained(self.broker.port, self.daemon.status_topic),
                         {self.daemon.status_topic: b"offline"})
        self.assertEqual(self.daemon.sanitizer_reports(), [])


class Instances(E2E):
    """Two instances on one broker keep apart: their own status, stats and
    client ids (a shared client id would make them kick each other off)."""

    def test_two_instances(self):
        tmp2 = os.path.join(self.tmp, "second")
        os.mkdir(tmp2)
        other = Daemon(tmp2, self.broker.port, instance="north")
        self.addCleanup(other.stop)
        other.start(watcher=self.sub)
        got = retained(self.broker.port, self.topic("_daemon/+/status"))
        self.assertEqual(got, {self.daemon.status_topic: b"online",
                               other.status_topic: b"online"})
        self.sub.wait_for(other.stats_topic)
        self.sub.wait_for(self.daemon.stats_topic, since=self.sub.count())
        self.assertTrue(other.running())
        self.assertEqual(other.terminate(), 0)
        wait_until(lambda: retained(self.broker.port, other.status_topic)
                   == {other.status_topic: b"offline"}, 10, "north offline", interval=0.2)
        self.assertEqual(retained(self.broker.port, self.daemon.status_topic),
                         {self.daemon.status_topic: b"online"})


if __name__ == "__main__":
    unittest.main()

"""Status: retained online; offline as the MQTT will after kill -9 and on a
clean stop; stats every interval with the contract's fields."""

import unittest

from harness import E2E, Client, PREFIX


class Status(E2E):
    def status_topic(self):
        return "%s/_daemon/%s/status" % (PREFIX, self.daemon.instance)

    def test_online_retained_and_stats(self):
        late = Client(self.broker.port, subscribe=(self.status_topic(),))
        try:
            m = late.wait_for(self.status_topic())[0]
            self.assertTrue(m.retain)
            self.assertEqual(m.payload, b"online")
        finally:
            late.close()
        s = self.stats()
        for k in ("received", "accepted", "rejected", "duplicates", "incidents_open",
                  "timers_armed", "escalations_sent", "store_size"):
            self.assertIn(k, s)
        self.assertGreater(s["store_size"], 0)

    def test_will_says_offline_after_kill9(self):
        self.daemon.kill9()
        # The broker notices the dead connection at the keepalive at the latest.
        self.sub.wait_for(self.status_topic(), lambda m: m.payload == b"offline", timeout=40)

    def test_sigterm_publishes_offline_and_exits_0(self):
        rc = self.daemon.terminate()
        self.assertEqual(rc, 0)
        self.sub.wait_for(self.status_topic(), lambda m: m.payload == b"offline")


if __name__ == "__main__":
    unittest.main()

"""A broker restart in the middle of a stream: siteward reconnects on its
own, resubscribes (persistent session), says online again, and loses
nothing the broker accepted before or after."""

import json
import time
import unittest

from harness import PREFIX, E2E, Client, db_items, wait_until

N = 400


class BrokerRestart(E2E):
    @property
    def broker_extra(self):
        # The broker keeps siteward's session and queued messages on disk.
        return "persistence true\npersistence_location %s/\n" % self.tmp

    def stored(self):
        env = self.daemon.store()
        try:
            return len(db_items(env, "dedup"))
        finally:
            env.close()

    def publish_events(self, client, start, count):
        for i in range(start, start + count):
            client.publish(PREFIX + "/A/event/sensor/d%d" % (i % 5),
                           {"type": "water_leak", "id": "w-%04d" % i,
                            "location": {"building": str(i % 20), "floor": "1"}})

    def test_restart_mid_stream(self):
        self.publish_events(self.pub, 0, N // 2)
        self._close("pub")
        self._close("sub")
        self.broker.stop()
        self.broker.start()
        restarted = time.monotonic()

        watcher = Client(self.broker.port)
        self.addCleanup(watcher.close)
        status = PREFIX + "/_daemon/%s/status" % self.daemon.instance
        watcher.subscribe(status)
        watcher.wait_for(status, lambda m: m.payload == b"online", timeout=20)
        print("siteward online %.2f s after the broker restarted"
              % (time.monotonic() - restarted))

        pub = Client(self.broker.port)
        self.addCleanup(pub.close)
        self.publish_events(pub, N // 2, N // 2)
        wait_until(lambda: self.stored() == N, 30, "all %d events in the store" % N)

        env = self.daemon.store()
        try:
            keys = {k.decode() for k, v in db_items(env, "dedup")}
            incidents = [json.loads(v) for k, v in db_items(env, "incidents")]
        finally:
            env.close()
        self.assertEqual(keys, {"E/A/sensor/d%d/w-%04d" % (i % 5, i) for i in range(N)})
        self.assertEqual(sum(i["events"] for i in incidents), N)
        self.assertEqual(len(incidents), 20)


if __name__ == "__main__":
    unittest.main()

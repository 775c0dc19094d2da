"""kill -9 in the middle of a burst of 10,000 events: afterwards every event
id is in the store and no incident is duplicated."""

import json
import unittest

import paho.mqtt.client as mqtt

from harness import E2E, PREFIX, db_items, wait_until

N = 10000
KEYS = 100  # (building, floor) pairs: one incident each


class Durability(E2E):
    def stored(self):
        env = self.daemon.store()
        try:
            return len(db_items(env, "dedup"))
        finally:
            env.close()

    def test_kill9_mid_burst_loses_nothing(self):
        self.sub.close()
        self.sub = None
        c = mqtt.Client(client_id="burst", protocol=mqtt.MQTTv5)
        c.max_inflight_messages_set(100)
        c.max_queued_messages_set(0)
        c.connect("127.0.0.1", self.broker.port)
        c.loop_start()
        acked = []
        c.on_publish = lambda cl, u, mid: acked.append(mid)
        infos = []
        killed_at = None
        for i in range(N):
            ev = {"type": "smoke", "id": "b-%05d" % i,
                  "location": {"building": str(i % KEYS), "floor": "1"}}
            infos.append(c.publish(PREFIX + "/A/event/sensor/d%d" % (i % 7), json.dumps(ev), qos=1))
            if i == N // 3:
                # Kill once siteward is busy with the burst.
                wait_until(lambda: self.stored() > 0, 30, "siteward to be storing the burst")
                self.daemon.kill9()
                killed_at = self.stored()
        for info in infos:
            info.wait_for_publish(60)
        c.loop_stop()
        c.disconnect()
        self.assertTrue(0 < killed_at < N, "killed mid-burst (%s stored)" % killed_at)

        self.daemon.start()

        wait_until(lambda: self.stored() == N, 120, "all %d events in the store" % N)

        env = self.daemon.store()
        try:
            keys = {k.decode() for k, v in db_items(env, "dedup")}
            expected = {"E/A/sensor/d%d/b-%05d" % (i % 7, i) for i in range(N)}
            self.assertEqual(keys, expected)
            incidents = [json.loads(v) for k, v in db_items(env, "incidents")]
            self.assertEqual(len(incidents), KEYS, "one incident per building and floor")
            per_key = {}
            for inc in incidents:
                per_key.setdefault(inc["location"]["building"], []).append(inc)
            self.assertEqual(len(per_key), KEYS)
            self.assertEqual(sum(inc["events"] for inc in incidents), N)
        finally:
            env.close()


if __name__ == "__main__":
    unittest.main()

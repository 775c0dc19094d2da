"""Rejected input: a dead letter {"topic","error","message","payload"} on
P/{site}/deadletter (P/_unknown/deadletter without a valid site), with a
stable error code, the stats "rejected" counter growing by one each time,
and no harm to anything else.

bad_topic is not reachable from outside: siteward's subscriptions
(P/+/event/+/+, P/+/report/+, P/+/cmd/+) only match topics of the right
shape, and an empty level fails as bad_site or bad_id first; the pipeline
tests cover it."""

import json
import unittest

from harness import E2E

BIG_DATA = {"x": "y" * 5000}

CASES = [
    # (topic under the prefix, payload, dead-letter site, code)
    ("A/event/sensor/d1", b"{not json", "A", "bad_json"),
    ("A/event/sensor/d1", b"", "A", "bad_json"),
    ("A/event/sensor/d1", b"[1, 2]", "A", "bad_json"),
    ("A/event/sensor/d1", b'"smoke"', "A", "bad_json"),
    ("A/event/sensor/d1", b'{"id": "x"}', "A", "bad_field"),
    ("A/event/sensor/d1", b'{"type": 7}', "A", "bad_field"),
    ("A/event/sensor/d1", b'{"type": "smoke", "ts": "yesterday"}', "A", "bad_field"),
    ("A/event/sensor/d1", b'{"type": "smoke", "state": "burning"}', "A", "bad_field"),
    ("A/event/sensor/d1", json.dumps({"type": "smoke", "data": BIG_DATA}).encode(), "A",
     "bad_field"),
    ("A/event/sensor/d1", b'{"type": "unicorn"}', "A", "unknown_type"),
    ("A/event/sensor/d1", b'{"type": "smoke", "pad": "' + b"z" * (70 * 1024) + b'"}', "A",
     "too_large"),
    ("A/event/radar/d1", b'{"type": "smoke"}', "A", "bad_source"),
    ("A/event/sensor/d 1", b'{"type": "smoke"}', "A", "bad_id"),
    ("A/event/sensor/", b'{"type": "smoke"}', "A", "bad_id"),
    ("A/event/sensor/" + "d" * 129, b'{"type": "smoke"}', "A", "bad_id"),
    ("_x/event/sensor/d1", b'{"type": "smoke"}', "_unknown", "bad_site"),
    ("/event/sensor/d1", b'{"type": "smoke"}', "_unknown", "bad_site"),
    ("A.b/event/sensor/d1", b'{"type": "smoke"}', "_unknown", "bad_site"),
    ("S" * 65 + "/event/sensor/d1", b'{"type": "smoke"}', "_unknown", "bad_site"),
    ("A/report/u1", b'{"text": "no category"}', "A", "bad_field"),
    ("A/report/u1", b'{"category": "gossip"}', "A", "bad_field"),
    ("A/report/u*1", b'{"category": "repair"}', "A", "bad_id"),
    ("A/cmd/u1", b"{]", "A", "bad_json"),
    ("A/cmd/u1", b'{"incident": "A-1"}', "A", "bad_command"),
]


def parse(b):
    try:
        return json.loads(b)
    except ValueError:
        return None


class DeadLetters(E2E):
    def test_every_kind_of_bad_input(self):
        base = self.stats()
        good = 0
        for i, (rest, payload, site, code) in enumerate(CASES):
            topic = self.topic(rest)
            with self.subTest(topic=topic[:80], code=code):
                since = self.sub.count()
                self.pub.publish(topic, payload)
                dl = self.sub.last_json(self.topic(site + "/deadletter"), since=since)
                self.assertEqual(set(dl), {"topic", "error", "message", "payload"})
                self.assertEqual(dl["topic"], topic)
                self.assertEqual(dl["error"], code)
                self.assertIsInstance(dl["message"], str)
                self.assertTrue(dl["message"])
                # The payload, cut to 1 KiB (a string, or null when withheld).
                if dl["payload"] is not None:
                    self.assertIsInstance(dl["payload"], str)
                    self.assertLessEqual(len(dl["payload"].encode()), 1024)
                    if len(payload) <= 1024:
                        # As sent; a JSON object may come re-serialised.
                        sent = parse(payload)
                        if isinstance(sent, dict):
                            self.assertEqual(parse(dl["payload"].encode()), sent)
                        else:
                            self.assertEqual(dl["payload"].encode(), payload)
                s = self.stats(lambda s, n=base["rejected"] + i + 1: s["rejected"] >= n)
                self.assertEqual(s["rejected"], base["rejected"] + i + 1,
                                 "one rejection counted per bad message")
        s = self.last_stats()
        self.assertEqual(s["accepted"], base["accepted"])
        self.assertEqual(s["rejected"], base["rejected"] + len(CASES))
        self.assertEqual(s["received"], base["received"] + len(CASES))
        self.assertEqual(s["incidents_open"], 0)
        self.assertEqual(self.daemon.count("dedup"), 0, "nothing applied")

        # Reports and commands rejected as a whole are answered too.
        r = self.sub.last_json(self.topic("A/reply/u1"), lambda j: j.get("error") == "bad_command")
        self.assertIs(r["ok"], False)

        # Nothing else was harmed: good input still works.
        self.event("A", "d17", {"type": "smoke", "id": "ok-1",
                                "location": {"building": "1", "floor": "1"}})
        inc = self.incident("A")
        self.assertEqual(inc["class"], "fire")
        good += 1
        self.pub.publish(self.topic("A/report/u1"), {"category": "repair", "text": "door"})
        self.assertTrue(self.sub.last_json(self.topic("A/reply/u1"), lambda j: j.get("ok"))["ok"])
        good += 1
        s = self.stats(lambda s: s["accepted"] == base["accepted"] + good)
        self.assertEqual(s["rejected"], base["rejected"] + len(CASES))
        self.assertIs(self.daemon.died(), None)

    def test_oversized_packet_never_reaches_siteward(self):
        """siteward's CONNECT carries a Maximum Packet Size (2 MiB): the
        broker drops a larger message for it instead of making Paho allocate
        it. What comes after is applied as usual."""
        self.pub.publish(self.topic("A/event/sensor/huge"),
                         b'{"type": "smoke", "pad": "' + b"z" * (3 << 20) + b'"}')
        self.event("A", "d9", {"type": "smoke", "id": "after",
                               "location": {"building": "9", "floor": "1"}})
        inc = self.incident("A")
        self.assertEqual(inc["sources"], ["sensor/d9"])
        s = self.stats(lambda s: s["accepted"] >= 1)
        self.assertEqual((s["received"], s["rejected"]), (1, 0), "the huge one never arrived")

    def test_bad_message_between_good_ones(self):
        loc = {"building": "2", "floor": "5"}
        self.event("A", "d1", {"type": "smoke", "id": "g1", "location": loc})
        first = self.incident("A")
        self.pub.publish(self.topic("A/event/sensor/d2"), b'{"type": "smoke", "location": ')
        self.event("A", "d3", {"type": "smoke", "id": "g3", "location": loc})
        joined = self.incident("A", lambda j: j["events"] == 2)
        self.assertEqual(joined["id"], first["id"])
        self.assertEqual(joined["sources"], ["sensor/d1", "sensor/d3"])
        self.sub.wait_for(self.topic("A/deadletter"))
        s = self.stats(lambda s: s["accepted"] == 2)
        self.assertEqual(s["rejected"], 1)


if __name__ == "__main__":
    unittest.main()

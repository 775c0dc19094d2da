"""Bad input gets a dead letter with a stable code and a reason, a counter,
and harms nothing else. (Topics of another shape never reach siteward: its
subscriptions only match the contract's; the pipeline tests cover
bad_topic.)"""

import json
import unittest

from harness import E2E, PREFIX

CASES = [
    # (topic suffix, payload, dead-letter site, code)
    ("A/event/sensor/d1", b"{not json", "A", "bad_json"),
    ("A/event/sensor/d1", b"[1, 2]", "A", "bad_json"),
    ("A/event/sensor/d1", b'{"id": "x"}', "A", "bad_field"),
    ("A/event/sensor/d1", b'{"type": 7}', "A", "bad_field"),
    ("A/event/sensor/d1", b'{"type": "smoke", "ts": "yesterday"}', "A", "bad_field"),
    ("A/event/sensor/d1", b'{"type": "smoke", "state": "burning"}', "A", "bad_field"),
    ("A/event/sensor/d1", b'{"type": "unicorn"}', "A", "unknown_type"),
    ("A/event/sensor/d1", b'{"type": "smoke", "data": {"x": "' + b"y" * 5000 + b'"}}', "A",
     "bad_field"),
    ("A/event/sensor/d1", b'{"type": "smoke", "pad": "' + b"z" * (70 * 1024) + b'"}', "A",
     "too_large"),
    ("A/event/radar/d1", b'{"type": "smoke"}', "A", "bad_source"),
    ("A/event/sensor/d 1", b'{"type": "smoke"}', "A", "bad_id"),
    ("_x/event/sensor/d1", b'{"type": "smoke"}', "_unknown", "bad_site"),
    ("%s/event/sensor/d1" % ("S" * 65), b'{"type": "smoke"}', "_unknown", "bad_site"),
    ("A/report/u1", b'{"text": "no category"}', "A", "bad_field"),
    ("A/cmd/u1", b'{"incident": "A-1"}', "A", "bad_command"),
]


class DeadLetters(E2E):
    def test_every_kind_of_bad_input(self):
        for i, (suffix, payload, site, code) in enumerate(CASES):
            topic = PREFIX + "/" + suffix
            self.pub.publish(topic, payload)
            dl = self.sub.last_json(PREFIX + "/%s/deadletter" % site,
                                    lambda j, t=topic: j["topic"] == t and j["error"] == code)
            self.assertTrue(dl["message"], code)
            self.assertLessEqual(len(dl["payload"] or ""), 1024 + 8)
        s = self.stats(lambda s: s["rejected"] == len(CASES))
        self.assertEqual(s["accepted"], 0)
        # A report or command rejected as a whole is also answered.
        r = self.sub.last_json(PREFIX + "/A/reply/u1", lambda j: j.get("error") == "bad_command")
        self.assertFalse(r["ok"])

        # Nothing else was harmed: a good event still opens its incident.
        self.pub.publish(PREFIX + "/A/event/sensor/d17",
                         {"type": "smoke", "location": {"building": "1", "floor": "1"}})
        inc = self.sub.last_json(PREFIX + "/A/incident/+")
        self.assertEqual(inc["class"], "fire")
        self.stats(lambda s: s["accepted"] == 1)


if __name__ == "__main__":
    unittest.main()

"""Expected events end to end on a scaled clock.

MissedPatrol (--clock-scale 1200: a 2-hour patrol slot lasts 6 seconds, an
hourly night slot 3): a guard checks in at one point of a two-point round
and never at the other; siteward opens a patrol_missed incident listing the
point that was missed, tells the security supervisor, and keeps the
check-ins as records.

SlotSurvivesKill9 (--clock-scale 240, 2-hour slots all day: 30-second slots
on the wall clock's half minutes): a check-in at one point, kill -9, a
check-in at the other; the slot is met, and the next slot, with none, is
missed for both."""

import json
import os
import shutil
import tempfile
import time
import unittest

from datetime import datetime

from harness import E2E, PREFIX, SOURCE, wait_until

SCALE = 1200
POLICY_DIR = None


def setUpModule():
    global POLICY_DIR
    POLICY_DIR = tempfile.mkdtemp(prefix="sw-e2e-expect-")
    policy = {
        "extends": os.path.join(SOURCE, "config", "policy", "default.json"),
        "name": "e2e-expect",
        "patrols": {
            "class": "patrol_missed",
            "grace": "5m",
            "schedule": [{"from": "06:00", "to": "22:00", "every": "2h"},
                         {"from": "22:00", "to": "06:00", "every": "1h"}],
            "rounds": [{"site": "A", "name": "perimeter", "points": ["p1", "p2"]}],
        },
    }
    with open(os.path.join(POLICY_DIR, "policy.json"), "w") as f:
        json.dump(policy, f)
    policy["patrols"]["schedule"] = [{"from": "00:00", "to": "24:00", "every": "2h"}]
    policy["patrols"]["grace"] = "0m"
    with open(os.path.join(POLICY_DIR, "slots.json"), "w") as f:
        json.dump(policy, f)


def tearDownModule():
    shutil.rmtree(POLICY_DIR, ignore_errors=True)


class MissedPatrol(E2E):
    daemon_args = ("--clock-scale", str(SCALE))

    def setUp(self):
        self.policy = os.path.join(POLICY_DIR, "policy.json")
        super().setUp()

    def missed(self):
        for m in self.sub.matching(PREFIX + "/A/incident/+"):
            j = json.loads(m.payload)
            if j.get("class") == "patrol_missed":
                return j
        return None

    def test_missed_point_opens_incident(self):
        # The slot under way at start is not judged; check in at p1 all
        # along until a judged slot has passed without p2.
        n = 0
        deadline = time.time() + 60
        inc = None
        while inc is None and time.time() < deadline:
            n += 1
            self.pub.publish(PREFIX + "/A/event/patrol/p1", {"type": "checkpoint", "id": "c%d" % n})
            time.sleep(0.2)  # the check-in rhythm of the guard, not a wait for a result
            inc = self.missed()
        self.assertIsNotNone(inc, "no patrol_missed incident within 60 s")
        self.assertEqual(inc["detail"]["missing"], ["p2"])
        self.assertEqual(inc["detail"]["checked"], ["p1"])
        self.assertEqual(inc["detail"]["round"], "perimeter")
        self.assertEqual(inc["sources"], ["patrol/perimeter"])
        self.assertEqual(inc["state"], "open")
        self.assertEqual([o["name"] for o in inc["obligations"]], ["followed_up"])
        esc = self.sub.last_json(PREFIX + "/A/escalation/security_supervisor",
                                 lambda j: j["incident"] == inc["id"], timeout=10)
        self.assertEqual(esc["class"], "patrol_missed")
        # Check-ins open no incident of their own: they are records.
        self.assertGreater(self.daemon.count("records"), 0)
        self.assertEqual(self.daemon.sanitizer_reports(), [])



class SlotSurvivesKill9(E2E):
    daemon_args = ("--clock-scale", "240")
    SLOT = 30.0  # 2 h / 240; +08:00 is a whole number of slots, so slots start on :00 and :30

    def setUp(self):
        self.policy = os.path.join(POLICY_DIR, "slots.json")
        super().setUp()

    def missed(self):
        out = {}
        for m in self.sub.matching(PREFIX + "/A/incident/+"):
            j = json.loads(m.payload)
            if j.get("class") == "patrol_missed":
                out[datetime.fromisoformat(j["detail"]["from"]).timestamp()] = j
        return out

    def checkin(self, point, n):
        before = self.daemon.count("records")
        self.pub.publish(PREFIX + "/A/event/patrol/" + point, {"type": "checkpoint", "id": n})
        wait_until(lambda: self.daemon.count("records") > before, 10, "the check-in applied")

    def test_progress_survives_kill9(self):
        # The slot under way at start is not judged: use the next one, from
        # its beginning, so that both check-ins and the restart fall in it
        # (on a machine too busy for that, the next one again).
        for attempt in range(3):
            start = (int(time.time() // self.SLOT) + 1) * self.SLOT
            wait_until(lambda: time.time() >= start + 0.2, self.SLOT + 5, "the next slot")
            self.checkin("p1", "k1-%d" % attempt)
            self.daemon.kill9()
            self.daemon.start(watcher=self.sub)
            self.checkin("p2", "k2-%d" % attempt)
            if time.time() < start + self.SLOT:
                break
        else:
            self.fail("three slots in a row were too short for a check-in, kill -9, restart "
                      "and a check-in")
        # The slot after it has no check-in: its incident says both were missed.
        wait_until(lambda: start + self.SLOT in self.missed(), 3 * self.SLOT,
                   "the next slot missed")
        nxt = self.missed()[start + self.SLOT]
        self.assertEqual(nxt["detail"]["missing"], ["p1", "p2"])
        self.assertNotIn(start, self.missed(), "the slot with both check-ins was met")

if __name__ == "__main__":
    unittest.main()

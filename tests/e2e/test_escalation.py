"""Escalation on a scaled clock (--clock-scale 60: a 5-minute limit passes
in 5 seconds): a missed obligation escalates along the emergency chain,
never early; after kill -9 a deadline that passed while siteward was down
fires at once, marked late."""

import json
import time
import unittest
from datetime import datetime

from harness import E2E, PREFIX, wait_until

SCALE = 60.0


def ts(s):
    return datetime.fromisoformat(s).timestamp()


class Escalation(E2E):
    daemon_args = ("--clock-scale", str(SCALE))

    def open_fire(self):
        self.pub.publish(PREFIX + "/A/event/sensor/d17",
                         {"type": "smoke", "id": "e1", "location": {"building": "3", "floor": "12"}})
        return self.sub.last_json(PREFIX + "/A/incident/+")

    def test_missed_obligation_escalates_in_order(self):
        inc = self.open_fire()
        obl = {o["name"]: o for o in inc["obligations"]}
        due = ts(obl["plan_activated"]["due"])
        self.assertAlmostEqual(due - ts(inc["opened"]), 300 / SCALE, 2)

        first = self.sub.wait_for(PREFIX + "/A/escalation/supervisor", timeout=30)[0]
        arrived = time.time()
        self.assertGreaterEqual(arrived, due, "never before the due time")
        e = json.loads(first.payload)
        self.assertEqual(e["obligation"], "plan_activated")
        self.assertEqual(e["step"], 1)
        self.assertEqual(e["role"], "supervisor")
        self.assertEqual(e["incident"], inc["id"])

        # Step 2 of the emergency chain goes to the manager 2 (scaled) minutes later.
        second = self.sub.last_json(PREFIX + "/A/escalation/manager",
                                    lambda j: j.get("obligation") == "plan_activated", timeout=30)
        self.assertEqual(second["step"], 2)
        self.assertGreaterEqual(time.time(), due + 120 / SCALE)
        state = self.sub.last_json(PREFIX + "/A/incident/" + inc["id"],
                                   lambda j: j["escalation"]["level"] >= 2)
        self.assertEqual({o["name"]: o["status"] for o in state["obligations"]}["plan_activated"],
                         "missed")

        # Met: it escalates no more; late_by_s says by how much.
        self.pub.publish(PREFIX + "/A/cmd/li.wei",
                         {"op": "plan_activated", "incident": inc["id"], "request_id": "p"})
        r = self.sub.last_json(PREFIX + "/A/reply/li.wei")
        ob = {o["name"]: o for o in r["incident"]["obligations"]}["plan_activated"]
        self.assertEqual(ob["status"], "met")
        self.assertGreater(ob["late_by_s"], 0)
        n = len([m for m in self.sub.snapshot() if m.topic.startswith(PREFIX + "/A/escalation/")
                 and json.loads(m.payload).get("obligation") == "plan_activated"])
        # The task force step (10 scaled minutes after due) must not come now.
        self.sub.wait_for(PREFIX + "/A/escalation/+",
                          lambda m: json.loads(m.payload).get("obligation") == "manager_on_site",
                          timeout=30)
        later = len([m for m in self.sub.snapshot() if m.topic.startswith(PREFIX + "/A/escalation/")
                     and json.loads(m.payload).get("obligation") == "plan_activated"])
        self.assertEqual(n, later)

    def test_deadline_passed_while_down_fires_at_once_after_kill9(self):
        inc = self.open_fire()
        due = ts({o["name"]: o for o in inc["obligations"]}["plan_activated"]["due"])
        self.daemon.kill9()
        wait_until(lambda: time.time() > due + 2, 30, "the due time to pass while down")
        self.daemon.start()
        e = self.sub.last_json(PREFIX + "/A/escalation/supervisor",
                               lambda j: j.get("obligation") == "plan_activated", timeout=15)
        self.assertGreaterEqual(e["overdue_s"], 1, "marked late")
        self.assertEqual(e["incident"], inc["id"])


if __name__ == "__main__":
    unittest.main()

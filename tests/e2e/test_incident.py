"""A smoke alarm becomes a retained Level I incident with its obligations;
a second detector joins it; a retransmission is a counted duplicate."""

import json
import time
import unittest
from datetime import datetime

from harness import E2E, Client, PREFIX

SMOKE = {"type": "smoke", "id": "d17-000123", "location": {"building": "3", "floor": "12"}}


def ts(s):
    return datetime.fromisoformat(s).timestamp()


class Incident(E2E):
    def test_smoke_alarm_opens_retained_level1_incident(self):
        t = time.monotonic()
        self.pub.publish(PREFIX + "/A/event/sensor/d17", SMOKE)
        inc = self.sub.last_json(PREFIX + "/A/incident/+", timeout=5)
        self.assertLess(time.monotonic() - t, 1.0, "incident within 1 s")
        self.assertRegex(inc["id"], r"^A-\d{8}-0001$")
        self.assertEqual(inc["class"], "fire")
        self.assertEqual(inc["level"], 1)
        self.assertEqual(inc["state"], "open")
        self.assertEqual(inc["location"], {"building": "3", "floor": "12"})
        self.assertTrue(inc["opened"].endswith("+08:00"))
        obl = {o["name"]: o for o in inc["obligations"]}
        self.assertEqual(obl["plan_activated"]["status"], "pending")
        self.assertAlmostEqual(ts(obl["plan_activated"]["due"]) - ts(inc["opened"]), 300, 3)
        self.assertAlmostEqual(ts(obl["manager_on_site"]["due"]) - ts(inc["opened"]), 600, 3)

        # Retained: a late subscriber gets the current state.
        late = Client(self.broker.port, subscribe=(PREFIX + "/A/incident/#",))
        try:
            m = late.wait_for(PREFIX + "/A/incident/#")[0]
            self.assertTrue(m.retain)
            self.assertEqual(json.loads(m.payload)["id"], inc["id"])
        finally:
            late.close()

        # Level I: the manager and the control room hear at once.
        esc = self.sub.last_json(PREFIX + "/A/escalation/manager")
        self.assertEqual(esc["incident"], inc["id"])
        self.sub.wait_for(PREFIX + "/A/escalation/control_room")

    def test_second_detector_joins_and_duplicate_counts(self):
        self.pub.publish(PREFIX + "/A/event/sensor/d17", SMOKE)
        first = self.sub.last_json(PREFIX + "/A/incident/+")
        self.pub.publish(PREFIX + "/A/event/sensor/d18",
                         {"type": "heat", "id": "x1", "location": {"building": "3", "floor": "12"}})
        joined = self.sub.last_json(PREFIX + "/A/incident/+", lambda j: j["events"] == 2)
        self.assertEqual(joined["id"], first["id"])
        self.assertEqual(joined["sources"], ["sensor/d17", "sensor/d18"])

        self.pub.publish(PREFIX + "/A/event/sensor/d18",
                         {"type": "heat", "id": "x1", "location": {"building": "3", "floor": "12"}})
        self.stats(lambda s: s["duplicates"] == 1)
        # Another floor is another incident.
        self.pub.publish(PREFIX + "/A/event/sensor/d30",
                         {"type": "smoke", "location": {"building": "3", "floor": "13"}})
        other = self.sub.last_json(PREFIX + "/A/incident/+", lambda j: j["id"] != first["id"])
        self.assertEqual(other["events"], 1)
        s = self.stats(lambda s: s["accepted"] == 3)
        self.assertEqual(s["duplicates"], 1)
        self.assertEqual(s["incidents_open"], 2)
        # The duplicate never reached the incident.
        incs = [json.loads(m.payload) for m in self.sub.snapshot()
                if m.topic == PREFIX + "/A/incident/" + first["id"]]
        self.assertEqual(max(i["events"] for i in incs), 2)


if __name__ == "__main__":
    unittest.main()

"""A smoke alarm becomes a retained Level I fire incident with its two
obligations, within a second; its id names the site, the site's local date
and the daily sequence; obligations count from the alarm's own time."""

import json
import time
import unittest
from datetime import datetime, timedelta, timezone

from harness import E2E, Client

SMOKE = {"type": "smoke", "id": "d17-000123", "state": "alarm",
         "location": {"building": "3", "floor": "12", "unit": "1203", "area": "corridor"}}
SITE_TZ = timezone(timedelta(hours=8))  # config/siteward.json: sites "*" timezone +08:00


def ts(s):
    return datetime.fromisoformat(s).timestamp()


class Incident(E2E):
    def check_fire(self, inc, location):
        self.assertEqual(inc["site"], "A")
        self.assertEqual(inc["class"], "fire")
        self.assertEqual(inc["level"], 1)
        self.assertEqual(inc["priority"], "urgent")
        self.assertEqual(inc["state"], "open")
        self.assertEqual(inc["location"], location)
        self.assertEqual(inc["events"], 1)
        self.assertEqual(inc["sources"], ["sensor/d17"])
        # Times in the site's zone; the id's date is the site's local date
        # of the opening.
        self.assertTrue(inc["opened"].endswith("+08:00"), inc["opened"])
        opened = datetime.fromisoformat(inc["opened"])
        self.assertRegex(inc["id"], r"^A-\d{8}-\d{4}$")
        self.assertEqual(inc["id"][2:10], opened.astimezone(SITE_TZ).strftime("%Y%m%d"))
        obl = {o["name"]: o for o in inc["obligations"]}
        self.assertEqual(set(obl), {"plan_activated", "manager_on_site"})
        for o in obl.values():
            self.assertEqual(o["status"], "pending")
            self.assertTrue(o["due"].endswith("+08:00"), o["due"])
        self.assertAlmostEqual(ts(obl["plan_activated"]["due"]) - ts(inc["opened"]), 300, delta=0.01)
        self.assertAlmostEqual(ts(obl["manager_on_site"]["due"]) - ts(inc["opened"]), 600, delta=0.01)

    def test_smoke_alarm_opens_retained_level1_incident(self):
        t0 = time.monotonic()
        self.event("A", "d17", SMOKE)
        msgs = self.sub.wait_for(self.topic("A/incident/+"), timeout=10)
        elapsed = time.monotonic() - t0
        self.assertLess(elapsed, 1.0, "incident published within 1 s of the alarm")
        m = msgs[0]
        inc = json.loads(m.payload)
        self.assertEqual(m.topic, self.topic("A/incident/" + inc["id"]))
        self.assertEqual(m.qos, 1)
        self.assertRegex(inc["id"], r"^A-\d{8}-0001$", "first incident of the day")
        self.check_fire(inc, SMOKE["location"])
        before = time.time()
        self.assertLessEqual(abs(ts(inc["opened"]) - before), 60, "opened now (no ts sent)")

        # Retained: a late subscriber gets the current state.
        got = self.retained_incidents("A")
        self.assertEqual(list(got), [inc["id"]])
        self.assertEqual(got[inc["id"]]["state"], "open")
        self.assertEqual(got[inc["id"]]["class"], "fire")

        # The event is in the store's dedup index, pointing to the incident
        # after the 8-byte time it was received (store.h).
        dedup = dict(self.daemon.items("dedup"))
        self.assertEqual(dedup.get(b"E/A/sensor/d17/d17-000123")[8:], inc["id"].encode())

        # Level I: the manager and the control room hear at once (policy "notify").
        esc = self.sub.last_json(self.topic("A/escalation/manager"))
        self.assertEqual(esc["incident"], inc["id"])
        self.assertEqual(self.sub.last_json(self.topic("A/escalation/control_room"))["incident"],
                         inc["id"])

        s = self.stats(lambda s: s["accepted"] >= 1)
        self.assertEqual(s["accepted"], 1)
        self.assertEqual(s["incidents_open"], 1)
        self.assertEqual(s["timers_armed"], 2, "two pending obligations")

    def test_obligations_count_from_the_alarm_time(self):
        # A device's own timestamp, 30 s ago, in another zone: the incident
        # opens at that instant, shown in the site's zone.
        alarm = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=30)
        ev = dict(SMOKE, id="e-ts", ts=alarm.astimezone(timezone(timedelta(hours=-5))).isoformat())
        self.event("A", "d17", ev)
        inc = self.incident("A")
        self.check_fire(inc, SMOKE["location"])
        self.assertAlmostEqual(ts(inc["opened"]), alarm.timestamp(), delta=0.01)
        obl = {o["name"]: o for o in inc["obligations"]}
        self.assertAlmostEqual(ts(obl["plan_activated"]["due"]), alarm.timestamp() + 300, delta=0.01)

        # Epoch milliseconds work too.
        ms = int((time.time() - 20) * 1000)
        self.event("A", "d17", dict(SMOKE, id="e-ms", ts=ms, location={"building": "4", "floor": "1"}))
        inc2 = self.incident("A", lambda j: j["location"] == {"building": "4", "floor": "1"})
        self.assertNotEqual(inc2["id"], inc["id"])
        self.assertAlmostEqual(ts(inc2["opened"]), ms / 1000.0, delta=0.01)
        self.assertEqual(int(inc2["id"][-4:]), int(inc["id"][-4:]) + 1, "daily sequence")

    def test_other_site_other_incident(self):
        self.event("A", "d17", SMOKE)
        a = self.incident("A")
        self.event("B-2", "d17", SMOKE)
        b = self.incident("B-2")
        self.assertTrue(b["id"].startswith("B-2-"), b["id"])
        self.assertEqual(b["site"], "B-2")
        self.assertEqual(b["id"][-4:], "0001", "the sequence is per site")
        self.assertNotEqual(a["id"], b["id"])


class OtherPrefix(E2E):
    """--prefix moves every topic siteward reads and writes."""
    prefix = "alt-pfx"

    def test_prefix_flag(self):
        other = Client(self.broker.port, subscribe=("siteward/#",))
        try:
            self.event("A", "d17", SMOKE)
            inc = self.incident("A")
            self.assertEqual(inc["class"], "fire")
            # And nothing under the default prefix (the incident topic is
            # published after the status, so both would have come by now).
            stray = [m.topic for m in other.snapshot()]
            self.assertEqual(stray, [])
            # Events under the default prefix are not siteward's business here.
            other.publish("siteward/A/event/sensor/d99",
                          dict(SMOKE, location={"building": "9", "floor": "9"}))
            self.event("A", "d17", dict(SMOKE, id="e2", location={"building": "8", "floor": "8"}))
            self.incident("A", lambda j: j["location"]["building"] == "8")
            self.assertEqual([j for j in (json.loads(m.payload) for m in
                                          self.sub.matching(self.topic("A/incident/+")))
                              if j["location"]["building"] == "9"], [])
        finally:
            other.close()


if __name__ == "__main__":
    unittest.main()

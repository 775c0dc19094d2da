"""A planned power cut against the real daemon and broker: inside its
window a power loss in that building is recorded on the work and opens no
incident; an alarm still active when the window ends opens its Level II
incident then; one cleared inside the window never does. Silences mute a
class until unsilenced."""

import json
import os
import subprocess
import time
import unittest
from datetime import datetime, timedelta, timezone

from harness import BUILD, E2E, PREFIX, wait_until

CTL = os.path.join(BUILD, "bin", "sitewardctl")

TZ = timezone(timedelta(hours=8))


def rfc3339(t):
    return datetime.fromtimestamp(t, TZ).isoformat(timespec="seconds")


class PlannedWork(E2E):
    def plan(self, start, end, building="3"):
        since = self.sub.count()
        self.pub.publish(PREFIX + "/A/report/eng.zhang",
                         {"report_id": "pw-1", "category": "planned_work", "kind": "power_cut",
                          "start": rfc3339(start), "end": rfc3339(end),
                          "text": "transformer maintenance", "location": {"building": building}})
        return self.sub.last_json(PREFIX + "/A/reply/eng.zhang", since=since)

    def power(self, device, eid, state="alarm", building="3"):
        self.event("A", device, {"type": "power_loss", "id": eid, "state": state,
                                 "location": {"building": building}})

    def test_power_cut_explains_its_alarms_and_one_outlasts_it(self):
        now = time.time()
        start, end = int(now) - 1, int(now) + 5
        r = self.plan(start, end)
        self.assertTrue(r["ok"], r)
        work = r["incident"]
        self.assertEqual(work["class"], "planned_power_cut")
        self.assertEqual(work["planned"]["kind"], "power_cut")
        # Reported a second before it starts: both notices were missed at once.
        self.assertEqual({o["name"]: o["status"] for o in work["obligations"]},
                         {"customer_service_notified": "missed", "residents_notified": "missed"})

        self.power("pm-1", "a1")             # cleared inside the window
        self.power("pm-2", "b1")             # still on at the end
        self.power("pm-1", "a2", "normal")
        explained = self.sub.last_json(PREFIX + "/A/incident/" + work["id"],
                                       lambda j: j["events"] >= 4)
        self.assertIn("sensor/pm-2", explained["sources"])
        self.assertEqual(explained["state"], "open")
        # Nothing else opened, and no Level II notice or escalation of a power loss.
        others = [m for m in self.sub.snapshot()
                  if m.topic.startswith(PREFIX + "/A/incident/") and
                  not m.topic.endswith(work["id"])]
        self.assertEqual(others, [])

        # At the window's end the alarm still on opens its incident.
        inc = self.incident("A", lambda j: j["class"] == "power_loss", timeout=20)
        self.assertGreaterEqual(time.time(), end)
        self.assertEqual(inc["level"], 2)
        self.assertEqual(inc["sources"], ["sensor/pm-2"])
        self.assertGreaterEqual(datetime.fromisoformat(inc["opened"]).timestamp(), end)
        resolved = self.sub.last_json(PREFIX + "/A/incident/" + work["id"],
                                      lambda j: j["state"] == "resolved")
        self.assertEqual(resolved["planned"]["end"], rfc3339(end))
        # pm-1 was cleared inside the window: one power-loss incident only.
        ids = {m.topic for m in self.sub.snapshot()
               if m.topic.startswith(PREFIX + "/A/incident/") and
               json.loads(m.payload or b"{}").get("class") == "power_loss"}
        self.assertEqual(len(ids), 1)
        # The explained alarms are on the work's timeline.
        tl = [json.loads(v) for k, v in self.daemon.items("timeline")
              if k.startswith(work["id"].encode() + b"/")]
        self.assertEqual(len([e for e in tl if e.get("explained")]), 3)
        self.assertEqual([e["alarms_active"] for e in tl if e["kind"] == "window_ended"], [1])

    def test_weekend_pest_control_refused(self):
        # The next Saturday, site time.
        day = datetime.now(TZ) + timedelta(days=1)
        while day.weekday() != 5:
            day += timedelta(days=1)
        start = day.replace(hour=9, minute=0, second=0, microsecond=0)
        since = self.sub.count()
        self.pub.publish(PREFIX + "/A/report/env.wu",
                         {"report_id": "pc-1", "category": "planned_work", "kind": "pest_control",
                          "start": start.isoformat(), "end": (start + timedelta(hours=2)).isoformat()})
        r = self.sub.last_json(PREFIX + "/A/reply/env.wu", since=since)
        self.assertFalse(r["ok"])
        self.assertEqual(r["error"], "not_allowed")
        self.assertIn("Saturday", r["message"])
        dl = self.sub.last_json(PREFIX + "/A/deadletter", since=since)
        self.assertEqual(dl["error"], "not_allowed")

    def test_silence_mutes_a_class_until_unsilenced(self):
        r = self.command("A", "li.wei", {"op": "silence", "class": "power_loss", "for": "2h",
                                         "reason": "grid switching tonight", "request_id": "s1"})
        self.assertTrue(r["ok"], r)
        sid = r["silence"]["id"]
        self.assertEqual(r["silence"]["by"], "li.wei")
        self.power("pm-9", "m1", building="9")
        wait_until(lambda: any(b"silenced_by" in v for _, v in self.daemon.items("records")),
                   what="the muted event kept as a record")
        r = self.command("A", "li.wei", {"op": "unsilence", "silence": sid, "request_id": "s2"})
        self.assertEqual(r["silence"]["state"], "ended")
        self.assertEqual(r["silence"]["muted"], 1)
        self.power("pm-9", "m2", building="9")
        inc = self.incident("A", lambda j: j["class"] == "power_loss")
        self.assertEqual(inc["sources"], ["sensor/pm-9"])
        self.assertEqual(inc["events"], 1)
        # sitewardctl shows it, with who set it and why, while siteward runs.
        out = subprocess.run([CTL, "--state", self.daemon.state, "--config", self.daemon.config,
                              "--json", "silences", "--site", "A"],
                             capture_output=True, timeout=20, check=True).stdout.decode()
        rows = [json.loads(l) for l in out.splitlines()]
        self.assertEqual([(r["id"], r["state"], r["by"], r["reason"], r["ended_by"], r["muted"])
                          for r in rows],
                         [(sid, "ended", "li.wei", "grid switching tonight", "li.wei", 1)])
        table = subprocess.run([CTL, "--state", self.daemon.state, "silences"],
                               capture_output=True, timeout=20, check=True).stdout.decode()
        self.assertIn("class power_loss", table)
        self.assertIn("1 silence\n", table)


if __name__ == "__main__":
    unittest.main()

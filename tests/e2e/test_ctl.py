"""sitewardctl reads the state directory while the daemon runs: list with
filters, show, timeline, export; contacts only with --show-personal."""

import json
import os
import subprocess
import unittest

from harness import BUILD, E2E

CTL = os.path.join(BUILD, "bin", "sitewardctl")
PHONE = "13800138000"


class Ctl(E2E):
    def ctl(self, *args, expect=0):
        r = subprocess.run([CTL, "--state", self.daemon.state, "--config", self.daemon.config]
                           + list(args), capture_output=True, timeout=20)
        self.assertEqual(r.returncode, expect, r.stderr.decode())
        return r.stdout.decode()

    def test_list_show_timeline_while_running(self):
        self.event("A", "d17", {"type": "smoke", "id": "e1",
                                "location": {"building": "3", "floor": "12"}})
        fire = self.incident("A")
        self.pub.publish(self.topic("A/report/resident-7"),
                         {"report_id": "r-1", "category": "repair", "text": "tap",
                          "location": {"building": "3", "unit": "1203"},
                          "contact": {"name": "Zhang San", "phone": PHONE}})
        repair = self.sub.last_json(self.topic("A/reply/resident-7"))["incident"]
        r = self.command("A", "li.wei", {"op": "ack", "incident": fire["id"], "request_id": "c1"})
        self.assertTrue(r["ok"])

        rows = [json.loads(l) for l in self.ctl("--json", "list").splitlines()]
        self.assertEqual({i["id"] for i in rows}, {fire["id"], repair["id"]})
        only = [json.loads(l) for l in self.ctl("list", "--json", "--level", "1").splitlines()]
        self.assertEqual([i["id"] for i in only], [fire["id"]])
        self.assertEqual(self.ctl("list", "--json", "--state-is", "acknowledged").count("\n"), 1)
        text = self.ctl("list", "--class", "repair")
        self.assertIn(repair["id"], text)
        self.assertNotIn(fire["id"], text)
        self.assertIn("1 incident", text)

        shown = json.loads(self.ctl("show", fire["id"], "--json"))
        self.assertEqual(shown["state"], "acknowledged")
        self.assertEqual(shown["opened"], fire["opened"])
        self.assertNotIn(PHONE, self.ctl("show", repair["id"]))
        personal = json.loads(self.ctl("show", repair["id"], "--json", "--show-personal"))
        self.assertEqual(personal["contacts"][0]["contact"]["phone"], PHONE)

        tl = [json.loads(l) for l in self.ctl("timeline", fire["id"], "--json").splitlines()]
        kinds = [(e["kind"], e["by"]) for e in tl]
        self.assertEqual(kinds[0], ("event", "sensor/d17"))
        self.assertIn(("command", "li.wei"), kinds)
        self.assertIn(("state", "li.wei"), kinds)
        self.assertEqual(tl[0]["ts"][-6:], "+08:00")
        self.assertNotIn(PHONE, self.ctl("timeline", repair["id"]))

        exported = self.ctl("export").splitlines()
        self.assertEqual(len(exported), 2)
        self.ctl("show", "A-20200101-0001", expect=66)
        self.ctl("frobnicate", expect=64)


if __name__ == "__main__":
    unittest.main()

"""The post-incident review end to end on a scaled clock: a closed Level I
incident owes its review (1 hour in this test's policy, 5 s at 720x), escalates to the manager
when it is overdue, and is reviewed on submission; sitewardctl's review
output is checked field by field against a golden file, with the volatile
fields (ids and times) masked."""

import json
import os
import re
import subprocess
import unittest

from harness import BUILD, E2E

CTL = os.path.join(BUILD, "bin", "sitewardctl")
HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "golden", "review.json")
SCALE = 720

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?\+08:00$")
ID = re.compile(r"^A-\d{8}-\d{4}$")


def mask(v):
    """Times and incident ids vary from run to run: keep only their shape."""
    if isinstance(v, dict):
        return {k: "<seconds>" if k in ("late_by_s", "overdue_s") else mask(x)
                for k, x in v.items()}
    if isinstance(v, list):
        return [mask(x) for x in v]
    if isinstance(v, str) and TIME.match(v):
        return "<time>"
    if isinstance(v, str) and ID.match(v):
        return "<id>"
    if isinstance(v, str) and v.startswith("siteward/A/incident/"):
        return "siteward/A/incident/<id>"
    return v


class Review(E2E):
    daemon_args = ("--clock-scale", str(SCALE))
    policy = os.path.join(HERE, "golden", "policy-review.json")

    def ctl(self, *args):
        r = subprocess.run([CTL, "--state", self.daemon.state, "--config", self.daemon.config]
                           + list(args), capture_output=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        return r.stdout.decode()

    def test_close_overdue_escalation_submission(self):
        self.event("A", "d17", {"type": "smoke", "id": "e1",
                                "location": {"building": "3", "floor": "12"}})
        iid = self.incident("A")["id"]
        for i, (user, op) in enumerate([("li.wei", "plan_activated"), ("wang.fang", "on_site"),
                                        ("wang.fang", "close")]):
            self.assertTrue(self.command("A", user, {"op": op, "incident": iid,
                                                     "request_id": "s%d" % i})["ok"])
        closed = self.incident("A", lambda j: j["state"] == "closed")
        self.assertEqual(closed["review"]["status"], "pending")

        # An hour (scaled) later: overdue, and the manager is told.
        esc = self.sub.last_json(self.topic("A/escalation/manager"),
                                 lambda j: j.get("obligation") == "review", timeout=30)
        self.assertEqual(esc["incident"], iid)
        self.assertEqual(esc["step"], 1)
        overdue = self.incident("A", lambda j: j["review"]["status"] == "overdue")
        self.assertEqual(overdue["state"], "closed")

        r = self.command("A", "wang.fang", {
            "op": "review", "incident": iid, "request_id": "rv",
            "problem": "smoke detector d17 fouled by dust",
            "rectification": "detector cleaned and tested",
            "optimization": "detectors on floor 12 cleaned quarterly",
            "participants": ["li.wei", "wang.fang"]})
        self.assertTrue(r["ok"], r)
        self.assertEqual(r["incident"]["state"], "reviewed")
        self.assertEqual(r["incident"]["review"]["status"], "submitted")

        doc = json.loads(self.ctl("review", iid, "--format", "json"))
        del doc["timeline"]  # the whole record; its kinds are checked below
        for e in doc["escalations"] + doc["commands"]:
            e.pop("seq", None)
        got = mask(doc)
        if os.environ.get("SW_UPDATE_GOLDEN"):
            with open(GOLDEN, "w") as f:
                json.dump(got, f, indent=2, ensure_ascii=False, sort_keys=True)
                f.write("\n")
        with open(GOLDEN) as f:
            want = json.load(f)
        self.maxDiff = None
        for key in want:
            self.assertEqual(got.get(key), want[key], "review field %s" % key)
        self.assertEqual(set(got), set(want))

        kinds = [e["kind"] for e in json.loads(self.ctl("review", iid, "--format", "json"))["timeline"]]
        self.assertEqual(kinds[0], "event")
        self.assertIn("escalation", kinds)
        self.assertEqual(kinds[-1], "state")
        md = self.ctl("review", iid)
        self.assertIn("(submitted)", md)
        self.assertIn("- participants: li.wei wang.fang", md)


if __name__ == "__main__":
    unittest.main()

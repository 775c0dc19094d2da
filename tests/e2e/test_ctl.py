"""sitewardctl reads the state directory while the daemon runs: list with
filters, show, timeline, export; contacts only with --show-personal."""

import json
import os
import subprocess
import struct
import unittest

import lmdb

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

        # The review: a draft once closed, then the submitted fields.
        for i, op in enumerate(["plan_activated", "on_site", "close"]):
            self.assertTrue(self.command("A", "wang.fang", {"op": op, "incident": fire["id"],
                                                            "request_id": "r%d" % i})["ok"])
        draft = json.loads(self.ctl("review", fire["id"], "--format", "json"))
        self.assertEqual(draft["status"], "draft")
        self.assertEqual({o["name"]: o["status"] for o in draft["obligations"]},
                         {"plan_activated": "met", "manager_on_site": "met", "review": "pending"})
        self.assertEqual([e["role"] for e in draft["escalations"]], ["manager", "control_room"])
        self.assertEqual([(c["op"], c["by"]) for c in draft["commands"]],
                         [("ack", "li.wei"), ("plan_activated", "wang.fang"),
                          ("on_site", "wang.fang"), ("close", "wang.fang")])
        self.assertNotIn("review", draft)
        md = self.ctl("review", fire["id"])
        self.assertIn("# Post-incident review: %s (draft)" % fire["id"], md)
        self.assertIn("| manager_on_site |", md)
        r = self.command("A", "wang.fang", {"op": "review", "incident": fire["id"],
                                            "request_id": "rv", "problem": "detector dust",
                                            "rectification": "cleaned",
                                            "optimization": "quarterly cleaning",
                                            "participants": ["li.wei", "wang.fang"]})
        self.assertTrue(r["ok"], r)
        done = json.loads(self.ctl("review", fire["id"], "--format", "json"))
        self.assertEqual(done["status"], "submitted")
        self.assertEqual(done["review"]["problem"], "detector dust")
        self.assertEqual(done["review"]["participants"], ["li.wei", "wang.fang"])
        self.assertEqual(done["review"]["by"], "wang.fang")
        self.assertEqual(done["incident"]["state"], "reviewed")
        self.assertIn("- optimization: quarterly cleaning", self.ctl("review", fire["id"]))
        self.ctl("review", fire["id"], "--format", "xml", expect=64)

        day = fire["opened"][:10]
        self.assertEqual(len(self.ctl("list", "--json", "--from", day, "--to", day).splitlines()), 2)
        self.assertEqual(self.ctl("list", "--json", "--from", "2099-01-01"), "")
        closed = [json.loads(l) for l in self.ctl("list", "--json", "--closed").splitlines()]
        self.assertEqual([i["id"] for i in closed], [fire["id"]])
        rep = json.loads(self.ctl("report", "--site", "A", "--from", day, "--to", day, "--json"))
        self.assertEqual(rep["classes"]["fire"]["count"], 1)
        self.assertEqual(rep["classes"]["repair"]["count"], 1)
        self.assertEqual(rep["reviews"], {"due": 1, "on_time": 1})
        self.assertIn("reviews: 1 of 1 on time", self.ctl("report", "--site", "A", "--from", day,
                                                          "--to", day))
        self.ctl("report", "--site", "A", expect=64)

        exported = self.ctl("export").splitlines()
        self.assertEqual(len(exported), 2)
        self.ctl("show", "A-20200101-0001", expect=66)
        self.ctl("frobnicate", expect=64)

    def test_unreadable_entries_are_reported_not_skipped(self):
        """A stored value sitewardctl cannot read (here: an event cut at a
        NUL, as siteward stored it before NULs were rejected) is named on
        stderr, shown as an "unreadable" entry, and the exit status is 65."""
        self.event("A", "d17", {"type": "smoke", "id": "e1",
                                "location": {"building": "3", "floor": "12"}})
        fire = self.incident("A")
        r = self.command("A", "li.wei", {"op": "comment", "incident": fire["id"],
                                         "request_id": "c1", "note": "checking"})
        self.assertTrue(r["ok"], r)
        before = [json.loads(l) for l in self.ctl("timeline", fire["id"], "--json").splitlines()]
        self.daemon.terminate()

        # Break the first entry and the incident record of a second incident.
        env = lmdb.open(os.path.join(self.daemon.state, "main"), max_dbs=16, subdir=True,
                        create=False, map_size=1 << 36)
        tl, inc = env.open_db(b"timeline", create=False), env.open_db(b"incidents", create=False)
        key = fire["id"].encode() + b"/" + struct.pack(">I", before[0]["seq"])
        with env.begin(write=True) as txn:
            cut = bytes(txn.get(key, db=tl)).split(b'"e1"')[0]
            txn.put(key, cut, db=tl)
            txn.put(b"A-20200101-0001", b'{"id":"A-20200101-0001","site":"A"', db=inc)
        env.close()

        r = subprocess.run([CTL, "--state", self.daemon.state, "--config", self.daemon.config,
                            "timeline", fire["id"], "--json"], capture_output=True, timeout=20)
        self.assertEqual(r.returncode, 65)
        self.assertIn("incident %s: timeline entry %d cannot be read" % (fire["id"],
                                                                         before[0]["seq"]),
                      r.stderr.decode())
        after = [json.loads(l) for l in r.stdout.decode().splitlines()]
        self.assertEqual(len(after), len(before))
        self.assertEqual((after[0]["kind"], after[0]["seq"]), ("unreadable", before[0]["seq"]))
        self.assertEqual(after[1:], before[1:])

        text = self.ctl("timeline", fire["id"], expect=65)
        self.assertIn("unreadable", text.splitlines()[0])
        self.assertIn("checking", text)
        review = json.loads(self.ctl("review", fire["id"], "--format", "json", expect=65))
        self.assertEqual(len(review["unreadable"]), 1)
        self.assertIn("Incomplete record: timeline entry", self.ctl("review", fire["id"],
                                                                    expect=65))
        listed = subprocess.run([CTL, "--state", self.daemon.state, "list", "--json"],
                                capture_output=True, timeout=20)
        self.assertEqual(listed.returncode, 65)
        self.assertIn("incident A-20200101-0001 is unreadable", listed.stderr.decode())
        # The quality report leaves them out of its figures, and says so.
        day = fire["opened"][:10]
        rep = subprocess.run([CTL, "--state", self.daemon.state, "--config", self.daemon.config,
                              "report", "--site", "A", "--from", day, "--to", day, "--json"],
                             capture_output=True, timeout=20)
        self.assertEqual(rep.returncode, 65, rep.stderr.decode())
        self.assertIn("timeline entry %s/%d is unreadable" % (fire["id"], before[0]["seq"]),
                      rep.stderr.decode())
        self.assertEqual(json.loads(rep.stdout)["classes"]["fire"]["count"], 1)
        self.assertEqual([json.loads(l)["id"] for l in listed.stdout.decode().splitlines()],
                         [fire["id"]])


if __name__ == "__main__":
    unittest.main()

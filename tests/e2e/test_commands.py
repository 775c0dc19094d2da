"""Operator commands: replies on P/{site}/reply/{user} and, when the command
carried an MQTT 5 Response Topic, there too with the same Correlation Data;
state changes and the obligations they meet; stable error codes."""

import json
import os
import subprocess
import unittest

from harness import BUILD, E2E, response_props

CTL = os.path.join(BUILD, "bin", "sitewardctl")


class Commands(E2E):
    def open_fire(self):
        self.event("A", "d17", {"type": "smoke", "id": "e1",
                                "location": {"building": "3", "floor": "12"}})
        return self.incident("A")["id"]

    def test_ack(self):
        iid = self.open_fire()
        reply = self.command("A", "li.wei", {"op": "ack", "incident": iid, "request_id": "c-9",
                                             "note": "on my way"})
        self.assertEqual(reply["request_id"], "c-9")
        self.assertIs(reply["ok"], True)
        self.assertEqual(reply["incident"]["id"], iid)
        self.assertEqual(reply["incident"]["state"], "acknowledged")
        # Fire has no obligation met by "ack": both still pending.
        self.assertEqual({o["name"]: o["status"] for o in reply["incident"]["obligations"]},
                         {"plan_activated": "pending", "manager_on_site": "pending"})
        inc = self.incident("A", lambda j: j["state"] == "acknowledged")
        self.assertEqual(inc["id"], iid)
        self.assertEqual(self.retained_incidents("A")[iid]["state"], "acknowledged")

    def test_ack_meets_obligations_met_by_ack(self):
        self.pub.publish(self.topic("A/report/resident-1"),
                         {"report_id": "r-1", "category": "repair", "text": "tap leaking",
                          "location": {"building": "3", "unit": "1203"}})
        iid = self.sub.last_json(self.topic("A/reply/resident-1"))["incident"]["id"]
        reply = self.command("A", "wang.fang", {"op": "ack", "incident": iid, "request_id": "a1"})
        self.assertTrue(reply["ok"], reply)
        inc = reply["incident"]
        self.assertEqual(inc["state"], "acknowledged")
        obl = {o["name"]: o for o in inc["obligations"]}
        self.assertEqual(obl["responded"]["status"], "met")
        self.assertEqual(obl["responded"]["by"], "wang.fang")
        self.assertTrue(obl["responded"]["met_at"].endswith("+08:00"))
        self.assertEqual(obl["progress"]["status"], "pending")
        self.assertEqual(obl["closed"]["status"], "pending")
        s = self.stats(lambda s: s["timers_armed"] == 2)
        self.assertEqual(s["incidents_open"], 1)

    def test_response_topic_and_correlation_data(self):
        iid = self.open_fire()
        resp = "console/li.wei/replies"
        self.sub.subscribe(resp)
        reply = self.command("A", "li.wei", {"op": "ack", "incident": iid, "request_id": "c-9"},
                             props=response_props(resp, b"corr-\x00\x01\xff"))
        self.assertTrue(reply["ok"])
        m = self.sub.wait_for(resp)[0]
        body = json.loads(m.payload)
        self.assertEqual(body["request_id"], "c-9")
        self.assertTrue(body["ok"])
        self.assertEqual(body["incident"]["id"], iid)
        self.assertEqual(m.properties.CorrelationData, b"corr-\x00\x01\xff")
        # The user's reply topic got it too, once.
        self.assertEqual(len(self.sub.matching(self.topic("A/reply/li.wei"))), 1)

        # An error reply goes to the response topic as well.
        self.pub.publish(self.topic("A/cmd/li.wei"),
                         {"op": "ack", "incident": "A-20200101-0099", "request_id": "c-10"},
                         props=response_props(resp, b"corr-2"))
        m = self.sub.wait_for(resp, lambda m: json.loads(m.payload)["request_id"] == "c-10")[0]
        self.assertEqual(json.loads(m.payload)["error"], "unknown_incident")
        self.assertEqual(m.properties.CorrelationData, b"corr-2")

    def test_response_topic_cannot_impersonate(self):
        iid = self.open_fire()
        # A client may not make siteward publish on an incident topic.
        self.command("A", "li.wei", {"op": "comment", "incident": iid, "request_id": "x",
                                     "note": "checking"},
                     props=response_props(self.topic("A/incident/" + iid), b"c"))
        for m in self.sub.matching(self.topic("A/incident/" + iid)):
            self.assertEqual(json.loads(m.payload)["id"], iid)
        self.assertEqual(self.retained_incidents("A")[iid]["id"], iid)

    def test_errors(self):
        iid = self.open_fire()
        cases = [
            ({"op": "ack", "incident": "A-20200101-0099", "request_id": "1"}, "unknown_incident"),
            ({"op": "ack", "incident": "B-20200101-0001", "request_id": "1b"}, "unknown_incident"),
            ({"op": "dance", "incident": iid, "request_id": "2"}, "unknown_op"),
            ({"op": "ack", "request_id": "3"}, "bad_command"),
            # A code the contract does not list yet: any stable snake_case word.
            ({"op": "reclassify", "incident": iid, "class": "unicorn", "request_id": "3d"}, None),
            ({"op": 7, "incident": iid, "request_id": "3c"}, "bad_command"),
            ({"op": "review", "incident": iid, "request_id": "4"}, "illegal_transition"),
        ]
        for cmd, code in cases:
            r = self.command("A", "wang.fang", cmd)
            self.assertIs(r["ok"], False, cmd)
            if code:
                self.assertEqual(r["error"], code, cmd)
            else:
                self.assertRegex(r["error"], r"^[a-z]+(_[a-z]+)*$", cmd)
            self.assertIsInstance(r["message"], str)
            self.assertTrue(r["message"])
        # None of them changed the incident.
        inc = self.retained_incidents("A")[iid]
        self.assertEqual(inc["state"], "open")
        self.assertEqual({o["status"] for o in inc["obligations"]}, {"pending"})

    def test_reclassify_without_class_is_bad_command(self):
        iid = self.open_fire()
        r = self.command("A", "wang.fang", {"op": "reclassify", "incident": iid,
                                            "request_id": "rc"})
        self.assertIs(r["ok"], False)
        self.assertEqual(r["error"], "bad_command")
        self.assertEqual(self.command("A", "wang.fang", {"op": "ack", "incident": iid,
                                                         "request_id": "after"})["ok"], True)
        # Restarted on the same state, it comes back (nothing in its inbox
        # stops it) with the incident as it was.
        self.assertEqual(self.daemon.terminate(), 0)
        self.daemon.start(watcher=self.sub)
        r = self.command("A", "wang.fang", {"op": "comment", "incident": iid, "request_id": "c",
                                            "note": "still here"})
        self.assertEqual(r["incident"]["state"], "acknowledged")
        self.assertEqual(r["incident"]["class"], "fire")

    def test_unknown_incident_at_another_site(self):
        iid = self.open_fire()
        # The id exists at site A; commanding it through site B must not reach it.
        r = self.command("B", "li.wei", {"op": "ack", "incident": iid, "request_id": "x1"})
        self.assertIs(r["ok"], False)
        self.assertEqual(r["error"], "unknown_incident")
        self.assertEqual(self.retained_incidents("A")[iid]["state"], "open")

    def test_full_lifecycle(self):
        iid = self.open_fire()
        for i, op in enumerate(["ack", "plan_activated", "on_site", "resolve", "close"]):
            r = self.command("A", "li.wei", {"op": op, "incident": iid, "request_id": "s%d" % i})
            self.assertTrue(r["ok"], r)
        inc = r["incident"]
        self.assertEqual(inc["state"], "closed")
        obl = {o["name"]: o for o in inc["obligations"]}
        self.assertEqual(obl["plan_activated"]["status"], "met")
        self.assertEqual(obl["plan_activated"]["by"], "li.wei")
        self.assertEqual(obl["manager_on_site"]["status"], "met")
        self.assertEqual(inc["review"]["status"], "pending")
        self.assertIsNotNone(inc["review"]["due"])
        r = self.command("A", "li.wei", {"op": "review", "incident": iid, "request_id": "rv",
                                         "problem": "detector dust", "rectification": "cleaned",
                                         "optimization": "quarterly cleaning",
                                         "participants": ["li.wei"]})
        self.assertTrue(r["ok"], r)
        self.assertEqual(r["incident"]["state"], "reviewed")
        self.assertEqual(r["incident"]["review"]["status"], "submitted")
        s = self.stats(lambda s: s["incidents_open"] == 0)
        self.assertEqual(s["timers_armed"], 0)

    def timeline(self, iid):
        r = subprocess.run([CTL, "--state", self.daemon.state, "--config", self.daemon.config,
                            "--json", "timeline", iid], capture_output=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        return [json.loads(l) for l in r.stdout.decode().splitlines()]

    def test_same_command_twice_is_applied_once(self):
        """A command is known by user + request_id: sent again (a resend,
        a broker redelivery, before or after a restart) it is answered
        again, marked duplicate, and changes nothing."""
        iid = self.open_fire()
        comment = {"op": "comment", "incident": iid, "request_id": "d-1", "note": "smell"}
        first = self.command("A", "li.wei", comment)
        self.assertTrue(first["ok"], first)
        self.assertNotIn("duplicate", first)
        again = self.command("A", "li.wei", comment)
        self.assertIs(again["ok"], True)
        self.assertIs(again["duplicate"], True)
        self.assertEqual(again["incident"]["id"], iid)

        for i, op in enumerate(["close", "reopen", "close"]):
            r = self.command("A", "li.wei", {"op": op, "incident": iid, "request_id": "s%d" % i})
            self.assertTrue(r["ok"], r)
            self.assertNotIn("duplicate", r)
        self.assertEqual(self.daemon.terminate(), 0)
        self.daemon.start(watcher=self.sub)
        r = self.command("A", "li.wei", {"op": "reopen", "incident": iid, "request_id": "s1"})
        self.assertIs(r["duplicate"], True)
        self.assertEqual(r["incident"]["state"], "closed")
        self.assertEqual(self.retained_incidents("A")[iid]["state"], "closed")

        tl = self.timeline(iid)
        self.assertEqual([e["note"] for e in tl if e.get("op") == "comment"], ["smell"])
        self.assertEqual([e["request_id"] for e in tl if e.get("op") == "reopen"], ["s1"])
        self.assertEqual(len([e for e in tl if e["kind"] == "state" and e.get("to") == "open"]), 1)
        self.assertEqual(self.stats(lambda s: s["duplicates"] >= 1)["duplicates"], 1)


if __name__ == "__main__":
    unittest.main()

"""Operator commands: replies on the user's reply topic and on the MQTT 5
response topic with the correlation data; state changes; errors."""

import json
import unittest

from harness import E2E, PREFIX, response_props


class Commands(E2E):
    def open_fire(self):
        self.pub.publish(PREFIX + "/A/event/sensor/d17",
                         {"type": "smoke", "id": "e1", "location": {"building": "3", "floor": "12"}})
        return self.sub.last_json(PREFIX + "/A/incident/+")["id"]

    def test_ack_with_response_topic(self):
        iid = self.open_fire()
        resp = PREFIX + "/A/reply/li.wei/console-1"
        self.pub.publish(PREFIX + "/A/cmd/li.wei",
                         {"op": "ack", "incident": iid, "request_id": "c-9", "note": "on my way"},
                         props=response_props(resp, b"corr-42"))
        reply = self.sub.last_json(PREFIX + "/A/reply/li.wei")
        self.assertEqual(reply["request_id"], "c-9")
        self.assertTrue(reply["ok"])
        self.assertEqual(reply["incident"]["state"], "acknowledged")
        m = self.sub.wait_for(resp)[0]
        self.assertEqual(json.loads(m.payload)["request_id"], "c-9")
        self.assertEqual(m.properties.CorrelationData, b"corr-42")
        inc = self.sub.last_json(PREFIX + "/A/incident/" + iid, lambda j: j["state"] == "acknowledged")
        self.assertEqual(inc["id"], iid)

    def test_response_topic_cannot_impersonate(self):
        iid = self.open_fire()
        # A client may not make siteward publish on an incident topic.
        self.pub.publish(PREFIX + "/A/cmd/li.wei", {"op": "comment", "incident": iid, "request_id": "x"},
                         props=response_props(PREFIX + "/A/incident/" + iid, b"c"))
        self.sub.wait_for(PREFIX + "/A/reply/li.wei")
        for m in self.sub.snapshot():
            if m.topic == PREFIX + "/A/incident/" + iid:
                self.assertIn("id", json.loads(m.payload))

    def test_errors(self):
        iid = self.open_fire()
        cases = [
            ({"op": "ack", "incident": "A-20200101-0099", "request_id": "1"}, "unknown_incident"),
            ({"op": "dance", "incident": iid, "request_id": "2"}, "unknown_op"),
            ({"op": "ack", "request_id": "3"}, "bad_command"),
            ({"op": "review", "incident": iid, "request_id": "4"}, "illegal_transition"),
        ]
        for cmd, code in cases:
            self.pub.publish(PREFIX + "/A/cmd/wang.fang", cmd)
            r = self.sub.last_json(PREFIX + "/A/reply/wang.fang",
                                   lambda j, rid=cmd["request_id"]: j.get("request_id") == rid)
            self.assertFalse(r["ok"])
            self.assertEqual(r["error"], code)
            self.assertTrue(r["message"])

    def test_full_lifecycle(self):
        iid = self.open_fire()
        for i, op in enumerate(["ack", "plan_activated", "on_site", "resolve", "close"]):
            self.pub.publish(PREFIX + "/A/cmd/li.wei", {"op": op, "incident": iid, "request_id": "s%d" % i})
            r = self.sub.last_json(PREFIX + "/A/reply/li.wei", lambda j, i=i: j.get("request_id") == "s%d" % i)
            self.assertTrue(r["ok"], r)
        inc = r["incident"]
        self.assertEqual(inc["state"], "closed")
        obl = {o["name"]: o for o in inc["obligations"]}
        self.assertEqual(obl["plan_activated"]["status"], "met")
        self.assertEqual(obl["plan_activated"]["by"], "li.wei")
        self.assertEqual(obl["manager_on_site"]["status"], "met")
        self.assertEqual(inc["review"]["status"], "pending")
        self.assertIsNotNone(inc["review"]["due"])


if __name__ == "__main__":
    unittest.main()

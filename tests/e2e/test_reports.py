"""Resident reports: the reply carries the incident; the contact is stored
and reaches no log, reply, incident, stats or dead letter."""

import json
import unittest

from harness import E2E, PREFIX, db_items

PHONE = "13800138000"
NAME = "Zhang San"


class Reports(E2E):
    def test_repair_report_reply_and_personal_data(self):
        report = {"report_id": "r-1", "category": "repair", "urgency": "general",
                  "channel": "online", "text": "Kitchen tap leaking",
                  "location": {"building": "3", "unit": "1203"},
                  "contact": {"name": NAME, "phone": PHONE}}
        self.pub.publish(PREFIX + "/A/report/resident-7", report)
        reply = self.sub.last_json(PREFIX + "/A/reply/resident-7")
        self.assertTrue(reply["ok"])
        self.assertEqual(reply["report_id"], "r-1")
        inc = reply["incident"]
        self.assertEqual(inc["class"], "repair")
        self.assertIsNone(inc["level"])
        self.assertEqual({o["name"] for o in inc["obligations"]},
                         {"responded", "progress", "closed"})

        # Sent again (a resident taps twice): the same incident, said so.
        self.pub.publish(PREFIX + "/A/report/resident-7", report)
        again = self.sub.last_json(PREFIX + "/A/reply/resident-7", lambda j: j.get("duplicate"))
        self.assertEqual(again["incident"]["id"], inc["id"])

        # A bad report with a contact is dead-lettered without it.
        self.pub.publish(PREFIX + "/A/report/resident-7",
                         {"category": "gossip", "contact": {"phone": PHONE}})
        self.sub.wait_for(PREFIX + "/A/deadletter")
        self.pub.publish(PREFIX + "/A/report/resident-7", '{"contact": {"phone": "%s"' % PHONE)
        self.sub.wait_for(PREFIX + "/A/deadletter", count=2)
        self.stats(lambda s: s["rejected"] == 2 and s["accepted"] == 1)

        # Everything siteward published (the resident's own report aside).
        for m in self.sub.snapshot():
            if "/report/" in m.topic:
                continue
            self.assertNotIn(PHONE.encode(), m.payload, m.topic)
            self.assertNotIn(NAME.encode(), m.payload, m.topic)
        self.assertNotIn(PHONE, self.daemon.log())

        # Stored where it belongs, for the roles allowed to see it.
        env = self.daemon.store()
        try:
            personal = db_items(env, "personal")
            self.assertEqual(len(personal), 1)
            self.assertEqual(json.loads(personal[0][1]), {"name": NAME, "phone": PHONE})
            for name in ("incidents", "timeline", "dedup", "records"):
                for k, v in db_items(env, name):
                    self.assertNotIn(PHONE.encode(), v, name)
        finally:
            env.close()

    def test_complaint_offline_and_inquiry(self):
        self.pub.publish(PREFIX + "/A/report/u2", {"category": "complaint", "channel": "offline",
                                                   "text": "noise at night"})
        inc = self.sub.last_json(PREFIX + "/A/reply/u2")["incident"]
        self.assertEqual(inc["class"], "complaint_offline")
        self.assertEqual([o["name"] for o in inc["obligations"]], ["verified_on_site"])
        self.pub.publish(PREFIX + "/A/report/u3", {"category": "inquiry", "text": "parking?"})
        inc = self.sub.last_json(PREFIX + "/A/reply/u3")["incident"]
        self.assertEqual(inc["class"], "inquiry")


if __name__ == "__main__":
    unittest.main()

"""Resident reports: the reply carries the incident the report opened or
joined; the resident's contact is stored (personal db) and reaches no
incident, reply, escalation, stats, dead letter or daemon log."""

import json
import unittest

from harness import E2E, retained

PHONE = "13800138000"
NAME = "Zhang Sanfeng"
EMAIL = "zsf.resident@example.org"
SECRETS = (PHONE, NAME, EMAIL)


def report(**kw):
    r = {"report_id": "r-1", "category": "repair", "urgency": "general", "channel": "online",
         "text": "Kitchen tap leaking", "location": {"building": "3", "unit": "1203"},
         "contact": {"name": NAME, "phone": PHONE, "email": EMAIL}}
    r.update(kw)
    return r


class ContactCheck:
    def assert_no_contact(self, data, where):
        if isinstance(data, str):
            data = data.encode()
        for s in SECRETS:
            self.assertNotIn(s.encode(), data, "%s leaks the contact" % where)
        self.assertNotIn(b'"contact"', data, "%s has a contact field" % where)

    def assert_nothing_published_leaks(self):
        """Everything on the broker under the prefix except the residents'
        own reports."""
        n = 0
        for m in self.sub.snapshot():
            if "/report/" in m.topic:
                continue
            self.assert_no_contact(m.payload, m.topic)
            n += 1
        return n

    def assert_log_clean(self):
        # Stop first, so that shutdown messages are in the log too.
        if self.daemon.running():
            self.assertEqual(self.daemon.terminate(), 0)
        log = self.daemon.log()
        self.assertTrue(log, "the daemon wrote a log")
        for s in SECRETS:
            self.assertNotIn(s, log, "the daemon's log leaks the contact")


class Reports(ContactCheck, E2E):
    def test_repair_report_reply_and_personal_data(self):
        self.pub.publish(self.topic("A/report/resident-7"), report())
        reply = self.sub.last_json(self.topic("A/reply/resident-7"))
        self.assertTrue(reply["ok"], reply)
        self.assertEqual(reply["report_id"], "r-1")
        inc = reply["incident"]
        self.assertRegex(inc["id"], r"^A-\d{8}-\d{4}$")
        self.assertEqual(inc["class"], "repair")
        self.assertIsNone(inc["level"])
        self.assertEqual(inc["priority"], "general")
        self.assertEqual(inc["state"], "open")
        self.assertEqual({o["name"] for o in inc["obligations"]},
                         {"responded", "progress", "closed"})
        self.assert_no_contact(json.dumps(reply), "the reply")

        # The retained incident is the same one, without the contact.
        got = retained(self.broker.port, self.topic("A/incident/+"))
        self.assertEqual(list(got), [self.topic("A/incident/" + inc["id"])])
        self.assert_no_contact(list(got.values())[0], "the retained incident")

        # Sent again (a resident taps twice): the same incident.
        self.pub.publish(self.topic("A/report/resident-7"), report())
        again = self.sub.last_json(self.topic("A/reply/resident-7"), lambda j: j.get("duplicate"))
        self.assertTrue(again["ok"])
        self.assertEqual(again["incident"]["id"], inc["id"])

        # Another resident's report on the same unit joins it (24 h window).
        self.pub.publish(self.topic("A/report/resident-8"),
                         report(report_id="r-9", text="water under the sink",
                                contact={"name": NAME, "phone": PHONE}))
        joined = self.sub.last_json(self.topic("A/reply/resident-8"))
        self.assertEqual(joined["incident"]["id"], inc["id"])

        s = self.stats(lambda s: s["accepted"] == 2)
        self.assertEqual(s["duplicates"], 1)
        self.assertEqual(s["rejected"], 0)

        self.assertGreater(self.assert_nothing_published_leaks(), 5)
        self.assertTrue(self.sub.matching(self.daemon.stats_topic), "stats were checked")

        # Stored where it belongs, for the roles allowed to see it.
        personal = self.daemon.items("personal")
        self.assertEqual(len(personal), 2, personal)
        for k, v in personal:
            self.assertTrue(k.startswith(inc["id"].encode() + b"/"), k)
            self.assertIn(PHONE, json.loads(v).values())
        for name in ("incidents", "timeline", "dedup", "records", "open", "corr", "meta"):
            for k, v in self.daemon.items(name):
                self.assert_no_contact(k + b" " + v, "store db " + name)
        self.assert_log_clean()

    def test_rejected_reports_carry_no_contact(self):
        contact = {"phone": PHONE, "name": NAME, "email": EMAIL}
        cases = [
            ("A/report/resident-7", {"category": "gossip", "contact": contact}, "A", "bad_field"),
            ("A/report/resident-7", '{"category": "repair", "contact": %s' % json.dumps(contact),
             "A", "bad_json"),
            ("A/report/resi dent", {"category": "repair", "contact": contact}, "A", "bad_id"),
            ("_x/report/resident-7", {"category": "repair", "contact": contact}, "_unknown",
             "bad_site"),
            ("A/report/resident-7", {"category": "repair", "contact": contact,
                                     "text": "x" * (70 * 1024)}, "A", "too_large"),
        ]
        for i, (rest, payload, site, code) in enumerate(cases):
            since = self.sub.count()
            self.pub.publish(self.topic(rest), payload)
            dl = self.sub.last_json(self.topic(site + "/deadletter"), since=since)
            self.assertEqual((dl["topic"], dl["error"]), (self.topic(rest), code))
        self.stats(lambda s: s["rejected"] == len(cases))
        failures = []
        for m in self.sub.snapshot():
            if "/report/" in m.topic:
                continue
            if any(s.encode() in m.payload for s in SECRETS):
                failures.append("%s %s" % (m.topic, json.loads(m.payload).get("error")))
        self.assertEqual(failures, [], "rejected reports leak the contact")
        self.assert_nothing_published_leaks()
        self.assertEqual(self.daemon.items("personal"), [], "nothing stored for rejected reports")
        self.assert_log_clean()

    def test_complaint_offline_and_inquiry(self):
        self.pub.publish(self.topic("A/report/u2"), {"report_id": "c1", "category": "complaint",
                                                     "channel": "offline", "text": "noise at night"})
        inc = self.sub.last_json(self.topic("A/reply/u2"))["incident"]
        self.assertEqual(inc["class"], "complaint_offline")
        # satisfaction counts from "closed": not yet due.
        self.assertEqual([o["name"] for o in inc["obligations"]], ["verified_on_site"])
        self.pub.publish(self.topic("A/report/u3"), {"report_id": "q1", "category": "inquiry",
                                                     "text": "parking?"})
        inc3 = self.sub.last_json(self.topic("A/reply/u3"))["incident"]
        self.assertEqual(inc3["class"], "inquiry")
        self.assertNotEqual(inc3["id"], inc["id"])


class ReportEscalations(ContactCheck, E2E):
    """On a scaled clock the urgent request's "recorded" obligation (1 h) is
    missed within a second and escalates: the escalation must not carry the
    contact either."""
    daemon_args = ("--clock-scale", "3600")

    def test_escalation_carries_no_contact(self):
        self.pub.publish(self.topic("A/report/resident-9"),
                         report(report_id="u-1", category="emergency", urgency="urgent",
                                text="smell of gas in the stairwell"))
        inc = self.sub.last_json(self.topic("A/reply/resident-9"))["incident"]
        self.assertEqual(inc["class"], "request_urgent")
        esc = self.sub.last_json(self.topic("A/escalation/+"),
                                 lambda j: j.get("obligation") == "recorded", timeout=30)
        self.assertEqual(esc["incident"], inc["id"])
        self.stats(lambda s: s["escalations_sent"] >= 1)
        self.assertGreater(self.assert_nothing_published_leaks(), 3)
        self.assert_log_clean()


if __name__ == "__main__":
    unittest.main()

"""Correlation: a second detector on the same building and floor joins the
open fire incident; the same device and event id again is a duplicate,
counted and not applied; another floor, site or class is another incident;
an event id is the device's own, so another device may reuse it."""

import json
import unittest

from harness import E2E

LOC = {"building": "3", "floor": "12"}


def smoke(eid, loc=LOC, typ="smoke"):
    return {"type": typ, "id": eid, "location": dict(loc)}


class Correlate(E2E):
    def setUp(self):
        super().setUp()
        self.event("A", "d17", smoke("d17-000123"))
        self.first = self.incident("A")
        self.assertEqual(self.first["events"], 1)

    def incident_states(self, iid):
        return [json.loads(m.payload) for m in self.sub.matching(self.topic("A/incident/" + iid))]

    def test_second_detector_joins(self):
        self.event("A", "d18", smoke("d18-000001", dict(LOC, unit="1205")))
        joined = self.incident("A", lambda j: j["events"] == 2)
        self.assertEqual(joined["id"], self.first["id"])
        self.assertEqual(joined["sources"], ["sensor/d17", "sensor/d18"])
        self.assertEqual(joined["state"], "open")
        self.assertEqual(joined["opened"], self.first["opened"], "still counted from the first alarm")
        self.assertEqual(joined["obligations"], self.first["obligations"])
        # A heat detector is the same class (fire): it joins too.
        self.event("A", "h3", smoke("h3-1", typ="heat"))
        joined = self.incident("A", lambda j: j["events"] == 3)
        self.assertEqual(joined["id"], self.first["id"])
        self.assertEqual(joined["sources"], ["sensor/d17", "sensor/d18", "sensor/h3"])

        retained = self.retained_incidents("A")
        self.assertEqual(list(retained), [self.first["id"]], "one incident, no second one")
        self.assertEqual(retained[self.first["id"]]["events"], 3)
        s = self.stats(lambda s: s["accepted"] == 3)
        self.assertEqual(s["incidents_open"], 1)
        self.assertEqual(s["duplicates"], 0)

    def test_duplicate_is_counted_not_applied(self):
        self.event("A", "d18", smoke("d18-000001"))
        self.incident("A", lambda j: j["events"] == 2)
        base = self.stats(lambda s: s["accepted"] == 2)
        self.assertEqual(base["duplicates"], 0)

        # The device retransmits the same event id, twice.
        self.event("A", "d18", smoke("d18-000001"))
        self.event("A", "d17", smoke("d17-000123"))
        s = self.stats(lambda s: s["duplicates"] == base["duplicates"] + 2)
        self.assertEqual(s["accepted"], base["accepted"])
        self.assertEqual(s["received"], base["received"] + 2)

        # A later event on another floor is processed after the duplicates
        # (one subscription, in order): once its incident is out, the
        # duplicates are settled, and they changed nothing.
        self.event("A", "d30", smoke("d30-1", {"building": "3", "floor": "13"}))
        other = self.incident("A", lambda j: j["id"] != self.first["id"])
        self.assertEqual(other["events"], 1)
        self.assertEqual(max(i["events"] for i in self.incident_states(self.first["id"])), 2)
        retained = self.retained_incidents("A")
        self.assertEqual(retained[self.first["id"]]["events"], 2)
        self.assertEqual(retained[self.first["id"]]["sources"], ["sensor/d17", "sensor/d18"])
        self.assertEqual(len(retained), 2)

        keys = {k for k, v in self.daemon.items("dedup")}
        self.assertTrue({b"E/A/sensor/d17/d17-000123", b"E/A/sensor/d18/d18-000001",
                         b"E/A/sensor/d30/d30-1"} <= keys, keys)
        s = self.stats(lambda s: s["accepted"] == base["accepted"] + 1)
        self.assertEqual(s["duplicates"], base["duplicates"] + 2)
        self.assertEqual(s["incidents_open"], 2)

    def test_same_event_id_from_another_device_is_not_a_duplicate(self):
        self.event("A", "d19", smoke("d17-000123"))
        joined = self.incident("A", lambda j: j["events"] == 2)
        self.assertEqual(joined["id"], self.first["id"])
        self.assertEqual(joined["sources"], ["sensor/d17", "sensor/d19"])
        s = self.stats(lambda s: s["accepted"] == 2)
        self.assertEqual(s["duplicates"], 0)

    def test_what_does_not_correlate_opens_new_incidents(self):
        cases = [
            ("A", "d30", smoke("x-1", {"building": "3", "floor": "13"}), "fire"),
            ("A", "d31", smoke("x-2", {"building": "4", "floor": "12"}), "fire"),
            ("B", "d17", smoke("d17-000123"), "fire"),
            ("A", "g1", smoke("x-3", typ="gas_leak"), "gas_leak"),
        ]
        ids = {self.first["id"]}
        for site, dev, ev, cls in cases:
            since = self.sub.count()
            self.event(site, dev, ev)
            inc = self.incident(site, since=since)
            self.assertNotIn(inc["id"], ids, (site, dev, ev))
            self.assertEqual(inc["class"], cls)
            self.assertEqual(inc["events"], 1)
            self.assertEqual(inc["sources"], ["sensor/" + dev])
            ids.add(inc["id"])
        first = self.retained_incidents("A")[self.first["id"]]
        self.assertEqual(first["events"], 1, "the first incident got none of them")
        s = self.stats(lambda s: s["accepted"] == 1 + len(cases))
        self.assertEqual(s["incidents_open"], 1 + len(cases))
        self.assertEqual(s["duplicates"], 0)


if __name__ == "__main__":
    unittest.main()

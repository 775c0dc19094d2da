"""Every case of the bad-input corpus (tests/fault/corpus/, one file per
case) gets its answer with the expected error code from the real daemon: a
dead letter {"topic","error","message","payload"} on P/{site}/deadletter,
or an {"ok": false} reply; a rejected report or command is answered on its
reply topic too. Nothing of it is applied, and good input still works
afterwards."""

import base64
import glob
import json
import os
import unittest

import faultlib  # noqa: F401 (puts the e2e harness on the path)
from harness import E2E, SOURCE

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def load_cases():
    cases = []
    for path in sorted(glob.glob(os.path.join(CORPUS, "*.json"))):
        with open(path) as f:
            c = json.load(f)
        c["name"] = os.path.basename(path)[:-5]
        cases.append(c)
    return cases


def payload_of(case):
    if "payload_b64" in case:
        return base64.b64decode(case["payload_b64"])
    if "payload_built" in case:
        b = case["payload_built"]
        text, count = b["repeat"]
        return (b.get("head", "") + text * count + b.get("tail", "")).encode()
    return case["payload"].encode()


class Corpus(E2E):
    def setUp(self):
        # Sites A and B only, and no rule for inquiries (see corpus/README.md).
        with open(os.path.join(SOURCE, "config", "policy", "default.json")) as f:
            reports = json.load(f)["reports"]
        self.policy_dir = __import__("tempfile").mkdtemp(prefix="sw-corpus-")
        self.addCleanup(__import__("shutil").rmtree, self.policy_dir, True)
        policy = os.path.join(self.policy_dir, "policy.json")
        with open(policy, "w") as f:
            json.dump({"name": "corpus",
                       "extends": os.path.join(SOURCE, "config", "policy", "default.json"),
                       "reports": [r for r in reports
                                   if r["match"].get("category") != "inquiry"]}, f)
        site = {"timezone": "+08:00",
                "calendar": os.path.join(SOURCE, "config", "calendars", "cn-2026.json")}
        self.config_changes = {"sites": {"A": site, "B": dict(site)}}
        self.policy = policy
        super().setUp()

    def open_incident(self, n):
        since = self.sub.count()
        self.event("A", "setup", {"type": "smoke", "id": "setup-%d" % n,
                                  "location": {"building": "setup-%d" % n, "floor": "1"}})
        return self.incident("A", lambda j: j["location"]["building"] == "setup-%d" % n,
                             since=since)["id"]

    def test_corpus(self):
        cases = load_cases()
        self.assertGreaterEqual(len(cases), 50)
        codes = {c["error"] for c in cases}
        self.assertTrue({"bad_json", "bad_field", "unknown_type", "too_large", "bad_site",
                         "bad_id", "bad_source", "unknown_site", "unclassified", "bad_command",
                         "unknown_op", "unknown_incident", "illegal_transition",
                         "unknown_class"} <= codes, codes)
        base = self.stats()
        setups = 0
        for case in cases:
            with self.subTest(case=case["name"]):
                payload = payload_of(case)
                if case.get("setup") == "incident":
                    setups += 1
                    payload = payload.replace(b"{incident}", self.open_incident(setups).encode())
                topic = self.topic(case["topic"])
                since = self.sub.count()
                self.pub.publish(topic, payload)
                user = case["topic"].rsplit("/", 1)[1]
                if case["expect"] == "deadletter":
                    dl = self.sub.last_json(self.topic(case["site"] + "/deadletter"),
                                            lambda j: j.get("topic") == topic, since=since)
                    self.assertEqual(set(dl), {"topic", "error", "message", "payload"})
                    self.assertEqual(dl["error"], case["error"])
                    self.assertTrue(dl["message"])
                    if dl["payload"] is not None:
                        self.assertLessEqual(len(dl["payload"].encode()), 1024)
                if case["expect"] == "reply" or case.get("also_reply"):
                    r = self.sub.last_json(self.topic("%s/reply/%s" % (case["site"], user)),
                                           lambda j: j.get("ok") is False, since=since)
                    self.assertEqual(r["error"], case["error"])
                    self.assertTrue(r["message"])
        s = self.last_stats()
        self.assertEqual(s["accepted"], base["accepted"] + setups, "nothing else applied")
        self.assertEqual(s["rejected"], base["rejected"] + len(cases))
        self.assertEqual(self.daemon.count("dedup"), setups)

        # Good input still works.
        since = self.sub.count()
        self.event("A", "d17", {"type": "smoke", "id": "ok-1",
                                "location": {"building": "1", "floor": "1"}})
        self.assertEqual(self.incident("A", since=since)["class"], "fire")


if __name__ == "__main__":
    unittest.main()

"""Running it like a service: the Prometheus /metrics endpoint agrees with
what was published; SIGHUP reloads the configuration and the policy
without dropping the broker connection or a pending deadline (new
incidents get the new limits, open ones keep theirs unless the policy says
"apply_to_open"), and refuses a broken configuration, keeping the old one,
telling systemd RELOADING=1 (with MONOTONIC_USEC) and READY=1 either way;
under systemd (JOURNAL_STREAM naming our stderr) log lines carry <N>
priority prefixes and no timestamps."""

import json
import os
import re
import signal
import socket
import time
import unittest
import urllib.error
import urllib.request
from datetime import datetime

from harness import E2E, PREFIX, SOURCE, make_tmp, remove_tmp, wait_until

SCALE = 30.0  # 5 policy minutes pass in 10 seconds


def ts(s):
    return datetime.fromisoformat(s).timestamp()


def scrape(listen):
    with urllib.request.urlopen("http://%s/metrics" % listen, timeout=5) as r:
        return r.headers.get("Content-Type"), r.read().decode()


def parse(text):
    """{(name, frozenset(labels)): value} and {name: type} of a Prometheus text."""
    values, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            types[name] = kind
            continue
        if line.startswith("#") or not line:
            continue
        m = re.fullmatch(r'([a-z_]+)(?:\{(.*)\})? (\S+)', line)
        assert m, "not a sample line: %r" % line
        labels = frozenset(re.findall(r'([a-z_]+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        values[(m.group(1), labels)] = float(m.group(3))
    return values, types


def v(values, name, **labels):
    return values.get((name, frozenset(labels.items())))


class Metrics(E2E):
    def test_scrape_counts_what_was_published(self):
        listen = self.daemon.cfg["metrics"]["listen"]
        loc = {"building": "3", "floor": "12"}
        self.event("A", "d17", {"type": "smoke", "id": "e1", "location": loc})
        self.event("A", "d17", {"type": "smoke", "id": "e1", "location": loc})  # duplicate
        self.event("A", "d18", {"type": "heat", "id": "e2", "location": loc})  # joins
        self.event("A", "d19", "not json")
        self.event("A", "d19", {"type": "no_such_type", "id": "e3"})
        self.event("B", "p1", {"type": "water_leak", "id": "w1", "location": {"building": "1"}})
        self.stats(lambda s: s["received"] == 6)

        ctype, text = scrape(listen)
        self.assertTrue(ctype.startswith("text/plain; version=0.0.4"), ctype)
        values, types = parse(text)
        self.assertEqual(v(values, "siteward_messages_received_total"), 6)
        self.assertEqual(v(values, "siteward_messages_accepted_total"), 3)
        self.assertEqual(v(values, "siteward_messages_duplicate_total"), 1)
        self.assertEqual(v(values, "siteward_messages_rejected_total", reason="bad_json"), 1)
        self.assertEqual(v(values, "siteward_messages_rejected_total", reason="unknown_type"), 1)
        self.assertEqual(v(values, "siteward_incidents_opened_total"), 2)
        self.assertEqual(v(values, "siteward_incidents_open", site="A", level="1"), 1)
        self.assertEqual(v(values, "siteward_incidents_open", site="B", level="2"), 1)
        # fire: plan_activated and manager_on_site; water: its handling plan
        self.assertEqual(v(values, "siteward_obligations_pending"), 3)
        self.assertEqual(v(values, "siteward_timers_armed"), 3)
        # Level I tells the manager and the control room when it opens.
        self.assertEqual(v(values, "siteward_escalations_sent_total"), 2)
        self.assertEqual(v(values, "siteward_inbox_backlog"), 0)
        used = v(values, "siteward_store_map_used_bytes")
        self.assertGreater(used, 0)
        self.assertLessEqual(used, v(values, "siteward_store_map_size_bytes"))
        h = "siteward_processing_latency_seconds"
        self.assertEqual(types[h], "histogram")
        self.assertEqual(v(values, h + "_count"), 6)
        self.assertEqual(v(values, h + "_bucket", le="+Inf"), 6)
        buckets = sorted((float(dict(k[1])["le"]), val) for k, val in values.items()
                         if k[0] == h + "_bucket" and dict(k[1])["le"] != "+Inf")
        self.assertEqual([b for _, b in buckets], sorted(b for _, b in buckets), "cumulative")
        for name, kind in types.items():
            self.assertEqual(name.endswith("_total"), kind == "counter", name)
            self.assertIn("# HELP %s " % name, text)

        # An obligation met on time is counted per class.
        inc = self.incident("A")
        r = self.command("A", "li.wei", {"op": "plan_activated", "incident": inc["id"],
                                         "request_id": "c1"})
        self.assertTrue(r["ok"])
        _, text = scrape(listen)
        values, _ = parse(text)
        self.assertEqual(v(values, "siteward_obligations_total", **{"class": "fire",
                                                                    "outcome": "on_time"}), 1)
        self.assertEqual(v(values, "siteward_obligations_pending"), 2)

        # The same figures on the stats topic.
        s = self.stats(lambda s: s.get("obligations_on_time", {}).get("fire") == 1)
        self.assertEqual(s["rejected_by_reason"], {"bad_json": 1, "unknown_type": 1})
        self.assertEqual(s["incidents_open_by_site"], {"A": {"1": 1}, "B": {"2": 1}})
        self.assertEqual(s["obligations_pending"], 2)
        for f in ("received", "accepted", "rejected", "duplicates", "incidents_open",
                  "timers_armed", "escalations_sent", "store_size"):
            self.assertIn(f, s)

        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen("http://%s/other" % listen, timeout=5)
        self.assertEqual(e.exception.code, 404)


def fire_policy(path, plan_within, apply_to_open=None):
    with open(os.path.join(SOURCE, "config", "policy", "default.json")) as f:
        pol = json.load(f)
    pol["name"] = "test-" + plan_within
    fire = pol["classes"]["fire"]
    for o in fire["obligations"]:
        if o["name"] == "plan_activated":
            o["within"] = plan_within
    if apply_to_open is not None:
        fire["apply_to_open"] = apply_to_open
    with open(path + ".new", "w") as f:
        json.dump(pol, f)
    os.replace(path + ".new", path)


class Reload(E2E):
    daemon_args = ("--clock-scale", str(SCALE))

    def setUp(self):
        self.pdir = make_tmp()
        self.addCleanup(remove_tmp, self.pdir)
        self.policy = os.path.join(self.pdir, "policy.json")
        fire_policy(self.policy, "5m")
        super().setUp()

    def rewrite_config(self, **changes):
        with open(self.daemon.config) as f:
            cfg = json.load(f)
        cfg.update(changes)
        with open(self.daemon.config, "w") as f:
            json.dump(cfg, f)

    def hup(self, what):
        """SIGHUP, then wait for the log line that ends the reload."""
        n = self.daemon.log().count(what)
        os.kill(self.daemon.proc.pid, signal.SIGHUP)
        wait_until(lambda: self.daemon.log().count(what) > n, 15, "%r in the log" % what)

    def fire(self, building, eid):
        since = self.sub.count()
        self.event("A", "d-" + eid, {"type": "smoke", "id": eid,
                                     "location": {"building": building, "floor": "1"}})
        return self.incident("A", lambda j: j["location"]["building"] == building, since=since)

    @staticmethod
    def plan(inc):
        return {o["name"]: o for o in inc["obligations"]}["plan_activated"]

    def test_reload_keeps_connection_and_deadlines(self):
        first = self.fire("1", "e1")
        due1 = ts(self.plan(first)["due"])
        self.assertAlmostEqual(due1 - ts(first["opened"]), 300 / SCALE, 1)

        # A longer limit, and a change that needs a restart.
        fire_policy(self.policy, "10m")
        self.rewrite_config(durability="power")
        self.hup("reloaded: policy test-10m")
        log = self.daemon.log()
        self.assertIn("key 'durability': changed; needs restart, keeping \"process\"", log)

        second = self.fire("2", "e2")
        self.assertAlmostEqual(ts(self.plan(second)["due"]) - ts(second["opened"]),
                               600 / SCALE, 1, "a new incident gets the new limit")

        # The open incident kept its limit: its escalation comes at the old due time.
        esc = self.sub.last_json(self.topic("A/escalation/supervisor"),
                                 lambda j: j["incident"] == first["id"], timeout=30)
        self.assertGreaterEqual(time.time(), due1, "never before the due time")
        self.assertEqual(esc["obligation"], "plan_activated")
        self.assertEqual(ts(esc["due"]), due1)

        # Now the policy applies to open incidents: the second one's pending
        # limit is computed again from its first alarm; the first's missed
        # obligation keeps its due time.
        fire_policy(self.policy, "20m", apply_to_open=True)
        since = self.sub.count()
        self.hup("reloaded: policy test-20m")
        self.assertIn("1 open incident(s) given the new limits", self.daemon.log())
        again = self.incident("A", lambda j: j["id"] == second["id"], since=since)
        self.assertAlmostEqual(ts(self.plan(again)["due"]) - ts(second["opened"]),
                               1200 / SCALE, 1)
        timeline = [json.loads(val) for k, val in self.daemon.items("timeline")
                    if k.startswith(second["id"].encode() + b"/")]
        self.assertIn("policy", [e["kind"] for e in timeline])

        # One connection all along: online once, one connect in the broker log.
        online = self.sub.matching(self.daemon.status_topic, lambda m: m.payload == b"online")
        self.assertEqual(len(online), 1, "status published once")
        self.assertEqual(self.broker.log().count(" as siteward-test "), 1, self.broker.log())
        self.assertEqual(self.retained_incidents("A")[first["id"]]["state"], "open")

    def test_broken_config_is_refused_and_the_old_one_stays(self):
        self.rewrite_config(stats_interval="soon")
        self.hup("reload refused")
        log = self.daemon.log()
        self.assertIn("%s: key 'stats_interval'" % self.daemon.config, log)
        self.assertIn("the configuration, policy test-5m and plugins in force are unchanged", log)

        fire_policy(self.policy, "10m")
        with open(self.policy, "a") as f:
            f.write("{")  # no longer JSON
        self.rewrite_config(stats_interval="1s")
        self.hup("reload refused")
        self.assertIn(self.policy, self.daemon.log().split("reload: reading")[-1])

        # Behaviour unchanged: the old limit, the daemon online and applying.
        inc = self.fire("3", "e3")
        self.assertAlmostEqual(ts(self.plan(inc)["due"]) - ts(inc["opened"]), 300 / SCALE, 1)
        self.assertTrue(self.daemon.running())
        s = self.last_stats()
        self.assertEqual(s["accepted"], 1)


class Notify(E2E):
    """The sd_notify protocol on a fake NOTIFY_SOCKET: READY=1 at start,
    RELOADING=1 with MONOTONIC_USEC then READY=1 for each SIGHUP, refused
    or not."""

    def setUp(self):
        self.sock_dir = make_tmp()
        self.addCleanup(remove_tmp, self.sock_dir)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(self.sock.close)
        path = os.path.join(self.sock_dir, "notify")
        self.sock.bind(path)
        self.sock.setblocking(False)
        self.got = []
        saved = os.environ.get("NOTIFY_SOCKET")
        self.addCleanup(lambda: os.environ.pop("NOTIFY_SOCKET", None) if saved is None
                        else os.environ.__setitem__("NOTIFY_SOCKET", saved))
        os.environ["NOTIFY_SOCKET"] = path
        super().setUp()

    def next_message(self, timeout=15):
        def one():
            try:
                self.got.append(self.sock.recv(4096).decode())
                return self.got[-1]
            except BlockingIOError:
                return None
        return wait_until(one, timeout, "a notification from siteward")

    def until(self, prefix):
        while True:
            msg = self.next_message()
            if msg.startswith(prefix):
                return msg

    def test_reload_notifications(self):
        # mosquitto, started with the same environment, says READY=1 too.
        self.assertEqual(self.until("READY=1\nSTATUS=subscribed").splitlines()[0], "READY=1")
        for broken in (False, True):
            if broken:
                with open(self.daemon.config, "a") as f:
                    f.write("}")
            before = time.monotonic_ns() // 1000
            os.kill(self.daemon.proc.pid, signal.SIGHUP)
            reloading = self.next_message().splitlines()
            after = time.monotonic_ns() // 1000
            self.assertEqual(reloading[0], "RELOADING=1", self.got)
            key, usec = reloading[1].split("=")
            self.assertEqual(key, "MONOTONIC_USEC")
            self.assertTrue(before <= int(usec) <= after, (before, usec, after))
            ready = self.next_message().splitlines()
            self.assertEqual(ready[0], "READY=1")
            self.assertIn("refused" if broken else "reloaded", ready[1])
        self.assertTrue(self.daemon.running())


class Journal(E2E):
    """Lines under a JOURNAL_STREAM that names siteward's stderr."""

    def setUp(self):
        self.saved = os.environ.get("JOURNAL_STREAM")
        self.addCleanup(self.restore)
        super().setUp()

    def restore(self):
        if self.saved is None:
            os.environ.pop("JOURNAL_STREAM", None)
        else:
            os.environ["JOURNAL_STREAM"] = self.saved

    def lines_of_start(self, n):
        part = self.daemon.log().split("---- start %d:" % n)[1]
        return [l for l in part.splitlines()[1:] if l and not l.startswith("---- start")]

    def restart(self, stream):
        self.daemon.terminate()
        os.environ["JOURNAL_STREAM"] = stream
        self.daemon.start(watcher=self.sub)
        os.kill(self.daemon.proc.pid, signal.SIGHUP)
        wait_until(lambda: "reloaded" in self.daemon.log().split(
            "---- start %d:" % self.daemon.starts)[1], 15, "the reload to be logged")

    def test_priority_prefixes_and_no_timestamps(self):
        st = os.stat(self.daemon.log_path)
        self.restart("%d:%d" % (st.st_dev, st.st_ino))
        lines = self.lines_of_start(2)
        self.assertGreater(len(lines), 3)
        for line in lines:
            self.assertRegex(line, r"^<[0-7]>\S", "a priority prefix")
            self.assertNotRegex(line, r"\d{4}-\d\d-\d\dT\d\d:\d\d", "no timestamp")
        self.assertTrue(any(l.startswith("<5>reloaded") for l in lines), lines)
        self.assertTrue(any(l.startswith("<6>") for l in lines), lines)

        # A JOURNAL_STREAM inherited by a process whose stderr goes elsewhere
        # does not count: timestamps and level words as usual.
        self.restart("%d:%d" % (st.st_dev, st.st_ino + 1))
        for line in self.lines_of_start(3):
            self.assertRegex(line, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z [a-z]+: ")


if __name__ == "__main__":
    unittest.main()

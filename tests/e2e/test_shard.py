"""Sharding: three siteward instances against one broker split 30 sites
between them. Every incident is opened exactly once, by the instance that
owns its site (each instance's store, read with sitewardctl), the broker's
retained incidents hold each once, and a control room subscribed to
P/+/incident/# sees them all. Each instance has its own name, state
directory, status and stats topics.

By hash (FNV-1a 32 of the site id mod 3) over any site ("*"), every
instance subscribes to every site and keeps only its own; a message with no
valid site is dead-lettered by shard 0 alone. With explicit site lists each
instance subscribes to its sites only, and drops the all-sites subscription
an unsharded run left in its persistent session."""

import json
import os
import subprocess
import unittest

from harness import (BUILD, PREFIX, Broker, Client, Daemon, config_copy, make_tmp, parse_json,
                     remove_tmp, retained, wait_until)

CTL = os.path.join(BUILD, "bin", "sitewardctl")
SITES = ["S%02d" % i for i in range(1, 31)]
N = 3


def fnv1a(site):
    """The documented owner hash, computed independently of the daemon."""
    h = 2166136261
    for b in site.encode():
        h = ((h ^ b) * 16777619) % 2 ** 32
    return h


class Shard(unittest.TestCase):
    def setUp(self):
        self.tmp = make_tmp("sw-shard-")
        self.addCleanup(remove_tmp, self.tmp)
        self.broker = Broker(self.tmp)
        self.addCleanup(self.broker.stop)
        self.control = Client(self.broker.port, subscribe=("%s/+/incident/#" % PREFIX,))
        self.addCleanup(self.control.close)
        self.sub = Client(self.broker.port, subscribe=("%s/#" % PREFIX,))
        self.addCleanup(self.sub.close)
        self.pub = Client(self.broker.port)
        self.addCleanup(self.pub.close)
        self.daemons = []

    def tearDown(self):
        for d in self.daemons:
            died = d.died()
            if d.running():
                self.assertEqual(d.terminate(), 0)
            self.assertIsNone(died, "%s died: %s" % (d.instance, d.log_tail()))
            self.assertEqual(d.sanitizer_reports(), [], "sanitizer reports in %s" % d.log_path)

    def start(self, shards, sites_conf=None):
        """One instance per entry of `shards` (its "shard" key), each in its
        own folder with its own state directory."""
        for i, shard in enumerate(shards):
            home = os.path.join(self.tmp, "i%d" % i)
            os.mkdir(home)
            changes = {"shard": shard}
            if sites_conf:
                changes["sites"] = sites_conf
            d = Daemon(home, self.broker.port, instance="shard-%d" % i, config_changes=changes)
            self.daemons.append(d)
            self.addCleanup(d.stop)
            d.start(watcher=self.sub)
        self.assertEqual(len({d.state for d in self.daemons}), len(shards))

    def listed_sites(self):
        """A "sites" map naming all 30 sites, with the shipped settings."""
        _, cfg = config_copy(self.tmp)
        return {s: dict(cfg["sites"]["*"]) for s in SITES}

    def ctl_incidents(self, d):
        r = subprocess.run([CTL, "--state", d.state, "--config", d.config, "--json", "list"],
                           capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        return [json.loads(l) for l in r.stdout.decode().splitlines() if l.strip()]

    def markers(self, owner_of, since):
        """A command to one site of each instance, answered: every instance
        has handled (or declined) everything published before it, as the
        broker delivers a publisher's messages in order."""
        for d in self.daemons:
            site = next(s for s in SITES if owner_of(s) == d.instance)
            inc = [i for i in self.ctl_incidents(d) if i["site"] == site][0]
            rid = "m-%s-%d" % (d.instance, since)
            self.pub.publish("%s/%s/cmd/li.wei" % (PREFIX, site),
                             {"op": "comment", "incident": inc["id"], "request_id": rid,
                              "note": "marker"})
            self.sub.last_json("%s/%s/reply/li.wei" % (PREFIX, site),
                               lambda j, rid=rid: j.get("request_id") == rid, since=since)

    def send_events(self, sites):
        for s in sites:
            self.pub.publish("%s/%s/event/sensor/d1" % (PREFIX, s),
                             {"type": "smoke", "id": "e-%s" % s, "location": {"building": "1"}})

    def check_each_once(self, owner_of):
        """Every site's incident is in its owner's store and nowhere else,
        retained once, and seen by the control room."""
        def all_stored():
            got = {d.instance: self.ctl_incidents(d) for d in self.daemons}
            return got if sum(len(v) for v in got.values()) >= len(SITES) else None
        stores = wait_until(all_stored, 60, "30 incidents across the stores")
        seen = {}
        for d in self.daemons:
            for inc in stores[d.instance]:
                self.assertNotIn(inc["site"], seen, "site %s handled twice" % inc["site"])
                seen[inc["site"]] = d.instance
                self.assertEqual(d.instance, owner_of(inc["site"]),
                                 "site %s stored by its owner only" % inc["site"])
        self.assertEqual(sorted(seen), SITES)

        def control_saw_all():
            sites = {m.topic.split("/")[1] for m in self.control.snapshot()
                     if m.payload and (parse_json(m.payload) or {}).get("class") == "fire"}
            return sites if len(sites) == len(SITES) else None
        wait_until(control_saw_all, 30, "the control room to see every site's incident")
        ret = retained(self.broker.port, "%s/+/incident/+" % PREFIX)
        by_site = {}
        for topic, payload in ret.items():
            by_site.setdefault(topic.split("/")[1], []).append(json.loads(payload))
        self.assertEqual(sorted(by_site), SITES)
        for site, incs in by_site.items():
            self.assertEqual(len(incs), 1, "one retained incident at %s" % site)
            self.assertEqual(incs[0]["site"], site)
        # Each instance's own stats: what it received is what it owns.
        for d in self.daemons:
            owned = sum(1 for s in SITES if owner_of(s) == d.instance)
            st = self.sub.last_json(d.stats_topic, lambda j: j.get("incidents_opened") == owned,
                                    timeout=30)
            self.assertGreaterEqual(st["received"], owned)
        return stores

    def test_hash_over_any_site(self):
        self.start([{"index": i, "count": N} for i in range(N)])
        owner_of = lambda s: "shard-%d" % (fnv1a(s) % N)
        counts = [sum(1 for s in SITES if fnv1a(s) % N == i) for i in range(N)]
        self.assertTrue(all(counts), "every instance owns some of the 30 sites: %s" % counts)
        self.send_events(SITES)
        self.check_each_once(owner_of)

        # A command gets one reply, from the owner.
        site = SITES[7]
        inc = [i for d in self.daemons for i in self.ctl_incidents(d) if i["site"] == site][0]
        since = self.sub.count()
        self.pub.publish("%s/%s/cmd/li.wei" % (PREFIX, site),
                         {"op": "ack", "incident": inc["id"], "request_id": "c-1"})
        reply = self.sub.last_json("%s/%s/reply/li.wei" % (PREFIX, site), since=since)
        self.assertTrue(reply["ok"], reply)
        replies = self.sub.matching("%s/%s/reply/li.wei" % (PREFIX, site), since=since)
        self.assertEqual(len(replies), 1, "one reply, from the owner")
        # No valid site: dead-lettered once, by shard 0.
        since = self.sub.count()
        self.pub.publish("%s/_bad/event/sensor/d1" % PREFIX, {"type": "smoke"})
        self.markers(owner_of, since)
        dead = self.sub.matching("%s/_unknown/deadletter" % PREFIX, since=since)
        self.assertEqual(len(dead), 1, [m.payload for m in dead])
        self.assertEqual(json.loads(dead[0].payload)["error"], "bad_site")
        for d in self.daemons:
            st = self.sub.last_json(d.stats_topic, since=self.sub.count(), timeout=30)
            self.assertEqual(st["rejected"], 1 if d.instance == "shard-0" else 0, d.instance)
            if d.instance != owner_of(site):
                self.assertIn("not a site of this instance", d.log())

    def test_site_lists(self):
        groups = [SITES[0:12], SITES[12:20], SITES[20:30]]
        owner = {s: "shard-%d" % i for i, g in enumerate(groups) for s in g}
        # shard-0 ran unsharded before: its persistent session at the broker
        # still subscribes to every site until it unsubscribes on connecting.
        pre = os.path.join(self.tmp, "pre")
        os.mkdir(pre)
        before = Daemon(pre, self.broker.port, instance="shard-0")
        self.addCleanup(before.stop)
        before.start(watcher=self.sub)
        self.assertEqual(before.terminate(), 0)
        self.start([{"sites": g} for g in groups], self.listed_sites())
        self.send_events(SITES)
        self.check_each_once(owner.get)
        # Subscribed per site: a site nobody lists reaches no instance (no
        # dead letter), and no instance drops anything it was sent.
        since = self.sub.count()
        self.pub.publish("%s/S99/event/sensor/d1" % PREFIX, {"type": "smoke"})
        self.markers(owner.get, since)
        self.assertEqual(self.sub.matching("%s/+/deadletter" % PREFIX), [])
        for d in self.daemons:
            self.assertNotIn("not a site of this instance", d.log())
            self.assertIn("shard: %d topic filters" % (3 * len(groups[int(d.instance[-1])])),
                          d.log())


if __name__ == "__main__":
    unittest.main()

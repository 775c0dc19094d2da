"""A full disk under the state directory (a small tmpfs, filled up with a
filler file): siteward acknowledges only what it has stored, says so, and
loses nothing, not even when it is killed while the disk is full.

1. The main store cannot grow: each batch's commit fails with ENOSPC and is
   retried every second; the messages wait in the inbox, whose file is
   allocated in advance (so they are still stored before Paho acknowledges
   them). Stats carry "storage_fault": true and a growing "storage_errors";
   the status stays "online" (the contract's two words are kept).
2. The inbox fills up too (its 64 MiB map, with large events): the MQTT
   callback holds the message it cannot store and does not return, so Paho
   acknowledges nothing more and reads nothing more; the broker keeps the
   rest in siteward's session. (Returning 0 instead would make Paho 1.3.12
   acknowledge that message and every later one, and hold them in memory
   only.) siteward is killed with -9 in this state.
3. The filler is deleted and siteward started again: every event, of both
   phases, reaches the store.

Needs root (mount -t tmpfs); it fails, not skips, when it cannot mount."""

import json
import os
import subprocess
import unittest

from faultlib import Stream, seeded, size, wait_until
from harness import Broker, Client, Daemon, make_tmp, remove_tmp

SMALL = size(300, 300, 3000)      # phase 1: ordinary events
BIG = size(1200, 1200, 1200)      # phase 2: 56 KiB events, more than the inbox map holds
BIG_PAD = 56 * 1024
FS_MB = 384  # the inbox (64 MiB, growing to 128 when space returns) and room for every event


def fill(path):
    """Write zeros to `path` until the file system is full; returns bytes."""
    n = 0
    chunk = b"\0" * (1 << 20)
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                n += f.write(chunk)
            except OSError:
                break
        # The last partial pages.
        for small in (1 << 16, 1 << 12, 1 << 9):
            try:
                while True:
                    n += f.write(chunk[:small])
            except OSError:
                pass
    return n


class DiskFull(unittest.TestCase):
    def setUp(self):
        self.tmp = make_tmp()
        self.addCleanup(remove_tmp, self.tmp)
        self.state = os.path.join(self.tmp, "state")
        os.mkdir(self.state)
        if os.geteuid() != 0:
            self.fail("this test mounts a tmpfs for the state directory and needs root "
                      "(it runs as uid %d)" % os.geteuid())
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm" % FS_MB, "tmpfs",
                            self.state], capture_output=True, text=True)
        if r.returncode != 0:
            self.fail("cannot mount a tmpfs on %s: %s" % (self.state, r.stderr.strip()))
        self.addCleanup(subprocess.run, ["umount", "-l", self.state])
        self.broker = Broker(self.tmp, "persistence true\npersistence_location %s/\n" % self.tmp)
        self.addCleanup(self.broker.stop)
        self.daemon = Daemon(self.tmp, self.broker.port)
        self.addCleanup(self.daemon.stop)
        self.watch = Client(self.broker.port)
        self.addCleanup(self.watch.close)
        self.watch.subscribe(self.daemon.stats_topic)
        self.daemon.start(watcher=self.watch)

    def stats(self, pred, what, timeout=30):
        since = self.watch.count()

        def ok(m):
            try:
                return pred(json.loads(m.payload))
            except ValueError:
                return False
        msgs = self.watch.wait_for(self.daemon.stats_topic, ok, timeout, since=since)
        return json.loads(msgs[-1].payload)

    def test_disk_full_loses_nothing(self):
        rng, seed = seeded("disk_full")
        prefix = "siteward"
        filler = os.path.join(self.state, "filler")
        filled = fill(filler)
        print("filled the %d MiB tmpfs with a %.1f MiB file" % (FS_MB, filled / 2 ** 20),
              flush=True)
        base = self.daemon.count("dedup")

        def small(i):
            return ("%s/A/event/sensor/d%d" % (prefix, i % 5),
                    json.dumps({"type": "water_leak", "id": "s-%05d" % i,
                                "location": {"building": str(i % 20), "floor": "1"}}))

        # Phase 1: the store is full, the inbox still takes them.
        s1 = Stream(self.broker.port, "small")
        self.addCleanup(s1.close)
        s1.start(small(i) for i in range(SMALL))
        s1.wait_all_acked()
        st = self.stats(lambda s: s["storage_fault"] and s["storage_errors"] > 0,
                        "storage_fault in stats")
        print("phase 1: stats %s" % {k: st[k] for k in ("storage_fault", "storage_errors",
                                                        "inbox_backlog", "received")},
              flush=True)
        self.assertLess(self.daemon.count("dedup"), base + SMALL, "the store is full")
        self.assertGreater(st["inbox_backlog"], 0)

        # Phase 2: big events until the inbox map is full as well.
        pad = "p" * BIG_PAD

        def big(i):
            return ("%s/B/event/sensor/big%d" % (prefix, i % 3),
                    json.dumps({"type": "water_leak", "id": "b-%05d" % i, "pad": pad,
                                "location": {"building": "big", "floor": str(i % 4)}}))
        s2 = Stream(self.broker.port, "big")
        self.addCleanup(s2.close)
        s2.start((big(i) for i in range(BIG)), ahead=50)
        wait_until(lambda: "inbox: cannot store a message" in self.daemon.log(), 120,
                   "the inbox to be full")
        inbox_full_at = self.daemon.count("dedup")
        # The broker has every event: what siteward did not store, it did
        # not acknowledge, so the broker keeps it in siteward's session.
        s2.wait_all_acked()
        # Retried with a backoff up to 1 s, logged the first time and every
        # 100th only.
        self.assertLessEqual(self.daemon.log().count("inbox: cannot store a message"), 3)
        self.assertEqual(self.daemon.count("dedup"), inbox_full_at, "nothing applied meanwhile")
        self.assertIsNone(self.daemon.died())
        print("phase 2: the inbox is full with %d events applied; kill -9" % inbox_full_at,
              flush=True)
        self.daemon.kill9()

        # Space returns: siteward starts again and everything arrives.
        os.unlink(filler)
        self.daemon.start(watcher=self.watch)
        wait_until(lambda: self.daemon.count("dedup") == base + SMALL + BIG, 180,
                   "all %d events in the store after space returned (seed %d)"
                   % (SMALL + BIG, seed), interval=0.2)
        st = self.stats(lambda s: not s["storage_fault"], "storage_fault cleared")
        keys = {k.decode() for k, v in self.daemon.items("dedup")}
        want = {"E/A/sensor/d%d/s-%05d" % (i % 5, i) for i in range(SMALL)}
        want |= {"E/B/sensor/big%d/b-%05d" % (i % 3, i) for i in range(BIG)}
        self.assertEqual(want - keys, set())
        self.assertIsNone(self.daemon.died())
        self.assertEqual(self.daemon.terminate(), 0)
        self.assertEqual(self.daemon.sanitizer_reports(), [])


if __name__ == "__main__":
    unittest.main()

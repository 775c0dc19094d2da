"""Inbox numbering never goes backwards. A clean stop trims the inbox empty;
if the next start numbered messages from 1 again, those stored while the
store cannot commit would sit below the store's applied mark, and the replay
after a crash (which asks for what lies above the mark) would skip them.

Clean stop -> restart with a store that refuses every commit from the first
(SITEWARD_FAULT_STORE, a hook of test builds: a full disk alone does not do
it, LMDB reuses free pages) -> 100 events stored in the inbox and
acknowledged -> kill -9 -> store healthy -> restart: all of them applied."""

import json
import os
import unittest

import lmdb

from faultlib import wait_until
from harness import E2E, PREFIX

BEFORE = 60
DURING = 100


class InboxSequence(E2E):
    config_changes = {"stats_interval": "1s"}

    def send(self, first, n):
        for i in range(first, first + n):
            self.pub.publish(PREFIX + "/A/event/sensor/d%d" % (i % 7),
                             {"type": "water_leak", "id": "e-%04d" % i,
                              "location": {"building": str(i % 9)}})

    def inbox_entries(self):
        env = lmdb.open(os.path.join(self.daemon.state, "inbox"), readonly=True, lock=True,
                        subdir=True, create=False, map_size=1 << 36)
        try:
            with env.begin() as txn:
                return txn.stat()["entries"]
        finally:
            env.close()

    def test_messages_stored_while_the_store_fails_survive_kill9(self):
        base = self.daemon.count("dedup")
        self.send(0, BEFORE)
        wait_until(lambda: self.daemon.count("dedup") == base + BEFORE, 30,
                   "the first events applied")
        self.assertEqual(self.daemon.terminate(), 0)

        fault = os.path.join(self.tmp, "store-fault")
        open(fault, "w").close()
        os.environ["SITEWARD_FAULT_STORE"] = fault
        self.addCleanup(os.environ.pop, "SITEWARD_FAULT_STORE", None)
        self.daemon.start(watcher=self.sub)
        self.send(BEFORE, DURING)
        wait_until(lambda: self.inbox_entries() == DURING, 30, "the events in the inbox")
        st = self.sub.last_json(self.daemon.stats_topic, lambda s: s["storage_fault"], 30)
        self.assertGreater(st["storage_errors"], 0, st)
        self.assertEqual(self.daemon.count("dedup"), base + BEFORE, "nothing applied meanwhile")
        self.daemon.kill9()

        os.unlink(fault)
        self.daemon.start(watcher=self.sub)
        wait_until(lambda: self.daemon.count("dedup") == base + BEFORE + DURING, 30,
                   "every event applied after the restart", interval=0.1)
        keys = {k.decode() for k, v in self.daemon.items("dedup")}
        want = {"E/A/sensor/d%d/e-%04d" % (i % 7, i) for i in range(BEFORE + DURING)}
        self.assertEqual(want - keys, set())
        st = self.sub.last_json(self.daemon.stats_topic, lambda s: s["inbox_backlog"] == 0, 30)
        self.assertEqual(st["accepted"], DURING, json.dumps(st))

    def test_damaged_inbox_is_set_aside(self):
        """What an OS crash can do to the inbox in process durability (its
        pages reach the disk in no set order): both meta pages garbage."""
        self.send(0, 3)
        wait_until(lambda: self.daemon.count("dedup") >= 3, 30, "the first events applied")
        self.assertEqual(self.daemon.terminate(), 0)
        data = os.path.join(self.daemon.state, "inbox", "data.mdb")
        with open(data, "r+b") as f:
            f.write(os.urandom(8192))
        self.daemon.start(watcher=self.sub)
        log = self.daemon.log()
        self.assertIn("was damaged", log)
        aside = [d for d in os.listdir(self.daemon.state) if d.startswith("inbox.damaged-")]
        self.assertEqual(len(aside), 1, os.listdir(self.daemon.state))
        self.send(3, 5)
        wait_until(lambda: self.daemon.count("dedup") >= 8, 30, "events applied afterwards")


if __name__ == "__main__":
    unittest.main()

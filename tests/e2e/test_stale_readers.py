"""A reader of the store killed in the middle of a read (a sitewardctl run
killed with -9) leaves a stale slot in the LMDB reader table; siteward
clears it, so it cannot pin old pages for ever."""

import os
import signal
import subprocess
import sys
import unittest

from harness import E2E, wait_until

READER = """
import lmdb, sys
env = lmdb.open(sys.argv[1], readonly=True, lock=True, max_dbs=16, subdir=True)
txn = env.begin()
print("reading", flush=True)
sys.stdin.read()
"""


class StaleReaders(E2E):
    def readers(self):
        env = self.daemon.store()
        try:
            # One line per slot after the header; the listing clears nothing.
            return [l for l in env.readers().splitlines()[1:] if l.strip()]
        finally:
            env.close()

    def test_killed_reader_is_cleared(self):
        self.event("A", "d1", {"type": "smoke", "location": {"building": "1", "floor": "1"}})
        self.incident("A")
        p = subprocess.Popen([sys.executable, "-c", READER, os.path.join(self.daemon.state, "main")],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.assertEqual(p.stdout.readline().strip(), b"reading")
        pid = str(p.pid)
        self.assertTrue(any(pid in l.split()[:1] for l in self.readers()), self.readers())
        p.send_signal(signal.SIGKILL)
        p.wait(10)
        p.stdin.close()
        p.stdout.close()
        wait_until(lambda: not any(pid in l.split()[:1] for l in self.readers()), 15,
                   "siteward to clear the stale reader of pid %s" % pid)


if __name__ == "__main__":
    unittest.main()

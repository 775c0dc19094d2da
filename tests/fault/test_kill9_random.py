"""kill -9 at random points of a long QoS 1 event stream, many times over,
restarting each time with the same state directory and session: every
event the broker delivered is in the store exactly once, no incident is
duplicated, and every pending obligation of the open incidents has its one
deadline key (what the timer is re-armed from at start).

CI: 100,000 events and 20 kills (20,000 and 10 under the sanitizers);
SW_SOAK=1: 300,000 events and 60 kills. The seed is printed; SW_FAULT_SEED
replays the same kill points."""

import json
import time
import unittest

from faultlib import Stream, armed_obligations, deadline_keys, seeded, size, wait_until
from harness import E2E, Client

N = size(100000, 20000, 300000)
KILLS = size(20, 10, 60)
BUILDINGS, FLOORS = 10, 10  # 100 correlation keys: one incident each
DEVICES = 13


def key_of(i):
    return str(i % BUILDINGS), str((i // BUILDINGS) % FLOORS)


def event(i):
    b, f = key_of(i)
    return "d%d" % (i % DEVICES), {"type": "smoke", "id": "k-%06d" % i,
                                   "location": {"building": b, "floor": f}}


class Kill9Random(E2E):
    def test_random_kills_lose_nothing(self):
        rng, seed = seeded("kill9_random")
        # Kill points: numbers of events applied; drawn apart so each restart
        # gets somewhere, some close together (a kill during the replay).
        points = sorted(rng.sample(range(N // 50, N - N // 50), KILLS))
        print("kill points (events applied): %s" % points, flush=True)
        self._close("sub")
        prefix = self.prefix

        def messages():
            for i in range(N):
                dev, ev = event(i)
                yield "%s/A/event/sensor/%s" % (prefix, dev), json.dumps(ev)
        stream = self.stream = Stream(self.broker.port, "stream-%d" % self.broker.port)
        self.addCleanup(stream.close)
        started = time.monotonic()
        stream.start(messages())
        applied_at_kill = []
        for p in points:
            self.wait_applied(p, seed)
            self.daemon.kill9()
            applied_at_kill.append(self.daemon.count("dedup"))
            # Not waiting for "online": the next kill may land in the replay.
            self.daemon.start(wait_online=False)
        print("applied when killed: %s" % applied_at_kill, flush=True)
        stream.wait_all_acked()
        self.wait_applied(N, seed)
        elapsed = time.monotonic() - started
        print("%d events, %d kills, all stored %.1f s after the stream began (%.0f events/s)"
              % (N, KILLS, elapsed, N / elapsed), flush=True)
        self.check(seed)

    def wait_applied(self, n, seed):
        try:
            wait_until(lambda: self.daemon.count("dedup") >= n, 120,
                       "siteward to apply %d events (seed %d)" % (n, seed), interval=0.005)
        except AssertionError as e:
            st = self.stream
            raise AssertionError("%s: %d applied; %d published, %d acknowledged by the broker, "
                                 "publisher %s; siteward %s; its log ends:\n%s" % (
                e, self.daemon.count("dedup"), len(st.infos),
                st.acked,
                "running" if st.thread.is_alive() else "done",
                "running" if self.daemon.running() else "exited %s" % self.daemon.proc.returncode,
                self.daemon.log_tail())) from None

    def check(self, seed):
        why = " (seed %d)" % seed
        keys = {k.decode() for k, v in self.daemon.items("dedup")}
        expected = {"E/A/sensor/%s/%s" % (dev, ev["id"]) for dev, ev in map(event, range(N))}
        self.assertEqual(sorted(expected - keys)[:10], [], "events missing from the store" + why)
        self.assertEqual(sorted(keys - expected)[:10], [], "stray dedup keys" + why)

        incidents = {k.decode(): json.loads(v) for k, v in self.daemon.items("incidents")}
        per_key = {}
        for iid, inc in incidents.items():
            loc = inc["location"]
            per_key.setdefault((loc["building"], loc["floor"]), []).append(iid)
        self.assertEqual({k: v for k, v in per_key.items() if len(v) != 1}, {},
                         "duplicated incidents" + why)
        self.assertEqual(len(per_key), BUILDINGS * FLOORS)
        self.assertEqual(sum(inc["events"] for inc in incidents.values()), N,
                         "every event applied exactly once" + why)
        self.assertEqual(self.daemon.count("open"), BUILDINGS * FLOORS)

        # Each armed obligation has exactly its one deadline key, at its time.
        armed = armed_obligations(self.daemon)
        self.assertEqual(len(armed), 2 * BUILDINGS * FLOORS)  # fire: plan_activated, manager_on_site
        self.assertEqual(deadline_keys(self.daemon), armed, "deadlines re-armed" + why)

        watch = Client(self.broker.port, subscribe=(self.daemon.stats_topic,))
        try:
            s = watch.last_json(self.daemon.stats_topic, timeout=15)
        finally:
            watch.close()
        self.assertEqual(s["timers_armed"], len(armed))
        self.assertEqual(s["incidents_open"], BUILDINGS * FLOORS)
        self.assertFalse(s["storage_fault"])
        self.assertIs(self.daemon.died(), None)


if __name__ == "__main__":
    unittest.main()

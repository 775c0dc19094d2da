"""Broker restarts in the middle of a QoS 1 stream (persistent session,
broker persistence on): siteward's status goes offline (its will, which
mosquitto publishes as it shuts down) and online again, it reconnects and
resubscribes by itself, and every event published before, during and after
the outage is in the store.

The reconnect time is measured and printed: from the moment the restarted
broker accepts connections to siteward's connection in its own log, and to
its live "online". The assertions are on the daemon's behaviour, not on a
figure a noisy machine may stretch: it keeps trying during the outage (the
test waits for three attempts) on its own interval (250 ms; asserted as a
median gap of at most three intervals), so a reconnect costs one interval
plus Paho's handshake (which waits out a 1 s poll of Paho's receive thread),
within the 2 s of the contract.

Under ASan (SW_SANITIZE=ON) the broker is stopped only once siteward's
own publications have gone out: Paho 1.3.12 frees the topic of a QoS 1
publication that is in flight as the connection drops while its receive
thread still reads it when resending after the reconnect (heap-use-after-
free, libpaho-mqtt3a, found by this test; siteward no longer hands Paho
anything while disconnected, which made it rarer but cannot prevent it for
what is already in flight). The plain build stops the broker mid-stream.

CI: 3 restarts, 1,000 new events around each; SW_SOAK=1: 20 restarts."""

import datetime
import json
import re
import time
import unittest

from faultlib import SANITIZED, Stream, seeded, size, wait_until
from harness import E2E, Client

RESTARTS = size(3, 3, 20)
PER_PHASE = size(500, 300, 500)  # events in each phase: before, during, after each outage

ATTEMPT = re.compile(r"^(\S+)Z debug: mqtt: connection attempt (\d+)$")
CONNECTED = re.compile(r"^(\S+)Z info: mqtt: connected to ")


def log_time(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%f").replace(
        tzinfo=datetime.timezone.utc).timestamp()


class BrokerRestart(E2E):
    config_changes = {"log_level": "debug"}

    @property
    def broker_extra(self):
        return "persistence true\npersistence_location %s/\n" % self.tmp

    def log_lines(self, since):
        return self.daemon.log()[since:].splitlines()

    def test_restarts_mid_stream(self):
        rng, seed = seeded("broker_restart")
        self._close("sub")
        self._close("pub")
        prefix = self.prefix
        total = 0
        figures = []

        def events(start, count):
            for i in range(start, start + count):
                yield ("%s/A/event/sensor/d%d" % (prefix, i % 7),
                       json.dumps({"type": "water_leak", "id": "r-%06d" % i,
                                   "location": {"building": str(i % 20), "floor": "1"}}))

        for r in range(RESTARTS):
            # Before: a stream that is still going when the broker stops.
            s = Stream(self.broker.port, "before-%d" % r)
            s.start(events(total, PER_PHASE))
            total += PER_PHASE
            if SANITIZED:
                # See the module's note: stop only once siteward's own
                # publications are out (a stats message after the last event).
                s.wait_all_acked()
                wait_until(lambda: self.daemon.count("dedup") == total, 60, "the stream applied")
                w = Client(self.broker.port, subscribe=(self.daemon.stats_topic,))
                w.wait_for(self.daemon.stats_topic, timeout=15)
                w.close()
            else:
                cut = rng.randrange(1, PER_PHASE // 2)
                wait_until(lambda: len(s.infos) >= cut, 60, "the stream to begin")
            s.c.disconnect()
            s.c.loop_stop()
            s.thread.join(60)
            # What the broker acknowledged must arrive; the rest is sent again.
            unacked = [i for i, info in enumerate(s.infos) if not info.is_published()]
            log_mark = len(self.daemon.log())
            self.broker.stop()
            # Down until siteward has tried three times.
            wait_until(lambda: sum(1 for l in self.log_lines(log_mark) if ATTEMPT.match(l)) >= 3,
                       30, "three connection attempts")
            self.broker.start()
            back = time.time()
            # A fresh client sees the will, then the live "online".
            watch = Client(self.broker.port, subscribe=(self.daemon.status_topic,))
            # During: published while siteward is still away; the broker keeps
            # them for its session.
            d = Stream(self.broker.port, "during-%d" % r)
            first = total - PER_PHASE
            resend = [first + i for i in unacked] + list(range(first + len(s.infos),
                                                                 first + PER_PHASE))
            d.start(msg for i in resend for msg in events(i, 1))
            # Retained "online" too: on a loaded machine siteward can be back
            # before this watcher has subscribed; after the restart the
            # broker holds the will until siteward publishes again.
            seen = watch.wait_for(self.daemon.status_topic, lambda m: m.payload == b"online",
                                  timeout=30)
            online = time.time()
            statuses = [m.payload for m in watch.snapshot()]
            watch.close()
            d.wait_all_acked()
            d.close()

            lines = self.log_lines(log_mark)
            attempts = [(log_time(m.group(1)), int(m.group(2)))
                        for m in map(ATTEMPT.match, lines) if m]
            connected = [log_time(m.group(1)) for m in map(CONNECTED.match, lines) if m]
            self.assertEqual(len(connected), 1, "one reconnection (seed %d)" % seed)
            times = [t for t, n in attempts]
            gaps = sorted(b - a for a, b in zip(times, times[1:]))
            median_gap = gaps[len(gaps) // 2]
            figures.append((connected[0] - back, online - back, len(attempts), median_gap))
            print("restart %d: siteward connected %.3f s and online %.3f s after the broker "
                  "accepted connections; %d attempts, %.3f s apart (median)"
                  % (r + 1, *figures[-1]), flush=True)
            self.assertGreaterEqual(len(attempts), 3)
            # It tries on its own short interval (250 ms), not Paho's 3 s
            # check: a reconnect is one interval plus the handshake. The
            # bound is three intervals, for a loaded machine.
            self.assertLessEqual(median_gap, 0.75, "attempts %.3f s apart" % median_gap)
            if statuses[0] == b"online":
                print("restart %d: siteward was online before the watcher subscribed" % (r + 1))
            else:
                self.assertEqual(statuses[0], b"offline", "the will, retained: %s" % statuses)
                self.assertIn(b"online", statuses[1:])
            self.assertIsNotNone(seen)

            # After: more of the stream on the new connection.
            a = Stream(self.broker.port, "after-%d" % r)
            a.start(events(total, PER_PHASE))
            total += PER_PHASE
            a.wait_all_acked()
            a.close()
            wait_until(lambda: self.daemon.count("dedup") == total, 60,
                       "all %d events in the store (seed %d)" % (total, seed))

        keys = {k.decode() for k, v in self.daemon.items("dedup")}
        self.assertEqual(keys, {"E/A/sensor/d%d/r-%06d" % (i % 7, i) for i in range(total)})
        incidents = [json.loads(v) for k, v in self.daemon.items("incidents")]
        self.assertEqual(sum(i["events"] for i in incidents), total)
        self.assertEqual(len(incidents), 20)
        worst = max(f[0] for f in figures)
        print("reconnect after the broker was back: worst %.3f s, mean %.3f s over %d restarts"
              % (worst, sum(f[0] for f in figures) / len(figures), len(figures)), flush=True)


if __name__ == "__main__":
    unittest.main()

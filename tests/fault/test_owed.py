"""What siteward decided to send survives kill -9 while the broker is away:
escalations and replies are outbox entries written in the transaction that
decided them and deleted only when the broker acknowledges them.

1. An escalation: the broker is stopped, an obligation expires (scaled
   clock), the escalation is decided (timeline) while it cannot be sent,
   siteward is killed with -9; broker and siteward start again and the
   escalation arrives, once for its step, with the same id... (the outbox
   then drains to 0).
2. A reply: a command is stored in the inbox while the store refuses writes
   (SITEWARD_FAULT_STORE, a test-build hook), the broker stops, siteward is
   killed, starts without a broker and applies the command (deciding the
   reply), is killed again; with the broker back the reply arrives once.
"""

import json
import os
import unittest

from faultlib import wait_until
from harness import E2E, Client, PREFIX

SCALE = 30.0  # plan_activated (5 min) is due 10 s after the alarm


def escalations_in_store(daemon, obligation, step):
    n = 0
    for k, v in daemon.items("timeline"):
        try:
            e = json.loads(v)
        except ValueError:
            continue
        if e.get("kind") == "escalation" and e.get("obligation") == obligation \
                and e.get("step") == step:
            n += 1
    return n


class Owed(E2E):
    daemon_args = ("--clock-scale", str(SCALE))
    config_changes = {"stats_interval": "1s"}

    def restart_broker_and_daemon(self):
        """Broker up, a fresh watcher on everything, then siteward."""
        self.broker.start()
        self._close("sub")
        self.sub = Client(self.broker.port, subscribe=("%s/#" % PREFIX,))
        self.daemon.start(watcher=self.sub)
        self._close("pub")
        self.pub = Client(self.broker.port)

    def drained(self):
        """Wait for a stats message, published after now, with nothing owed."""
        since = self.sub.count()
        self.sub.last_json(self.daemon.stats_topic, lambda s: s.get("outbox") == 0,
                           timeout=30, since=since)

    def test_escalation_decided_while_broker_down_arrives_once(self):
        self.pub.publish(PREFIX + "/A/event/sensor/d17",
                         {"type": "smoke", "id": "e1",
                          "location": {"building": "3", "floor": "12"}})
        inc = self.sub.last_json(PREFIX + "/A/incident/+")
        self.drained()
        self._close("pub")
        self.broker.stop()
        # Decided and recorded with the broker gone.
        wait_until(lambda: escalations_in_store(self.daemon, "plan_activated", 1) == 1, 60,
                   "the step-1 escalation of plan_activated in the timeline")
        self.assertGreater(self.daemon.count("outbox"), 0)
        self.daemon.kill9()

        self.restart_broker_and_daemon()
        first = self.sub.wait_for(PREFIX + "/A/escalation/supervisor",
                                  lambda m: json.loads(m.payload).get("step") == 1, timeout=30)
        e = json.loads(first[0].payload)
        self.assertEqual((e["incident"], e["obligation"]), (inc["id"], "plan_activated"))
        # Meet both obligations so that no later step is decided, then wait
        # until everything owed was acknowledged: a second copy would have
        # gone out before that.
        self.pub.publish(PREFIX + "/A/cmd/li.wei", {"op": "plan_activated",
                                                    "incident": inc["id"], "request_id": "p"})
        self.pub.publish(PREFIX + "/A/cmd/li.wei", {"op": "on_site", "incident": inc["id"],
                                                    "request_id": "o"})
        self.sub.last_json(PREFIX + "/A/reply/li.wei", lambda j: j.get("request_id") == "o")
        self.drained()
        steps = [json.loads(m.payload) for m in self.sub.matching(PREFIX + "/A/escalation/+")]
        once = [s for s in steps if s["obligation"] == "plan_activated" and s["step"] == 1]
        self.assertEqual(len(once), 1, "step 1 exactly once: %s" % steps)
        self.assertEqual(escalations_in_store(self.daemon, "plan_activated", 1), 1)

    def test_reply_decided_while_broker_down_arrives_once(self):
        self.pub.publish(PREFIX + "/A/event/sensor/d3",
                         {"type": "water_leak", "id": "w1", "location": {"building": "1"}})
        inc = self.sub.last_json(PREFIX + "/A/incident/+")
        fault = os.path.join(self.tmp, "store-fault")
        os.environ["SITEWARD_FAULT_STORE"] = fault
        self.addCleanup(os.environ.pop, "SITEWARD_FAULT_STORE", None)
        # The fault hook is read on each commit: restart so the variable is seen.
        self.daemon.terminate()
        self.daemon.start(watcher=self.sub)
        open(fault, "w").close()

        cmd = {"op": "comment", "incident": inc["id"], "request_id": "c-7", "note": "checked"}
        self.pub.publish(PREFIX + "/A/cmd/li.wei", cmd)
        since = self.sub.count()
        self.sub.last_json(self.daemon.stats_topic,
                           lambda s: s["inbox_backlog"] >= 1 and s["storage_fault"], 30,
                           since=since)
        self._close("pub")
        self.broker.stop()
        self.daemon.kill9()

        # The store writes again; no broker: the command is applied, its
        # reply decided, and nothing can be sent.
        os.unlink(fault)
        self.daemon.start(wait_online=False)

        def comment_applied():
            return any(b'"kind":"comment"' in v or b'"checked"' in v
                       for k, v in self.daemon.items("timeline"))
        wait_until(comment_applied, 30, "the comment applied from the inbox")
        wait_until(lambda: self.daemon.count("outbox") > 0, 30, "the reply in the outbox")
        self.daemon.kill9()

        self.restart_broker_and_daemon()
        self.sub.wait_for(PREFIX + "/A/reply/li.wei",
                          lambda m: json.loads(m.payload).get("request_id") == "c-7", timeout=30)
        self.drained()
        replies = [json.loads(m.payload) for m in self.sub.matching(PREFIX + "/A/reply/li.wei")]
        mine = [r for r in replies if r.get("request_id") == "c-7"]
        self.assertEqual(len(mine), 1, "the reply exactly once: %s" % replies)
        self.assertTrue(mine[0]["ok"], mine[0])


if __name__ == "__main__":
    unittest.main()

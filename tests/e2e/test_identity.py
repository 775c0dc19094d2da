"""With the shipped ACL (config/mosquitto.acl) and passwords, one user
cannot act under another user's name: siteward never sees the forged
command, and every action it records is under the publisher's own name."""

import json
import os
import subprocess
import unittest

from harness import PREFIX, SOURCE, Broker, Client, Daemon, db_items, make_tmp, remove_tmp

USERS = {"siteward": "sw-secret", "li.wei": "lw-secret", "wang.fang": "wf-secret",
         "control-room": "cr-secret"}


class Identity(unittest.TestCase):
    def setUp(self):
        self.tmp = make_tmp("sw-id-")
        self.addCleanup(remove_tmp, self.tmp)
        pw = os.path.join(self.tmp, "passwd")
        for i, (u, p) in enumerate(USERS.items()):
            subprocess.run(["mosquitto_passwd", "-b"] + (["-c"] if i == 0 else []) + [pw, u, p],
                           check=True, capture_output=True)
        secret = os.path.join(self.tmp, "siteward.secret")
        with open(secret, "w") as f:
            f.write(USERS["siteward"] + "\n")
        self.broker = Broker(self.tmp, "allow_anonymous false\npassword_file %s\nacl_file %s\n"
                             % (pw, os.path.join(SOURCE, "config", "mosquitto.acl")))
        self.addCleanup(self.broker.stop)
        self.room = Client(self.broker.port, "room", "control-room", USERS["control-room"],
                           subscribe=(PREFIX + "/#",))
        self.addCleanup(self.room.close)
        self.daemon = Daemon(self.tmp, self.broker.port,
                             config_changes={"username": "siteward", "password_file": secret})
        self.addCleanup(self.daemon.stop)
        self.daemon.start(watcher=self.room)
        self.li = Client(self.broker.port, "li", "li.wei", USERS["li.wei"])
        self.addCleanup(self.li.close)

    def tearDown(self):
        died = self.daemon.died()
        if self.daemon.running():
            self.daemon.terminate()
        self.assertIsNone(died, "siteward died on its own: %s" % self.daemon.log()[-2000:])
        self.assertEqual(self.daemon.sanitizer_reports(), [])

    def test_cannot_act_under_another_name(self):
        room = self.room
        # li.wei reports an emergency under his own name: an incident opens.
        self.li.publish(PREFIX + "/A/report/li.wei", {"category": "emergency", "text": "smoke"})
        inc = room.last_json(PREFIX + "/A/incident/+")
        iid = inc["id"]

        # li.wei forges a command as wang.fang: the broker refuses it
        # (mosquitto answers an MQTT 5 client's denied publish by
        # disconnecting it, so the forgery goes from a connection of its own).
        forger = Client(self.broker.port, "li-forger", "li.wei", USERS["li.wei"], subscribe=())
        try:
            info = forger.c.publish(PREFIX + "/A/cmd/wang.fang",
                                    json.dumps({"op": "ack", "incident": iid,
                                                "request_id": "forged"}), qos=1)
            info.wait_for_publish(5)
        except (RuntimeError, ValueError):
            pass
        finally:
            forger.close()
        # ...and then acts as himself: siteward answers that one.
        self.li.publish(PREFIX + "/A/cmd/li.wei", {"op": "comment", "incident": iid,
                                                   "request_id": "own", "note": "checking"})
        room.wait_for(PREFIX + "/A/reply/li.wei",
                      lambda m: json.loads(m.payload).get("request_id") == "own")
        self.assertEqual([m for m in room.snapshot() if m.topic.startswith(PREFIX + "/A/reply/wang.fang")],
                         [])
        state = room.last_json(PREFIX + "/A/incident/" + iid)
        self.assertEqual(state["state"], "open", "the forged ack was not applied")

        env = self.daemon.store()
        try:
            entries = [json.loads(v) for k, v in db_items(env, "timeline")]
        finally:
            env.close()
        commands = [e for e in entries if e["kind"] == "command"]
        self.assertEqual([(c["op"], c["by"]) for c in commands], [("comment", "li.wei")])
        self.assertEqual([e["by"] for e in entries if e["kind"] == "report"], ["report/li.wei"])


if __name__ == "__main__":
    unittest.main()

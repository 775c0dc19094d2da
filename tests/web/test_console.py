"""Browser tests of the control-room console (web/): a real mosquitto with a
password file, the shipped ACL, a plain listener and a websockets listener
whose http_dir serves web/, the real siteward, and console.test.cjs driving
Debian's chromium through Playwright (packages pinned in package-lock.json,
installed by npm-install.sh, the CTest fixture web_deps).

Environment: as the e2e tests (SW_BUILD_DIR, SW_SOURCE_DIR); the board's
screenshot goes to SW_BUILD_DIR/web/screenshot.png.
"""

import json
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))

from harness import BUILD, SOURCE, Broker, Client, Daemon, free_port, make_tmp, remove_tmp  # noqa: E402

USERS = {"siteward": "sw-secret", "control-room": "cr-secret"}
CHROMIUM = "/usr/bin/chromium"
NODE_DIR = os.path.join(BUILD, "web-node")


class Console(unittest.TestCase):
    daemon_args = ()

    def setUp(self):
        # Fail, never skip, when the browser is missing: CI must install it.
        self.assertTrue(os.access(CHROMIUM, os.X_OK),
                        "no chromium at %s: install Debian's package chromium (scripts/deps.sh)" % CHROMIUM)
        self.assertTrue(os.path.isdir(os.path.join(NODE_DIR, "node_modules", "playwright-core")),
                        "no npm packages in %s: the CTest fixture web_deps runs tests/web/npm-install.sh"
                        % NODE_DIR)
        self.tmp = make_tmp("sw-web-")
        self.addCleanup(remove_tmp, self.tmp)
        pw = os.path.join(self.tmp, "passwd")
        for i, (u, p) in enumerate(USERS.items()):
            subprocess.run(["mosquitto_passwd", "-b"] + (["-c"] if i == 0 else []) + [pw, u, p],
                           check=True, capture_output=True)
        secret = os.path.join(self.tmp, "siteward.secret")
        with open(secret, "w") as f:
            f.write(USERS["siteward"] + "\n")
        # The shipped example's listeners, on free ports (the harness picks
        # the plain one and retries if it was taken; a taken websockets port
        # is retried here).
        for attempt in range(3):
            self.ws_port = free_port()
            extra = ("allow_anonymous false\npassword_file %s\nacl_file %s\n"
                     "listener %d 127.0.0.1\nprotocol websockets\nhttp_dir %s\n"
                     % (pw, os.path.join(SOURCE, "config", "mosquitto.acl"), self.ws_port,
                        os.path.join(SOURCE, "web")))
            try:
                self.broker = Broker(self.tmp, extra)
                break
            except AssertionError:
                if attempt == 2:
                    raise
        self.addCleanup(self.broker.stop)
        watcher = Client(self.broker.port, "web-watch", "siteward", USERS["siteward"])
        self.addCleanup(watcher.close)
        self.daemon = Daemon(self.tmp, self.broker.port, extra_args=self.daemon_args,
                             config_changes={"username": "siteward", "password_file": secret})
        self.addCleanup(self.daemon.stop)
        self.daemon.start(watcher=watcher)

    def tearDown(self):
        died = self.daemon.died()
        if self.daemon.running():
            self.daemon.terminate()
        self.assertIsNone(died, "siteward died on its own: %s" % self.daemon.log_tail())
        self.assertEqual(self.daemon.sanitizer_reports(), [])

    def browse(self, scenario):
        env = dict(os.environ, SW_WEB_SCENARIO=scenario, SW_WEB_NODE_DIR=NODE_DIR,
                   SW_WEB_HTTP="http://127.0.0.1:%d/" % self.ws_port, SW_WEB_PLAIN=str(self.broker.port),
                   SW_WEB_USERS=json.dumps(USERS), SW_WEB_SHOT=os.path.join(BUILD, "web", "screenshot.png"),
                   SW_WEB_TMP=self.tmp)
        sys.stdout.flush()
        r = subprocess.run(["node", os.path.join(HERE, "console.test.cjs")], env=env, timeout=240,
                           stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 0, "the browser scenario %s failed (its output is above); "
                         "broker log %s, siteward log %s" % (scenario, self.broker.log_path,
                                                            self.daemon.log_path))


class Board(Console):
    # Policy time 30 times faster: the smoke alarm's 5-minute plan is
    # missed after 10 s.
    daemon_args = ("--clock-scale", "30")

    def test_board(self):
        """Smoke alarm card, countdown, flash, banner, ack, errors,
        filters, missed obligation, archiving, screenshot."""
        self.browse("board")


class Load(Console):
    def test_thousand_incidents(self):
        """1,000 open incidents: time until rendered and of filter changes."""
        self.browse("load")


if __name__ == "__main__":
    unittest.main(verbosity=2)

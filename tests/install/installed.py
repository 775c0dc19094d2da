"""Helpers for the install and package tests: an installed (or unpacked)
siteward run against a real mosquitto through the e2e harness.

Environment (CTest sets it): SW_BUILD_DIR, SW_SOURCE_DIR and the install
layout the build tree was configured with (SW_INSTALL_* , relative to the
prefix unless absolute), SW_PLUGIN_ABI (the SDK's current ABI version).
"""

import json
import os
import re
import subprocess
import sys

SOURCE = os.environ.get("SW_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SOURCE, "tests", "e2e"))

import harness  # noqa: E402
from harness import Broker, Client, Daemon, make_tmp, remove_tmp, wait_until  # noqa: E402,F401

BUILD = harness.BUILD
LAYOUT = {k[len("SW_INSTALL_"):].lower(): v for k, v in os.environ.items()
          if k.startswith("SW_INSTALL_")}
ABI = os.environ.get("SW_PLUGIN_ABI", "1")
# The pipeline the shipped config loads, in order.
with open(os.path.join(SOURCE, "config", "siteward.json")) as f:
    SHIPPED_PLUGINS = tuple(p["name"] for p in json.load(f)["plugins"])

SMOKE = {"type": "smoke", "id": "inst-1", "location": {"building": "3", "floor": "12"}}


def run(argv, env=None, timeout=300, cwd=None):
    """Run a command to completion; raise with its output if it fails."""
    r = subprocess.run(argv, capture_output=True, timeout=timeout, cwd=cwd, stdin=subprocess.DEVNULL,
                       env=dict(os.environ, **(env or {})))
    if r.returncode != 0:
        raise AssertionError("%s exited %d:\n%s%s" % (" ".join(argv), r.returncode,
                                                      r.stdout.decode(errors="replace")[-3000:],
                                                      r.stderr.decode(errors="replace")[-3000:]))
    return r.stdout.decode()


class InstalledDaemon(Daemon):
    """harness.Daemon, but the executable and config given (an installed
    tree's), not the build tree's with a copy of the source config."""

    def __init__(self, tmp, port, exe, config, extra_args=()):
        super().__init__(tmp, port, extra_args=extra_args)
        self.exe = exe
        self.config = config

    def argv(self):
        return [self.exe, "--config", self.config, "--broker", "tcp://127.0.0.1:%d" % self.port,
                "--state", self.state, "--instance", self.instance] + self.extra_args


def loaded_plugins(log):
    """{name: (path, abi)} from the daemon's "plugin NAME: loaded PATH (ABI N)" lines."""
    return {m.group(1): (m.group(2), int(m.group(3)))
            for m in re.finditer(r"plugin (\S+): loaded (\S+) \(ABI (\d+)\)", log)}


def check_runs(test, tmp, exe, config, plugin_dir, extra_plugins=()):
    """Start `exe` with `config` against a private mosquitto, check that it
    loaded the shipped pipeline from `plugin_dir` (and the
    `extra_plugins` {name: path}), that a smoke alarm becomes a Level I fire
    incident. Returns (daemon, subscriber, publisher, incident)."""
    broker = Broker(tmp)
    test.addCleanup(broker.stop)
    daemon = InstalledDaemon(tmp, broker.port, exe, config)
    test.addCleanup(daemon.stop)
    sub = Client(broker.port, subscribe=("siteward/#",))
    test.addCleanup(sub.close)
    daemon.start(watcher=sub)
    plugins = loaded_plugins(daemon.log())
    want = {n: os.path.join(plugin_dir, n + ".so") for n in SHIPPED_PLUGINS}
    want.update(extra_plugins)
    test.assertEqual(set(plugins), set(want), daemon.log())
    for name, path in want.items():
        test.assertEqual(os.path.realpath(plugins[name][0]), os.path.realpath(path), name)
        test.assertEqual(plugins[name][1], int(ABI), name)
    pub = Client(broker.port)
    test.addCleanup(pub.close)
    pub.publish("siteward/A/event/sensor/d17", SMOKE)
    inc = sub.last_json("siteward/A/incident/+", lambda j: j.get("class") == "fire")
    test.assertEqual(inc["level"], 1)
    test.assertEqual(inc["location"], SMOKE["location"])
    return daemon, sub, pub, inc


def stop_clean(test, daemon):
    test.assertEqual(daemon.terminate(), 0, daemon.log_tail())
    test.assertEqual(daemon.sanitizer_reports(), [], daemon.log_path)

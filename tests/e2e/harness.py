"""End-to-end harness: a real mosquitto on a free loopback port, the real
siteward daemon, MQTT 5 clients and read access to the LMDB store.

Every wait polls a condition with a deadline; nothing sleeps in place of a
condition. Every process started here is stopped by its PID.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import lmdb
import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.packettypes import PacketTypes

SOURCE = os.environ.get("SW_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
BUILD = os.environ.get("SW_BUILD_DIR", os.path.join(SOURCE, "build"))
SITEWARD = os.path.join(BUILD, "bin", "siteward")
PREFIX = "siteward"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(pred, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.01)
    raise AssertionError("timed out after %.1f s waiting for %s" % (timeout, what))


class Broker:
    """A private mosquitto on 127.0.0.1:port."""

    def __init__(self, tmp, extra=""):
        self.port = free_port()
        self.dir = tmp
        self.conf = os.path.join(tmp, "mosquitto.conf")
        with open(self.conf, "w") as f:
            f.write("listener %d 127.0.0.1\n" % self.port)
            if "allow_anonymous" not in extra:
                f.write("allow_anonymous true\n")
            f.write("max_queued_messages 0\nset_tcp_nodelay true\n")
            f.write("persistence true\npersistence_location %s/\n" % tmp)
            # Started as root, mosquitto would drop to its own user and
            # could not read this private directory.
            if os.geteuid() == 0:
                f.write("user root\n")
            f.write(extra)
        self.proc = None
        self.start()

    def start(self):
        self.log = open(os.path.join(self.dir, "mosquitto.log"), "ab")
        self.proc = subprocess.Popen(["/usr/sbin/mosquitto", "-c", self.conf],
                                     stdout=self.log, stderr=subprocess.STDOUT)

        def accepting():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return True
            except OSError:
                if self.proc.poll() is not None:
                    raise AssertionError("mosquitto exited: see %s" % self.log.name)
                return False
        wait_until(accepting, 10, "mosquitto to accept connections")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None
        self.log.close()


class Client:
    """An MQTT 5 client that records every message it receives."""

    def __init__(self, port, client_id=None, username=None, password=None, subscribe=("#",)):
        self.messages = []
        self.lock = threading.Lock()
        self.connected = threading.Event()
        self.c = mqtt.Client(client_id=client_id or "t-%d-%d" % (os.getpid(), id(self)),
                             protocol=mqtt.MQTTv5)
        if username:
            self.c.username_pw_set(username, password)
        self.c.on_message = self._on_message
        self.c.on_connect = lambda c, u, f, rc, p=None: self.connected.set()
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()
        wait_until(self.connected.is_set, 10, "MQTT client connection")
        for t in subscribe:
            r, mid = self.c.subscribe(t, qos=1)
            assert r == mqtt.MQTT_ERR_SUCCESS

    def _on_message(self, c, u, msg):
        with self.lock:
            self.messages.append(msg)

    def snapshot(self):
        with self.lock:
            return list(self.messages)

    def wait_for(self, topic_filter, pred=lambda m: True, timeout=10.0, count=1):
        """Messages matching the filter and predicate; waits for `count`."""
        def found():
            got = [m for m in self.snapshot()
                   if mqtt.topic_matches_sub(topic_filter, m.topic) and pred(m)]
            return got if len(got) >= count else None
        return wait_until(found, timeout, "%d message(s) on %s" % (count, topic_filter))

    def last_json(self, topic_filter, pred=lambda j: True, timeout=10.0):
        msgs = self.wait_for(topic_filter, lambda m: m.payload and pred(json.loads(m.payload)),
                             timeout)
        return json.loads(msgs[-1].payload)

    def publish(self, topic, payload, qos=1, retain=False, props=None):
        if isinstance(payload, (dict, list)):
            payload = json.dumps(payload)
        info = self.c.publish(topic, payload, qos=qos, retain=retain, properties=props)
        info.wait_for_publish(10)
        return info

    def clear(self):
        with self.lock:
            self.messages = []

    def close(self):
        self.c.loop_stop()
        self.c.disconnect()


def response_props(topic, corr):
    p = Properties(PacketTypes.PUBLISH)
    p.ResponseTopic = topic
    p.CorrelationData = corr
    return p


class Daemon:
    """The real siteward, with a copy of the shipped config."""

    def __init__(self, tmp, port, instance="test", extra_args=(), config_changes=None,
                 policy=None):
        self.tmp = tmp
        self.port = port
        self.instance = instance
        self.state = os.path.join(tmp, "state")
        with open(os.path.join(SOURCE, "config", "siteward.json")) as f:
            cfg = json.load(f)
        cfg["stats_interval"] = "1s"
        cfg["policy"] = policy or os.path.join(SOURCE, "config", "policy", "default.json")
        for site in cfg["sites"].values():
            site["calendar"] = os.path.join(SOURCE, "config", site["calendar"])
        cfg["plugin_dir"] = os.path.join(BUILD, "lib", "siteward")
        cfg.update(config_changes or {})
        self.config = os.path.join(tmp, "siteward.json")
        with open(self.config, "w") as f:
            json.dump(cfg, f)
        self.extra_args = list(extra_args)
        self.proc = None
        self.stderr_path = os.path.join(tmp, "siteward.log")

    def start(self, wait_online=True, watcher=None):
        self.stderr = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(
            [SITEWARD, "--config", self.config, "--broker", "tcp://127.0.0.1:%d" % self.port,
             "--state", self.state, "--instance", self.instance] + self.extra_args,
            stdout=self.stderr, stderr=subprocess.STDOUT)
        if wait_online:
            w = watcher or Client(self.port, subscribe=())
            topic = "%s/_daemon/%s/status" % (PREFIX, self.instance)
            got = threading.Event()

            def on(c, u, m):
                if m.payload == b"online":
                    got.set()
            w.c.message_callback_add(topic, on)
            w.c.subscribe(topic, qos=1)

            def online():
                if self.proc.poll() is not None:
                    raise AssertionError("siteward exited %d: %s" % (self.proc.returncode,
                                                                     self.log()))
                return got.is_set()
            wait_until(online, 15, "siteward to be online")
            w.c.message_callback_remove(topic)
            w.c.unsubscribe(topic)
            if watcher is None:
                w.close()
        return self

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.stderr.close()

    def terminate(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(15)
        self.stderr.close()
        return rc

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if self.proc and not self.stderr.closed:
            self.stderr.close()

    def log(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def sanitizer_reports(self):
        """Lines where AddressSanitizer, LeakSanitizer or UBSan spoke."""
        return [l for l in self.log().splitlines()
                if "Sanitizer" in l or "runtime error:" in l]

    def store(self):
        """The main LMDB environment, read-only, as sitewardctl opens it."""
        return lmdb.open(os.path.join(self.state, "main"), readonly=True, lock=True,
                         max_dbs=16, subdir=True)


def db_items(env, name):
    db = env.open_db(name.encode(), create=False)
    with env.begin(db=db) as txn:
        return list(txn.cursor())


def run_siteward(args, timeout=15):
    return subprocess.run([SITEWARD] + args, capture_output=True, timeout=timeout)


class E2E(unittest.TestCase):
    """Base: a fresh broker, daemon and watching client per test."""

    daemon_args = ()
    config_changes = None
    policy = None

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="sw-e2e-")
        self.broker = Broker(self.tmp, getattr(self, "broker_extra", ""))
        self.daemon = Daemon(self.tmp, self.broker.port, extra_args=self.daemon_args,
                             config_changes=self.config_changes, policy=self.policy)
        self.sub = Client(self.broker.port, subscribe=("%s/#" % PREFIX,))
        self.daemon.start()
        self.pub = Client(self.broker.port, subscribe=())

    def tearDown(self):
        for c in (getattr(self, "pub", None), getattr(self, "sub", None)):
            if c:
                c.close()
        # A clean stop, so that a sanitizer build reports leaks too.
        if self.daemon.proc and self.daemon.proc.poll() is None:
            self.daemon.terminate()
        self.daemon.stop()
        self.broker.stop()
        reports = self.daemon.sanitizer_reports()
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.assertEqual(reports, [])

    def stats(self, pred=lambda s: True, timeout=10):
        return self.sub.last_json("%s/_daemon/%s/stats" % (PREFIX, self.daemon.instance), pred,
                                  timeout)

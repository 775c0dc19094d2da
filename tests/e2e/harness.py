"""End-to-end harness: a real mosquitto on a free loopback port, the real
siteward daemon, MQTT 5 clients and read access to the LMDB store.

Every wait polls a condition with a deadline; nothing sleeps in place of a
condition. Every process started here is stopped by its PID, and every temp
directory is removed (set SW_E2E_KEEP=1 to keep them for a post-mortem).

Environment: SW_BUILD_DIR (the CMake build tree, holding bin/siteward),
SW_SOURCE_DIR (the source tree, holding config/); CTest sets both.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import lmdb
import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

SOURCE = os.environ.get("SW_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BUILD = os.environ.get("SW_BUILD_DIR") or "/work/main/build"
SITEWARD = os.path.join(BUILD, "bin", "siteward")
PREFIX = "siteward"
KEEP = bool(os.environ.get("SW_E2E_KEEP"))

STATS_FIELDS = ("received", "accepted", "rejected", "duplicates", "incidents_open",
                "timers_armed", "escalations_sent", "store_size")


def free_port():
    """A loopback TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(pred, timeout=10.0, what="condition", interval=0.01):
    """Poll pred() until it returns a true value (returned) or the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1f s waiting for %s" % (timeout, what))
        time.sleep(interval)


def stop_process(proc, sig=signal.SIGTERM, timeout=10.0):
    """Stop one process we started, by its PID; SIGKILL if it outlives the
    timeout. Returns its exit status."""
    if proc is None:
        return None
    if proc.poll() is None:
        try:
            os.kill(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout)
    return proc.returncode


def make_tmp(prefix="sw-e2e-"):
    return tempfile.mkdtemp(prefix=prefix)


def remove_tmp(path):
    if KEEP:
        sys.stderr.write("kept %s\n" % path)
        return
    shutil.rmtree(path, ignore_errors=True)


class Broker:
    """A private mosquitto on 127.0.0.1:port, configured in `tmp`.

    With `tls` ({"ca", "cert", "key"} file paths, optionally
    "require_certificate" and "password_file"), a second listener on
    tls_port speaks TLS only, with its own authentication; the plain one
    stays anonymous for the test's own clients."""

    def __init__(self, tmp, extra="", tls=None):
        self.dir = tmp
        self.extra = extra
        self.tls = tls
        self.conf = os.path.join(tmp, "mosquitto.conf")
        self.log_path = os.path.join(tmp, "mosquitto.log")
        self.proc = None
        self.port = None
        self.tls_port = None
        # The port can be taken between free_port() and mosquitto's bind
        # (tests may run in parallel): try a few.
        for attempt in range(5):
            self.port = free_port()
            if tls:
                self.tls_port = free_port()
            self._write_conf()
            if self.start(raise_on_exit=attempt == 4):
                break

    def _write_conf(self):
        with open(self.conf, "w") as f:
            if self.tls:
                f.write("per_listener_settings true\n")
            f.write("listener %d 127.0.0.1\n" % self.port)
            if "allow_anonymous" not in self.extra:
                f.write("allow_anonymous true\n")
            f.write("max_queued_messages 0\n")
            f.write("set_tcp_nodelay true\n")
            f.write("persistence false\n")
            f.write("log_dest stderr\n")
            # Started as root, mosquitto would drop to its own user and could
            # not read this private directory.
            if os.geteuid() == 0:
                f.write("user root\n")
            f.write(self.extra)
            if self.tls:
                t = self.tls
                f.write("\nlistener %d 127.0.0.1\n" % self.tls_port)
                f.write("cafile %s\ncertfile %s\nkeyfile %s\n" % (t["ca"], t["cert"], t["key"]))
                f.write("require_certificate %s\n"
                        % ("true" if t.get("require_certificate") else "false"))
                if t.get("password_file"):
                    f.write("allow_anonymous false\npassword_file %s\n" % t["password_file"])
                else:
                    f.write("allow_anonymous true\n")

    def start(self, raise_on_exit=True):
        """Start mosquitto and wait until it accepts connections. Returns
        False if it exited at once (port taken) and raise_on_exit is false."""
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(["/usr/sbin/mosquitto", "-c", self.conf],
                                         stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()
        exited = []

        def accepting():
            try:
                for port in (self.port, self.tls_port) if self.tls_port else (self.port,):
                    with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                        pass
                return True
            except OSError:
                if self.proc.poll() is not None:
                    exited.append(self.proc.returncode)
                    return True
                return False
        wait_until(accepting, 15, "mosquitto to accept connections on port %d" % self.port)
        if exited:
            self.proc = None
            if raise_on_exit:
                raise AssertionError("mosquitto exited %d: %s" % (exited[0], self.log()))
            return False
        return True

    def stop(self):
        stop_process(self.proc)
        self.proc = None

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""


class Client:
    """An MQTT 5 client that records every message it receives, thread-safely.

    `subscribe` topics are subscribed at QoS 1 before the constructor
    returns (the SUBACK has arrived, so retained messages are on their way
    and anything published afterwards will be seen)."""

    _seq = 0
    _seq_lock = threading.Lock()

    def __init__(self, port, client_id=None, username=None, password=None, subscribe=()):
        with Client._seq_lock:
            Client._seq += 1
            seq = Client._seq
        self.messages = []
        self.lock = threading.Lock()
        self.connected = threading.Event()
        self.connect_rc = None
        self.subacks = {}
        self.filters = []
        self.c = mqtt.Client(client_id=client_id or "t-%d-%d" % (os.getpid(), seq),
                             protocol=mqtt.MQTTv5)
        if username:
            self.c.username_pw_set(username, password)
        self.c.on_message = self._on_message
        self.c.on_connect = self._on_connect
        self.c.on_subscribe = self._on_subscribe
        self.c.connect("127.0.0.1", port, keepalive=30)
        self.c.loop_start()
        wait_until(self.connected.is_set, 10, "MQTT client connection")
        if self.connect_rc != 0:
            self.close()
            raise AssertionError("MQTT connect refused: %s" % self.connect_rc)
        for t in subscribe:
            self.subscribe(t)

    def _on_connect(self, c, userdata, flags, rc, properties=None):
        self.connect_rc = rc.value if hasattr(rc, "value") else rc
        self.connected.set()

    def _on_subscribe(self, c, userdata, mid, reason_codes, properties=None):
        with self.lock:
            self.subacks[mid] = reason_codes

    def _on_message(self, c, userdata, msg):
        with self.lock:
            self.messages.append(msg)

    def subscribe(self, topic_filter, qos=1):
        r, mid = self.c.subscribe(topic_filter, qos=qos)
        if r != mqtt.MQTT_ERR_SUCCESS:
            raise AssertionError("subscribe %s: %s" % (topic_filter, mqtt.error_string(r)))

        def acked():
            with self.lock:
                return self.subacks.get(mid)
        codes = wait_until(acked, 10, "SUBACK for %s" % topic_filter)
        if any(getattr(rc, "value", rc) >= 0x80 for rc in codes):
            raise AssertionError("subscription to %s refused: %s" % (topic_filter, codes))
        self.filters.append(topic_filter)

    def covers(self, topic):
        """Whether a subscription of this client already matches topic (a
        second, overlapping one would make the broker deliver twice)."""
        return any(mqtt.topic_matches_sub(f, topic) for f in self.filters)

    def snapshot(self):
        with self.lock:
            return list(self.messages)

    def count(self):
        with self.lock:
            return len(self.messages)

    def matching(self, topic_filter, pred=lambda m: True, since=0):
        return [m for m in self.snapshot()[since:]
                if mqtt.topic_matches_sub(topic_filter, m.topic) and pred(m)]

    def wait_for(self, topic_filter, pred=lambda m: True, timeout=10.0, count=1, since=0):
        """Messages on topics matching the filter for which pred(message) is
        true; waits until there are `count` of them (among messages
        received from index `since` on)."""
        def found():
            got = self.matching(topic_filter, pred, since)
            return got if len(got) >= count else None
        return wait_until(found, timeout, "%d message(s) on %s" % (count, topic_filter))

    def last_json(self, topic_filter, pred=lambda j: True, timeout=10.0, since=0):
        """The latest JSON payload on the filter for which pred(json) holds."""
        def ok(m):
            j = parse_json(m.payload)
            return j is not None and pred(j)
        msgs = self.wait_for(topic_filter, ok, timeout, since=since)
        return json.loads(msgs[-1].payload)

    def publish(self, topic, payload, qos=1, retain=False, props=None, timeout=10.0):
        """Publish and wait for the broker's PUBACK (QoS 1)."""
        if isinstance(payload, (dict, list)):
            payload = json.dumps(payload)
        info = self.c.publish(topic, payload, qos=qos, retain=retain, properties=props)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise AssertionError("publish %s: %s" % (topic, mqtt.error_string(info.rc)))
        info.wait_for_publish(timeout)
        if not info.is_published():
            raise AssertionError("no PUBACK for %s within %.0f s" % (topic, timeout))
        return info

    def clear(self):
        with self.lock:
            self.messages = []

    def close(self):
        try:
            self.c.disconnect()
        finally:
            self.c.loop_stop()


def parse_json(payload):
    try:
        return json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None


def retained(port, topic_filter, timeout=5.0):
    """The retained messages on topic_filter, as a fresh subscriber sees them:
    {topic: payload}. The broker sends retained messages before it handles
    a later request from the same client, so a round trip on a private
    topic marks the end of them."""
    c = Client(port, subscribe=(topic_filter,))
    try:
        marker = "e2e-marker/%d/%d" % (os.getpid(), id(c))
        c.subscribe(marker)
        c.publish(marker, b"end")
        c.wait_for(marker, timeout=timeout)
        out = {}
        for m in c.snapshot():
            if m.topic != marker and m.retain:
                out[m.topic] = m.payload
        return out
    finally:
        c.close()


def response_props(topic, corr):
    p = Properties(PacketTypes.PUBLISH)
    p.ResponseTopic = topic
    p.CorrelationData = corr
    return p


def config_copy(tmp, changes=None, policy=None):
    """A JSON copy of config/siteward.json in tmp with stats every second
    and absolute policy and calendar paths; returns (path, dict)."""
    with open(os.path.join(SOURCE, "config", "siteward.json")) as f:
        cfg = json.load(f)
    cfg["stats_interval"] = "1s"
    cfg["policy"] = policy or os.path.join(SOURCE, "config", cfg["policy"])
    for site in cfg["sites"].values():
        if "calendar" in site:
            site["calendar"] = os.path.join(SOURCE, "config", site["calendar"])
    cfg["state_dir"] = os.path.join(tmp, "state")
    # Tests run in parallel: each daemon serves /metrics on a port of its own.
    if "metrics" in cfg:
        cfg["metrics"] = {"listen": "127.0.0.1:%d" % free_port()}
    cfg.update(changes or {})
    path = os.path.join(tmp, "siteward.json")
    with open(path, "w") as f:
        json.dump(cfg, f, indent=1)
    return path, cfg


class Daemon:
    """The real siteward with a copy of the shipped config; its stdout and
    stderr go to `log_path`."""

    def __init__(self, tmp, port, instance="test", extra_args=(), config_changes=None,
                 policy=None, prefix=PREFIX, broker_url=None):
        self.tmp = tmp
        self.port = port
        # Where siteward connects (default: the plain listener on `port`,
        # which is also where start() watches for "online").
        self.broker_url = broker_url or "tcp://127.0.0.1:%d" % port
        self.instance = instance
        self.prefix = prefix
        self.state = os.path.join(tmp, "state")
        self.config, self.cfg = config_copy(tmp, config_changes, policy)
        self.extra_args = list(extra_args)
        if prefix != PREFIX:
            self.extra_args += ["--prefix", prefix]
        self.proc = None
        self.log_path = os.path.join(tmp, "siteward.log")
        self.starts = 0
        self.stopped_on_purpose = False

    @property
    def status_topic(self):
        return "%s/_daemon/%s/status" % (self.prefix, self.instance)

    @property
    def stats_topic(self):
        return "%s/_daemon/%s/stats" % (self.prefix, self.instance)

    def argv(self):
        return [SITEWARD, "--config", self.config, "--broker", self.broker_url,
                "--state", self.state, "--instance", self.instance] + self.extra_args

    def start(self, wait_online=True, watcher=None, timeout=20.0):
        """Start siteward; with wait_online, wait until it publishes "online"
        on its status topic after this start (a retained "online" left by an
        earlier, killed run does not count)."""
        if not os.path.exists(SITEWARD):
            raise unittest.SkipTest("no daemon at %s (set SW_BUILD_DIR)" % SITEWARD)
        w = None
        if wait_online:
            w = watcher or Client(self.port)
            if not w.covers(self.status_topic):
                w.subscribe(self.status_topic)
            since = w.count()
        self.stopped_on_purpose = False
        log = open(self.log_path, "ab")
        try:
            self.starts += 1
            log.write(("---- start %d: %s\n" % (self.starts, " ".join(self.argv()))).encode())
            log.flush()
            self.proc = subprocess.Popen(self.argv(), stdout=log, stderr=log,
                                         stdin=subprocess.DEVNULL)
        finally:
            log.close()
        if not wait_online:
            return self
        try:
            def online():
                if self.proc.poll() is not None:
                    raise AssertionError("siteward exited %d:\n%s" % (self.proc.returncode,
                                                                      self.log()[-4000:]))
                # Published while we were subscribed, so delivered live
                # (retain flag clear), not a stale retained copy.
                return w.matching(self.status_topic,
                                  lambda m: m.payload == b"online" and not m.retain, since)
            wait_until(online, timeout, "siteward to publish online on %s" % self.status_topic)
        finally:
            if watcher is None:
                w.close()
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def died(self):
        """The exit status if siteward exited without being told to."""
        if self.proc is None or self.stopped_on_purpose or self.proc.poll() is None:
            return None
        return self.proc.returncode

    def kill9(self):
        """SIGKILL by PID and reap."""
        self.stopped_on_purpose = True
        return stop_process(self.proc, signal.SIGKILL)

    def terminate(self, timeout=20.0):
        """SIGTERM by PID; returns the exit status (raises if it hangs)."""
        self.stopped_on_purpose = True
        os.kill(self.proc.pid, signal.SIGTERM)
        return self.proc.wait(timeout)

    def stop(self):
        self.stopped_on_purpose = True
        stop_process(self.proc, signal.SIGKILL)

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self):
        """The end of the log, or a sanitizer's report from its start."""
        log = self.log()
        at = log.find("ERROR: AddressSanitizer")
        return log[at:at + 8000] if at >= 0 else log[-2000:]

    def sanitizer_reports(self):
        """Lines where AddressSanitizer, LeakSanitizer or UBSan spoke."""
        return [l for l in self.log().splitlines()
                if "Sanitizer" in l or "runtime error:" in l]

    def store(self):
        """The main LMDB environment, read-only, as sitewardctl opens it.
        The map is sized well past the daemon's (a reader's smaller map
        fails with MDB_MAP_RESIZED once the store outgrows it)."""
        return lmdb.open(os.path.join(self.state, "main"), readonly=True, lock=True,
                         max_dbs=16, subdir=True, create=False, map_size=1 << 36)

    def items(self, name):
        """All (key, value) pairs of one named database, as bytes."""
        env = self.store()
        try:
            return db_items(env, name)
        finally:
            env.close()

    def count(self, name):
        env = self.store()
        try:
            db = env.open_db(name.encode(), create=False)
            with env.begin(db=db) as txn:
                return txn.stat(db)["entries"]
        finally:
            env.close()


def db_items(env, name):
    db = env.open_db(name.encode(), create=False)
    with env.begin(db=db) as txn:
        return [(bytes(k), bytes(v)) for k, v in txn.cursor()]


def run_siteward(args, timeout=20):
    if not os.path.exists(SITEWARD):
        raise unittest.SkipTest("no daemon at %s (set SW_BUILD_DIR)" % SITEWARD)
    return subprocess.run([SITEWARD] + args, capture_output=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


class E2E(unittest.TestCase):
    """Base: a fresh broker, daemon and two clients per test: `sub` records
    everything under the prefix from before the daemon starts, `pub`
    publishes."""

    daemon_args = ()
    config_changes = None
    policy = None
    broker_extra = ""
    prefix = PREFIX

    def setUp(self):
        self.tmp = make_tmp()
        self.addCleanup(remove_tmp, self.tmp)
        self.broker = Broker(self.tmp, self.broker_extra)
        self.addCleanup(self.broker.stop)
        self.daemon = Daemon(self.tmp, self.broker.port, extra_args=self.daemon_args,
                             config_changes=self.config_changes, policy=self.policy,
                             prefix=self.prefix)
        self.addCleanup(self.daemon.stop)
        self.sub = Client(self.broker.port, subscribe=("%s/#" % self.prefix,))
        self.addCleanup(self._close, "sub")
        self.daemon.start(watcher=self.sub)
        self.pub = Client(self.broker.port)
        self.addCleanup(self._close, "pub")

    def _close(self, name):
        c = getattr(self, name, None)
        if c is not None:
            c.close()
            setattr(self, name, None)

    def tearDown(self):
        died = self.daemon.died()
        # A clean stop, so that a sanitizer build reports leaks too.
        if self.daemon.running():
            self.daemon.terminate()
        self.assertIsNone(died, "siteward died on its own with status %s; log %s ends:\n%s"
                          % (died, self.daemon.log_path, self.daemon.log_tail()))
        reports = self.daemon.sanitizer_reports()
        self.assertEqual(reports, [], "sanitizer reports in %s" % self.daemon.log_path)

    def topic(self, rest):
        return "%s/%s" % (self.prefix, rest)

    def stats(self, pred=lambda s: True, timeout=15):
        """The latest stats message for which pred holds."""
        return self.sub.last_json(self.daemon.stats_topic, pred, timeout)

    def last_stats(self, timeout=15):
        """The next stats message published from now on."""
        since = self.sub.count()
        return self.sub.last_json(self.daemon.stats_topic, timeout=timeout, since=since)

    def event(self, site, device, ev, source="sensor", client=None):
        (client or self.pub).publish(self.topic("%s/event/%s/%s" % (site, source, device)), ev)

    def command(self, site, user, cmd, props=None):
        """Send a command and return its reply on P/site/reply/user (matched
        by request_id)."""
        since = self.sub.count()
        self.pub.publish(self.topic("%s/cmd/%s" % (site, user)), cmd, props=props)
        rid = cmd.get("request_id")
        try:
            return self.sub.last_json(self.topic("%s/reply/%s" % (site, user)),
                                      lambda j: j.get("request_id") == rid, since=since)
        except AssertionError as e:
            raise AssertionError("no reply to %s: %s" % (json.dumps(cmd), e)) from None

    def incident(self, site, pred=lambda j: True, since=0, timeout=10):
        """The latest incident state on P/site/incident/+ satisfying pred."""
        return self.sub.last_json(self.topic("%s/incident/+" % site), pred, timeout, since=since)

    def retained_incidents(self, site):
        """{id: incident} of the retained incident topics of a site."""
        got = retained(self.broker.port, self.topic("%s/incident/+" % site))
        return {t.rsplit("/", 1)[1]: json.loads(p) for t, p in got.items() if p}

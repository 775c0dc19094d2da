"""TLS to the broker: siteward connects to a mosquitto TLS listener that
wants a client certificate and a password, with a CA and certificates this
test makes with the openssl command, and processes an event over it. A CA
that did not sign the broker's certificate, or a wrong password, is a
configuration error: a log line naming the problem, no connection, exit 78;
so is a certificate file that is not there. A broker that is down at start
is waited for, and so is one that hangs up without saying why (mosquitto,
when the client certificate is missing)."""

import json
import os
import subprocess
import unittest

from harness import PREFIX, Broker, Client, Daemon, make_tmp, remove_tmp, retained, wait_until

PASSWORD = "tls-e2e-pass-7Q"


def openssl(*args, cwd):
    r = subprocess.run(["openssl"] + list(args), cwd=cwd, capture_output=True, timeout=60)
    if r.returncode:
        raise AssertionError("openssl %s: %s" % (" ".join(args), r.stderr.decode()))


def make_ca(d, name, cn):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", name + ".key", "-out", name + ".crt", "-days", "2", "-subj", "/CN=" + cn,
            cwd=d)


def make_cert(d, name, cn, ca, ext=None):
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + cn, cwd=d)
    args = ["x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt", "-CAkey", ca + ".key",
            "-CAcreateserial", "-out", name + ".crt", "-days", "2"]
    if ext:
        with open(os.path.join(d, name + ".ext"), "w") as f:
            f.write(ext)
        args += ["-extfile", name + ".ext"]
    openssl(*args, cwd=d)


class TLS(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.certs_tmp = make_tmp("sw-tls-")
        d = cls.certs = os.path.join(cls.certs_tmp, "certs")
        os.mkdir(d)
        make_ca(d, "ca", "siteward e2e CA")
        make_cert(d, "server", "localhost", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        make_cert(d, "client", "siteward", "ca")
        make_ca(d, "other-ca", "someone else's CA")
        subprocess.run(["mosquitto_passwd", "-c", "-b", os.path.join(d, "passwd"), "siteward",
                        PASSWORD], check=True, capture_output=True, timeout=30)
        # Started as root, mosquitto reads these as root (harness: user root);
        # otherwise as this user, who made them.

    @classmethod
    def tearDownClass(cls):
        remove_tmp(cls.certs_tmp)

    def setUp(self):
        self.tmp = make_tmp()
        self.addCleanup(remove_tmp, self.tmp)
        c = self.certs
        self.broker = Broker(self.tmp, tls={
            "ca": os.path.join(c, "ca.crt"), "cert": os.path.join(c, "server.crt"),
            "key": os.path.join(c, "server.key"), "require_certificate": True,
            "password_file": os.path.join(c, "passwd")})
        self.addCleanup(self.broker.stop)
        self.sub = Client(self.broker.port, subscribe=("%s/#" % PREFIX,))
        self.addCleanup(self.sub.close)
        self.daemons = []

    def tearDown(self):
        for d in self.daemons:
            if d.running():
                self.assertEqual(d.terminate(), 0)
            self.assertEqual(d.sanitizer_reports(), [], "sanitizer reports in %s" % d.log_path)
            self.assertNotIn(PASSWORD, d.log(), "the password never reaches the log")

    def daemon(self, instance, password=PASSWORD, ca="ca.crt"):
        """A siteward whose config, in its own folder, names the password
        file and the certificates by paths relative to that folder."""
        home = os.path.join(self.tmp, instance)
        os.mkdir(home)
        with open(os.path.join(home, "broker.pass"), "w") as f:
            f.write(password + "\n")
        os.chmod(os.path.join(home, "broker.pass"), 0o600)
        rel = os.path.relpath(self.certs, home)
        d = Daemon(home, self.broker.port, instance=instance,
                   broker_url="ssl://127.0.0.1:%d" % self.broker.tls_port,
                   config_changes={
                       "username": "siteward", "password_file": "broker.pass",
                       "tls": {"ca_file": os.path.join(rel, ca),
                               "cert_file": os.path.join(rel, "client.crt"),
                               "key_file": os.path.join(rel, "client.key")}})
        self.daemons.append(d)
        self.addCleanup(d.stop)
        return d

    def online_seen(self, d):
        return self.sub.matching(d.status_topic, lambda m: m.payload == b"online")

    def expect_refused(self, d, *phrases):
        d.start(wait_online=False)
        wait_until(lambda: d.proc.poll() is not None, 20, "siteward to stop")
        log = d.log()
        self.assertEqual(d.proc.returncode, 78, log[-3000:])
        for p in phrases:
            self.assertIn(p, log)
        self.assertFalse(self.online_seen(d), "never online")
        # mosquitto logs "New client connected ... as CLIENT_ID" only for a
        # completed MQTT connection.
        self.assertNotIn("as siteward-%s " % d.instance, self.broker.log())
        return log

    def test_event_over_tls(self):
        d = self.daemon("tls-ok").start(watcher=self.sub)
        self.assertIn("connected to ssl://127.0.0.1:%d" % self.broker.tls_port, d.log())
        self.assertIn("as siteward-tls-ok ", self.broker.log())
        self.assertNotIn(PASSWORD, " ".join(d.argv()), "not on the command line")
        pub = Client(self.broker.port)
        try:
            pub.publish("%s/T1/event/sensor/d17" % PREFIX,
                        {"type": "smoke", "id": "tls-1", "location": {"building": "3"}})
        finally:
            pub.close()
        inc = self.sub.last_json("%s/T1/incident/+" % PREFIX, lambda j: j.get("class") == "fire")
        self.assertEqual(inc["state"], "open")
        got = retained(self.broker.port, "%s/T1/incident/+" % PREFIX)
        self.assertEqual(len(got), 1)

    def test_wrong_ca(self):
        d = self.daemon("tls-wrong-ca", ca="other-ca.crt")
        self.expect_refused(d, "TLS handshake with ssl://127.0.0.1:%d failed" % self.broker.tls_port,
                            "certificate verify failed", "tls.ca_file", d.config)

    def test_wrong_password(self):
        d = self.daemon("tls-wrong-pw", password="not-the-password")
        log = self.expect_refused(d, "refused the login of user 'siteward'",
                                  "bad user name or password", "password_file", d.config)
        self.assertNotIn("not-the-password", log)

    def test_missing_file_is_a_config_error(self):
        d = self.daemon("tls-no-file", ca="no-such-ca.crt")
        d.start(wait_online=False)
        wait_until(lambda: d.proc.poll() is not None, 20, "siteward to stop")
        self.assertEqual(d.proc.returncode, 78)
        self.assertIn("key 'tls.ca_file': cannot read", d.log())
        self.assertIn("no-such-ca.crt", d.log())
        self.assertNotIn("mqtt: ", d.log(), "stopped before connecting")

    def test_no_client_certificate(self):
        # mosquitto hangs up without a TLS alert, so the client cannot tell
        # why: retried like an outage, with the hint; never connected.
        d = self.daemon("tls-no-cert")
        d.cfg["tls"] = {"ca_file": d.cfg["tls"]["ca_file"]}
        with open(d.config, "w") as f:
            json.dump(d.cfg, f)
        d.start(wait_online=False)
        wait_until(lambda: d.log().count("a client certificate it wants") >= 1
                   or d.proc.poll() is not None, 20, "the failure in the log")
        wait_until(lambda: self.broker.log().count("peer did not return a certificate") >= 2, 20,
                   "a second attempt")
        self.assertIsNone(d.proc.poll(), d.log()[-2000:])
        self.assertFalse(self.online_seen(d))

    def test_broker_down_at_start(self):
        # Not an error: siteward keeps trying and connects once it is up.
        self.broker.stop()
        d = self.daemon("tls-later")
        d.start(wait_online=False)
        wait_until(lambda: "cannot connect to ssl://" in d.log() or d.proc.poll() is not None, 20,
                   "a connection failure in the log")
        self.assertIsNone(d.proc.poll(), d.log()[-2000:])
        self.broker.start()
        w = Client(self.broker.port, subscribe=(d.status_topic,))
        try:
            wait_until(lambda: w.matching(d.status_topic, lambda m: m.payload == b"online"), 30,
                       "online once the broker is up")
        finally:
            w.close()


if __name__ == "__main__":
    unittest.main()

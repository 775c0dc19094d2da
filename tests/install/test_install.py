"""cmake --install into a temporary prefix gives a working siteward: the
installed daemon, with the installed configuration unchanged, loads its
plugins from the installed plugin directory and turns an alarm into an
incident; sitewardctl reads its state. The example SMS plugin builds out
of tree against the installed SDK through pkg-config alone, loads by
config, spools its messages for emergencies (never personal data), and the
same plugin built for an ABI version siteward does not offer is refused
with exit status 78 and a message naming the plugin and both versions."""

import glob
import json
import os
import shutil
import subprocess
import unittest

from installed import (ABI, BUILD, LAYOUT, SHIPPED_PLUGINS, SMOKE, SOURCE, Broker, Client,
                       InstalledDaemon, check_runs, make_tmp, remove_tmp, run, stop_clean, wait_until)


class Install(unittest.TestCase):
    configs = 0

    @classmethod
    def setUpClass(cls):
        if os.path.isabs(LAYOUT["confdir"]):
            raise unittest.SkipTest("this build tree installs its configuration to %s (a system "
                                    "prefix): not relocatable into a temporary prefix; "
                                    "test_package covers that layout" % LAYOUT["confdir"])
        cls.tmp = make_tmp("sw-install-")
        cls.prefix = os.path.join(cls.tmp, "prefix")
        run(["cmake", "--install", BUILD, "--prefix", cls.prefix])

    @classmethod
    def tearDownClass(cls):
        remove_tmp(cls.tmp)

    def p(self, *parts):
        return os.path.join(self.prefix, *parts)

    def case_tmp(self):
        t = make_tmp("sw-install-case-")
        self.addCleanup(remove_tmp, t)
        return t

    def test_layout(self):
        files = {os.path.relpath(f, self.prefix)
                 for f in glob.glob(self.p("**"), recursive=True) if os.path.isfile(f)}
        want = {os.path.join(LAYOUT["sbindir"], "siteward"),
                os.path.join(LAYOUT["bindir"], "sitewardctl"),
                os.path.join(LAYOUT["confdir"], "siteward.json"),
                os.path.join(LAYOUT["confdir"], "policy", "default.json"),
                os.path.join(LAYOUT["confdir"], "calendars", "cn-2026.json"),
                os.path.join(LAYOUT["includedir"], "siteward", "plugin.h"),
                os.path.join(LAYOUT["includedir"], "siteward", "types.h"),
                os.path.join(LAYOUT["libdir"], "pkgconfig", "siteward.pc"),
                os.path.join(LAYOUT["unitdir"], "siteward.service"),
                os.path.join(LAYOUT["mandir"], "man8", "siteward.8.gz"),
                os.path.join(LAYOUT["mandir"], "man1", "sitewardctl.1.gz"),
                os.path.join(LAYOUT["mandir"], "man5", "siteward.json.5.gz")}
        want |= {os.path.join(LAYOUT["plugindir"], n + ".so")
                 for n in SHIPPED_PLUGINS}
        self.assertEqual(want - files, set(), "missing from the installed tree")
        for exe in (LAYOUT["sbindir"] + "/siteward", LAYOUT["bindir"] + "/sitewardctl"):
            self.assertTrue(os.access(self.p(exe), os.X_OK), exe)
        with open(self.p(LAYOUT["unitdir"], "siteward.service")) as f:
            unit = f.read()
        self.assertIn("\nExecStart=%s --config %s " % (LAYOUT["daemon_path"], LAYOUT["config_file"]),
                      unit)
        self.assertNotRegex(unit, r"@[A-Z_]+@", "every @VAR@ of siteward.service.in is replaced")

    def test_pkg_config(self):
        env = {"PKG_CONFIG_PATH": self.p(LAYOUT["libdir"], "pkgconfig")}
        cflags = run(["pkg-config", "--cflags", "siteward"], env).split()
        self.assertIn("-I" + self.p(LAYOUT["includedir"]), cflags)
        self.assertIn("-I/usr/include/cjson", cflags, "cJSON's flags come through Requires")
        self.assertEqual(run(["pkg-config", "--variable=plugindir", "siteward"], env).strip(),
                         self.p(LAYOUT["plugindir"]))
        self.assertEqual(run(["pkg-config", "--variable=abi_version", "siteward"], env).strip(), ABI)

    def test_installed_daemon(self):
        tmp = self.case_tmp()
        config = self.p(LAYOUT["confdir"], "siteward.json")
        daemon, sub, pub, inc = check_runs(self, tmp, self.p(LAYOUT["sbindir"], "siteward"), config,
                                           self.p(LAYOUT["plugindir"]))
        stop_clean(self, daemon)
        out = run([self.p(LAYOUT["bindir"], "sitewardctl"), "--state", daemon.state, "--config",
                   config, "--json", "list"])
        self.assertEqual([json.loads(l)["id"] for l in out.splitlines()], [inc["id"]])

    def build_sms(self, tmp, abi=None):
        """Build examples/plugin-sms from a copy outside the source tree,
        with the installed siteward.pc as its only way to the SDK."""
        src = os.path.join(tmp, "plugin-sms")
        shutil.copytree(os.path.join(SOURCE, "examples", "plugin-sms"), src)
        out = os.path.join(tmp, "sms-abi-%s" % (abi or "default"))
        argv = ["make", "-C", src, "OUT=" + out] + (["SMS_ABI=%d" % abi] if abi else [])
        log = run(argv, {"PKG_CONFIG_PATH": self.p(LAYOUT["libdir"], "pkgconfig")})
        self.assertIn("-I" + self.p(LAYOUT["includedir"]), log, "compiled with the installed SDK")
        return os.path.join(out, "sms.so")

    def sms_config(self, tmp, path, spool, plugin_config=None):
        """The installed configuration with the sms plugin added, written
        beside it so that its relative policy and calendar paths hold."""
        with open(self.p(LAYOUT["confdir"], "siteward.json")) as f:
            cfg = json.load(f)
        cfg["plugins"].append({"name": "sms", "path": path,
                               "config": {"spool": spool, "on_open": "manager"}
                               if plugin_config is None else plugin_config})
        Install.configs += 1
        conf = self.p(LAYOUT["confdir"], "siteward-sms-%d.json" % Install.configs)
        with open(conf, "w") as f:
            json.dump(cfg, f, indent=1)
        self.addCleanup(os.unlink, conf)
        return conf, len(cfg["plugins"]) - 1

    def test_sms_plugin(self):
        tmp = self.case_tmp()
        spool = os.path.join(tmp, "spool")
        os.mkdir(spool)
        sms = self.build_sms(tmp)
        conf, _ = self.sms_config(tmp, sms, spool)
        daemon, sub, pub, fire = check_runs(self, tmp, self.p(LAYOUT["sbindir"], "siteward"), conf,
                                            self.p(LAYOUT["plugindir"]),
                                            extra_plugins={"sms": sms})

        def spooled(pred=lambda m: True):
            msgs = []
            for f in sorted(glob.glob(os.path.join(spool, "*.sms"))):
                with open(f) as fh:
                    msgs.append(json.load(fh))
            return [m for m in msgs if pred(m)]

        opened = wait_until(lambda: spooled(lambda m: m["incident"] == fire["id"]), 10,
                            "the sms plugin to spool the fire's opening")
        self.assertEqual(opened, [{"kind": "opened", "role": "manager", "site": "A",
                                   "incident": fire["id"], "level": 1,
                                   "text": "L1 %s opened: %s" % (fire["id"], fire["summary"])}])
        # A repair request with the resident's contact opens no emergency
        # and is not sent; reclassified as a fire it is, without the contact.
        contact = {"name": "Resident Seven", "phone": "13800000007"}
        since = sub.count()
        pub.publish("siteward/A/report/resident-7",
                    {"report_id": "r-sms-1", "category": "repair", "text": "Smoke from the socket",
                     "location": {"building": "3", "unit": "1203"}, "contact": contact})
        reply = sub.last_json("siteward/A/reply/resident-7", since=since)
        rid = reply["incident"]["id"]
        self.assertEqual(spooled(lambda m: m["incident"] == rid), [], "not an emergency")
        pub.publish("siteward/A/cmd/li.wei", {"op": "reclassify", "incident": rid,
                                              "class": "fire", "request_id": "c-sms-1"})
        ok = sub.last_json("siteward/A/reply/li.wei", lambda j: j.get("request_id") == "c-sms-1",
                           since=since)
        self.assertTrue(ok["ok"], ok)
        wait_until(lambda: spooled(lambda m: m["incident"] == rid), 10,
                   "the sms plugin to spool the reclassified incident")
        for f in glob.glob(os.path.join(spool, "*")):
            with open(f) as fh:
                body = fh.read()
            for v in contact.values():
                self.assertNotIn(v, body, "personal data in %s" % f)
        for m in spooled():
            self.assertLessEqual(len(m["text"].encode()), 160)
        self.assertIn("plugin sms: spooling to %s (ABI %s" % (spool, ABI), daemon.log())
        stop_clean(self, daemon)

    def test_sms_escalation(self):
        # Scaled 60 times, the fire's 5-minute plan_activated passes in 5 s
        # and escalates along the emergency chain; each escalation
        # the plugin sends names the step and role of one the daemon published.
        tmp = self.case_tmp()
        spool = os.path.join(tmp, "spool")
        os.mkdir(spool)
        sms = self.build_sms(tmp)
        conf, _ = self.sms_config(tmp, sms, spool)
        broker = Broker(tmp)
        self.addCleanup(broker.stop)
        daemon = InstalledDaemon(tmp, broker.port, self.p(LAYOUT["sbindir"], "siteward"), conf,
                                 extra_args=["--clock-scale", "60"])
        self.addCleanup(daemon.stop)
        sub = Client(broker.port, subscribe=("siteward/#",))
        self.addCleanup(sub.close)
        daemon.start(watcher=sub)
        pub = Client(broker.port)
        self.addCleanup(pub.close)
        pub.publish("siteward/A/event/sensor/d17", SMOKE)
        inc = sub.last_json("siteward/A/incident/+", lambda j: j.get("class") == "fire")

        def escalated():
            got = []
            for f in glob.glob(os.path.join(spool, "*.sms")):
                with open(f) as fh:
                    m = json.load(fh)
                if m["kind"] == "escalated":
                    got.append(m)
            return got
        sent = wait_until(escalated, 20, "an escalation message in the spool")

        def published():
            return {(j["step"], j["role"]) for j in
                    (json.loads(m.payload) for m in sub.matching("siteward/A/escalation/+"))
                    if j["incident"] == inc["id"] and j["obligation"]}
        for m in sent:
            self.assertEqual(m["incident"], inc["id"])
            step = int(m["text"].split("(step ")[1].split(")")[0])
            # The hook runs once the batch's publications are handed to the
            # client, so the subscriber may see the escalation a little later.
            wait_until(lambda: (step, m["role"]) in published(), 10,
                       "escalation step %d to %s on MQTT, as in %s" % (step, m["role"], m))
            self.assertTrue(m["text"].startswith("L1 %s escalated to %s (step %d): Fire alarm"
                                                 % (inc["id"], m["role"], step)), m)
        stop_clean(self, daemon)
        self.assertIn("supervisor", {m["role"] for m in sent},
                      "the emergency chain's first role is told (config/policy/default.json)")

    def test_sms_unknown_abi_refused(self):
        tmp = self.case_tmp()
        spool = os.path.join(tmp, "spool")
        os.mkdir(spool)
        sms = self.build_sms(tmp, abi=99)
        conf, index = self.sms_config(tmp, sms, spool)
        r = subprocess.run([self.p(LAYOUT["sbindir"], "siteward"), "--config", conf, "--broker",
                            "tcp://127.0.0.1:1", "--state", os.path.join(tmp, "state")],
                           capture_output=True, timeout=20, stdin=subprocess.DEVNULL)
        err = r.stderr.decode(errors="replace")
        self.assertEqual(r.returncode, 78, err)
        self.assertIn("%s: key 'plugins[%d]': plugin sms (%s) was built for plugin ABI version 99; "
                      "this siteward offers %s" % (conf, index, sms, ABI), err)
        self.assertEqual(os.listdir(spool), [])

    def test_sms_config_errors(self):
        # The host validates the plugin's config against its table (unknown
        # keys, types); the plugin checks what only it knows. Either way
        # start-up stops with 78 and the plugin named.
        tmp = self.case_tmp()
        sms = self.build_sms(tmp)
        spool = os.path.join(tmp, "spool")
        os.mkdir(spool)
        cases = (({"spool": spool, "colour": "red"}, "key 'plugins[%d].config.colour': unknown key"
                  % len(SHIPPED_PLUGINS)),
                 ({"spool": spool, "max_level": "high"}, "key 'plugins[%d].config.max_level'"
                  % len(SHIPPED_PLUGINS)),
                 ({}, "plugin sms: config key 'spool': required"),
                 ({"spool": os.path.join(tmp, "absent")}, "plugin sms: config key 'spool': "),
                 ({"spool": spool, "max_level": 3}, "plugin sms: config key 'max_level'"))
        for plugin_config, message in cases:
            conf, index = self.sms_config(tmp, sms, spool, plugin_config)
            self.assertEqual(index, len(SHIPPED_PLUGINS))
            r = subprocess.run([self.p(LAYOUT["sbindir"], "siteward"), "--config", conf,
                                "--broker", "tcp://127.0.0.1:1", "--state",
                                os.path.join(tmp, "state")],
                               capture_output=True, timeout=20, stdin=subprocess.DEVNULL)
            err = r.stderr.decode(errors="replace")
            self.assertEqual(r.returncode, 78, (plugin_config, err))
            self.assertIn(message, err, plugin_config)


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""Configuration errors stop start-up with exit 78 and a message on stderr
naming the file, the key and the problem; usage errors exit 64. Neither
needs a broker: siteward checks everything before it connects (the broker
URL given points at a closed port)."""

import json
import os
import subprocess
import unittest

from harness import SITEWARD, SOURCE, config_copy, make_tmp, remove_tmp, run_siteward, stop_process


class Config(unittest.TestCase):
    def setUp(self):
        self.tmp = make_tmp("sw-cfg-")
        self.addCleanup(remove_tmp, self.tmp)
        self.path, self.cfg = config_copy(self.tmp)
        with open(os.path.join(SOURCE, "config", "policy", "default.json")) as f:
            self.policy = json.load(f)

    def write(self, name, data):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(data if isinstance(data, str) else json.dumps(data, indent=1))
        return path

    def run_config(self, cfg, *extra):
        path = self.write("siteward.json", cfg)
        try:
            r = run_siteward(["--config", path, "--broker", "tcp://127.0.0.1:1"] + list(extra),
                             timeout=10)
        except subprocess.TimeoutExpired:
            self.fail("siteward accepted this configuration and kept running: %s %s"
                      % (json.dumps(cfg)[:300], " ".join(extra)))
        return r, path

    def expect_78(self, cfg, keys, *extra, file=None):
        r, path = self.run_config(cfg, *extra)
        err = r.stderr.decode("utf-8", "replace")
        self.assertEqual(r.returncode, 78, "stderr: %s\nstdout: %s" % (err, r.stdout))
        self.assertIn(file or path, err, "the file is named on stderr")
        for k in ([keys] if isinstance(keys, str) else keys):
            self.assertIn(k, err, "the key is named on stderr")
        self.assertGreater(len(err.strip()), len(file or path) + 10, "and what is wrong")
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "state", "main", "data.mdb")),
                         "nothing stored")
        return err

    def test_shipped_config_copy_is_valid(self):
        # The baseline the other cases change one thing in: with it, siteward
        # gets past configuration and waits for the (absent) broker.
        p = subprocess.Popen([SITEWARD, "--config", self.path, "--broker", "tcp://127.0.0.1:1",
                              "--instance", "cfgtest"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        try:
            with self.assertRaises(subprocess.TimeoutExpired):
                p.wait(2)
        finally:
            stop_process(p)
            p.stderr.close()

    def test_config_errors(self):
        self.expect_78(dict(self.cfg, colour="red"), "colour")
        self.expect_78(dict(self.cfg, durability="sometimes"), "durability")
        self.expect_78(dict(self.cfg, stats_interval="0s"), "stats_interval")
        self.expect_78(dict(self.cfg, stats_interval="500ms"), "stats_interval")
        self.expect_78(dict(self.cfg, stats_interval=10), "stats_interval")
        self.expect_78(dict(self.cfg, instance="no/slash"), "instance")
        self.expect_78(dict(self.cfg, prefix="a/+/b"), "prefix")
        # The same values as flags: refused too (usage or configuration error).
        for flag, value in (("--instance", "no/slash"), ("--prefix", "a/#")):
            r, _ = self.run_config(self.cfg, flag, value)
            self.assertIn(r.returncode, (64, 78), (flag, value))
            self.assertIn(flag.strip("-"), r.stderr.decode(), (flag, value))
        bad_site = json.loads(json.dumps(self.cfg))
        bad_site["sites"]["*"]["timezone"] = "Asia/Shanghai"
        self.expect_78(bad_site, "timezone")
        self.expect_78('{"broker": ', "line")
        self.expect_78("[1, 2]", self.path)
        self.expect_78(dict(self.cfg, plugins=[{"name": "decode", "config": {"max_dta": 1}}]),
                       "max_dta")
        self.expect_78(dict(self.cfg, plugins=[{"name": "nosuchplugin"}]), "nosuchplugin")

    def test_missing_files(self):
        missing = os.path.join(self.tmp, "nope.json")
        r = run_siteward(["--config", missing, "--broker", "tcp://127.0.0.1:1"])
        self.assertEqual(r.returncode, 78)
        self.assertIn(missing, r.stderr.decode())
        # A file that a key names: the message names that file.
        missing_policy = os.path.join(self.tmp, "nopolicy.json")
        self.expect_78(dict(self.cfg, policy=missing_policy), [], file=missing_policy)
        bad_cal = json.loads(json.dumps(self.cfg))
        missing_cal = os.path.join(self.tmp, "nocal.json")
        bad_cal["sites"]["*"]["calendar"] = missing_cal
        self.expect_78(bad_cal, [], file=missing_cal)

    def test_policy_errors(self):
        p = json.loads(json.dumps(self.policy))
        p["classes"]["fire"]["obligations"][0]["within"] = "5 minutes"
        policy = self.write("policy.json", p)
        self.expect_78(self.cfg, ["classes.fire.obligations[0]", "within"], "--policy", policy,
                       file=policy)

        p = json.loads(json.dumps(self.policy))
        p["event_types"]["smoke"]["class"] = "smoke_class"
        policy = self.write("policy.json", p)
        self.expect_78(self.cfg, "event_types.smoke.class", "--policy", policy, file=policy)

        # The same through the config's "policy" key.
        self.expect_78(dict(self.cfg, policy=policy), "event_types.smoke.class", file=policy)

        policy = self.write("policy.json", '{"name": "x", "classes": ')
        self.expect_78(self.cfg, "line", "--policy", policy, file=policy)

    def test_usage_errors(self):
        for args in (["--frobnicate"], ["--clock-scale", "fast"], ["--clock-scale", "-1"],
                     ["extra-argument"], ["--config"]):
            r = run_siteward(args)
            self.assertEqual(r.returncode, 64, args)
            self.assertTrue(r.stderr.strip(), "a usage message on stderr for %s" % args)


if __name__ == "__main__":
    unittest.main()

"""Configuration errors stop start-up with exit 78 and a message naming the
file, the key and the problem; usage errors exit 64."""

import json
import os
import shutil
import tempfile
import unittest

from harness import BUILD, SOURCE, run_siteward


class Config(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="sw-cfg-")
        with open(os.path.join(SOURCE, "config", "siteward.json")) as f:
            self.cfg = json.load(f)
        self.cfg["policy"] = os.path.join(SOURCE, "config", "policy", "default.json")
        self.cfg["plugin_dir"] = os.path.join(BUILD, "lib", "siteward")
        for site in self.cfg["sites"].values():
            site["calendar"] = os.path.join(SOURCE, "config", site["calendar"])
        self.cfg["state_dir"] = os.path.join(self.tmp, "state")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_with(self, cfg, *extra):
        path = os.path.join(self.tmp, "siteward.json")
        with open(path, "w") as f:
            f.write(cfg if isinstance(cfg, str) else json.dumps(cfg))
        r = run_siteward(["--config", path, "--broker", "tcp://127.0.0.1:1"] + list(extra))
        return r.returncode, r.stdout.decode() + r.stderr.decode(), path

    def expect_78(self, cfg, key, *extra, file=None):
        rc, out, path = self.run_with(cfg, *extra)
        self.assertEqual(rc, 78, out)
        self.assertIn(file or path, out)
        self.assertIn(key, out)

    def test_config_errors(self):
        self.expect_78(dict(self.cfg, colour="red"), "'colour'")
        self.expect_78(dict(self.cfg, durability="sometimes"), "'durability'")
        self.expect_78(dict(self.cfg, stats_interval="0s"), "'stats_interval'")
        bad_site = json.loads(json.dumps(self.cfg))
        bad_site["sites"]["*"]["timezone"] = "Asia/Shanghai"
        self.expect_78(bad_site, "'sites.*.timezone'")
        self.expect_78('{"broker": ', "line")
        self.expect_78(dict(self.cfg, plugins=[{"name": "decode", "config": {"max_dta": 1}}]),
                       "max_dta")
        rc, out, _ = self.run_with(dict(self.cfg, plugins=[{"name": "nosuchplugin"}]))
        self.assertEqual(rc, 78)
        self.assertIn("plugin nosuchplugin", out)

    def test_policy_errors(self):
        policy = os.path.join(self.tmp, "policy.json")
        with open(os.path.join(SOURCE, "config", "policy", "default.json")) as f:
            p = json.load(f)
        p["classes"]["fire"]["obligations"][0]["within"] = "5 minutes"
        with open(policy, "w") as f:
            json.dump(p, f)
        self.expect_78(self.cfg, "classes.fire.obligations[0]", "--policy", policy, file=policy)
        p["classes"]["fire"]["obligations"][0]["within"] = "5m"
        p["event_types"]["smoke"]["class"] = "smoke_class"
        with open(policy, "w") as f:
            json.dump(p, f)
        self.expect_78(self.cfg, "event_types.smoke.class", "--policy", policy, file=policy)

    def test_usage_errors(self):
        r = run_siteward(["--frobnicate"])
        self.assertEqual(r.returncode, 64)
        r = run_siteward(["--clock-scale", "fast"])
        self.assertEqual(r.returncode, 64)
        r = run_siteward(["extra-argument"])
        self.assertEqual(r.returncode, 64)


if __name__ == "__main__":
    unittest.main()

"""The Debian packages: a tree configured for the Debian prefix /usr, built
and packed with cpack, gives `siteward` (daemon in /usr/sbin, sitewardctl,
plugins in the multiarch lib dir, /etc/siteward as conffiles, the unit in
/lib/systemd/system starting /usr/sbin/siteward, manual pages) with its
library dependencies from dpkg-shlibdeps, and `siteward-dev` (SDK headers
and siteward.pc). The daemon unpacked from the package runs: it loads its
plugins from the packaged plugin directory and turns an alarm into an
incident."""

import glob
import os
import re
import subprocess
import unittest

from installed import ABI, SHIPPED_PLUGINS, SOURCE, check_runs, make_tmp, remove_tmp, run, stop_clean

SHLIBS = ("libuv1", "liblmdb0", "libpaho-mqtt1.3", "libcjson1")


def deb_files(deb):
    """The regular files and symlinks of a package, as absolute paths."""
    out = set()
    for line in run(["dpkg-deb", "-c", deb]).splitlines():
        fields = line.split(None, 5)
        if fields[0][0] in "-l":
            out.add(fields[5].split(" -> ")[0][1:])
    return out


class Package(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = make_tmp("sw-package-")
        build = os.path.join(cls.tmp, "build")
        run(["cmake", "-S", SOURCE, "-B", build, "-DCMAKE_INSTALL_PREFIX=/usr", "-DSW_TESTS=OFF",
             "-DCMAKE_BUILD_TYPE=RelWithDebInfo"])
        # Only what the packages hold.
        run(["cmake", "--build", build, "-j2", "--target", "siteward", "sitewardctl", "decode",
             "classify", "correlate", "manpages"])
        run(["cpack", "--config", os.path.join(build, "CPackConfig.cmake")], cwd=build)
        cls.multiarch = run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"]).strip()
        cls.arch = run(["dpkg", "--print-architecture"]).strip()
        debs = glob.glob(os.path.join(build, "packages", "*.deb"))
        cls.debs = {run(["dpkg-deb", "-f", d, "Package"]).strip(): d for d in debs}

    @classmethod
    def tearDownClass(cls):
        remove_tmp(cls.tmp)

    def field(self, pkg, name):
        return run(["dpkg-deb", "-f", self.debs[pkg], name]).strip()

    def control_file(self, pkg, name):
        r = subprocess.run("dpkg-deb --ctrl-tarfile '%s' | tar -xO ./%s" % (self.debs[pkg], name),
                           shell=True, capture_output=True, check=True)
        return r.stdout.decode()

    def test_packages(self):
        self.assertEqual(set(self.debs), {"siteward", "siteward-dev"})
        self.assertEqual(self.field("siteward", "Architecture"), self.arch)
        self.assertEqual(self.field("siteward-dev", "Architecture"), "all")
        for pkg in self.debs:
            self.assertRegex(os.path.basename(self.debs[pkg]), r"^%s_\d+\.\d+\.\d+-1_" % pkg)

    def test_runtime_contents(self):
        files = deb_files(self.debs["siteward"])
        plugindir = "/usr/lib/%s/siteward" % self.multiarch
        want = {"/usr/sbin/siteward", "/usr/bin/sitewardctl", "/etc/siteward/siteward.json",
                "/lib/systemd/system/siteward.service", "/usr/share/man/man8/siteward.8.gz",
                "/usr/share/man/man1/sitewardctl.1.gz", "/usr/share/man/man5/siteward.json.5.gz"}
        want |= {"%s/%s.so" % (plugindir, n) for n in SHIPPED_PLUGINS}
        for sub in ("policy", "calendars"):
            want |= {"/etc/siteward/%s/%s" % (sub, os.path.basename(f))
                     for f in glob.glob(os.path.join(SOURCE, "config", sub, "*.json"))}
        self.assertEqual(want - files, set(), "missing from siteward")
        self.assertEqual({f for f in files if "/include/" in f or f.endswith(".pc")}, set(),
                         "the SDK is in siteward-dev")
        self.assertEqual({f for f in files if "/usr/local" in f}, set())
        conffiles = set(self.control_file("siteward", "conffiles").split())
        self.assertEqual(conffiles, {f for f in files if f.startswith("/etc/")})

    def test_shlibs_depends(self):
        depends = self.field("siteward", "Depends")
        names = {d.split()[0] for d in depends.split(", ")}
        for lib in SHLIBS:
            self.assertIn(lib, names, depends)
        self.assertIn("libc6", names, depends)
        self.assertRegex(depends, r"libuv1 \(>= [0-9.]+\)", "versions from the shlibs files")
        dev = self.field("siteward-dev", "Depends")
        self.assertIn("libcjson-dev", dev)

    def test_dev_contents(self):
        files = deb_files(self.debs["siteward-dev"])
        want = {"/usr/include/siteward/" + os.path.basename(h)
                for h in glob.glob(os.path.join(SOURCE, "include", "siteward", "*.h"))}
        want.add("/usr/lib/%s/pkgconfig/siteward.pc" % self.multiarch)
        self.assertEqual(files, want)

    def unpack(self, pkg):
        root = os.path.join(self.tmp, "root-" + pkg)
        if not os.path.isdir(root):
            run(["dpkg-deb", "-x", self.debs[pkg], root])
        return root

    def test_unit_and_pc(self):
        with open(os.path.join(self.unpack("siteward"), "lib/systemd/system/siteward.service")) as f:
            unit = f.read()
        self.assertIn("\nExecStart=/usr/sbin/siteward --config /etc/siteward/siteward.json "
                      "--state /var/lib/siteward\n", unit)
        self.assertIn("\nDynamicUser=yes\n", unit, "no account to create, so no postinst")
        with open(os.path.join(self.unpack("siteward-dev"),
                               "usr/lib/%s/pkgconfig/siteward.pc" % self.multiarch)) as f:
            pc = f.read()
        self.assertIn("prefix=/usr\n", pc)
        self.assertIn("libdir=${prefix}/lib/%s\n" % self.multiarch, pc)
        self.assertIn("plugindir=${libdir}/siteward\n", pc)
        self.assertIn("abi_version=%s\n" % ABI, pc)
        self.assertRegex(pc, re.compile(r"^Requires: libcjson$", re.M))

    def test_unpacked_daemon_runs(self):
        root = self.unpack("siteward")
        case = make_tmp("sw-package-run-")
        self.addCleanup(remove_tmp, case)
        daemon = check_runs(self, case, os.path.join(root, "usr/sbin/siteward"),
                            os.path.join(root, "etc/siteward/siteward.json"),
                            os.path.join(root, "usr/lib/%s/siteward" % self.multiarch))[0]
        stop_clean(self, daemon)


if __name__ == "__main__":
    unittest.main(verbosity=2)

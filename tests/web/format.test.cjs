// Unit tests of web/js/format.js, the console's pure helpers, loaded as the
// browser loads it (a classic script filling window.SW).
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("fs");
const path = require("path");
const vm = require("vm");

const sandbox = { window: {} };
vm.runInNewContext(fs.readFileSync(path.join(__dirname, "..", "..", "web", "js", "format.js"), "utf8"), sandbox);
const F = sandbox.window.SW.fmt;

const inc = {
  id: "A-20261202-0001", site: "A", class: "fire", level: 1, state: "open",
  summary: "Fire alarm, building 3 floor 12", opened: "2026-12-02T04:39:35.644+08:00",
  obligations: [
    { name: "plan_activated", due: "2026-12-02T04:44:35.644+08:00", status: "missed" },
    { name: "manager_on_site", due: "2026-12-02T04:49:35.644+08:00", status: "pending" },
    { name: "review", due: "2026-12-02T04:40:00+08:00", status: "cancelled" },
  ],
  escalation: { level: 2, role: "manager" },
};

test("spans read as a wall screen shows them", () => {
  assert.equal(F.span(0), "0:00");
  assert.equal(F.span(59.9), "0:59");
  assert.equal(F.span(299), "4:59");
  assert.equal(F.span(3723), "1:02:03");
  assert.equal(F.span(2 * 86400 + 3 * 3600 + 4 * 60), "2d 03:04");
  assert.equal(F.span(-61), "1:01");
});

test("times on the site's own clock, whatever the browser's zone", () => {
  assert.equal(F.siteClock(inc.opened), "04:39:35");
  assert.equal(F.siteDateTime(inc.opened), "2026-12-02 04:39:35 +08:00");
  assert.equal(F.siteClock(null), "—");
});

test("the next deadline is the earliest pending obligation", () => {
  assert.deepEqual({ ...F.nextDue(inc) }, { name: "manager_on_site", dueMs: Date.parse("2026-12-01T20:49:35.644Z") });
  assert.equal(F.nextDue({ obligations: [{ name: "x", due: null, status: "pending" }] }), null);
  assert.equal(F.nextDue({}), null);
});

test("missed obligations, open until met", () => {
  const m = F.missed(inc);
  assert.equal(m.length, 1);
  assert.equal(m[0].name, "plan_activated");
  assert.equal(m[0].open, true);
  const late = F.missed({ obligations: [{ name: "x", due: inc.opened, status: "missed", met_at: inc.opened, late_by_s: 75 }] });
  assert.equal(late[0].open, false);
  assert.equal(late[0].lateBy, 75);
});

test("title, group, escalation and location", () => {
  assert.equal(F.title(inc), "Fire alarm");
  assert.equal(F.title({ class: "elevator_entrapment" }), "Elevator entrapment");
  assert.equal(F.group(inc), "l1");
  assert.equal(F.group({ level: 2 }), "l2");
  assert.equal(F.group({ level: null }), "sr");
  assert.deepEqual({ ...F.escalation(inc) }, { step: 2, role: "manager" });
  assert.equal(F.escalation({ escalation: { level: 0, role: null } }), null);
  assert.equal(F.location({ building: "3", floor: "12", area: "corridor" }), "building 3 · floor 12 · area corridor");
  assert.equal(F.isActive(inc), true);
  assert.equal(F.isActive({ state: "closed" }), false);
});

test("text is escaped for HTML", () => {
  assert.equal(F.esc('<img src=x onerror="a">&\''), "&lt;img src=x onerror=&quot;a&quot;&gt;&amp;&#39;");
  assert.equal(F.esc(null), "");
});

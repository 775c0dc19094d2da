// Browser test of the control-room console: Playwright drives Debian's
// chromium (headless) against the page that the real mosquitto serves from
// web/ and the real siteward behind it, both started by test_console.py,
// which passes their ports and accounts in the environment.
//
//   SW_WEB_SCENARIO   board | load
//   SW_WEB_NODE_DIR   where npm-install.sh put the pinned packages
//   SW_WEB_HTTP       http://127.0.0.1:WSPORT/ (page and websockets)
//   SW_WEB_PLAIN      the broker's plain MQTT port
//   SW_WEB_USERS      JSON {user: password}
//   SW_WEB_SHOT       where the board's screenshot goes
//   SW_WEB_TMP        a private directory (chromium's fresh profile)
//
// Every wait polls a condition with a deadline. Figures are printed, and
// only held to a very generous sanity bound.
"use strict";
const fs = require("fs");
const path = require("path");
const { createRequire } = require("module");

const env = process.env;
const nodeRequire = createRequire(path.join(env.SW_WEB_NODE_DIR, "package.json"));
const { chromium } = nodeRequire("playwright-core");
const mqtt = nodeRequire("mqtt");

const CHROMIUM = "/usr/bin/chromium";
const USERS = JSON.parse(env.SW_WEB_USERS);
const SOURCE = path.resolve(__dirname, "..", "..");
const ROOM = "control-room";

function log(...a) {
  console.log("web:", ...a);
}

function check(cond, what) {
  if (!cond) throw new Error("check failed: " + what);
}

async function poll(fn, timeoutMs, what, everyMs = 25) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) {
      throw new Error("timed out after " + timeoutMs + " ms waiting for " + (typeof what === "function" ? await what() : what));
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

// A plain MQTT client of the test (as siteward's own account, which may
// publish anywhere under the prefix) that plays the devices and residents.
async function mqttClient() {
  const c = mqtt.connect("mqtt://127.0.0.1:" + env.SW_WEB_PLAIN, {
    username: "siteward", password: USERS.siteward, protocolVersion: 5, clientId: "web-test-" + process.pid,
  });
  await new Promise((res, rej) => { c.once("connect", res); c.once("error", rej); });
  c.pub = (topic, msg, opts = {}) => c.publishAsync(topic, typeof msg === "string" ? msg : JSON.stringify(msg),
                                                   Object.assign({ qos: 1 }, opts));
  return c;
}

async function browser() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error("no chromium at " + CHROMIUM + ": install Debian's package chromium (scripts/deps.sh does)");
  }
  const profile = fs.mkdtempSync(path.join(env.SW_WEB_TMP, "chromium-"));
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, viewport: { width: 1600, height: 1000 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

async function open(ctx, errors) {
  const page = await ctx.newPage();
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push("console: " + m.text()); });
  await page.goto(env.SW_WEB_HTTP + "index.html");
  check(await page.evaluate(() => typeof window.mqtt === "object" && typeof window.SW.console === "object"),
        "the page loaded mqtt.js and the console");
  return page;
}

async function login(page, user, password) {
  await page.fill("#l-user", user);
  await page.fill("#l-password", password);
  await page.click("#l-go");
}

async function connected(page) {
  await poll(() => page.evaluate(() => document.querySelector("#conn").dataset.state === "connected" &&
                                       document.body.dataset.subscribed === "1"),
             10000, "the console to connect and subscribe");
}

const attr = (page, sel, name) => page.evaluate(([s, n]) => {
  const el = document.querySelector(s);
  return el ? el.getAttribute(n) : null;
}, [sel, name]);
const text = (page, sel) => page.evaluate((s) => {
  const el = document.querySelector(s);
  return el ? el.textContent : null;
}, sel);
const body = (page, name) => page.evaluate((n) => document.body.dataset[n], name);

// The vendored bundle must be the pinned npm package's file, byte for byte.
function checkVendored() {
  const vendored = fs.readFileSync(path.join(SOURCE, "web", "vendor", "mqtt.min.js"));
  const pinned = fs.readFileSync(path.join(env.SW_WEB_NODE_DIR, "node_modules", "mqtt", "dist", "mqtt.min.js"));
  check(vendored.equals(pinned), "web/vendor/mqtt.min.js is mqtt " +
        nodeRequire("mqtt/package.json").version + "'s dist/mqtt.min.js (run tests/web/vendor.sh)");
}

async function boardScenario(ctx, errors) {
  checkVendored();
  const page = await open(ctx, errors);
  const dev = await mqttClient();
  try {
    check(await attr(page, "#conn", "data-state") === "idle", "the connection state shows before login");

    // A wrong password is refused and said so, not retried for ever.
    await login(page, ROOM, "wrong-" + USERS[ROOM]);
    await poll(() => page.evaluate(() => document.querySelector("#conn").dataset.state === "refused"), 10000,
               "the refused login to show");
    const refused = await text(page, "#l-error");
    log("wrong password shows:", JSON.stringify(refused));
    check(/refused/i.test(refused), "the login error names the refusal");

    await login(page, ROOM, USERS[ROOM]);
    await connected(page);
    log("connection state:", JSON.stringify(await text(page, "#conn")));

    // A smoke alarm: its Level I card appears with a running countdown.
    const t0 = Date.now();
    await dev.pub("siteward/A/event/sensor/d17",
                  { type: "smoke", id: "e-1", location: { building: "3", floor: "12", area: "corridor" } });
    await poll(() => page.evaluate(() => !!document.querySelector(".g-l1 .cards .card")), 10000,
               "the smoke alarm's card", 10);
    const appeared = Date.now() - t0;
    log("figure: smoke event published -> card on the board: " + appeared + " ms");
    check(appeared < 10000, "the card appeared (sanity bound 10 s)");
    const key = await attr(page, ".g-l1 .card", "data-key");
    const card = '.card[data-key="' + key + '"]';
    check(await attr(page, card, "data-state") === "open", "the new card is open");
    const cd0 = await text(page, card + " .c-cd");
    check(/^in \d+:\d\d$/.test(cd0), "a countdown to the next deadline: " + cd0);
    const cd1 = await poll(async () => { const t = await text(page, card + " .c-cd"); return t !== cd0 && t; },
                           5000, "the countdown to move");
    log("countdown moved:", cd0, "->", cd1);

    // It flashed and beeped, and the control room's escalation shows as a banner.
    check((await attr(page, card, "class")).includes("flash"), "a new Level I card flashes");
    check(Number(await body(page, "beeps")) >= 1, "a new Level I incident beeps");
    log("audio context:", await body(page, "audio"));
    await poll(() => page.evaluate((k) => !!document.querySelector('.banner[data-key="' + k + '"]'), key), 5000,
               "the control_room escalation banner");

    // Detail and commands: ack changes the state; an illegal close shows its error.
    await page.click(card);
    await poll(() => page.evaluate(() => !document.querySelector("#detail").hidden), 5000, "the detail panel");
    await page.click('#detail button[data-op="ack"]');
    await poll(async () => /^ack: ok/.test(await text(page, "#detail .d-reply.ok")), 10000, "the ack's reply");
    await poll(async () => await attr(page, card, "data-state") === "acknowledged", 10000, "the card to be acknowledged");
    log("after ack:", JSON.stringify(await text(page, "#detail .d-reply")));
    await page.fill("#detail .d-note", "smoke seen on floor 12, guard on the way");
    await page.click('#detail button[data-op="comment"]');
    await poll(async () => /^comment: ok/.test(await text(page, "#detail .d-reply.ok")), 10000, "the comment's reply");
    await poll(async () => {
      const seen = await text(page, "#detail .d-seen");
      return ["sent comment", "reply to ack: ok", "reply to comment: ok", "state open → acknowledged"]
        .every((s) => seen.includes(s));
    }, 10000, "the page's timeline to show the commands, replies and state change");

    // More of a site's evening, for the filters and the screenshot. The
    // sound is muted for the entrapment: it flashes without a beep.
    const beeps = await body(page, "beeps");
    await page.click("#mute");
    check(await text(page, "#mute") === "sound off", "the mute button says the sound is off");
    await dev.pub("siteward/A/event/sensor/lift-2",
                  { type: "elevator_entrapment", id: "e-2", location: { building: "5", area: "lift 2" } });
    await poll(() => page.evaluate((k) => Array.from(document.querySelectorAll(".g-l1 .card.flash"))
      .some((c) => c.dataset.key !== k), key), 10000, "the entrapment's card to flash");
    check(await body(page, "silenced") === "1" && await body(page, "beeps") === beeps, "muted: no beep");
    await page.click("#mute");
    await dev.pub("siteward/A/event/sensor/p-7", { type: "pipe_burst", id: "e-3", location: { building: "7", floor: "B1" } });
    await dev.pub("siteward/B/event/system/ups-1", { type: "power_loss", id: "e-4", location: { building: "1" } });
    await dev.pub("siteward/A/event/gate/north", { type: "door_forced", id: "e-5", location: { area: "north gate" } });
    await dev.pub("siteward/B/report/resident-7", { report_id: "r-1", category: "repair", text: "Kitchen tap leaking",
                                                    location: { building: "2", unit: "1203" } });
    await dev.pub("siteward/A/report/resident-9", { report_id: "r-2", category: "complaint", text: "Noise",
                                                    location: { building: "3", unit: "0801" } });
    await poll(async () => await body(page, "total") === "7", 10000, "seven incidents on the board");
    check(await page.evaluate(() => document.querySelectorAll(".g-l1 .card").length) === 2, "two Level I cards");
    check(await page.evaluate(() => document.querySelectorAll(".g-l2 .card").length) === 2, "two Level II cards");

    // Closing the complaint takes it off the live board; an ack after that
    // is refused, and the page shows siteward's error.
    const complaint = await page.evaluate(() => Array.from(document.querySelectorAll(".card"))
      .find((c) => c.querySelector(".c-title").textContent === "Complaint").dataset.key);
    await page.click('.card[data-key="' + complaint + '"]');
    await page.click('#detail button[data-op="close"]');
    await poll(async () => /^close: ok, state closed/.test(await text(page, "#detail .d-reply.ok")), 10000,
               "the close's reply");
    await poll(async () => await body(page, "visible") === "6", 10000, "the closed complaint to leave the live board");
    await page.click('#detail button[data-op="ack"]');
    await poll(async () => /^ack: illegal_transition/.test(await text(page, "#detail .d-reply.err")), 10000,
               "the refused ack's error");
    log("refused ack:", JSON.stringify(await text(page, "#detail .d-reply")));
    await page.selectOption("#f-state", "closed");
    check(await body(page, "visible") === "1", "the state filter shows the closed complaint");
    await page.selectOption("#f-state", "active");

    // Filters: Level II only, then site B only.
    await page.selectOption("#f-level", "l2");
    check(await body(page, "visible") === "2", "the Level II filter shows two cards");
    await page.selectOption("#f-level", "");
    await page.selectOption("#f-site", "B");
    check(await body(page, "visible") === "2", "the site filter shows site B's two cards");
    await page.selectOption("#f-site", "");

    // The smoke alarm's plan is not activated in time (10 s at --clock-scale
    // 30): the card shows the missed obligation and the escalation step.
    await poll(async () => (await attr(page, card, "class")).includes("missed"), 30000, "the missed obligation");
    await poll(async () => /esc \d/.test(await text(page, card + " .c-esc")), 10000, "the escalation step");
    log("missed:", JSON.stringify(await text(page, card + " .c-missed")), JSON.stringify(await text(page, card + " .c-esc")));

    // The closed complaint is archived (an empty retained message, as
    // siteward publishes at the end of retention): it leaves the console.
    await page.selectOption("#f-state", "all");
    check(await body(page, "visible") === "7", "all states: the closed complaint is shown too");
    await dev.pub("siteward/" + complaint.replace("/", "/incident/"), "", { retain: true });
    await poll(async () => await body(page, "total") === "6", 10000, "the archived card to go");
    check(!(await page.evaluate((k) => !!document.querySelector('.card[data-key="' + k + '"]'), complaint)),
          "the archived card is gone");
    await page.selectOption("#f-state", "active");
    await page.click(card);

    // The network goes: the header says so. A heat alarm opens meanwhile.
    // The network comes back: the broker hands the kept session what it
    // missed, the incident and its escalation to the control room, and
    // only that alarm sounds.
    const beepsBefore = Number(await body(page, "beeps")), totalBefore = Number(await body(page, "total"));
    await ctx.setOffline(true);
    await poll(async () => await attr(page, "#conn", "data-state") !== "connected", 30000, "the lost connection to show");
    log("offline:", JSON.stringify(await text(page, "#conn")));
    await dev.pub("siteward/A/event/sensor/h9", { type: "heat", id: "e-6", location: { building: "9", floor: "2" } });
    await ctx.setOffline(false);
    await connected(page);
    await poll(async () => Number(await body(page, "total")) === totalBefore + 1, 10000,
               async () => "the board rebuilt after reconnecting: " + (totalBefore + 1) + " cards, not " +
                           await body(page, "total"));
    check(Number(await body(page, "beeps")) === beepsBefore + 1, "after the reconnect, one alarm: the heat alarm's");
    check(await page.evaluate(() => document.querySelectorAll(".g-l1 .card").length) === 3, "three Level I cards");
    await poll(() => page.evaluate(() => Array.from(document.querySelectorAll(".banner .b-text"))
      .some((b) => b.textContent.includes("building 9"))), 10000, "the missed escalation's banner");
    // The banner and the header's alarm edge stop flashing before the picture.
    await poll(() => page.evaluate(() => !document.body.classList.contains("alarm")), 10000, "the alarm edge to stop");

    await page.evaluate(() => new Promise((r) => setTimeout(r, 1100)));
    fs.mkdirSync(path.dirname(env.SW_WEB_SHOT), { recursive: true });
    await page.screenshot({ path: env.SW_WEB_SHOT });
    log("screenshot:", env.SW_WEB_SHOT);
  } finally {
    await dev.endAsync();
  }
}

async function loadScenario(ctx, errors) {
  const N = 1000;
  const page = await open(ctx, errors);
  const dev = await mqttClient();
  try {
    await login(page, ROOM, USERS[ROOM]);
    await connected(page);
    const types = ["smoke", "pipe_burst", "door_forced", "water_leak", "elevator_fault", "visitor_arrived",
                   "power_loss", "door_held", "gas_leak", "heat"];
    // A plain subscriber beside the page tells the daemon's and broker's
    // share of the time from the page's.
    const ids = new Set();
    let plainMs = 0;
    dev.on("message", (topic, payload) => {
      if (payload.length && !ids.has(topic)) {
        ids.add(topic);
        if (ids.size === N) plainMs = Date.now() - t0;
      }
    });
    await dev.subscribeAsync("siteward/+/incident/+", { qos: 1 });
    await page.evaluate(() => {
      window.busyMs = 0;
      new PerformanceObserver((l) => { for (const e of l.getEntries()) window.busyMs += e.duration; })
        .observe({ type: "longtask" });
    });
    const t0 = Date.now();
    const sent = [];
    for (let i = 0; i < N; i++) {
      sent.push(dev.pub("siteward/" + (i % 3 ? "A" : "B") + "/event/sensor/d" + i,
                        { type: types[i % types.length], id: "load-" + i,
                          location: { building: "L" + i, floor: String(i % 40) } }));
    }
    await Promise.all(sent);
    const published = Date.now() - t0;
    await poll(async () => await body(page, "total") === String(N), 60000,
               async () => N + " cards (the board has " + await body(page, "total") + ")", 50);
    const live = Date.now() - t0;
    log("figure: " + N + " events published (QoS 1, acknowledged) in " + published + " ms; all " + N +
        " incidents at a plain MQTT subscriber " + plainMs + " ms and on the board " + live + " ms after the first");

    const st = await page.evaluate(() => Object.assign({ busy: window.busyMs, received: window.SW.console.state.received,
                                                         handle: window.SW.console.state.handleMs },
                                                       window.SW.console.board.stats));
    log("figure: live: " + st.received + " messages handled in " + st.handle.toFixed(0) + " ms of script, " + st.renders +
        " renders in " + st.renderMs.toFixed(0) + " ms, long tasks " + st.busy.toFixed(0) + " ms in all");
    await page.close();

    // A console opened now gets the 1,000 as retained messages.
    const page2 = await open(ctx, errors);
    await page2.fill("#l-user", ROOM);
    await page2.fill("#l-password", USERS[ROOM]);
    const t1 = Date.now();
    await page2.click("#l-go");
    await poll(async () => await body(page2, "total") === String(N), 60000, N + " retained cards", 20);
    const retainedMs = Date.now() - t1;
    const st2 = await page2.evaluate(() => window.SW.console.board.stats);
    log("figure: fresh console, login clicked -> " + N + " retained incidents rendered: " + retainedMs + " ms (" +
        st2.renders + " renders, " + st2.renderMs.toFixed(0) + " ms of script in them)");
    check(await page2.evaluate(() => document.querySelectorAll(".card").length) === N, N + " cards in the DOM");

    // Filter and sort changes: the synchronous re-render, then until the
    // next frame has been laid out and painted.
    const changes = [["#f-level", "l1"], ["#f-level", ""], ["#f-state", "all"], ["#f-sort", "age"],
                     ["#f-site", "B"], ["#f-site", ""], ["#f-sort", "due"]];
    for (const [sel, value] of changes) {
      const [sync, painted, visible] = await page2.evaluate(([s, v]) => new Promise((resolve) => {
        const el = document.querySelector(s);
        const t = performance.now();
        el.value = v;
        el.dispatchEvent(new Event("change"));
        const t2 = performance.now();
        requestAnimationFrame(() => setTimeout(() =>
          resolve([t2 - t, performance.now() - t, document.body.dataset.visible]), 0));
      }), [sel, value]);
      log("figure: filter " + sel + "=" + JSON.stringify(value) + ": render " + sync.toFixed(1) + " ms, painted " +
          painted.toFixed(1) + " ms, " + visible + " cards shown");
      check(painted < 10000, "a filter change is done within the sanity bound (10 s)");
    }
    const level1 = await page2.evaluate(() => {
      document.querySelector("#f-level").value = "l1";
      document.querySelector("#f-level").dispatchEvent(new Event("change"));
      return Number(document.body.dataset.visible);
    });
    check(level1 === 300, "Level I filter shows the 300 smoke, gas and heat alarms (" + level1 + ")");
    await page2.evaluate(() => new Promise((r) => setTimeout(r, 2100)));
    const tickMs = await page2.evaluate(() => window.SW.console.board.stats.lastTickMs);
    log("figure: once-a-second countdown tick over the shown cards: " + tickMs.toFixed(1) + " ms");
  } finally {
    await dev.endAsync();
  }
}

async function main() {
  const scenario = env.SW_WEB_SCENARIO;
  const run = { board: boardScenario, load: loadScenario }[scenario];
  if (!run) throw new Error("SW_WEB_SCENARIO: board or load, not " + scenario);
  const ctx = await browser();
  const errors = [];
  try {
    await run(ctx, errors);
  } finally {
    await ctx.close();
  }
  check(errors.length === 0, "no errors in the page: " + errors.join("; "));
  log("scenario " + scenario + ": passed");
}

main().catch((e) => {
  console.error("web: FAILED:", e && e.stack ? e.stack : e);
  process.exit(1);
});

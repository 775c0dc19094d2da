// The console itself: login, the MQTT connection over websockets, the
// messages siteward publishes, the alarm, the escalation banners and the
// operator's commands.
"use strict";
(function (SW) {
  const F = SW.fmt;
  const ID_RE = /^[A-Za-z0-9_.:-]{1,128}$/;
  const REPLY_WAIT_MS = 10000;
  const MAX_BANNERS = 5;
  const $ = (sel) => document.querySelector(sel);
  const decoder = new TextDecoder();

  const state = {
    client: null, url: "", user: "", prefix: "siteward", connectedOnce: false, lastError: "",
    session: Math.random().toString(36).slice(2, 8), seq: 0, pending: new Map(),
    muted: localStorage.getItem("sw.muted") === "1", audio: null, lastBeep: 0, beeps: 0, silenced: 0,
    received: 0, handleMs: 0, malformed: 0, daemons: {}, denied: [], last: new Map(), hiddenBanners: 0,
  };

  const timeline = new SW.Timeline();
  const board = new SW.Board($("#board"), (key) => detail.show(key));
  const detail = new SW.Detail($("#detail"), board, timeline, command);

  function setConn(kind, text) {
    const el = $("#conn");
    el.dataset.state = kind;
    el.textContent = text;
    el.title = text + (state.url ? " (" + state.url + ")" : "");
  }

  function connectedText() {
    let t = "connected as " + state.user;
    if (state.denied.length) t += " · not allowed to read: " + state.denied.join(", ");
    if (state.malformed) t += " · " + state.malformed + " unreadable message(s) ignored";
    return t;
  }

  function loginError(text) {
    $("#l-error").textContent = text;
    $("#login").hidden = false;
  }

  function defaultUrl() {
    if (location.protocol === "http:") return "ws://" + location.host + "/mqtt";
    if (location.protocol === "https:") return "wss://" + location.host + "/mqtt";
    return "ws://127.0.0.1:8080/mqtt";
  }

  function parseJson(payload) {
    try {
      const v = JSON.parse(decoder.decode(payload));
      return v && typeof v === "object" ? v : null;
    } catch (e) {
      return null;
    }
  }

  // AudioContext needs a user gesture to start: it is made on the login click.
  function unlockAudio() {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    if (!state.audio) state.audio = new Ctx();
    if (state.audio.state === "suspended") state.audio.resume();
  }

  function beep() {
    const now = Date.now();
    if (state.muted) {
      state.silenced++;
      document.body.dataset.silenced = String(state.silenced);
      return;
    }
    if (!state.audio || now - state.lastBeep < 2000) return;
    state.lastBeep = now;
    const ctx = state.audio, t = ctx.currentTime;
    for (let i = 0; i < 3; i++) {
      const o = ctx.createOscillator(), g = ctx.createGain(), at = t + i * 0.25;
      o.type = "square";
      o.frequency.value = i % 2 ? 660 : 880;
      g.gain.setValueAtTime(0.0001, at);
      g.gain.exponentialRampToValueAtTime(0.25, at + 0.02);
      g.gain.exponentialRampToValueAtTime(0.0001, at + 0.2);
      o.connect(g).connect(ctx.destination);
      o.start(at);
      o.stop(at + 0.22);
    }
    state.beeps++;
    document.body.dataset.beeps = String(state.beeps);
    document.body.dataset.audio = ctx.state;
  }

  function alarm(key) {
    board.flash(key, 15000);
    document.body.classList.add("alarm");
    clearTimeout(state.alarmTimer);
    state.alarmTimer = setTimeout(() => document.body.classList.remove("alarm"), 3000);
    beep();
  }

  function showMute() {
    const b = $("#mute");
    b.textContent = state.muted ? "sound off" : "sound on";
    b.classList.toggle("off", state.muted);
  }

  function showDaemons() {
    $("#daemons").innerHTML = Object.keys(state.daemons).sort().map((name) => {
      const s = state.daemons[name];
      return '<span class="daemon ' + (s === "online" ? "up" : "down") + '">siteward ' + F.esc(name) + ": " +
        F.esc(s) + "</span>";
    }).join("");
  }

  function refreshSites() {
    const sel = $("#f-site"), sites = board.sites();
    const have = Array.from(sel.options).slice(1).map((o) => o.value);
    if (have.join("\n") === sites.join("\n")) return;
    const cur = sel.value;
    sel.innerHTML = '<option value="">all sites</option>' +
      sites.map((s) => '<option value="' + F.esc(s) + '">site ' + F.esc(s) + "</option>").join("");
    sel.value = sites.indexOf(cur) >= 0 ? cur : "";
  }

  // What changed between two states of an incident, in words for the timeline.
  function differences(prev, inc) {
    const out = [];
    if (prev.state !== inc.state) out.push("state " + F.words(prev.state) + " → " + F.words(inc.state));
    if (prev.class !== inc.class || prev.level !== inc.level) {
      out.push("class " + prev.class + " → " + inc.class + " (level " + prev.level + " → " + inc.level + ")");
    }
    if (prev.events !== inc.events) out.push("events " + prev.events + " → " + inc.events);
    const before = {};
    for (const o of F.obligations(prev)) before[o.name] = o;
    for (const o of F.obligations(inc)) {
      const b = before[o.name];
      if (!b) out.push(F.words(o.name) + " armed, due " + F.siteClock(o.due));
      else if (b.status !== o.status) out.push(F.words(o.name) + " " + b.status + " → " + o.status + (o.by ? " by " + o.by : ""));
      else if (!b.met_at && o.met_at) out.push(F.words(o.name) + " met late" + (o.by ? " by " + o.by : ""));
    }
    const pe = F.escalation(prev), ie = F.escalation(inc);
    if (ie && (!pe || pe.step !== ie.step || pe.role !== ie.role)) {
      out.push("now at escalation step " + ie.step + " (" + F.words(ie.role) + ")");
    }
    return out;
  }

  function onIncident(key, payload, retained) {
    if (payload.length === 0) {
      state.last.delete(key);
      if (board.remove(key)) {
        timeline.add(key, "archived: the retained state was cleared", "info");
        detail.changed(key);
      }
      return;
    }
    const inc = parseJson(payload);
    if (!inc || typeof inc.id !== "string") {
      state.malformed++;
      if (state.client && state.client.connected) setConn("connected", connectedText());
      return;
    }
    const seenBefore = state.last.get(key);
    board.upsert(key, inc);
    state.last.set(key, inc);
    if (!seenBefore) {
      timeline.add(key, (retained ? "first seen (retained): " : "opened: ") + (inc.summary || inc.class) +
        ", state " + F.words(inc.state) + ", " + inc.events + " event(s)", retained ? "info" : "new");
      refreshSites();
    } else {
      for (const d of differences(seenBefore, inc)) timeline.add(key, d, "change");
    }
    // New to this console: opened live, or opened while it was reconnecting.
    const fresh = !retained || (state.reconnected && !seenBefore);
    if (fresh && inc.level === 1 && (!seenBefore || seenBefore.level !== 1)) alarm(key);
    detail.changed(key);
  }

  function banner(key, e) {
    const box = $("#banners");
    const div = document.createElement("div");
    div.className = "banner";
    div.dataset.key = key;
    div.innerHTML = '<strong>Escalation</strong><span class="b-text">' + F.esc(e.summary || e.incident) +
      '</span><span class="b-meta">' + F.esc(e.site) + " · " + F.esc(e.incident) + (e.step ? " · step " + F.esc(e.step) : " · told at opening") +
      (e.overdue_s ? " · " + F.span(e.overdue_s) + " overdue" : "") + " · " + new Date().toTimeString().slice(0, 8) +
      '</span><button class="b-open">open</button><button class="b-close" title="dismiss">×</button>';
    box.insertBefore(div, box.firstChild);
    const shown = box.querySelectorAll(".banner");
    for (let i = MAX_BANNERS; i < shown.length; i++) {
      shown[i].remove();
      state.hiddenBanners++;
    }
    if (state.hiddenBanners) {
      let more = box.querySelector(".more");
      if (!more) {
        more = document.createElement("div");
        more.className = "more";
        box.appendChild(more);
      }
      more.innerHTML = "and " + state.hiddenBanners + ' earlier escalation(s) <button class="b-clear">dismiss all</button>';
    }
  }

  function onEscalation(site, role, payload) {
    const e = parseJson(payload);
    if (!e || typeof e.incident !== "string") {
      state.malformed++;
      return;
    }
    const key = site + "/" + e.incident;
    timeline.add(key, "escalation step " + e.step + " to " + F.words(role) +
      (e.obligation ? ": " + F.words(e.obligation) : ": " + (e.summary || "")) +
      (e.overdue_s ? " (" + F.span(e.overdue_s) + " overdue)" : ""), "esc");
    detail.changed(key);
    if (role === "control_room") banner(key, e);
  }

  function onReply(payload) {
    const r = parseJson(payload);
    // Replies to other consoles of the same user, or to reports, are not ours.
    const p = r && state.pending.get(r.request_id);
    if (!p) return;
    clearTimeout(p.timer);
    state.pending.delete(r.request_id);
    const text = r.ok ? p.op + ": ok" + (r.incident && r.incident.state ? ", state " + F.words(r.incident.state) : "")
                      : p.op + ": " + (r.error || "error") + " — " + (r.message || "");
    detail.reply(p.key, text, !!r.ok);
    timeline.add(p.key, "reply to " + p.op + ": " + (r.ok ? "ok" : r.error + " (" + (r.message || "") + ")"),
                 r.ok ? "ok" : "err");
    detail.changed(p.key);
  }

  function onMessage(topic, payload, retained) {
    const t0 = performance.now();
    handle(topic, payload, retained);
    state.handleMs += performance.now() - t0;
  }

  function handle(topic, payload, retained) {
    state.received++;
    const pre = state.prefix + "/";
    if (topic.slice(0, pre.length) !== pre) return;
    const parts = topic.slice(pre.length).split("/");
    if (parts[0] === "_daemon" && parts.length === 3 && parts[2] === "status") {
      state.daemons[parts[1]] = decoder.decode(payload);
      showDaemons();
    } else if (parts[1] === "incident" && parts.length === 3) {
      onIncident(parts[0] + "/" + parts[2], payload, retained);
    } else if (parts[1] === "escalation" && parts.length === 3) {
      onEscalation(parts[0], parts[2], payload);
    } else if (parts[1] === "reply") {
      onReply(payload);
    }
  }

  function command(key, op, note) {
    const cut = key.indexOf("/"), site = key.slice(0, cut), id = key.slice(cut + 1);
    const c = state.client;
    if (!c || !c.connected) {
      detail.reply(key, op + ": not sent, not connected to the broker", false);
      return;
    }
    if (op === "comment" && !note) {
      detail.reply(key, "comment: write the note first", false);
      return;
    }
    const rid = "web-" + state.session + "-" + ++state.seq;
    const cmd = { op, incident: id, request_id: rid };
    if (note) cmd.note = note;
    const topic = state.prefix + "/" + site + "/cmd/" + state.user;
    const fail = (text) => {
      clearTimeout(p.timer);
      state.pending.delete(rid);
      detail.reply(key, text, false);
      timeline.add(key, text, "err");
      detail.changed(key);
    };
    const p = { key, op, timer: setTimeout(() => fail(op + ": no reply within " + REPLY_WAIT_MS / 1000 +
      " s (is siteward online, and may " + state.user + " publish on " + topic + "?)"), REPLY_WAIT_MS) };
    state.pending.set(rid, p);
    detail.reply(key, op + ": sent, waiting for siteward", true);
    timeline.add(key, "sent " + op + (note ? " \u201c" + note + "\u201d" : ""), "cmd");
    detail.changed(key);
    c.publish(topic, JSON.stringify(cmd), { qos: 1 }, (err) => {
      if (err) fail(op + ": not delivered to the broker: " + err.message);
    });
  }

  function subscribe(c) {
    const P = state.prefix;
    const topics = [P + "/+/incident/+", P + "/+/escalation/+", P + "/+/reply/" + state.user, P + "/_daemon/+/status"];
    c.subscribe(topics, { qos: 1 }, (err, granted) => {
      if (err) {
        setConn("connected", connectedText() + " · subscribe failed: " + err.message);
        return;
      }
      state.denied = (granted || []).filter((g) => g.qos & 0x80).map((g) => g.topic);
      setConn("connected", connectedText());
      document.body.dataset.subscribed = "1";
    });
  }

  function connect(url, user, password, prefix) {
    if (typeof mqtt === "undefined") return loginError("mqtt.js did not load (vendor/mqtt.min.js is missing)");
    if (!ID_RE.test(user)) return loginError("user name: 1 to 128 characters of A-Z a-z 0-9 _ - . :");
    if (!prefix || /[+#]/.test(prefix)) return loginError("topic prefix: not empty, no + or #");
    if (!/^wss?:\/\//.test(url)) return loginError("broker: a ws:// or wss:// URL");
    disconnect();
    board.clear();
    state.last.clear();
    Object.assign(state, { url, user, prefix, connectedOnce: false, reconnected: false, lastError: "" });
    localStorage.setItem("sw.url", url);
    localStorage.setItem("sw.user", user);
    localStorage.setItem("sw.prefix", prefix);
    $("#l-error").textContent = "";
    setConn("connecting", "connecting to " + url + " as " + user);
    // A session the broker keeps for an hour, under a client id that
    // survives a reload of this tab (another tab gets its own): after a
    // network blip the broker hands over what was published meanwhile,
    // escalations included, not only the retained incidents.
    const idKey = "sw.client." + user;
    let clientId = sessionStorage.getItem(idKey);
    if (!clientId) {
      clientId = "console-" + user + "-" + state.session;
      sessionStorage.setItem(idKey, clientId);
    }
    const c = mqtt.connect(url, {
      username: user, password, protocolVersion: 5, clean: false, resubscribe: false, clientId,
      reconnectPeriod: 2000, connectTimeout: 8000,
      // A silently dead network shows within about 15 s.
      keepalive: 10,
      // The broker keeps only this many QoS 1 messages in flight to us;
      // at its default (20) 1,000 retained incidents took 50 round trips
      // through a busy page.
      properties: { receiveMaximum: 65535, sessionExpiryInterval: 3600 },
    });
    state.client = c;
    c.on("connect", (connack) => {
      if (state.client !== c) return;
      state.lastError = "";
      $("#login").hidden = true;
      if (state.connectedOnce && connack && connack.sessionPresent) {
        // The broker kept our subscriptions and queued what we missed.
        setConn("connected", connectedText());
        document.body.dataset.subscribed = "1";
        return;
      }
      // A new session gets every retained incident again: start from
      // them, so that one archived meanwhile does not linger.
      if (state.connectedOnce) {
        state.reconnected = true;
        board.clear();
      }
      state.connectedOnce = true;
      setConn("connected", connectedText());
      subscribe(c);
    });
    c.on("message", (topic, payload, packet) => onMessage(topic, payload, !!packet.retain));
    c.on("reconnect", () => {
      setConn("reconnecting", "reconnecting to " + url + (state.lastError ? " · last error: " + state.lastError : ""));
    });
    c.on("close", () => {
      if (state.client !== c) return;
      document.body.dataset.subscribed = "";
      setConn(state.connectedOnce ? "offline" : "connecting",
              (state.connectedOnce ? "connection lost" : "cannot reach " + url) + ", retrying every 2 s" +
              (state.lastError ? " · " + state.lastError : ""));
    });
    c.on("disconnect", (packet) => {
      state.lastError = "broker disconnected us (reason " + (packet && packet.reasonCode) + ")";
    });
    c.on("error", (err) => {
      state.lastError = err && err.message ? err.message : String(err);
      // A refused login does not get better by retrying.
      if (err && [4, 5, 134, 135].indexOf(err.code) >= 0) {
        disconnect();
        setConn("refused", "login refused: " + state.lastError);
        loginError("The broker refused the login: " + state.lastError);
      }
    });
  }

  // forget: also end the session the broker keeps for this console.
  function disconnect(forget) {
    const c = state.client;
    state.client = null;
    if (c && forget && c.connected) c.end(false, { properties: { sessionExpiryInterval: 0 } });
    else if (c) c.end(true);
    for (const p of state.pending.values()) clearTimeout(p.timer);
    state.pending.clear();
  }

  function filtersChanged() {
    board.setFilter({ site: $("#f-site").value, level: $("#f-level").value, state: $("#f-state").value,
                      sort: $("#f-sort").value, text: $("#f-text").value.trim() });
  }

  // Ticks just after each second turns, so every countdown moves together.
  function tick() {
    board.tick();
    detail.tick();
    $("#clock").textContent = new Date().toTimeString().slice(0, 8);
    setTimeout(tick, 1020 - (Date.now() % 1000));
  }

  function init() {
    const q = new URLSearchParams(location.search);
    $("#l-url").value = q.get("url") || localStorage.getItem("sw.url") || defaultUrl();
    $("#l-user").value = q.get("user") || localStorage.getItem("sw.user") || "";
    $("#l-prefix").value = q.get("prefix") || localStorage.getItem("sw.prefix") || "siteward";
    $("#login").addEventListener("submit", (e) => {
      e.preventDefault();
      unlockAudio();
      connect($("#l-url").value.trim(), $("#l-user").value.trim(), $("#l-password").value,
              $("#l-prefix").value.trim());
      $("#l-password").value = "";
    });
    $("#logout").addEventListener("click", () => {
      disconnect(true);
      detail.show(null);
      board.clear();
      state.last.clear();
      setConn("idle", "not connected");
      $("#login").hidden = false;
    });
    $("#mute").addEventListener("click", () => {
      state.muted = !state.muted;
      localStorage.setItem("sw.muted", state.muted ? "1" : "0");
      unlockAudio();
      showMute();
    });
    for (const id of ["#f-site", "#f-level", "#f-state", "#f-sort"]) $(id).addEventListener("change", filtersChanged);
    $("#f-text").addEventListener("input", filtersChanged);
    $("#banners").addEventListener("click", (e) => {
      const b = e.target.closest(".banner");
      if (e.target.classList.contains("b-clear")) {
        $("#banners").textContent = "";
        state.hiddenBanners = 0;
      } else if (b && e.target.classList.contains("b-close")) {
        b.remove();
      } else if (b) {
        detail.show(b.dataset.key);
      }
    });
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape") detail.show(null);
    });
    const top = $("#top");
    new ResizeObserver(() => document.documentElement.style.setProperty("--top-h", top.offsetHeight + "px"))
      .observe(top);
    showMute();
    setConn("idle", "not connected");
    tick();
  }

  SW.console = { board, timeline, detail, state };
  init();
})(window.SW = window.SW || {});

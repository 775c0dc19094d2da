// Pure helpers of the console: reading incidents and writing times. No DOM,
// no MQTT, so they behave the same on every screen.
"use strict";
(function (SW) {
  const ACTIVE = ["open", "acknowledged", "on_site", "resolved"];
  const STATES = ["open", "acknowledged", "on_site", "resolved", "closed", "reviewed"];

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, (c) =>
      ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  function ms(t) {
    if (t == null) return NaN;
    return Date.parse(t);
  }

  function pad(n) {
    return n < 10 ? "0" + n : String(n);
  }

  // A span of seconds as a wall screen reads it: "4:59", "1:02:03", "2d 03:04".
  function span(sec) {
    sec = Math.floor(Math.abs(sec));
    const d = Math.floor(sec / 86400), h = Math.floor((sec % 86400) / 3600);
    const m = Math.floor((sec % 3600) / 60), s = sec % 60;
    if (d) return d + "d " + pad(h) + ":" + pad(m);
    if (h) return h + ":" + pad(m) + ":" + pad(s);
    return m + ":" + pad(s);
  }

  // The site's own wall-clock time from an RFC 3339 string, as siteward
  // wrote it in the site's time zone (the control room reads site time,
  // whatever zone the browser is in).
  function siteClock(t) {
    const m = /T(\d\d:\d\d:\d\d)/.exec(t || "");
    return m ? m[1] : "—";
  }

  function siteDateTime(t) {
    const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.\d+)?(Z|[+-]\d\d:\d\d)?$/.exec(t || "");
    return m ? m[1] + " " + m[2] + (m[3] ? " " + m[3] : "") : (t || "—");
  }

  function words(s) {
    return String(s || "").replace(/_/g, " ");
  }

  function location(loc) {
    if (!loc || typeof loc !== "object") return "";
    const parts = [];
    for (const k of ["building", "floor", "unit", "area"]) {
      if (loc[k] != null && loc[k] !== "") parts.push(k + " " + loc[k]);
    }
    return parts.join(" · ");
  }

  // siteward writes a summary as "<class label>, <location>"; the label is
  // policy data, so it is read from there rather than kept in the page.
  function title(inc) {
    const s = typeof inc.summary === "string" ? inc.summary : "";
    const cut = s.indexOf(", ");
    const label = cut > 0 ? s.slice(0, cut) : s;
    return label || words(inc.class || "incident").replace(/^./, (c) => c.toUpperCase());
  }

  function group(inc) {
    return inc.level === 1 ? "l1" : inc.level === 2 ? "l2" : "sr";
  }

  function obligations(inc) {
    return Array.isArray(inc.obligations) ? inc.obligations : [];
  }

  // The pending obligation that falls due first, or null.
  function nextDue(inc) {
    let best = null;
    for (const o of obligations(inc)) {
      if (o.status !== "pending") continue;
      const t = ms(o.due);
      if (isNaN(t)) continue;
      if (!best || t < best.dueMs) best = { name: o.name, dueMs: t };
    }
    return best;
  }

  // Missed obligations; `open` ones are still unmet (met late ones carry met_at).
  function missed(inc) {
    return obligations(inc)
      .filter((o) => o.status === "missed")
      .map((o) => ({ name: o.name, dueMs: ms(o.due), open: !o.met_at, lateBy: o.late_by_s }));
  }

  function escalation(inc) {
    const e = inc.escalation;
    if (!e || !e.level) return null;
    return { step: e.level, role: e.role || "?" };
  }

  function isActive(inc) {
    return ACTIVE.indexOf(inc.state) >= 0;
  }

  SW.fmt = { ACTIVE, STATES, esc, ms, span, siteClock, siteDateTime, words, location, title,
             group, obligations, nextDue, missed, escalation, isActive };
})(window.SW = window.SW || {});

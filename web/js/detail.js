// The detail panel of one incident: its obligations, what this console saw
// happen to it, and the operator's commands with their replies.
"use strict";
(function (SW) {
  const F = SW.fmt;
  const OPS = [["ack", "Ack"], ["plan_activated", "Plan activated"], ["on_site", "On site"],
               ["resolve", "Resolve"], ["close", "Close"], ["comment", "Comment"]];
  const KEEP = 200;

  // What this page saw happen to each incident, kept across reconnects and
  // archiving (incidents on MQTT carry no timeline of their own).
  class Timeline {
    constructor() {
      this.byKey = new Map();
    }

    add(key, text, kind) {
      let list = this.byKey.get(key);
      if (!list) this.byKey.set(key, (list = []));
      list.push({ at: Date.now(), text, kind: kind || "" });
      if (list.length > KEEP) list.splice(0, list.length - KEEP);
    }

    get(key) {
      return this.byKey.get(key) || [];
    }
  }

  function clock(atMs) {
    const d = new Date(atMs);
    const p = (n) => (n < 10 ? "0" : "") + n;
    return p(d.getHours()) + ":" + p(d.getMinutes()) + ":" + p(d.getSeconds());
  }

  class Detail {
    // root: the panel element; board: the Board; timeline: the Timeline;
    // send(key, op, note): publishes a command.
    constructor(root, board, timeline, send) {
      this.root = root;
      this.board = board;
      this.timeline = timeline;
      this.send = send;
      this.key = null;
      this.framed = null;
      this.replies = new Map(); // key -> {text, ok}
      root.addEventListener("click", (e) => {
        const b = e.target.closest("button");
        if (!b) return;
        if (b.dataset.op) {
          const note = root.querySelector(".d-note");
          this.send(this.key, b.dataset.op, note ? note.value.trim() : "");
          if (note) note.value = "";
        } else if (b.classList.contains("d-close")) {
          this.show(null);
        }
      });
    }

    show(key) {
      this.key = key;
      this.framed = null;
      this.board.select(key);
      this.root.hidden = !key;
      document.body.classList.toggle("with-detail", !!key);
      this.render();
    }

    reply(key, text, ok) {
      this.replies.set(key, { text, ok });
      if (key === this.key) this.render();
    }

    // Called when the incident or its timeline changed.
    changed(key) {
      if (key === this.key) this.render();
    }

    // The panel's frame is built once per incident shown, so that a note
    // being typed keeps its focus while the incident changes underneath.
    frame() {
      this.root.innerHTML = '<header class="d-head"><div><div class="d-title"></div><div class="d-id"></div></div>' +
        '<button class="d-close" title="close (Esc)">×</button></header><div class="d-live"></div>' +
        '<h3>Commands</h3><div class="d-cmds">' +
        OPS.map(([op, label]) => '<button data-op="' + op + '">' + label + "</button>").join("") +
        '</div><input class="d-note" placeholder="note (optional; needed for a comment)">' +
        '<div class="d-reply"></div><div class="d-seen-wrap"></div>';
      this.framed = this.key;
    }

    render() {
      if (!this.key) return;
      if (this.framed !== this.key) this.frame();
      const inc = this.board.get(this.key);
      const [site, id] = this.key.split("/");
      const $ = (sel) => this.root.querySelector(sel);
      $(".d-title").textContent = inc ? F.title(inc) : id;
      $(".d-id").textContent = site + " · " + id;
      $(".d-live").innerHTML = inc ? this.facts(inc) + this.obligations(inc)
        : '<p class="d-gone">Archived: siteward removed this incident from the live topics.</p>';
      for (const b of this.root.querySelectorAll(".d-cmds button, .d-note")) b.disabled = !inc;
      const last = this.replies.get(this.key);
      const r = $(".d-reply");
      r.className = "d-reply" + (last ? (last.ok ? " ok" : " err") : "");
      r.textContent = last ? last.text : "";
      $(".d-seen-wrap").innerHTML = this.seen();
      this.tick();
    }

    facts(inc) {
      const esc = F.escalation(inc);
      const rows = [
        ["level", inc.level === 1 ? "Level I" : inc.level === 2 ? "Level II" : "service request"],
        ["state", F.words(inc.state)], ["class", inc.class], ["priority", inc.priority],
        ["location", F.location(inc.location) || "—"],
        ["opened", F.siteDateTime(inc.opened)], ["updated", F.siteDateTime(inc.updated)],
        ["events", inc.events], ["sources", (inc.sources || []).join(", ")],
        ["escalation", esc ? "step " + esc.step + " → " + F.words(esc.role) : "none"],
        ["review", inc.review ? F.words(inc.review.status) + (inc.review.due ? " · due " +
          F.siteDateTime(inc.review.due) : "") : "—"],
      ];
      return '<div class="d-summary">' + F.esc(inc.summary || "") + '</div><dl class="d-facts d-level-' +
        F.group(inc) + '">' + rows.map(([k, v]) => "<dt>" + k + "</dt><dd>" + F.esc(v) + "</dd>").join("") +
        "</dl>";
    }

    obligations(inc) {
      const obs = F.obligations(inc);
      if (!obs.length) return '<h3>Obligations</h3><p class="quiet">none</p>';
      return '<h3>Obligations</h3><table class="d-obl"><tr><th>obligation</th><th>due</th><th>status</th>' +
        '<th></th></tr>' + obs.map((o) => {
          let extra = "";
          if (o.status === "met") extra = "met " + F.siteClock(o.met_at) + (o.by ? " by " + F.esc(o.by) : "");
          else if (o.status === "missed" && o.met_at) {
            extra = "met " + F.siteClock(o.met_at) + (o.late_by_s != null ? ", " + F.span(o.late_by_s) + " late" : "") +
              (o.by ? " by " + F.esc(o.by) : "");
          } else if (o.status === "pending" || o.status === "missed") {
            extra = '<span data-due="' + F.ms(o.due) + '" data-kind="' + o.status + '"></span>';
          }
          return '<tr class="o-' + F.esc(o.status) + '"><td>' + F.esc(F.words(o.name)) + "</td><td>" +
            F.esc(F.siteDateTime(o.due)) + '</td><td class="o-status">' + F.esc(o.status) + "</td><td>" + extra +
            "</td></tr>";
        }).join("") + "</table>";
    }

    seen() {
      const list = this.timeline.get(this.key).slice().reverse();
      return '<h3>Seen by this console</h3><p class="quiet d-seen-note">Incidents on MQTT carry no timeline: ' +
        'this is what this page saw since it connected. The full record is in <code>sitewardctl timeline ' +
        F.esc(this.key.split("/")[1]) + '</code>.</p><ol class="d-seen">' +
        list.map((e) => '<li class="' + F.esc(e.kind) + '"><time>' + clock(e.at) + "</time> " + F.esc(e.text) +
          "</li>").join("") + "</ol>";
    }

    tick() {
      if (!this.key) return;
      const now = Date.now();
      for (const n of this.root.querySelectorAll("[data-due]")) {
        const left = (Number(n.dataset.due) - now) / 1000;
        n.textContent = left >= 0 ? "in " + F.span(Math.ceil(left)) : "overdue " + F.span(-left);
        n.className = left >= 0 ? "" : "late";
      }
    }
  }

  SW.Timeline = Timeline;
  SW.Detail = Detail;
})(window.SW = window.SW || {});

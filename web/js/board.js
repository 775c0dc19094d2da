// The board: one card per incident, grouped by level (Level I, Level II,
// service requests), filtered and sorted. Incident updates only mark cards
// dirty; one render per animation frame repaints the dirty cards and moves
// DOM nodes only where the order changed, and a once-a-second tick rewrites
// only the countdown texts, so 1,000 open incidents stay cheap.
"use strict";
(function (SW) {
  const F = SW.fmt;
  const GROUPS = [["l1", "Level I"], ["l2", "Level II"], ["sr", "Service requests"]];

  class Board {
    // root: the element the board fills; onSelect(key) when a card is clicked.
    constructor(root, onSelect) {
      this.items = new Map(); // key "site/id" -> {key, inc, el, timers, keys, flashUntil}
      this.filter = { site: "", level: "", state: "active", sort: "due", text: "" };
      this.sections = {};
      this.dirty = new Set();
      this.orderDirty = true;
      this.pending = false;
      this.selected = null;
      this.stats = { renders: 0, renderMs: 0, lastRenderMs: 0, lastTickMs: 0, visible: 0 };
      root.textContent = "";
      for (const [g, label] of GROUPS) {
        const sec = document.createElement("section");
        sec.className = "group g-" + g;
        sec.innerHTML = '<h2><span class="glabel">' + label + '</span><span class="gcount">0</span></h2>' +
          '<div class="cards"></div><p class="none">none</p>';
        root.appendChild(sec);
        this.sections[g] = { sec, list: sec.querySelector(".cards"), count: sec.querySelector(".gcount"),
                             order: [] };
      }
      root.addEventListener("click", (e) => {
        const card = e.target.closest(".card");
        if (card) onSelect(card.dataset.key);
      });
    }

    get(key) {
      const it = this.items.get(key);
      return it ? it.inc : null;
    }

    sites() {
      const s = new Set();
      for (const it of this.items.values()) s.add(it.inc.site);
      return Array.from(s).sort();
    }

    // Stores the incident's new state; returns the previous one or null.
    upsert(key, inc) {
      let it = this.items.get(key);
      const prev = it ? it.inc : null;
      if (!it) {
        it = { key, inc, el: null, timers: [], keys: null, flashUntil: 0 };
        this.items.set(key, it);
      } else {
        it.inc = inc;
      }
      this.dirty.add(key);
      this.orderDirty = true;
      this.schedule();
      return prev;
    }

    remove(key) {
      const it = this.items.get(key);
      if (!it) return null;
      this.items.delete(key);
      this.dirty.delete(key);
      if (it.el) it.el.remove();
      this.orderDirty = true;
      this.schedule();
      return it.inc;
    }

    clear() {
      for (const it of this.items.values()) if (it.el) it.el.remove();
      this.items.clear();
      this.dirty.clear();
      for (const g in this.sections) this.sections[g].order = [];
      this.orderDirty = true;
      this.schedule();
    }

    flash(key, forMs) {
      const it = this.items.get(key);
      if (!it) return;
      it.flashUntil = Date.now() + forMs;
      this.dirty.add(key);
      this.schedule();
    }

    select(key) {
      const old = this.selected && this.items.get(this.selected);
      if (old && old.el) old.el.classList.remove("selected");
      this.selected = key;
      const it = key && this.items.get(key);
      if (it && it.el) it.el.classList.add("selected");
    }

    // Applies at once (not on the next frame), so that the time a filter
    // change takes can be measured.
    setFilter(change) {
      Object.assign(this.filter, change);
      this.orderDirty = true;
      this.render();
    }

    schedule() {
      if (this.pending) return;
      this.pending = true;
      // requestAnimationFrame coalesces a burst of messages into one render;
      // the timeout covers a hidden tab, where frames do not run.
      const run = () => { if (this.pending) this.render(); };
      requestAnimationFrame(run);
      setTimeout(run, 500);
    }

    render() {
      this.pending = false;
      const t0 = performance.now();
      const now = Date.now();
      for (const key of this.dirty) {
        const it = this.items.get(key);
        if (it) this.paint(it, now);
      }
      this.dirty.clear();
      if (this.orderDirty) this.place();
      this.orderDirty = false;
      this.stats.renders++;
      this.stats.lastRenderMs = performance.now() - t0;
      this.stats.renderMs += this.stats.lastRenderMs;
      document.body.dataset.visible = String(this.stats.visible);
      document.body.dataset.total = String(this.items.size);
    }

    matches(it) {
      const f = this.filter, inc = it.inc;
      if (f.site && inc.site !== f.site) return false;
      if (f.level && F.group(inc) !== f.level) return false;
      if (f.state === "active" ? !F.isActive(inc) : f.state !== "all" && inc.state !== f.state) return false;
      if (f.text && it.keys.text.indexOf(f.text.toLowerCase()) < 0) return false;
      return true;
    }

    comparator() {
      const byDue = (a, b) => a.keys.due - b.keys.due || a.keys.opened - b.keys.opened;
      switch (this.filter.sort) {
      case "age": return (a, b) => a.keys.opened - b.keys.opened;
      case "newest": return (a, b) => b.keys.opened - a.keys.opened;
      case "site": return (a, b) => (a.keys.site < b.keys.site ? -1 : a.keys.site > b.keys.site ? 1 : byDue(a, b));
      case "state": return (a, b) => a.keys.state - b.keys.state || byDue(a, b);
      default: return byDue;
      }
    }

    // Puts the visible cards of each group in order, touching only the
    // nodes that are out of place.
    place() {
      const lists = { l1: [], l2: [], sr: [] };
      for (const it of this.items.values()) if (this.matches(it)) lists[F.group(it.inc)].push(it);
      const cmp = this.comparator();
      let visible = 0;
      for (const g in lists) {
        const arr = lists[g].sort(cmp), s = this.sections[g];
        const same = arr.length === s.order.length && arr.every((it, i) => s.order[i] === it);
        if (!same) {
          const keep = new Set(arr);
          for (const it of s.order) {
            if (!keep.has(it) && it.el && it.el.parentNode === s.list) it.el.remove();
          }
          let ref = s.list.firstChild;
          for (const it of arr) {
            if (it.el === ref) ref = ref.nextSibling;
            else s.list.insertBefore(it.el, ref);
          }
          s.order = arr;
        }
        s.count.textContent = String(arr.length);
        s.sec.classList.toggle("empty", arr.length === 0);
        visible += arr.length;
      }
      this.stats.visible = visible;
    }

    paint(it, now) {
      const inc = it.inc;
      const next = F.nextDue(inc), missed = F.missed(inc), esc = F.escalation(inc);
      const opened = F.ms(inc.opened);
      let urgent = next ? next.dueMs : Infinity;
      for (const m of missed) if (m.open && m.dueMs < urgent) urgent = m.dueMs;
      const loc = F.location(inc.location);
      it.keys = {
        due: urgent, opened: isNaN(opened) ? 0 : opened, site: String(inc.site || ""),
        state: F.STATES.indexOf(inc.state),
        text: [inc.id, inc.site, inc.class, inc.summary, loc].join(" ").toLowerCase(),
      };
      if (!it.el) {
        it.el = document.createElement("article");
        it.el.dataset.key = it.key;
      }
      const el = it.el;
      const cls = ["card", "g-" + F.group(inc), "st-" + inc.state];
      if (missed.some((m) => m.open)) cls.push("missed");
      if (it.flashUntil > now) cls.push("flash");
      if (this.selected === it.key) cls.push("selected");
      el.className = cls.join(" ");
      el.dataset.state = String(inc.state);
      el.dataset.level = String(inc.level == null ? "" : inc.level);
      let due;
      if (next) {
        due = '<div class="c-due"><span class="c-dname">' + F.esc(F.words(next.name)) + '</span>' +
          '<span class="c-cd" data-t="cd" data-ms="' + next.dueMs + '"></span></div>';
      } else {
        due = '<div class="c-due quiet">no deadline pending</div>';
      }
      let miss = "";
      if (missed.length) {
        miss = '<div class="c-missed">' + missed.map((m) =>
          '<span class="miss' + (m.open ? " open" : "") + '">missed ' + F.esc(F.words(m.name)) + ' ' +
          (m.open ? '<span data-t="od" data-ms="' + m.dueMs + '"></span>'
                  : (m.lateBy != null ? "late " + F.span(m.lateBy) : "met late")) + '</span>').join("") +
          '</div>';
      }
      el.innerHTML =
        '<div class="c-head"><span class="c-title">' + F.esc(F.title(inc)) + '</span>' +
        '<span class="c-state">' + F.esc(F.words(inc.state)) + '</span></div>' +
        '<div class="c-loc"><span class="c-site">' + F.esc(inc.site) + '</span> ' + F.esc(loc || "no location") +
        '</div>' + due + miss +
        '<div class="c-foot"><span class="c-age">age <span data-t="age" data-ms="' + it.keys.opened + '"></span></span>' +
        '<span class="c-esc">' + (esc ? "esc " + esc.step + " → " + F.esc(F.words(esc.role)) : "") + '</span>' +
        '<span class="c-id">' + F.esc(inc.id) + '</span></div>';
      it.timers = Array.from(el.querySelectorAll("[data-t]"), (node) =>
        ({ node, kind: node.dataset.t, at: Number(node.dataset.ms), text: "" }));
      this.tickItem(it, now);
    }

    tickItem(it, now) {
      if (it.flashUntil && it.flashUntil <= now) {
        it.flashUntil = 0;
        it.el.classList.remove("flash");
      }
      for (const t of it.timers) {
        let text;
        if (t.kind === "cd") {
          const left = (t.at - now) / 1000;
          text = left >= 0 ? "in " + F.span(Math.ceil(left)) : "overdue " + F.span(-left);
          if ((left < 0) !== t.node.classList.contains("late")) t.node.classList.toggle("late");
        } else if (t.kind === "od") {
          text = "+" + F.span(Math.max(0, (now - t.at) / 1000));
        } else {
          text = F.span(Math.max(0, (now - t.at) / 1000));
        }
        if (text !== t.text) {
          t.text = text;
          t.node.textContent = text;
        }
      }
    }

    // Rewrites the running times of the visible cards.
    tick() {
      const t0 = performance.now(), now = Date.now();
      for (const g in this.sections) for (const it of this.sections[g].order) if (it.el) this.tickItem(it, now);
      this.stats.lastTickMs = performance.now() - t0;
    }
  }

  SW.Board = Board;
})(window.SW = window.SW || {});

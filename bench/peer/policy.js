#!/usr/bin/env node
// The Node-RED peer's view of a siteward policy: for each event type, its
// class, whether it makes an incident, its level and priority, what it
// correlates by and within which window, the obligations armed when an
// incident opens, and whether a "normal" event resolves it.
// bench/run-peer.sh hands this to the flow in PEER_POLICY, so the peer
// classifies by the same file as siteward (config/policy/default.json)
// instead of a copy of it.
//
//   node bench/peer/policy.js config/policy/default.json
'use strict';
const fs = require('fs');

const file = process.argv[2];
if (!file) {
    console.error('usage: policy.js POLICY.json');
    process.exit(64);
}

function fail(key, what) {
    console.error(`${file}: ${key}: ${what}`);
    process.exit(78);
}

// Durations of the policy in s, m, h or d. Working days (wd) need the site
// calendar: the peer has none, and no event class of the default policy
// uses one.
function ms(key, text) {
    const m = /^([0-9]+)(s|m|h|d)$/.exec(text);
    if (!m)
        fail(key, `"${text}" is not a duration the peer understands (s, m, h, d)`);
    return Number(m[1]) * {s: 1e3, m: 60e3, h: 3600e3, d: 86400e3}[m[2]];
}

let policy;
try {
    policy = JSON.parse(fs.readFileSync(file, 'utf8'));
} catch (err) {
    fail('(file)', err.message);
}
const def = policy.correlation || {};
const types = {};
for (const [type, spec] of Object.entries(policy.event_types || {})) {
    const cls = policy.classes && policy.classes[spec.class];
    if (!cls)
        fail(`event_types.${type}.class`, `no class "${spec.class}"`);
    const corr = cls.correlation === undefined ? {} : cls.correlation;
    types[type] = {
        class: spec.class,
        incident: cls.incident !== false,
        level: cls.level === undefined ? null : cls.level,
        priority: cls.priority || null,
        correlate: corr !== false,
        by: (corr && corr.by) || def.by || [],
        window_ms: ms(`classes.${spec.class}.correlation.window`, (corr && corr.window) || def.window || '0s'),
        obligations: (cls.obligations || [])
            .filter((o) => !o.from)
            .map((o, i) => [o.name, ms(`classes.${spec.class}.obligations[${i}].within`, o.within)]),
        review_ms: cls.review ? ms(`classes.${spec.class}.review.within`, cls.review.within) : 0,
        resolve_on_normal: cls.resolve_on_normal === true,
    };
}
process.stdout.write(JSON.stringify({types}) + '\n');

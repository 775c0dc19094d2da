"""Writes the fuzz targets' seed corpora into OUTDIR/{decode,pipeline,policy}
from the bad-input corpus (tests/fault/corpus/), a few valid messages of
every kind, and the shipped policies."""

import base64
import glob
import json
import os
import shutil
import sys

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KINDS = {"event": 0, "report": 1, "cmd": 2}
GOOD = [
    ("A/event/sensor/d17", '{"type":"smoke","id":"e-1","ts":"2026-11-22T08:15:03+08:00",'
     '"state":"alarm","location":{"building":"3","floor":"12"},"value":0.5,"data":{"k":1}}'),
    ("A/event/gate/g1", '{"type":"visitor_arrived","id":"v-1","ts":1795000000000}'),
    ("A/event/sensor/d17", '{"type":"smoke","id":"e-2","state":"normal",'
     '"location":{"building":"3","floor":"12"}}'),
    ("A/report/resident-7", '{"report_id":"r-1","category":"repair","urgency":"urgent",'
     '"channel":"online","text":"Kitchen tap","location":{"building":"3","unit":"1203"},'
     '"contact":{"name":"n","phone":"p"}}'),
    ("A/cmd/li.wei", '{"op":"ack","incident":"A-20261119-0001","request_id":"c-1","note":"x"}'),
    ("A/cmd/li.wei", '{"op":"reclassify","class":"fire","incident":"A-20261119-0001",'
     '"request_id":"c-2"}'),
    ("A/cmd/li.wei", '{"op":"review","problem":"p","rectification":"r","optimization":"o",'
     '"participants":["a"],"incident":"A-20261119-0001","request_id":"c-3"}'),
]


def corpus():
    for path in sorted(glob.glob(os.path.join(SRC, "tests", "fault", "corpus", "*.json"))):
        with open(path) as f:
            c = json.load(f)
        if "payload_b64" in c:
            payload = base64.b64decode(c["payload_b64"])
        elif "payload_built" in c:
            b = c["payload_built"]
            payload = (b.get("head", "") + b["repeat"][0] * min(b["repeat"][1], 2000)
                       + b.get("tail", "")).encode()
        else:
            payload = c["payload"].encode()
        yield os.path.basename(path)[:-5], c["topic"], payload


def main(out):
    for t in ("decode", "pipeline", "policy"):
        shutil.rmtree(os.path.join(out, t), ignore_errors=True)
        os.makedirs(os.path.join(out, t))
    cases = list(corpus()) + [("good-%d" % i, t, p.encode()) for i, (t, p) in enumerate(GOOD)]
    for name, topic, payload in cases:
        kind = topic.split("/")[1] if topic.count("/") >= 2 else "event"
        with open(os.path.join(out, "decode", name), "wb") as f:
            f.write(bytes([KINDS.get(kind, 0)]) + payload)
        with open(os.path.join(out, "pipeline", name), "wb") as f:
            f.write(b"siteward/" + topic.encode() + b"\n" + payload)
    for path in glob.glob(os.path.join(SRC, "config", "policy", "*.json")):
        shutil.copy(path, os.path.join(out, "policy", os.path.basename(path)))


if __name__ == "__main__":
    main(sys.argv[1])

"""A Zigbee2MQTT smoke detector through the shipped mapping: its message
on zigbee2mqtt/FRIENDLY_NAME, shaped as Zigbee2MQTT publishes it, opens a
Level I fire incident at the mapped location; a payload that is not JSON
is dead-lettered to the mapping's site."""

import json
import os
import unittest

from harness import E2E, PREFIX, SOURCE, wait_until

MAPPING = os.path.join(SOURCE, "config", "mappings", "zigbee2mqtt.json")


class Zigbee2MQTT(E2E):
    config_changes = {"foreign": [{
        "mapping": MAPPING, "site": "A",
        "devices": {"kitchen_smoke": {"location": {"building": "3", "floor": "12",
                                                   "unit": "1203"}}}}]}

    def test_smoke_detector_opens_level_1(self):
        self.pub.publish("zigbee2mqtt/kitchen_smoke",
                         {"battery": 100, "battery_low": False, "linkquality": 123,
                          "smoke": True, "tamper": False})
        inc = self.incident("A")
        self.assertEqual(inc["class"], "fire")
        self.assertEqual(inc["level"], 1)
        self.assertEqual(inc["location"], {"building": "3", "floor": "12", "unit": "1203"})
        self.assertEqual(inc["sources"], ["sensor/kitchen_smoke"])
        # Level I: the manager hears at once.
        e = self.sub.last_json(PREFIX + "/A/escalation/manager")
        self.assertEqual(e["incident"], inc["id"])
        # The device's own message is what the timeline keeps.
        tl = [json.loads(v) for k, v in self.daemon.items("timeline")
              if k.startswith(inc["id"].encode() + b"/")]
        ev = [x for x in tl if x["kind"] == "event"][0]
        self.assertEqual(ev["topic"], "zigbee2mqtt/kitchen_smoke")
        self.assertEqual(ev["payload"]["linkquality"], 123)

        # The all-clear joins it (Level I is never resolved by it).
        self.pub.publish("zigbee2mqtt/kitchen_smoke",
                         {"battery": 100, "battery_low": False, "linkquality": 119,
                          "smoke": False, "tamper": False})
        j = self.incident("A", lambda j: j["events"] == 2)
        self.assertEqual(j["state"], "open")

    def test_bad_payload_dead_lettered(self):
        self.pub.publish("zigbee2mqtt/kitchen_smoke", b"offline")
        dl = self.sub.last_json(PREFIX + "/A/deadletter")
        self.assertEqual(dl["error"], "bad_json")
        self.assertEqual(dl["topic"], "zigbee2mqtt/kitchen_smoke")
        # A device name outside the contract's alphabet is refused by the host.
        self.pub.publish("zigbee2mqtt/kitchen smoke", {"smoke": True})
        dl = self.sub.last_json(PREFIX + "/A/deadletter", lambda j: j["error"] == "bad_id")
        self.assertEqual(dl["topic"], "zigbee2mqtt/kitchen smoke")


if __name__ == "__main__":
    unittest.main()

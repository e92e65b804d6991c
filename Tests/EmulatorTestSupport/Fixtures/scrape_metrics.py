#!/usr/bin/env python3
"""Scrapes a Prometheus endpoint and parses the text with prometheus_client's own parser, the one
Prometheus' Python tooling uses; prints every sample as JSON. A text the parser refuses makes it
exit non-zero with the parser's error. Usage: scrape_metrics.py URL"""
import json
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

with urllib.request.urlopen(sys.argv[1], timeout=10) as response:
    content_type = response.headers.get("Content-Type", "")
    text = response.read().decode("utf-8")

samples = []
for family in text_string_to_metric_families(text):
    for sample in family.samples:
        samples.append({"family": family.name, "type": family.type, "name": sample.name,
                        "labels": sample.labels, "value": sample.value})
print(json.dumps({"content_type": content_type, "samples": samples}))

#!/usr/bin/env python3
"""Rootski's way of loading, for benchmarks: one thread of boto3's `table.batch_writer()`.

    python3 scripts/bench/boto3-load.py URL TABLE ITEMS.jsonl

Reads every {"Item": ...} line into Python values first (not timed: Rootski's ETL had them in
memory already), then times the batch_writer loop alone. Prints one JSON line:
{"items": N, "seconds": S, "items_per_s": R, "cpu_seconds": C}.
"""
import json
import sys
import time

import boto3
from boto3.dynamodb.types import TypeDeserializer


def main() -> None:
    url, table_name, path = sys.argv[1:4]
    deserializer = TypeDeserializer()
    with open(path, encoding="utf-8") as lines:
        items = [
            {k: deserializer.deserialize(v) for k, v in json.loads(line)["Item"].items()}
            for line in lines
            if line.strip()
        ]
    table = boto3.resource("dynamodb", endpoint_url=url, region_name="us-east-1").Table(table_name)
    started, cpu = time.perf_counter(), time.process_time()
    with table.batch_writer() as writer:
        for item in items:
            writer.put_item(Item=item)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    print(json.dumps({"items": len(items), "seconds": round(seconds, 3),
                      "items_per_s": round(len(items) / seconds), "cpu_seconds": round(cpu_seconds, 3)}))


if __name__ == "__main__":
    main()

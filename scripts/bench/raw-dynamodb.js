#!/usr/bin/env node
// The endpoint's ceiling, for benchmarks: the cheapest client there is. Local endpoints check
// that a request is signed, not the signature, so this client sends pre-built bodies with a
// fixed Authorization header and many calls in flight, and spends next to nothing per item.
//
//   node scripts/bench/raw-dynamodb.js write URL TABLE ITEMS.jsonl CONCURRENCY
//       BatchWriteItem of every {"Item": …} line, 25 per call; resends UnprocessedItems
//   node scripts/bench/raw-dynamodb.js scan URL TABLE SEGMENTS
//       a parallel Scan of the whole table, items counted, not kept
// Prints one JSON line: {"items": N, "seconds": S, "items_per_s": R, "cpu_seconds": C}.
'use strict';

const http = require('http');
const fs = require('fs');
const readline = require('readline');

const [mode, url, table, ...rest] = process.argv.slice(2);
const endpoint = new URL(url);
const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
const headers = {
  'content-type': 'application/x-amz-json-1.0',
  authorization: 'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, '
    + 'SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0',
  'x-amz-date': '20260101T000000Z',
};

function call(op, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: endpoint.hostname, port: endpoint.port, method: 'POST', path: '/', agent,
      headers: Object.assign({ 'x-amz-target': `DynamoDB_20120810.${op}`, 'content-length': Buffer.byteLength(body) }, headers) },
    (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        if (res.statusCode !== 200) reject(new Error(`${op}: HTTP ${res.statusCode} ${text.slice(0, 300)}`));
        else resolve(text);
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

function report(items, started, cpu) {
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  console.log(JSON.stringify({ items, seconds: +seconds.toFixed(3), items_per_s: Math.round(items / seconds),
    cpu_seconds: +((used.user + used.system) / 1e6).toFixed(3) }));
}

async function write(file, concurrency) {
  const lines = [];
  for await (const line of readline.createInterface({ input: fs.createReadStream(file) })) {
    if (line) lines.push(line);
  }
  // Each line is {"Item": …}: exactly a PutRequest's body.
  const bodies = [];
  for (let i = 0; i < lines.length; i += 25) {
    const puts = lines.slice(i, i + 25).map((l) => `{"PutRequest":${l}}`).join(',');
    bodies.push(`{"RequestItems":{${JSON.stringify(table)}:[${puts}]}}`);
  }
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  let next = 0;
  async function worker() {
    while (next < bodies.length) {
      let body = bodies[next++];
      for (;;) {
        const answer = JSON.parse(await call('BatchWriteItem', body));
        const left = (answer.UnprocessedItems || {})[table];
        if (!left || !left.length) break;
        body = JSON.stringify({ RequestItems: { [table]: left } });
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  report(lines.length, started, cpu);
}

async function scan(segments) {
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  let items = 0;
  async function segment(n) {
    let start;
    do {
      const body = { TableName: table, Segment: n, TotalSegments: segments };
      if (start) body.ExclusiveStartKey = start;
      const page = JSON.parse(await call('Scan', JSON.stringify(body)));
      items += page.Count;
      start = page.LastEvaluatedKey;
    } while (start);
  }
  await Promise.all(Array.from({ length: segments }, (_, n) => segment(n)));
  report(items, started, cpu);
}

(mode === 'write' ? write(rest[0], Number(rest[1] || 32)) : scan(Number(rest[0] || 4)))
  .catch((e) => { console.error(`raw-dynamodb: ${e.message}`); process.exit(1); });

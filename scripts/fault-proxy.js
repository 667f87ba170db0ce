#!/usr/bin/env node
// A fault proxy for tests and benchmarks: sits in front of a real DynamoDB-compatible endpoint
// and injects, into BatchWriteItem calls only, the faults a real local server never produces.
// Only the faults are fake: every item it lets through lands in the real server.
//
//   node scripts/fault-proxy.js --target http://127.0.0.1:8000 [options]
//
// Options (rates are fractions of BatchWriteItem calls, 0..1):
//   --port N              listen port (default 0: any free one); prints "listening on URL" first
//   --seed N              seed of the fault dice (default 1), so a run can be repeated
//   --throttle P          answer 400 ProvisionedThroughputExceededException, nothing written
//   --error500 P          answer 500 InternalServerError, nothing written
//   --partial P           write only part of the batch, return the rest as UnprocessedItems
//   --drop P              drop the connection: half before forwarding, half after (written,
//                         but the client never hears so)
//   --slow P --delay-ms N answer N ms late (default 500)
//   --capacity WCU        a fixed write capacity per second (1 WCU per started KB of each
//                         item): items beyond it come back unprocessed, or the call is throttled
//   --burst-seconds S     capacity the bucket may save up (default 0.2 s worth)
//   --discard             accept every BatchWriteItem and write nothing (the server is no
//                         bottleneck: measures the client alone)
//   --access-key-id ID    refuse every call signed with another access key, as DynamoDB does
//   --log FILE            one line per second: "unix_second accepted_wcu throttled_calls", the
//                         WCU counted when the call arrives and its capacity is taken
//   --record FILE         every call but BatchWriteItem as one JSON line, {"op": …, "body": …}:
//                         what the client asked for (CreateTable's settings, say)
//   --import-log-group ARN  ImportTable's and DescribeImport's answers name this CloudWatch Logs
//                         group, as DynamoDB's do (local servers name none); once an import has
//                         ended with errors, its FailureMessage is written to the group, in a
//                         stream named after the import's id (ID/error), through the target's
//                         own Logs API (moto's), as DynamoDB logs the lines it could not import
// A capacity model of real DynamoDB (the local endpoint has none), on when --table-wcu is given:
//   --table-wcu N         the table's write capacity, WCU/s
//   --index-wcu N         each global secondary index's (default: the table's)
//   --key-wcu N           each partition key value's, of the table and of each index (default
//                         1000: DynamoDB's per-partition limit, the conservative case of a key
//                         alone in its partition; partitions splitting is not modelled)
//   --grow-after S:N      S seconds after the first write, table and indexes take N WCU/s each
//                         (an on-demand table doubling its peak)
//   --key-log FILE        one JSON line per second: WCU consumed by the table and each index,
//                         and the keys that consumed the most
// Each item costs 1 WCU per started KB (attribute names included) in the table, and again in
// each index it is in, by the size the index projects. An item is written only when every
// bucket it draws on (the table's, its key's, each index's and each index key's, each holding
// --burst-seconds of its rate) has room, so an index that cannot keep up holds back the table's
// writes. What does not fit comes back in UnprocessedItems; a call of which nothing fits is
// answered ProvisionedThroughputExceededException with ThrottlingReasons, as DynamoDB does:
// TableWriteKeyRangeThroughputExceeded, TableWriteProvisionedThroughputExceeded,
// IndexWriteKeyRangeThroughputExceeded, IndexWriteProvisionedThroughputExceeded, and the
// resource (the table's or the index's ARN). Tables' keys and indexes come from the
// CreateTable and DescribeTable answers passing through.
// On SIGTERM or SIGINT it prints its counts as one JSON line on stderr and exits.
'use strict';

const http = require('http');
const fs = require('fs');

function parseArgs(argv) {
  const o = { port: 0, seed: 1, throttle: 0, error500: 0, partial: 0, drop: 0, slow: 0,
    delayMs: 500, capacity: 0, burstSeconds: 0.2, discard: false, accessKeyId: '', log: '', record: '',
    tableWcu: 0, indexWcu: 0, keyWcu: 1000, growAfter: '', keyLog: '', target: '', importLogGroup: '' };
  const names = { '--target': 'target', '--port': 'port', '--seed': 'seed', '--throttle': 'throttle',
    '--error500': 'error500', '--partial': 'partial', '--drop': 'drop', '--slow': 'slow',
    '--delay-ms': 'delayMs', '--capacity': 'capacity', '--burst-seconds': 'burstSeconds',
    '--access-key-id': 'accessKeyId', '--log': 'log', '--record': 'record', '--import-log-group': 'importLogGroup',
    '--table-wcu': 'tableWcu', '--index-wcu': 'indexWcu', '--key-wcu': 'keyWcu',
    '--grow-after': 'growAfter', '--key-log': 'keyLog' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--discard') { o.discard = true; continue; }
    const key = names[a];
    if (!key || i + 1 >= argv.length) {
      process.stderr.write(`fault-proxy: unknown or incomplete option ${a}; see the top of ${__filename}\n`);
      process.exit(2);
    }
    const value = argv[++i];
    o[key] = typeof o[key] === 'number' ? Number(value) : value;
  }
  if (!o.target) {
    process.stderr.write('fault-proxy: --target URL is required\n');
    process.exit(2);
  }
  return o;
}

const opts = parseArgs(process.argv.slice(2));
if (!opts.indexWcu) opts.indexWcu = opts.tableWcu;
const target = new URL(opts.target);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

// mulberry32: small, seeded, good enough for dice.
let seed = opts.seed >>> 0;
function random() {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const stats = { calls: 0, forwarded: 0, throttled: 0, errors500: 0, partial: 0, dropped_before: 0,
  dropped_after: 0, slowed: 0, unprocessed_items: 0, accepted_items: 0, accepted_wcu: 0,
  discarded_items: 0, refused_credentials: 0 };

// Size DynamoDB counts for a value (as migrator's item.rs does), and for an item.
function numberSize(text) {
  const digits = text.replace(/[^0-9]/g, '').replace(/^0+/, '').length || 1;
  return Math.ceil(digits / 2) + 1;
}
function valueSize(v) {
  const [tag, x] = Object.entries(v)[0];
  switch (tag) {
    case 'S': return Buffer.byteLength(x);
    case 'N': return numberSize(x);
    case 'B': return Buffer.from(x, 'base64').length;
    case 'BOOL': case 'NULL': return 1;
    case 'L': return 3 + x.reduce((n, e) => n + valueSize(e) + 1, 0);
    case 'M': return 3 + Object.entries(x).reduce((n, [k, e]) => n + Buffer.byteLength(k) + valueSize(e) + 1, 0);
    case 'SS': return x.reduce((n, s) => n + Buffer.byteLength(s), 0);
    case 'NS': return x.reduce((n, s) => n + numberSize(s), 0);
    case 'BS': return x.reduce((n, s) => n + Buffer.from(s, 'base64').length, 0);
    default: return 0;
  }
}
function attributesSize(item, names) {
  return Object.entries(item)
    .filter(([k]) => !names || names.has(k))
    .reduce((n, [k, v]) => n + Buffer.byteLength(k) + valueSize(v), 0);
}
function wcuOf(bytes) { return Math.max(1, Math.ceil(bytes / 1024)); }
function requestWcu(request) {
  const item = request.PutRequest ? request.PutRequest.Item : request.DeleteRequest.Key;
  return wcuOf(attributesSize(item));
}

// The capacity model: what each table's description says, and the buckets.
const described = new Map();   // table name -> { keys: [pk, sk], indexes: [{ name, keys, projected }] }
function learn(description) {
  if (!description || !description.TableName) return;
  const keysOf = (schema) => (schema || []).sort((a, b) => (a.KeyType === 'HASH' ? -1 : 1)).map((k) => k.AttributeName);
  const keys = keysOf(description.KeySchema);
  const indexes = (description.GlobalSecondaryIndexes || []).map((i) => {
    const ikeys = keysOf(i.KeySchema);
    const p = i.Projection || {};
    const projected = p.ProjectionType === 'ALL' ? null
      : new Set([...keys, ...ikeys, ...(p.ProjectionType === 'INCLUDE' ? p.NonKeyAttributes || [] : [])]);
    return { name: i.IndexName, keys: ikeys, projected };
  });
  described.set(description.TableName, { keys, indexes, arn: `arn:aws:dynamodb:us-east-1:000000000000:table/${description.TableName}` });
}
const buckets = new Map();     // "table|index|key" -> { tokens, at, rate }
let firstWrite = 0;
function rates() {
  if (opts.growAfter && firstWrite) {
    const [after, to] = opts.growAfter.split(':').map(Number);
    if (Date.now() - firstWrite >= after * 1000) return { table: to, index: to };
  }
  return { table: opts.tableWcu, index: opts.indexWcu };
}
function bucket(name, rate) {
  const now = Date.now();
  let b = buckets.get(name);
  if (!b) { b = { tokens: rate * opts.burstSeconds, at: now }; buckets.set(name, b); }
  b.tokens = Math.min(rate * opts.burstSeconds, b.tokens + (now - b.at) / 1000 * rate);
  b.at = now;
  return b;
}
const consumed = new Map();    // second -> { targets: {name: wcu}, keys: {name|key: wcu} }
function consume(target, key, wcu) {
  const s = second();
  const row = consumed.get(s) || { targets: {}, keys: {} };
  row.targets[target] = (row.targets[target] || 0) + wcu;
  row.keys[`${target}|${key}`] = (row.keys[`${target}|${key}`] || 0) + wcu;
  consumed.set(s, row);
}
// Appends the rows of the seconds that are over (all of them at the end) to `file`, each as
// `line(second, row)` gives it, and forgets them.
function flushSeconds(map, file, all, line) {
  if (!file) return;
  const now = second();
  let out = '';
  for (const [s, row] of [...map.entries()].sort((a, b) => a[0] - b[0])) {
    if (!all && s >= now) continue;
    out += line(s, row);
    map.delete(s);
  }
  if (out) fs.appendFileSync(file, out);
}
function flushKeyLog(all) {
  flushSeconds(consumed, opts.keyLog, all, (s, row) => {
    const hot = Object.entries(row.keys).sort((a, b) => b[1] - a[1]).slice(0, 5)
      .map(([k, w]) => { const at = k.indexOf('|'); return [k.slice(0, at), k.slice(at + 1), w]; });
    return JSON.stringify({ second: s, consumed: row.targets, hottest: hot }) + '\n';
  });
}
setInterval(() => flushKeyLog(false), 1000).unref();
// Whether one request fits the model now; takes its capacity when it does, else says why.
function admit(table, request) {
  const shape = described.get(table);
  const item = request.PutRequest ? request.PutRequest.Item : request.DeleteRequest.Key;
  const text = (v) => (v ? Object.values(v)[0] : undefined);
  const { table: tableRate, index: indexRate } = rates();
  const draws = [];
  const bytes = attributesSize(item);
  const pk = shape ? text(item[shape.keys[0]]) : undefined;
  draws.push({ name: `${table}||`, rate: tableRate, wcu: wcuOf(bytes), reason: 'TableWriteProvisionedThroughputExceeded', resource: shape ? shape.arn : table, target: 'table', key: pk });
  if (pk !== undefined) draws.push({ name: `${table}||${pk}`, rate: opts.keyWcu, wcu: wcuOf(bytes), reason: 'TableWriteKeyRangeThroughputExceeded', resource: shape.arn });
  for (const index of (shape && request.PutRequest ? shape.indexes : [])) {
    if (index.keys.some((k) => item[k] === undefined)) continue;
    const ipk = text(item[index.keys[0]]);
    const w = wcuOf(index.projected ? attributesSize(item, index.projected) : bytes);
    const resource = `${shape.arn}/index/${index.name}`;
    draws.push({ name: `${table}|${index.name}|`, rate: indexRate, wcu: w, reason: 'IndexWriteProvisionedThroughputExceeded', resource, target: index.name, key: ipk });
    draws.push({ name: `${table}|${index.name}|${ipk}`, rate: opts.keyWcu, wcu: w, reason: 'IndexWriteKeyRangeThroughputExceeded', resource });
  }
  for (const d of draws) {
    if (bucket(d.name, d.rate).tokens < d.wcu) return { fits: false, reason: d.reason, resource: d.resource };
  }
  for (const d of draws) {
    bucket(d.name, d.rate).tokens -= d.wcu;
    if (d.target) consume(d.target, d.key, d.wcu);
  }
  return { fits: true, wcu: draws[0].wcu };
}

// The fixed capacity (--capacity, a bucket of the model's kind; no table is named with '|'),
// and the per-second log.
const perSecond = new Map();
function second() { return Math.floor(Date.now() / 1000); }
function logged(field, n) {
  const s = second();
  const row = perSecond.get(s) || { wcu: 0, throttled: 0 };
  row[field] += n;
  perSecond.set(s, row);
}
function take(wcu) {
  const b = bucket('|capacity|', opts.capacity);
  if (b.tokens < wcu) return false;
  b.tokens -= wcu;
  return true;
}
function flushLog(all) {
  flushSeconds(perSecond, opts.log, all, (s, row) => `${s} ${row.wcu} ${row.throttled}\n`);
}
setInterval(() => flushLog(false), 1000).unref();

function reply(res, status, body, delay) {
  const send = () => {
    if (res.destroyed) return;
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  if (delay) setTimeout(send, delay); else send();
}
function awsError(res, status, type, message, delay) {
  reply(res, status, { __type: `com.amazonaws.dynamodb.v20120810#${type}`, message }, delay);
}

function forward(req, body, done) {
  const headers = Object.assign({}, req.headers, { 'content-length': body.length, host: target.host });
  const out = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers, agent },
    (answer) => {
      const chunks = [];
      answer.on('data', (c) => chunks.push(c));
      answer.on('end', () => done(null, answer.statusCode, Buffer.concat(chunks)));
    });
  out.on('error', (e) => done(e));
  out.end(body);
}

function passThrough(req, res, body) {
  forward(req, body, (err, status, answer) => {
    if (err) { res.destroy(); return; }
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'content-length': answer.length });
    res.end(answer);
  });
}

// Counted in the raw bytes: decoding every body into a string would cost the proxy more CPU
// than the client it measures.
const PUT_REQUEST = Buffer.from('"PutRequest"');
function occurrences(buffer, needle) {
  let n = 0;
  for (let at = buffer.indexOf(needle); at !== -1; at = buffer.indexOf(needle, at + needle.length)) n++;
  return n;
}

function batchWrite(req, res, body) {
  stats.calls++;
  if (opts.discard && !opts.tableWcu) {
    stats.discarded_items += occurrences(body, PUT_REQUEST);
    reply(res, 200, '{"UnprocessedItems":{}}');
    return;
  }
  const delay = random() < opts.slow ? (stats.slowed++, opts.delayMs) : 0;
  let dropAfter = false;
  if (random() < opts.drop) {
    if (random() < 0.5) { stats.dropped_before++; req.socket.destroy(); return; }
    dropAfter = true;
  }
  if (random() < opts.throttle) {
    stats.throttled++; logged('throttled', 1);
    return awsError(res, 400, 'ProvisionedThroughputExceededException',
      'The level of configured provisioned throughput for the table was exceeded.', delay);
  }
  if (random() < opts.error500) {
    stats.errors500++;
    return awsError(res, 500, 'InternalServerError', 'Internal server error (injected)', delay);
  }
  const request = JSON.parse(body.toString());
  const reasons = new Map();
  const held = {};
  let heldCount = 0;
  let acceptedWcu = 0;
  for (const [table, requests] of Object.entries(request.RequestItems)) {
    let keep = requests;
    if (requests.length > 1 && random() < opts.partial) {
      stats.partial++;
      const n = 1 + Math.floor(random() * (requests.length - 1));
      keep = requests.slice(0, requests.length - n);
    }
    if (opts.tableWcu > 0) {
      if (!firstWrite) firstWrite = Date.now();
      const fits = [];
      for (const r of keep) {
        const verdict = admit(table, r);
        if (!verdict.fits) {
          stats.model_refusals = (stats.model_refusals || 0) + 1;
          const k = `${verdict.reason} ${verdict.resource}`;
          reasons.set(k, { reason: verdict.reason, resource: verdict.resource });
          stats.reasons = stats.reasons || {};
          stats.reasons[verdict.reason] = (stats.reasons[verdict.reason] || 0) + 1;
          continue;
        }
        fits.push(r);
        acceptedWcu += verdict.wcu;
      }
      // What did not fit stays in the order it came, after what did.
      const unfit = keep.filter((r) => !fits.includes(r));
      held[table] = unfit;
      heldCount += unfit.length;
      keep = fits;
      request.RequestItems[table] = keep;
      const rest = requests.slice(fits.length + unfit.length);
      if (rest.length) { held[table] = held[table].concat(rest); heldCount += rest.length; }
      if (!held[table].length) delete held[table];
      continue;
    } else if (opts.capacity > 0) {
      const fits = [];
      for (const r of keep) {
        const wcu = requestWcu(r);
        if (!take(wcu)) break;
        fits.push(r);
        acceptedWcu += wcu;
      }
      keep = fits;
    } else {
      acceptedWcu += keep.reduce((n, r) => n + requestWcu(r), 0);
    }
    const rest = requests.slice(keep.length);
    if (rest.length) { held[table] = rest; heldCount += rest.length; }
    request.RequestItems[table] = keep;
  }
  for (const t of Object.keys(request.RequestItems)) {
    if (!request.RequestItems[t].length) delete request.RequestItems[t];
  }
  logged('wcu', acceptedWcu);
  if (!Object.keys(request.RequestItems).length) {
    stats.throttled++; logged('throttled', 1);
    if (reasons.size) {
      return reply(res, 400, {
        __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
        message: 'The level of configured provisioned throughput for the table was exceeded.',
        ThrottlingReasons: [...reasons.values()],
      }, delay);
    }
    return awsError(res, 400, 'ProvisionedThroughputExceededException',
      'The level of configured provisioned throughput for the table was exceeded.', delay);
  }
  const answered = (err, status, answer) => {
    if (err) { res.destroy(); return; }
    if (status !== 200) { reply(res, status, answer.toString(), delay); return; }
    stats.forwarded++;
    const result = JSON.parse(answer.toString());
    const unprocessed = result.UnprocessedItems || {};
    for (const [table, rest] of Object.entries(held)) {
      unprocessed[table] = (unprocessed[table] || []).concat(rest);
    }
    result.UnprocessedItems = unprocessed;
    const accepted = Object.values(request.RequestItems).reduce((n, r) => n + r.length, 0);
    stats.accepted_items += accepted;
    stats.accepted_wcu += acceptedWcu;
    if (dropAfter) { stats.dropped_after++; res.socket.destroy(); return; }
    stats.unprocessed_items += heldCount;
    reply(res, 200, result, delay);
  };
  if (opts.discard) {
    stats.discarded_items += Object.values(request.RequestItems).reduce((n, r) => n + r.length, 0);
    answered(null, 200, Buffer.from('{"UnprocessedItems":{}}'));
    return;
  }
  forward(req, Buffer.from(JSON.stringify(request)), answered);
}

// Imports whose error has been written to the log group.
const importsLogged = new Set();

// One call of the target's CloudWatch Logs API (JSON 1.1); the target (moto) routes it by the
// service its Authorization header names, and checks no signature.
function logsCall(action, payload, done) {
  const text = JSON.stringify(payload);
  const out = http.request({ host: target.hostname, port: target.port, method: 'POST', path: '/', agent,
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `Logs_20140328.${action}`,
      'content-length': Buffer.byteLength(text), host: target.host,
      authorization: 'AWS4-HMAC-SHA256 Credential=local/20240101/us-east-1/logs/aws4_request, SignedHeaders=host, Signature=0' } },
    (answer) => { answer.resume(); answer.on('end', done); });
  out.on('error', done);
  out.end(text);
}

// Writes the ended import's FailureMessage to the log group, in the stream ID/error.
function logImportError(d, done) {
  const group = opts.importLogGroup.split(':log-group:')[1].replace(/:\*$/, '');
  const stream = `${d.ImportArn.split('/').pop()}/error`;
  logsCall('CreateLogGroup', { logGroupName: group }, () =>
    logsCall('CreateLogStream', { logGroupName: group, logStreamName: stream }, () =>
      logsCall('PutLogEvents', { logGroupName: group, logStreamName: stream,
        logEvents: [{ timestamp: Date.now(), message: d.FailureMessage || 'an item could not be imported' }] }, done)));
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    if (opts.accessKeyId) {
      const m = /Credential=([^/]+)\//.exec(req.headers.authorization || '');
      if (!m || m[1] !== opts.accessKeyId) {
        stats.refused_credentials++;
        return awsError(res, 400, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
      }
    }
    const op = String(req.headers['x-amz-target'] || '').split('.')[1];
    if (op === 'BatchWriteItem') { batchWrite(req, res, body); return; }
    if (opts.record) fs.appendFileSync(opts.record, JSON.stringify({ op, body: JSON.parse(body.toString() || '{}') }) + '\n');
    if (opts.importLogGroup && (op === 'DescribeImport' || op === 'ImportTable')) {
      forward(req, body, (err, status, answer) => {
        if (err) { res.destroy(); return; }
        if (status !== 200) { reply(res, status, answer.toString()); return; }
        const parsed = JSON.parse(answer.toString());
        const d = parsed.ImportTableDescription || {};
        d.CloudWatchLogGroupArn = opts.importLogGroup;
        const ended = d.ImportStatus && d.ImportStatus !== 'IN_PROGRESS' && d.ImportStatus !== 'CANCELLING';
        if (ended && d.ErrorCount > 0 && !importsLogged.has(d.ImportArn)) {
          importsLogged.add(d.ImportArn);
          logImportError(d, () => reply(res, 200, parsed));
        } else {
          reply(res, 200, parsed);
        }
      });
      return;
    }
    if (opts.tableWcu > 0 && (op === 'DescribeTable' || op === 'CreateTable')) {
      forward(req, body, (err, status, answer) => {
        if (err) { res.destroy(); return; }
        if (status === 200) {
          const parsed = JSON.parse(answer.toString());
          learn(parsed.Table || parsed.TableDescription);
        }
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'content-length': answer.length });
        res.end(answer);
      });
      return;
    }
    passThrough(req, res, body);
  });
});
server.keepAliveTimeout = 60000;

function stop() {
  flushLog(true);
  flushKeyLog(true);
  process.stderr.write(JSON.stringify(stats) + '\n');
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

server.listen(opts.port, '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${server.address().port}\n`);
});

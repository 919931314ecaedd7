#!/usr/bin/env node
// A small stand-in for the udo API (see the HTTP contract), in memory, for developing the
// UI and proving the end-to-end script before the real server exists. It also serves the
// built UI (web/dist) with a fallback to index.html for client-side routes.
//
//   node e2e/mock-server.mjs [--port 8000] [--host 127.0.0.1] [--dist web/dist]
//   MOCK_TOKEN=secret node e2e/mock-server.mjs     # require a bearer token
//
// Prints "mock udo API listening on http://HOST:PORT" once it listens.
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const PORT = Number(arg('port', process.env.PORT ?? 8000));
const HOST = arg('host', '127.0.0.1');
const DIST = resolve(arg('dist', join(here, '..', 'dist')));
const TOKEN = process.env.MOCK_TOKEN || null;
const STAGE_MS = Number(process.env.MOCK_STAGE_MS ?? 150);
const NAME_RE = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;

// ------------------------------------------------------------------ data

const presetFile = join(here, '..', '..', 'src', 'udo', 'generate', 'presets', 'ecommerce.yaml');
const ECOMMERCE_YAML = existsSync(presetFile)
  ? readFileSync(presetFile, 'utf8')
  : `spec_version: 1
name: ecommerce
seed: 42
primary: orders
tables:
  customers:
    rows: 1000
    scales: true
    key: customer_id
    fields:
      customer_id: {type: int, sequence: {start: 1}}
      email: {type: string, format: email, unique: true}
  products:
    rows: 200
    key: product_id
    fields:
      product_id: {type: string, pattern: "P-#####"}
      price: {type: 'decimal(10,2)', min: 1}
  orders:
    rows: 5000
    key: order_id
    fields:
      order_id: {type: int, sequence: {}}
      customer_id: {type: int, fk: {table: customers}}
  order_items:
    per_parent: {table: orders, count: {kind: poisson, lam: 1.6}, min: 1, max: 12}
    fields:
      order_id: {type: int, fk: {table: orders}}
      quantity: {type: int, min: 1, max: 20}
`;

const PRESETS = [{ name: 'ecommerce', tables: ['customers', 'products', 'orders', 'order_items'], yaml: ECOMMERCE_YAML }];
const MARTS = ['daily_sales', 'customer_lifetime_value', 'product_performance'];
const DIRT_RATE = { none: 0, light: 0.02, default: 0.06, heavy: 0.15 };

const COLUMNS = {
  customers: [
    ['customer_id', 'int64'],
    ['first_name', 'string'],
    ['last_name', 'string'],
    ['email', 'string'],
    ['country', 'string'],
    ['signup_at', 'timestamp'],
  ],
  products: [
    ['product_id', 'string'],
    ['name', 'string'],
    ['category', 'string'],
    ['price', 'decimal(10,2)'],
  ],
  orders: [
    ['order_id', 'int64'],
    ['customer_id', 'int64'],
    ['order_ts', 'timestamp'],
    ['status', 'string'],
    ['total', 'decimal(12,2)'],
  ],
  order_items: [
    ['order_item_id', 'uuid'],
    ['order_id', 'int64'],
    ['product_id', 'string'],
    ['quantity', 'int64'],
    ['unit_price', 'decimal(10,2)'],
  ],
};
const MART_COLUMNS = {
  daily_sales: [
    ['date', 'date'],
    ['country', 'string'],
    ['category', 'string'],
    ['orders', 'int64'],
    ['units', 'int64'],
    ['revenue', 'decimal(38,2)'],
  ],
  customer_lifetime_value: [
    ['customer_id', 'int64'],
    ['orders', 'int64'],
    ['revenue', 'decimal(38,2)'],
    ['average_order_value', 'decimal(38,2)'],
  ],
  product_performance: [
    ['product_id', 'string'],
    ['category', 'string'],
    ['units', 'int64'],
    ['revenue', 'decimal(38,2)'],
    ['customers', 'int64'],
  ],
};
const FIRST = ['Anna', 'Ben', 'Clara', 'David', 'Elif', 'Farid', 'Greta', 'Hugo', 'Ines', 'Jonas'];
const LAST = ['Schmidt', 'Martin', 'Garcia', 'Rossi', 'Novak', 'Jensen', 'Dubois', 'Meyer'];
const COUNTRY = ['Germany', 'France', 'Spain', 'Italy', 'Netherlands'];
const CATEGORY = ['books', 'garden', 'kitchen', 'toys', 'electronics', 'sports'];
const STATUS = ['paid', 'shipped', 'delivered', 'returned'];
const RULES = {
  customers: ['customers.email.pattern', 'customers.customer_id.not_null', 'customers.country.enum'],
  products: ['products.price.min', 'products.category.enum'],
  orders: ['orders.customer_id.fk', 'orders.order_ts.max', 'orders.total.type'],
  order_items: ['order_items.order_id.fk', 'order_items.quantity.range', 'order_items.unit_price.type'],
};
const DEFECTS = ['duplicate', 'null_required', 'malformed_email', 'bad_price', 'case_whitespace', 'mixed_timestamp_format', 'comma_decimal', 'orphan_fk'];

function hash(...parts) {
  let h = 2166136261;
  for (const ch of parts.join('|')) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}
const pick = (arr, n) => arr[n % arr.length];
const money = (n) => (1 + (n % 50000) / 100).toFixed(2);
const iso = (n) => new Date(Date.UTC(2024, 0, 1) + (n % (700 * 86400)) * 1000).toISOString();

function makeRow(table, i, seed) {
  const h = hash(table, i, seed);
  switch (table) {
    case 'customers':
      return {
        customer_id: i + 1,
        first_name: pick(FIRST, h),
        last_name: pick(LAST, h >>> 3),
        email: `${pick(FIRST, h).toLowerCase()}.${pick(LAST, h >>> 3).toLowerCase()}${i + 1}@example.com`,
        country: pick(COUNTRY, h >>> 5),
        signup_at: iso(h),
      };
    case 'products':
      return { product_id: `P-${String(10000 + i)}`, name: `Product ${i + 1}`, category: pick(CATEGORY, h), price: money(h) };
    case 'orders':
      return { order_id: i + 1, customer_id: 1 + (h % 997), order_ts: iso(h), status: pick(STATUS, h >>> 2), total: money(h >>> 1) };
    default:
      return {
        order_item_id: `${(h >>> 0).toString(16).padStart(8, '0')}-${i.toString(16).padStart(4, '0')}-4000-8000-${hash(i, table).toString(16).padStart(12, '0').slice(0, 12)}`,
        order_id: 1 + (h % 1000),
        product_id: `P-${10000 + (h % 200)}`,
        quantity: 1 + (h % 7),
        unit_price: money(h >>> 2),
      };
  }
}

function makeMartRow(mart, i) {
  const h = hash(mart, i);
  if (mart === 'daily_sales') {
    return {
      date: iso(i * 86400).slice(0, 10),
      country: pick(COUNTRY, h),
      category: pick(CATEGORY, h >>> 3),
      orders: 1 + (h % 30),
      units: 1 + (h % 90),
      revenue: money(h * 7),
    };
  }
  if (mart === 'customer_lifetime_value') {
    return { customer_id: i + 1, orders: 1 + (h % 9), revenue: money(h * 3), average_order_value: money(h) };
  }
  return { product_id: `P-${10000 + i}`, category: pick(CATEGORY, h), units: 1 + (h % 400), revenue: money(h * 11), customers: 1 + (h % 80) };
}

// ------------------------------------------------------------------ state

const state = {
  datasets: new Map(), // name -> { name, batches: Map(batch_id -> batch) }
  runs: new Map(),
  queues: { small: [], large: [] },
  poison: { small: [], large: [] },
  draining: { small: false, large: false },
  events: [], // [{ id, type, payload }]
  nextEventId: 1,
  clients: new Set(),
};

function publish(type, run, message = '', data = {}) {
  const payload = {
    type,
    run_id: run.id,
    dataset: run.dataset,
    batch_id: run.batch_id,
    at: new Date().toISOString(),
    message,
    data,
  };
  const event = { id: state.nextEventId++, type, payload };
  state.events.push(event);
  if (state.events.length > 1000) state.events.shift();
  for (const res of state.clients) writeEvent(res, event);
}

function writeEvent(res, event) {
  res.write(`id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event.payload)}\n\n`);
}

function tablesFor(rows, dirt) {
  const orders = rows ?? 5000;
  const customers = Math.max(1, Math.round(orders / 5));
  const items = Math.round(orders * 1.6);
  const rate = DIRT_RATE[dirt] ?? 0.06;
  const out = {};
  for (const [table, records] of Object.entries({ customers, products: 200, orders, order_items: items })) {
    const injected = Math.round(records * rate);
    const defects = {};
    if (injected > 0) {
      DEFECTS.forEach((kind, k) => {
        const n = Math.floor(injected / DEFECTS.length) + (k < injected % DEFECTS.length ? 1 : 0);
        if (n > 0) defects[kind] = n;
      });
    }
    out[table] = { records, bytes: records * 61 + 1024, defects: rate ? defects : null, malformed: 0 };
  }
  return out;
}

function summary(batch) {
  return { batch_id: batch.batch_id, origin: batch.origin, records: batch.records, created_at: batch.created_at };
}

function landed(batch) {
  const tables = {};
  for (const [name, t] of Object.entries(batch.tables)) {
    tables[name] = { records: t.records, bytes: t.bytes, format: batch.format, defects: t.defects, malformed: t.malformed };
  }
  return { dataset: batch.dataset, batch_id: batch.batch_id, records: batch.records, tables };
}

function manifest(batch) {
  const tables = {};
  for (const [name, t] of Object.entries(batch.tables)) {
    tables[name] = {
      file: `${name}.${batch.format}`,
      format: batch.format,
      records: t.records,
      bytes: t.bytes,
      sha256: hash(batch.batch_id, name).toString(16).padStart(64, '0'),
      columns: (COLUMNS[name] ?? (t.header ?? ['value']).map((c) => [c, 'string'])).map(([n, type]) => ({ name: n, type, nullable: true })),
      defects: t.defects ? { counts: t.defects, file: `_defects/${name}.parquet` } : null,
      malformed: batch.origin === 'ingested' ? { count: 0, by_reason: {}, samples: [] } : null,
      source_name: t.source_name ?? null,
    };
  }
  return {
    manifest_version: 1,
    dataset: batch.dataset,
    batch_id: batch.batch_id,
    origin: batch.origin,
    created_at: batch.created_at,
    tables,
    spec_name: batch.origin === 'generated' ? 'ecommerce' : null,
    seed: batch.seed,
    dirt: batch.origin === 'generated' ? { duplicate: 0.01, null_required: 0.01, malformed_email: 0.01 } : null,
    spec: batch.origin === 'generated' ? { name: 'ecommerce', marts: MARTS.map((name) => ({ name })) } : null,
  };
}

function newBatchId() {
  const d = new Date();
  const stamp = d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `b${stamp}-${randomUUID().slice(0, 6)}`;
}

function ledgerFor(batch) {
  const tables = {};
  const quality = {};
  for (const [name, t] of Object.entries(batch.tables)) {
    const injected = Object.values(t.defects ?? {}).reduce((a, b) => a + b, 0);
    const dup = t.defects?.duplicate ?? 0;
    const quarantined = Math.max(0, injected - dup - Math.floor(injected / 8) + (name === 'orders' ? 3 : 0));
    const silver = t.records - quarantined - dup;
    const rules = RULES[name] ?? [];
    const violations = {};
    const actions = {};
    let left = quarantined;
    rules.forEach((rule, i) => {
      const n = i === rules.length - 1 ? left : Math.floor(quarantined / rules.length);
      left -= n;
      if (n > 0) violations[rule] = n;
      actions[rule] = i === 1 && name === 'products' ? 'warn' : 'quarantine';
    });
    tables[name] = {
      table: name,
      bronze_in: t.records,
      silver_out: silver,
      quarantined,
      duplicates_removed: dup,
      violations,
      actions,
      missing_columns: [],
      extra_columns: [],
    };
    if (t.defects) {
      const defects = {};
      for (const [kind, n] of Object.entries(t.defects)) {
        const repairable = ['case_whitespace', 'mixed_timestamp_format', 'comma_decimal'].includes(kind);
        const missed = kind === 'orphan_fk' ? Math.floor(n / 3) : 0;
        defects[kind] = repairable
          ? { injected: n, rejected: 0, repaired: n - missed, missed }
          : { injected: n, rejected: n - missed, repaired: 0, missed };
      }
      quality[name] = {
        defects,
        clean_rows: t.records - injected,
        false_rejects: name === 'orders' ? 3 : 0,
        false_rejects_by_rule: name === 'orders' ? { 'orders.customer_id.fk': 3 } : {},
      };
    }
  }
  const marts = Object.fromEntries(MARTS.map((m, i) => [m, [120, 180, 200][i]]));
  const loadTables = [
    ...Object.entries(tables).map(([name, t]) => ({
      destination: 'warehouse',
      target: `silver_${name}`,
      layer: 'silver',
      source: name,
      mode: 'batch',
      rows: t.silver_out,
      method: 'bulk',
      seconds: 0.02,
    })),
    ...Object.entries(marts).map(([name, rows]) => ({
      destination: 'warehouse',
      target: `gold_${name}`,
      layer: 'gold',
      source: name,
      mode: 'full',
      rows,
      method: 'bulk',
      seconds: 0.01,
    })),
  ];
  const checks = loadTables.map((t) => ({
    destination: t.destination,
    target: t.target,
    check: 'count',
    expected: String(t.rows),
    actual: String(t.rows),
    ok: true,
  }));
  return {
    dataset: batch.dataset,
    batch_id: batch.batch_id,
    engine: 'polars',
    rules_version: hash(batch.dataset, 'rules').toString(16).slice(0, 12),
    tables,
    marts,
    stage_seconds: { silver: 0.41, gold: 0.12, load: 0.05 },
    quality: Object.keys(quality).length ? { tables: quality } : null,
    load: { dataset: batch.dataset, batch_id: batch.batch_id, tables: loadTables, checks },
  };
}

function publicRun(run, detail = false) {
  const base = {
    id: run.id,
    dataset: run.dataset,
    batch_id: run.batch_id,
    records: run.records,
    route: run.route,
    engine: run.engine,
    status: run.status,
    stage: run.stage,
    requested_at: run.requested_at,
    updated_at: run.updated_at,
    attempts: run.attempts,
    error: run.error,
  };
  return detail ? { ...base, transitions: run.transitions, stage_seconds: run.stage_seconds, ledger: run.ledger } : base;
}

function transition(run, status, stage = null, detail = null) {
  const at = new Date().toISOString();
  run.status = status;
  run.stage = stage ?? (status === 'RUNNING' ? run.stage : null);
  run.updated_at = at;
  run.transitions.push({ status, at, stage, detail });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function drain(route) {
  if (state.draining[route]) return false;
  state.draining[route] = true;
  try {
    while (state.queues[route].length) {
      const message = state.queues[route].shift();
      const run = state.runs.get(message.run_id);
      if (!run) continue;
      run.attempts += 1;
      transition(run, 'RUNNING', 'starting', `delivery 1 on ${route}-queue`);
      publish('run.started', run, `cleaning on ${run.engine}`, { attempt: run.attempts });
      const batch = state.datasets.get(run.dataset)?.batches.get(run.batch_id);
      const stages = [...Object.keys(batch?.tables ?? {}).map((t) => `silver ${t}`), ...MARTS.map((m) => `gold ${m}`), 'load'];
      for (const stage of stages) {
        await sleep(STAGE_MS);
        transition(run, 'RUNNING', stage);
        publish('run.stage', run, stage, { stage });
      }
      await sleep(STAGE_MS);
      if (run.dataset.startsWith('fail')) {
        run.error = 'TerminalError: rule orders.total.type has action fail and 12 rows broke it';
        transition(run, 'DEAD_LETTERED', null, `${route}-queue-poison`);
        state.poison[route].push({ ...message, enqueued_at: new Date().toISOString() });
        publish('run.dead_lettered', run, run.error, { queue: `${route}-queue-poison` });
        continue;
      }
      run.ledger = ledgerFor(batch);
      run.stage_seconds = run.ledger.stage_seconds;
      batch.cleaned = true;
      transition(run, 'SUCCEEDED', 'done');
      const summaryLedger = Object.fromEntries(
        Object.entries(run.ledger.tables).map(([n, t]) => [
          n,
          { bronze_in: t.bronze_in, silver_out: t.silver_out, quarantined: t.quarantined, duplicates_removed: t.duplicates_removed },
        ]),
      );
      publish('run.succeeded', run, 'Cleaning complete', { ledger: summaryLedger });
    }
  } finally {
    state.draining[route] = false;
  }
  return true;
}

// ------------------------------------------------------------------ spec validation

function validateYaml(yaml) {
  const details = [];
  const lines = yaml.split('\n');
  let name = null;
  const tables = [];
  let inTables = false;
  let current = null;
  const known = new Set(['spec_version', 'name', 'seed', 'locales', 'primary', 'tables', 'marts', 'description']);
  lines.forEach((text, i) => {
    const line = i + 1;
    if (text.includes('\t')) details.push({ loc: `line ${line}`, message: 'tabs are not allowed in YAML indentation', line });
    const top = /^([A-Za-z_][\w-]*):\s*(.*)$/.exec(text);
    if (top) {
      inTables = top[1] === 'tables';
      current = null;
      if (top[1] === 'name') name = top[2].trim();
      if (!known.has(top[1])) details.push({ loc: top[1], message: 'extra fields not permitted', line });
      return;
    }
    const table = /^ {2}([A-Za-z_][\w-]*):\s*$/.exec(text);
    if (inTables && table) {
      current = table[1];
      tables.push(current);
      return;
    }
    const rows = /^ {4}rows:\s*(.*)$/.exec(text);
    if (inTables && current && rows) {
      const v = rows[1].trim();
      if (!/^\d+$/.test(v)) details.push({ loc: `tables.${current}.rows`, message: 'Input should be a valid integer', line });
      else if (Number(v) < 1) details.push({ loc: `tables.${current}.rows`, message: 'Input should be greater than 0', line });
    }
    const min = /^ {6}([A-Za-z_]\w*):.*\bmin: (-?\d+(?:\.\d+)?).*\bmax: (-?\d+(?:\.\d+)?)/.exec(text);
    if (inTables && current && min && Number(min[2]) > Number(min[3])) {
      details.push({ loc: `tables.${current}.fields.${min[1]}.min`, message: `min ${min[2]} is greater than max ${min[3]}`, line });
    }
  });
  if (!/^spec_version:/m.test(yaml)) details.push({ loc: 'spec_version', message: 'Field required', line: null });
  if (tables.length === 0) details.push({ loc: 'tables', message: 'a spec needs at least one table', line: null });
  return { details, name: name ?? 'spec', tables };
}

// ------------------------------------------------------------------ http

function send(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers });
  res.end(text);
}

function fail(res, status, code, message, details = []) {
  send(res, status, { error: { code, message, details } });
}

async function readBody(req, limit = 50 * 1024 * 1024) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) throw Object.assign(new Error('too large'), { status: 413 });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function readJson(req) {
  const raw = (await readBody(req)).toString('utf8');
  if (!raw) return {};
  try {
    return JSON.parse(raw);
  } catch {
    throw Object.assign(new Error('the body is not JSON'), { status: 400 });
  }
}

function parseMultipart(buffer, contentType) {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/.exec(contentType ?? '');
  if (!m) return { files: [], fields: {} };
  const boundary = `--${m[1] ?? m[2]}`;
  const parts = buffer.toString('latin1').split(boundary).slice(1, -1);
  const files = [];
  const fields = {};
  for (const part of parts) {
    const [head, ...rest] = part.split('\r\n\r\n');
    const body = rest.join('\r\n\r\n').replace(/\r\n$/, '');
    const name = /name="([^"]*)"/.exec(head)?.[1];
    const filename = /filename="([^"]*)"/.exec(head)?.[1];
    if (filename !== undefined) files.push({ field: name, filename, body });
    else if (name) fields[name] = body;
  }
  return { files, fields };
}

function authorised(req, url) {
  if (!TOKEN) return true;
  const header = req.headers.authorization ?? '';
  return header === `Bearer ${TOKEN}` || url.searchParams.get('access_token') === TOKEN;
}

function getDataset(name) {
  return state.datasets.get(name) ?? null;
}

function addBatch(batch) {
  let ds = state.datasets.get(batch.dataset);
  if (!ds) {
    ds = { name: batch.dataset, batches: new Map() };
    state.datasets.set(batch.dataset, ds);
  }
  ds.batches.set(batch.batch_id, batch);
}

function rowsResponse(res, dataset, url) {
  const ds = getDataset(dataset);
  if (!ds) return fail(res, 404, 'not_found', `no dataset ${dataset}`);
  const layer = url.searchParams.get('layer') ?? 'bronze';
  const table = url.searchParams.get('table') ?? '';
  const batchId = url.searchParams.get('batch_id');
  const offset = Math.max(0, Number(url.searchParams.get('offset') ?? 0) || 0);
  const limit = Number(url.searchParams.get('limit') ?? 50) || 50;
  if (!['bronze', 'silver', 'quarantine', 'gold'].includes(layer)) return fail(res, 400, 'bad_request', `unknown layer ${layer}`);
  if (limit < 1 || limit > 500) return fail(res, 400, 'bad_request', 'limit must be between 1 and 500');
  if (!NAME_RE.test(table)) return fail(res, 400, 'bad_request', 'table is required');
  const batches = [...ds.batches.values()].filter((b) => !batchId || b.batch_id === batchId);
  if (batchId && batches.length === 0) return fail(res, 404, 'not_found', `no batch ${batchId}`);
  let columns;
  let total;
  let make;
  if (layer === 'gold') {
    if (!MART_COLUMNS[table]) return fail(res, 404, 'not_found', `no mart ${table}`);
    const ran = [...ds.batches.values()].some((b) => b.cleaned);
    columns = MART_COLUMNS[table];
    total = ran ? { daily_sales: 120, customer_lifetime_value: 180, product_performance: 200 }[table] : 0;
    make = (i) => makeMartRow(table, i);
  } else if (!COLUMNS[table]) {
    const uploaded = batches.map((b) => b.tables[table]).filter(Boolean);
    if (!uploaded.length) return fail(res, 404, 'not_found', `no table ${table}`);
    const all = layer === 'quarantine' ? [] : uploaded.flatMap((t) => t.rows ?? []);
    const ok = layer === 'bronze' || batches.some((b) => b.cleaned);
    columns = (uploaded[0].header ?? []).map((c) => [c, 'string']);
    total = ok ? all.length : 0;
    make = (i) => all[i];
  } else {
    const segments = [];
    for (const b of batches) {
      const t = b.tables[table];
      if (!t) continue;
      if (layer === 'bronze') {
        if (!batchId) return fail(res, 400, 'bad_request', 'batch_id is required for bronze');
        segments.push({ b, n: t.records });
      } else if (b.cleaned) {
        const lt = ledgerFor(b).tables[table];
        segments.push({ b, n: layer === 'silver' ? lt.silver_out : lt.quarantined });
      }
    }
    total = segments.reduce((a, s) => a + s.n, 0);
    const base = COLUMNS[table];
    columns =
      layer === 'bronze'
        ? base
        : layer === 'silver'
          ? [...base, ['_batch_id', 'string'], ['_ingested_at', 'timestamp'], ['_source_file', 'string'], ['_source_row', 'int64']]
          : [...base.map(([n]) => [n, 'string']), ['_reject_reasons', 'list<string>'], ['_batch_id', 'string'], ['_source_row', 'int64']];
    make = (i) => {
      let k = i;
      let seg = segments[0];
      for (const s of segments) {
        if (k < s.n) {
          seg = s;
          break;
        }
        k -= s.n;
      }
      const row = makeRow(table, k, seg.b.batch_id);
      if (layer === 'silver') {
        return { ...row, _batch_id: seg.b.batch_id, _ingested_at: seg.b.created_at, _source_file: `${table}.${seg.b.format}`, _source_row: k };
      }
      if (layer === 'quarantine') {
        const text = Object.fromEntries(Object.entries(row).map(([c, v]) => [c, String(v)]));
        const rules = RULES[table];
        const reasons = [pick(rules, k)];
        if (k % 4 === 0) reasons.push(pick(rules, k + 1));
        if (reasons[0].endsWith('email.pattern')) text.email = 'anna.schmidt(at)example';
        if (reasons[0].endsWith('.fk')) text.customer_id = String(90000 + k);
        return { ...text, _reject_reasons: reasons, _batch_id: seg.b.batch_id, _source_row: k * 7 + 3 };
      }
      return row;
    };
  }
  const rows = [];
  for (let i = offset; i < Math.min(total, offset + limit); i++) rows.push(make(i));
  send(res, 200, { columns: columns.map(([name, type]) => ({ name, type })), rows, total, offset, limit });
}

async function api(req, res, url) {
  const path = url.pathname;
  const method = req.method ?? 'GET';
  if (path === '/api/health') return send(res, 200, { status: 'ok', version: '0.1.0-mock' });
  if (!authorised(req, url)) return fail(res, 401, 'unauthorized', 'a valid bearer token is required');
  let m;
  if (path === '/api/config' && method === 'GET') {
    return send(res, 200, {
      cloud: 'local',
      events: 'sse',
      adapters: { storage: 'local', queue: 'local', metadata: 'sqlite', warehouse: 'duckdb', operational: 'sqlite', notifier: 'sse' },
      routing: { small_max_records: 10000 },
      engines: { small: 'polars', large: 'spark' },
      triggers: { small: 'interval:600', large: 'cron:0 2 * * *' },
    });
  }
  if (path === '/api/presets' && method === 'GET') return send(res, 200, PRESETS.map(({ name, tables }) => ({ name, tables })));
  if ((m = /^\/api\/presets\/([^/]+)$/.exec(path)) && method === 'GET') {
    const p = PRESETS.find((x) => x.name === decodeURIComponent(m[1]));
    return p ? send(res, 200, { name: p.name, yaml: p.yaml }) : fail(res, 404, 'not_found', `no preset ${m[1]}`);
  }
  if (path === '/api/specs/validate' && method === 'POST') {
    const body = await readJson(req);
    if (typeof body.yaml !== 'string') return fail(res, 400, 'bad_request', 'yaml is required');
    const v = validateYaml(body.yaml);
    if (v.details.length) return fail(res, 422, 'invalid_spec', `${v.details.length} problem(s) in the spec`, v.details);
    return send(res, 200, { ok: true, name: v.name, tables: v.tables });
  }
  if (path === '/api/datasets' && method === 'GET') {
    return send(
      res,
      200,
      [...state.datasets.values()].map((d) => ({ name: d.name, batches: [...d.batches.values()].map(summary) })),
    );
  }
  if (path === '/api/datasets/generate' && method === 'POST') {
    const body = await readJson(req);
    if (body.spec_yaml) {
      const v = validateYaml(body.spec_yaml);
      if (v.details.length) return fail(res, 422, 'invalid_spec', 'the spec is not valid', v.details);
    } else if (!PRESETS.some((p) => p.name === body.preset)) {
      return fail(res, 400, 'bad_request', 'give a known preset or a spec_yaml');
    }
    const dataset = body.dataset ?? (body.spec_yaml ? validateYaml(body.spec_yaml).name : body.preset);
    if (!NAME_RE.test(dataset)) return fail(res, 400, 'bad_request', `bad dataset name ${dataset}`);
    if (body.rows !== null && body.rows !== undefined && !(Number.isInteger(body.rows) && body.rows > 0)) {
      return fail(res, 422, 'validation_error', 'invalid request', [{ loc: 'rows', message: 'Input should be greater than 0' }]);
    }
    const batchId = body.batch_id ?? newBatchId();
    if (getDataset(dataset)?.batches.has(batchId)) return fail(res, 409, 'batch_exists', `batch ${batchId} exists`);
    const tables = tablesFor(body.rows, body.dirt ?? 'default');
    const batch = {
      dataset,
      batch_id: batchId,
      origin: 'generated',
      format: body.format ?? 'parquet',
      seed: body.seed ?? 42,
      created_at: new Date().toISOString(),
      tables,
      records: Object.values(tables).reduce((a, t) => a + t.records, 0),
      cleaned: false,
    };
    await sleep(200);
    addBatch(batch);
    return send(res, 201, landed(batch));
  }
  if ((m = /^\/api\/datasets\/([^/]+)\/upload$/.exec(path)) && method === 'POST') {
    const dataset = decodeURIComponent(m[1]);
    if (!NAME_RE.test(dataset)) return fail(res, 400, 'bad_request', 'bad dataset name');
    let raw;
    try {
      raw = await readBody(req, 5 * 1024 * 1024);
    } catch (e) {
      if (e.status === 413) return fail(res, 413, 'too_large', 'the upload is over the 5 MiB limit of the mock');
      throw e;
    }
    const { files, fields } = parseMultipart(raw, req.headers['content-type']);
    if (!files.length) return fail(res, 400, 'bad_request', 'send one or more files parts');
    const batchId = fields.batch_id || newBatchId();
    if (getDataset(dataset)?.batches.has(batchId)) return fail(res, 409, 'batch_exists', `batch ${batchId} exists`);
    const tables = {};
    for (const f of files) {
      const name = f.filename.replace(/\.[^.]+$/, '').replace(/[^A-Za-z0-9_-]/g, '_') || 'data';
      const [head = '', ...lines] = f.body.split(/\r?\n/).filter(Boolean);
      const header = head.split(',').map((c) => c.trim() || 'column');
      const rows = lines.map((line) => Object.fromEntries(line.split(',').map((v, i) => [header[i] ?? `column_${i}`, v])));
      tables[name] = { records: rows.length, bytes: f.body.length, defects: null, malformed: 0, source_name: f.filename, header, rows };
    }
    const batch = {
      dataset,
      batch_id: batchId,
      origin: 'ingested',
      format: 'csv',
      seed: null,
      created_at: new Date().toISOString(),
      tables,
      records: Object.values(tables).reduce((a, t) => a + t.records, 0),
      cleaned: false,
    };
    addBatch(batch);
    return send(res, 201, landed(batch));
  }
  if ((m = /^\/api\/datasets\/([^/]+)\/batches\/([^/]+)\/manifest$/.exec(path)) && method === 'GET') {
    const batch = getDataset(decodeURIComponent(m[1]))?.batches.get(decodeURIComponent(m[2]));
    return batch ? send(res, 200, manifest(batch)) : fail(res, 404, 'not_found', 'no such batch');
  }
  if ((m = /^\/api\/datasets\/([^/]+)\/rows$/.exec(path)) && method === 'GET') {
    return rowsResponse(res, decodeURIComponent(m[1]), url);
  }
  if (path === '/api/clean' && method === 'POST') {
    const body = await readJson(req);
    const ds = getDataset(body.dataset);
    if (!ds) return fail(res, 404, 'not_found', `no dataset ${body.dataset}`);
    const batches = [...ds.batches.values()].sort((a, b) => b.created_at.localeCompare(a.created_at));
    const batch = body.batch_id ? ds.batches.get(body.batch_id) : batches[0];
    if (!batch) return fail(res, 404, 'not_found', `no batch ${body.batch_id}`);
    const existing = [...state.runs.values()].find(
      (r) => r.dataset === batch.dataset && r.batch_id === batch.batch_id && !['FAILED', 'DEAD_LETTERED'].includes(r.status),
    );
    const route = batch.records <= 10000 ? 'small' : 'large';
    const reason = `${batch.records} records ${route === 'small' ? '<=' : '>'} 10000: ${route}-queue`;
    if (existing && !body.force) {
      return send(res, 202, { run_id: existing.id, route, records: batch.records, threshold: 10000, reason, reused: true, status: existing.status });
    }
    const at = new Date().toISOString();
    const id = `r${at.replace(/[-:T]/g, '').slice(0, 14)}-${randomUUID().slice(0, 8)}`;
    const run = {
      id,
      dataset: batch.dataset,
      batch_id: batch.batch_id,
      records: batch.records,
      route,
      engine: route === 'small' ? 'polars' : 'spark',
      status: 'REQUESTED',
      stage: null,
      requested_at: at,
      updated_at: at,
      attempts: 0,
      error: null,
      transitions: [{ status: 'REQUESTED', at, stage: null, detail: null }],
      stage_seconds: {},
      ledger: null,
    };
    state.runs.set(id, run);
    state.queues[route].push({ id: randomUUID(), run_id: id, dataset: run.dataset, batch_id: run.batch_id });
    transition(run, 'QUEUED', null, reason);
    publish('run.queued', run, reason, { route, queue: `${route}-queue` });
    return send(res, 202, { run_id: id, route, records: batch.records, threshold: 10000, reason, reused: false, status: run.status });
  }
  if (path === '/api/runs' && method === 'GET') {
    const dataset = url.searchParams.get('dataset');
    const status = url.searchParams.get('status');
    const limit = Number(url.searchParams.get('limit') ?? 50) || 50;
    const runs = [...state.runs.values()]
      .filter((r) => (!dataset || r.dataset === dataset) && (!status || r.status === status))
      .sort((a, b) => b.requested_at.localeCompare(a.requested_at))
      .slice(0, limit);
    return send(res, 200, runs.map((r) => publicRun(r)));
  }
  if ((m = /^\/api\/runs\/([^/]+)$/.exec(path)) && method === 'GET') {
    const run = state.runs.get(decodeURIComponent(m[1]));
    return run ? send(res, 200, publicRun(run, true)) : fail(res, 404, 'not_found', `no run ${m[1]}`);
  }
  if (path === '/api/queues' && method === 'GET') {
    return send(
      res,
      200,
      ['small', 'large'].map((route) => ({
        route,
        name: `${route}-queue`,
        depth: state.queues[route].length,
        poison: state.poison[route].length,
        poison_messages: state.poison[route].map((p) => ({
          id: p.id,
          run_id: p.run_id,
          dataset: p.dataset,
          batch_id: p.batch_id,
          enqueued_at: p.enqueued_at,
        })),
      })),
    );
  }
  if ((m = /^\/api\/queues\/([^/]+)\/drain$/.exec(path)) && method === 'POST') {
    const route = m[1];
    if (!['small', 'large'].includes(route)) return fail(res, 404, 'not_found', `no route ${route}`);
    const started = !state.draining[route];
    void drain(route);
    return send(res, 202, { route, started });
  }
  if (path === '/api/triggers' && method === 'GET') {
    const now = Date.now();
    const next2am = new Date();
    next2am.setUTCHours(2, 0, 0, 0);
    if (next2am.getTime() <= now) next2am.setUTCDate(next2am.getUTCDate() + 1);
    return send(res, 200, [
      { route: 'small', spec: 'interval:600', next_fire_time: new Date(Math.ceil(now / 600000) * 600000).toISOString() },
      { route: 'large', spec: 'cron:0 2 * * *', next_fire_time: next2am.toISOString() },
    ]);
  }
  if (path === '/api/events' && method === 'GET') {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    res.write(': connected\n\n');
    const last = Number(req.headers['last-event-id'] ?? 0);
    if (last) for (const e of state.events) if (e.id > last) writeEvent(res, e);
    state.clients.add(res);
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15000);
    req.on('close', () => {
      clearInterval(keepAlive);
      state.clients.delete(res);
    });
    return undefined;
  }
  return fail(res, 404, 'not_found', `no route ${method} ${path}`);
}

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
  '.json': 'application/json',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

function serveStatic(req, res, url) {
  if (!existsSync(join(DIST, 'index.html'))) {
    res.writeHead(503, { 'Content-Type': 'text/plain' });
    return res.end('web/dist is missing: run `npm run build` in web/');
  }
  const rel = normalize(decodeURIComponent(url.pathname)).replace(/^([/\\])+/, '');
  let file = join(DIST, rel);
  if (!file.startsWith(DIST) || !existsSync(file) || statSync(file).isDirectory()) file = join(DIST, 'index.html');
  res.writeHead(200, {
    'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
    'Cache-Control': file.endsWith('index.html') ? 'no-cache' : 'public, max-age=31536000, immutable',
  });
  res.end(readFileSync(file));
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
  try {
    if (url.pathname === '/api' || url.pathname.startsWith('/api/')) await api(req, res, url);
    else serveStatic(req, res, url);
  } catch (err) {
    if (!res.headersSent) fail(res, err.status ?? 500, err.status === 400 ? 'bad_request' : 'internal', err.message);
    else res.end();
  }
});

server.listen(PORT, HOST, () => {
  const { port } = server.address();
  console.log(`mock udo API listening on http://${HOST}:${port}`);
});

const stop = () => {
  for (const res of state.clients) res.end();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

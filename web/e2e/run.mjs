#!/usr/bin/env node
// End-to-end test of the udo web UI in the system's Chromium (playwright-core; nothing is
// downloaded). The server must serve the built UI at / and the API under /api.
//
//   UDO_E2E_URL=http://127.0.0.1:8000 node e2e/run.mjs     # against a running `udo up`
//   node e2e/run.mjs --mock                                 # starts e2e/mock-server.mjs
//
// Environment:
//   UDO_E2E_URL          base URL of the server (required unless --mock)
//   UDO_E2E_SCREENSHOTS  folder for the screenshots (default web/e2e/screenshots)
//   UDO_E2E_CHROMIUM     the browser (default /usr/bin/chromium)
//   UDO_E2E_TIMEOUT      seconds to wait for generation and cleaning (default 240)
//   UDO_E2E_HEADED=1     show the browser (needs a display)
//
// Flow: Generate (ecommerce, 300 rows, dirt default) → the dataset → Clean Data →
// Queues & triggers → Drain now (small) → the "Cleaning complete" toast → Silver rows →
// every page (and an upload), each saved as a screenshot. Exits 1 with the failing step.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const SHOTS = resolve(process.env.UDO_E2E_SCREENSHOTS || join(here, 'screenshots'));
const CHROMIUM = process.env.UDO_E2E_CHROMIUM || '/usr/bin/chromium';
const LONG = Number(process.env.UDO_E2E_TIMEOUT || 240) * 1000;
const SHORT = 15_000;
const useMock = process.argv.includes('--mock');

function die(message) {
  console.error(`e2e: FAILED: ${message}`);
  process.exit(1);
}

async function startMock() {
  const dist = join(here, '..', 'dist', 'index.html');
  if (!existsSync(dist)) die(`${dist} is missing: run \`npm run build\` first`);
  const child = spawn(process.execPath, [join(here, 'mock-server.mjs'), '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, MOCK_STAGE_MS: process.env.MOCK_STAGE_MS ?? '120' },
  });
  const url = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error('the mock server did not start in 10 s')), 10_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      const m = /listening on (http:\/\/\S+)/.exec(chunk);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`the mock server exited (${code})`)));
  });
  return { url, stop: () => child.kill('SIGTERM') };
}

let mock = null;
if (useMock) {
  try {
    mock = await startMock();
  } catch (err) {
    die(String(err.message ?? err));
  }
}
const BASE = (mock?.url ?? process.env.UDO_E2E_URL ?? '').replace(/\/+$/, '');
if (!BASE) die('set UDO_E2E_URL to the udo server (e.g. http://127.0.0.1:8000), or pass --mock');
if (!existsSync(CHROMIUM)) die(`no browser at ${CHROMIUM}: apt-get install -y chromium (or set UDO_E2E_CHROMIUM)`);
mkdirSync(SHOTS, { recursive: true });

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: !process.env.UDO_E2E_HEADED,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ].filter((a) => !(process.env.UDO_E2E_HEADED && a === '--headless')),
});
const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
const page = await context.newPage();
page.setDefaultTimeout(SHORT);
const problems = [];
page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
page.on('console', (msg) => {
  if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
});
page.on('response', (r) => {
  if (r.status() >= 500) problems.push(`HTTP ${r.status()} ${r.request().method()} ${r.url()}`);
});

let shotNo = 0;
const shots = [];
async function shot(name, fullPage = true) {
  shotNo += 1;
  const file = join(SHOTS, `${String(shotNo).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage });
  shots.push(file);
}

/** Close the toasts so they do not cover the page in a screenshot. */
async function clearToasts() {
  const close = page.getByRole('button', { name: 'Dismiss' });
  while ((await close.count()) > 0) await close.first().click();
}

let current = '';
async function step(name, fn) {
  current = name;
  const started = Date.now();
  await fn();
  console.log(`  ✓ ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

/** Wait until a data table shows rows, or fail at once with the error the page shows. */
async function waitRows(table, timeout = LONG) {
  const firstCell = table.locator('tbody tr td:not(.empty)').first();
  const error = page.locator('.error-box').first();
  await Promise.race([firstCell.waitFor({ timeout }), error.waitFor({ timeout })]);
  if (await error.isVisible()) throw new Error(`the page shows an error: ${(await error.innerText()).replace(/\s+/g, ' ')}`);
  return table.locator('tbody tr');
}

const nav = (label) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label, exact: true });
const heading = (text) => page.getByRole('heading', { level: 1, name: text });

let dataset = '';
let batchId = '';
let runId = '';
let failed = null;

console.log(`e2e: ${BASE} (screenshots in ${SHOTS})`);
try {
  await step('open the app', async () => {
    const response = await page.goto(`${BASE}/`, { waitUntil: 'domcontentloaded' });
    if (!response || !response.ok()) throw new Error(`GET / answered ${response?.status()}: is the UI built and served?`);
    await heading('Datasets').waitFor();
    await page.locator('.live-dot.live-open').waitFor({ timeout: SHORT }); // the event stream is connected
    await shot('datasets');
  });

  await step('Generate page: preset, rows 300, dirt default', async () => {
    await nav('Generate').click();
    await heading('Generate').waitFor();
    const preset = page.getByLabel('Preset');
    await page.locator('select option[value="ecommerce"]').waitFor({ state: 'attached' });
    await preset.selectOption('ecommerce');
    const editor = page.getByLabel('Spec (YAML)');
    await page.waitForFunction(() => {
      const ta = document.querySelector('textarea[aria-label="Spec (YAML)"]');
      return ta && ta.value.includes('tables:');
    });
    await page.getByLabel('Rows').fill('300');
    await page.getByLabel('Dirt profile').selectOption('default');
    await page.getByLabel('Format').selectOption('parquet');
    await page.getByRole('button', { name: 'Validate' }).click();
    await page.getByText('Valid spec').waitFor({ timeout: LONG });
    if (!(await editor.inputValue()).includes('orders')) throw new Error('the ecommerce spec has no orders table');
    await shot('generate');
  });

  await step('Generate the batch', async () => {
    await page.getByRole('button', { name: 'Generate', exact: true }).click();
    const result = page.getByTestId('landed-batch');
    await result.waitFor({ timeout: LONG });
    const links = result.locator('.result-head .mono');
    dataset = (await links.nth(0).innerText()).trim();
    batchId = (await links.nth(1).innerText()).trim();
    if (!dataset || !batchId) throw new Error('the result names no dataset or batch');
    await shot('generate-result');
  });

  await step(`open dataset ${dataset}`, async () => {
    await page.getByRole('link', { name: 'Open dataset' }).click();
    await page.getByRole('heading', { level: 1, name: dataset, exact: true }).waitFor();
    await page.getByRole('radio', { name: `Select batch ${batchId}` }).waitFor();
    await page.getByRole('table', { name: 'Batch tables' }).waitFor();
    await waitRows(page.getByRole('table', { name: /^bronze / }));
  });

  await step('Clean Data', async () => {
    await page.getByRole('button', { name: 'Clean Data' }).click();
    const result = page.getByTestId('clean-result');
    await result.waitFor({ timeout: LONG });
    runId = (await result.locator('a.mono').innerText()).trim();
    if (!runId) throw new Error('Clean Data answered no run id');
    const text = await result.innerText();
    if (!/route\s+small/i.test(text)) throw new Error(`a 300-row batch should go to the small route: ${text}`);
    await shot('dataset');
  });

  await step('Queues & triggers → Drain now (small) → "Cleaning complete"', async () => {
    await nav('Queues & triggers').click();
    await heading('Queues & triggers').waitFor();
    await page.getByRole('table', { name: 'Triggers' }).waitFor();
    const toast = page.getByTestId('toast').filter({ hasText: 'Cleaning complete' }).filter({ hasText: batchId });
    await page.getByRole('button', { name: 'Drain now small' }).click();
    await toast.waitFor({ timeout: LONG });
    const text = await toast.innerText();
    if (!text.includes(dataset)) throw new Error(`the toast does not name dataset ${dataset}: ${text}`);
    await shot('queues-cleaning-complete', false);
  });

  await step('Silver rows of the dataset', async () => {
    await nav('Datasets').click();
    await heading('Datasets').waitFor();
    await page.getByRole('table', { name: 'Datasets' }).getByRole('link', { name: dataset, exact: true }).click();
    await page.getByRole('heading', { level: 1, name: dataset, exact: true }).waitFor();
    await page.getByRole('tab', { name: 'Silver' }).click();
    for (const table of ['orders', 'customers']) {
      await page.getByRole('group', { name: 'Table' }).getByRole('button', { name: table, exact: true }).click();
      const rows = await waitRows(page.getByRole('table', { name: `silver ${table}` }));
      if ((await rows.count()) < 1) throw new Error(`no Silver rows in ${table}`);
    }
    await page.getByRole('tab', { name: 'Silver' }).scrollIntoViewIfNeeded();
    await clearToasts();
    await shot('dataset-silver');
  });

  await step('Quarantine and Gold tabs', async () => {
    await page.getByRole('tab', { name: 'Quarantine' }).click();
    await page.getByRole('group', { name: 'Table' }).getByRole('button', { name: 'orders', exact: true }).click();
    await waitRows(page.getByRole('table', { name: 'quarantine orders' }));
    await clearToasts();
    await shot('dataset-quarantine');
    await page.getByRole('tab', { name: 'Gold' }).click();
    await waitRows(page.getByRole('table', { name: /^gold / }));
    await clearToasts();
    await shot('dataset-gold');
  });

  await step('Runs page shows the run as succeeded', async () => {
    await nav('Runs').click();
    await heading('Runs').waitFor();
    const row = page.getByRole('table', { name: 'Runs' }).locator('tbody tr', { hasText: runId });
    await row.waitFor();
    await row.getByText('succeeded').waitFor({ timeout: LONG });
    await clearToasts();
    await shot('runs');
  });

  await step('Run detail: timeline, ledger, quality', async () => {
    await page.getByRole('link', { name: runId, exact: true }).click();
    await page.getByTestId('run-detail').waitFor();
    await page.getByRole('img', { name: /Ledger/ }).waitFor({ timeout: LONG });
    const bars = await page.locator('svg [data-segment="silver_out"]').count();
    if (bars < 1) throw new Error('the ledger chart has no Silver bars');
    await page.getByRole('heading', { name: 'Stage timeline' }).waitFor();
    await page.getByRole('heading', { name: 'Cleaning quality' }).waitFor();
    await clearToasts();
    await shot('run-detail');
  });

  await step('Spec errors are shown at their lines', async () => {
    await nav('Generate').click();
    await heading('Generate').waitFor();
    const editor = page.getByLabel('Spec (YAML)');
    await page.waitForFunction(() => document.querySelector('textarea[aria-label="Spec (YAML)"]')?.value.includes('tables:'));
    const yaml = await editor.inputValue();
    await editor.fill(`${yaml.replace(/^(\s+rows:\s*)\d+/m, '$1-5')}`.replace(/^name:/m, 'bogus_key: 1\nname:'));
    await page.getByRole('button', { name: 'Validate' }).click();
    await page.locator('.spec-errors, .error-box').first().waitFor({ timeout: LONG });
    const lineRef = page.locator('.spec-errors button.line-ref').first();
    if (await lineRef.count()) {
      await lineRef.click(); // the editor goes to that line, marked in the gutter
      await page.locator('.code-gutter .ln-error').first().waitFor();
    }
    await clearToasts();
    await shot('generate-spec-errors');
  });

  await step('Settings dialog', async () => {
    await page.getByRole('button', { name: /^Settings/ }).click();
    await page.getByRole('dialog', { name: 'Settings' }).waitFor();
    await page.getByLabel('Bearer token').waitFor();
    await page.waitForTimeout(300); // let /api/config render
    await clearToasts();
    await shot('settings', false);
    await page.getByRole('button', { name: 'Close' }).click();
  });

  await step('Upload a CSV as a new dataset', async () => {
    await nav('Datasets').click();
    await heading('Datasets').waitFor();
    const form = page.getByRole('form', { name: 'Upload files' });
    await form.getByLabel('Dataset').fill('uploaded_people');
    const csv = ['person_id,name,email,score', ...Array.from({ length: 40 }, (_, i) => `${i + 1},Person ${i + 1},p${i + 1}@example.com,${(i * 2.5).toFixed(1)}`)].join('\n');
    await form.getByLabel('Files').setInputFiles({ name: 'people.csv', mimeType: 'text/csv', buffer: Buffer.from(`${csv}\n`) });
    await form.getByRole('button', { name: 'Upload' }).click();
    await page.getByRole('heading', { level: 1, name: 'uploaded_people', exact: true }).waitFor({ timeout: LONG });
    await waitRows(page.getByRole('table', { name: /^bronze / }));
    await clearToasts();
    await shot('dataset-uploaded');
  });

  const fatal = problems.filter((p) => p.startsWith('page error') || p.startsWith('HTTP 5'));
  if (fatal.length) {
    current = 'no page errors';
    throw new Error(fatal.join('\n'));
  }
} catch (err) {
  failed = err;
}

if (failed) {
  try {
    await page.screenshot({ path: join(SHOTS, 'FAILED.png'), fullPage: true });
  } catch {
    // the page may be gone
  }
}
await browser.close();
mock?.stop();

if (problems.length) console.log(`browser said:\n  ${problems.join('\n  ')}`);
if (failed) {
  console.error(`e2e: FAILED at step "${current}": ${failed.message?.split('\n')[0] ?? failed}`);
  if (failed.message?.includes('\n')) console.error(failed.message);
  console.error(`e2e: page screenshot at ${join(SHOTS, 'FAILED.png')}`);
  process.exit(1);
}
console.log(`e2e: OK, ${shots.length} screenshots in ${SHOTS}`);

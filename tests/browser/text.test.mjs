// The language side of the page in Debian's headless Chromium (Playwright), against the native CLI
// with the real all-MiniLM-L6-v2 (scripts/fetch-models.sh minilm) and the committed default bundle:
// search by description equals `acula search --json` (same order, similarities within 1e-3) on the
// wasm CPU backend and on WebGPU (Chromium's software adapter); the person's own labels equal
// `acula predict --labels --json`; nothing of the text model is downloaded before a text feature is
// used, all of it from the page's origin; bad input gets one line; offline after the first use; a
// damaged text-model file is refused by name while screening keeps working.
// Run after `trunk build --release` and `cargo build --release -p acula-trainer` (scripts/test.sh).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { DATA, ROOT, ACULA, serveDist, launch, openModel, artifactsDir, parseNpy } from './lib.mjs';

const KAUH = join(DATA, 'kauh-subset', 'Audio Files');
const BUNDLE = join(ROOT, 'www', 'models', 'default');
const MINILM = execFileSync(join(ROOT, 'scripts', 'fetch-models.sh'), ['minilm']).toString().trim().split('\n').pop();
const QUERY = 'expiratory wheezes in an asthmatic child';
const LABELS = 'wheezes, crackles, normal breath sounds';
const TEXT_FILES = /\/text\/|acula-text|text\.safetensors/;
let server;

before(async () => { server = await serveDist(); });
after(async () => { await server?.close(); });

function cliSearch(query) {
  const out = execFileSync(ACULA, ['search', query, '--bundle', BUNDLE, '--teacher-dir', MINILM, '--json', '--top-k', '5']);
  return JSON.parse(out.toString());
}

async function open(context, query = '') {
  return openModel(context, server.url + query);
}

/** Types `text` into the search field by keyboard and submits with Enter; resolves to the answer. */
async function search(page, text) {
  await page.evaluate(() => { window.aculaSearch = undefined; });
  await page.focus('#search-input');
  await page.fill('#search-input', '');
  if (text.length > 200) await page.fill('#search-input', text);
  else await page.keyboard.type(text);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => window.aculaSearch !== undefined || document.querySelector('#search-error'), null, { timeout: 240_000 });
  const error = await page.locator('#search-error').count() ? await page.textContent('#search-error') : null;
  assert.equal(error, null, `search failed: ${error}`);
  return page.evaluate(() => window.aculaSearch);
}

/** Same reports and recordings in the same order, similarities within `tol`. */
function assertSameSearch(got, cli, tol = 1e-3) {
  assert.equal(got.query, cli.query);
  assert.deepEqual(got.reports.map((r) => r.text), cli.reports.map((r) => r.text), 'same reports, same order');
  assert.deepEqual(got.recordings.map((r) => r.file), cli.recordings.map((r) => r.file), 'same recordings, same order');
  let worst = 0;
  for (const [a, b] of [...got.reports.map((r, i) => [r, cli.reports[i]]), ...got.recordings.map((r, i) => [r, cli.recordings[i]])]) {
    worst = Math.max(worst, Math.abs(a.similarity - b.similarity));
  }
  assert.ok(worst <= tol, `similarities differ by ${worst}`);
  return worst;
}

test('search by description on the CPU equals acula search; keyboard only; text downloaded on first use only; offline after', async () => {
  const context = await launch();
  try {
    const { page, consoleErrors, requests } = await open(context, '?backend=cpu');
    // The size is said before anything is downloaded, and nothing of the text model was fetched.
    assert.match(await page.textContent('#search-go'), /^\s*Search \(downloads \d+\.\d MB once\)\s*$/);
    assert.deepEqual(requests.filter((u) => TEXT_FILES.test(u)), [], 'no text file before a text feature is used');
    const t0 = Date.now();
    const got = await search(page, QUERY);
    const firstMs = Date.now() - t0;
    const cli = cliSearch(QUERY);
    const worst = assertSameSearch(got, cli);
    assert.equal(await page.locator('#search-reports li').count(), got.reports.length);
    assert.match(await page.textContent('#text-line'), /Text model all-MiniLM-L6-v2 · runs on the CPU/);
    assert.equal((await page.textContent('#search-go')).trim(), 'Search', 'no download said once loaded');
    const warm = Date.now();
    await search(page, 'fine crackles at both lung bases');
    console.log(`# search cpu: max |Δ similarity| ${worst.toExponential(1)}; first search (download + load) ${firstMs} ms, next ${Date.now() - warm} ms in the page`);
    await page.screenshot({ path: join(await artifactsDir(), 'search-desktop.png'), fullPage: true });

    // Any script, control characters and emoji: an answer, no failure.
    const mixed = await search(page, 'хрипы при дыхании 咳嗽 سعال 🫁\u0007');
    assert.equal(mixed.reports.length, 5);
    // 10,000 characters: cut to the model's 128 tokens, and the page says so.
    const long = await search(page, 'wheeze '.repeat(1430));
    assert.equal(long.truncated, true);
    assert.match(await page.textContent('#search-truncated'), /128 tokens/);
    // Empty: one line, nothing sent.
    await page.fill('#search-input', '   ');
    await page.press('#search-input', 'Enter');
    assert.match(await page.textContent('#search-error'), /empty|nothing/i);

    const origin = new URL(server.url).origin;
    const foreign = requests.filter((u) => !u.startsWith(origin + '/') && !u.startsWith('blob:') && !u.startsWith('data:'));
    assert.deepEqual(foreign, [], 'no request to another origin');
    const textFetched = requests.filter((u) => TEXT_FILES.test(u)).map((u) => u.split('/').pop());
    for (const f of ['tower.json', 'model.safetensors', 'tokenizer.json', 'config.json', 'acula-text_bg.wasm', 'acula-text.js', 'text.safetensors']) {
      assert.ok(textFetched.includes(f), `${f} fetched on first use (${textFetched})`);
    }
    assert.deepEqual(consoleErrors, [], 'no console errors');

    // Offline after the first use: reload without a network and search again.
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 30_000 });
    await context.setOffline(true);
    await page.reload();
    await page.waitForFunction(() => /^Model /.test(document.querySelector('#model-line')?.textContent || ''), null, { timeout: 120_000 });
    const offline = await search(page, QUERY);
    assertSameSearch(offline, cli);
    assert.match(await page.textContent('#text-line'), /from this device's cache/);
  } finally {
    await context.close();
  }
});

/** Chooses the kind, uploads `file` and waits for "Analysis finished". */
async function screenFile(page, file, kind) {
  await page.check(`input[name="kind"][value="${kind}"]`);
  await page.evaluate(() => { window.aculaResult = undefined; });
  await page.setInputFiles('#file', file);
  const name = file.split('/').pop();
  await page.waitForFunction((n) => (document.querySelector('#fact-name')?.textContent || '').startsWith(n)
    && /Analysis finished/.test(document.querySelector('#status')?.textContent || '') && window.aculaResult !== undefined, name, { timeout: 120_000 });
}

/** Types `labels` into the labels field by keyboard, submits, and resolves to the answer. */
async function askLabels(page, labels) {
  await page.evaluate(() => { window.aculaLabels = undefined; });
  await page.focus('#labels-input');
  await page.fill('#labels-input', '');
  await page.keyboard.type(labels);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => window.aculaLabels !== undefined || document.querySelector('#labels-error'), null, { timeout: 240_000 });
  const got = await page.evaluate(() => window.aculaLabels);
  assert.ok(got, `labels failed: ${await page.locator('#labels-error').count() ? await page.textContent('#labels-error') : ''}`);
  return got;
}

function cliLabels(file, kind, labels) {
  const out = execFileSync(ACULA, ['predict', file, '--bundle', BUNDLE, '--recording', kind, '--labels', labels, '--teacher-dir', MINILM, '--json']);
  return JSON.parse(out.toString())[0].labels;
}

test('your own labels after a screening equal acula predict --labels; withheld like the CLI; bad labels get one line', { skip: !existsSync(KAUH) && `${KAUH} not found` }, async () => {
  // A real cough (the bundle's example 3) as the CLI hears it (MP3 → acula decode → float WAV), so the
  // page and the CLI screen identical PCM; and a real KAUH lung recording, which the default bundle
  // (synthetic lung training data) finds unlike its lung recordings: the labels are withheld.
  const tmp = mkdtempSync(join(tmpdir(), 'acula-labels-'));
  const cough = join(tmp, 'cough.wav');
  execFileSync(ACULA, ['decode', join(BUNDLE, 'example-3.mp3'), '--out', cough]);
  const lung = join(KAUH, readdirSync(KAUH).filter((f) => f.endsWith('.wav')).sort()[0]);
  const coughLabels = 'a dry cough, a wet cough, COVID-19';
  const context = await launch();
  try {
    const { page, consoleErrors } = await open(context, '?backend=cpu');
    // No labels field before a recording is screened.
    assert.equal(await page.locator('#labels-input').count(), 0);
    await screenFile(page, cough, 'cough');
    // One label, then duplicates: refused with one line, nothing sent.
    for (const [bad, why] of [['wheezes', /two labels/], ['wheezes, Wheezes', /twice/]]) {
      await page.fill('#labels-input', bad);
      await page.press('#labels-input', 'Enter');
      assert.match(await page.textContent('#labels-error'), why);
    }
    const got = await askLabels(page, coughLabels);
    const cli = cliLabels(cough, 'cough', coughLabels);
    assert.equal(got.template, cli.template);
    assert.equal(got.withheld, undefined, `withheld: ${got.withheld}`);
    assert.deepEqual(got.scores.map((s) => s.label), cli.scores.map((s) => s.label));
    // Similarities within 1e-3; the probabilities within 5e-3, because the softmax multiplies the
    // similarities' differences (the page's f16 MiniLM weights against the CLI's f32) by the bundle's
    // logit_scale (36.7 for the default bundle).
    let worstSim = 0;
    let worstP = 0;
    got.scores.forEach((s, i) => {
      worstSim = Math.max(worstSim, Math.abs(s.similarity - cli.scores[i].similarity));
      worstP = Math.max(worstP, Math.abs(s.probability - cli.scores[i].probability));
    });
    assert.ok(worstSim <= 1e-3, `label similarities differ by ${worstSim}`);
    assert.ok(worstP <= 5e-3, `label probabilities differ by ${worstP}`);
    console.log(`# labels cpu: ${got.scores.map((s) => `${s.label} ${s.probability.toFixed(3)}`).join(', ')}; max |Δ| similarity ${worstSim.toExponential(1)}, probability ${worstP.toExponential(1)}`);
    assert.equal(await page.locator('#labels-scores tbody tr').count(), 3);
    assert.match(await page.textContent('#labels-note'), /not a trained/);
    await page.screenshot({ path: join(await artifactsDir(), 'labels-desktop.png'), fullPage: true });

    await screenFile(page, lung, 'lung');
    const withheld = await askLabels(page, LABELS);
    const cliWithheld = cliLabels(lung, 'lung', LABELS);
    assert.ok(cliWithheld.withheld, 'the CLI withholds the labels of a real lung recording');
    assert.equal(withheld.withheld, cliWithheld.withheld);
    assert.deepEqual(withheld.scores, []);
    assert.equal(await page.textContent('#labels-withheld'), cliWithheld.withheld);
    assert.deepEqual(consoleErrors, [], 'no console errors');
  } finally {
    await context.close();
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('WebGPU (software adapter): search equals the CLI within 1e-3', async () => {
  const context = await launch(['--enable-unsafe-webgpu']);
  try {
    const { page, consoleErrors } = await open(context, '?backend=webgpu');
    const line = await page.textContent('#model-line');
    if (!/WebGPU/.test(line)) {
      throw new Error(`the analyser did not run on WebGPU: ${line}`);
    }
    const got = await search(page, QUERY);
    const worst = assertSameSearch(got, cliSearch(QUERY));
    assert.match(await page.textContent('#text-line'), /runs on WebGPU/);
    console.log(`# search webgpu: max |Δ similarity| ${worst.toExponential(1)}`);
    assert.deepEqual(consoleErrors.filter((e) => !/WebGPU|GPU/.test(e)), [], 'no console errors');
  } finally {
    await context.close();
  }
});

test('a damaged text-model file is refused by name; screening keeps working', { skip: !existsSync(KAUH) && `${KAUH} not found` }, async () => {
  // A server whose text-model weights are 1000 bytes of junk (the rest of the site as built).
  const damaged = await serveDist('/', { 'text/model.safetensors': Buffer.alloc(1000, 7) });
  const context = await launch();
  try {
    const page = await context.newPage();
    await page.goto(damaged.url + '?backend=cpu');
    await page.waitForFunction(() => /^Model /.test(document.querySelector('#model-line')?.textContent || ''), null, { timeout: 120_000 });
    await page.fill('#search-input', QUERY);
    await page.press('#search-input', 'Enter');
    await page.waitForSelector('#search-error', { timeout: 120_000 });
    assert.match(await page.textContent('#search-error'), /model\.safetensors.*damaged/);
    const file = join(KAUH, readdirSync(KAUH).filter((f) => f.endsWith('.wav')).sort()[0]);
    await page.check('input[name="kind"][value="lung"]');
    await page.setInputFiles('#file', file);
    await page.waitForFunction(() => /Analysis finished/.test(document.querySelector('#status')?.textContent || ''), null, { timeout: 120_000 });
  } finally {
    await context.close();
    await damaged.close();
  }
});

test('MiniLM in wasm with the f16 weights = native with the published f32 weights (cosine ≥ 0.9999, 20 real reports)', async () => {
  // 20 reports of the default bundle's index, spread over its datasets, embedded natively
  // (`acula embed-reports`, f32 weights) and by the text module in the page (f16 weights, wasm CPU).
  const all = JSON.parse(readFileSync(join(BUNDLE, 'reports.json')));
  const step = Math.floor(all.length / 20);
  const picked = all.filter((_, i) => i % step === 0).slice(0, 20);
  const tmp = mkdtempSync(join(tmpdir(), 'acula-text-'));
  const csvCell = (s) => `"${String(s).replace(/"/g, '""')}"`;
  const rows = picked.map((r) => ['x.wav', '', r.text, 'test', r.dataset, r.record_id].map(csvCell).join(','));
  writeFileSync(join(tmp, 'r.csv'), ['audio_path,meta_report,report,writer,dataset,record_id', ...rows].join('\n') + '\n');
  execFileSync(ACULA, ['embed-reports', join(tmp, 'r.csv'), '--out', join(tmp, 'emb'), '--model-dir', MINILM],
    { env: { ...process.env, ACULA_CACHE: join(tmp, 'cache') } });
  const native = parseNpy(readFileSync(join(tmp, 'emb.npy')));
  const context = await launch();
  try {
    const { page } = await open(context, '?backend=cpu');
    const got = await page.evaluate(async (texts) => {
      const m = await import('./acula-text.js');
      await m.default({ module_or_path: './acula-text_bg.wasm' });
      const bytes = async (f) => new Uint8Array(await (await fetch(`./text/${f}`)).arrayBuffer());
      const config = new TextDecoder().decode(await bytes('config.json'));
      await m.textLoad(config, await bytes('model.safetensors'), await bytes('tokenizer.json'), 128, false);
      const out = await m.textEmbed(texts);
      return { dim: out.dim, vectors: Array.from(out.vectors) };
    }, picked.map((r) => r.text));
    assert.equal(got.dim, native.shape[1]);
    let worst = 1;
    for (let i = 0; i < picked.length; i++) {
      const a = got.vectors.slice(i * got.dim, (i + 1) * got.dim);
      const b = Array.from(native.data.slice(i * got.dim, (i + 1) * got.dim));
      let ab = 0, aa = 0, bb = 0;
      for (let j = 0; j < got.dim; j++) { ab += a[j] * b[j]; aa += a[j] * a[j]; bb += b[j] * b[j]; }
      worst = Math.min(worst, ab / Math.sqrt(aa * bb));
    }
    console.log(`# MiniLM wasm (f16) vs native (f32), 20 reports: worst cosine ${worst.toFixed(7)}`);
    assert.ok(worst >= 0.9999, `worst cosine ${worst}`);
  } finally {
    await context.close();
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('offline before the text model was ever downloaded: search says so in one line, screening works', { skip: !existsSync(KAUH) && `${KAUH} not found` }, async () => {
  const context = await launch();
  try {
    const { page } = await open(context, '?backend=cpu');
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null || navigator.serviceWorker.ready.then(() => true), null, { timeout: 30_000 });
    await page.evaluate(() => navigator.serviceWorker.ready);
    await context.setOffline(true);
    await page.fill('#search-input', QUERY);
    await page.press('#search-input', 'Enter');
    await page.waitForSelector('#search-error', { timeout: 60_000 });
    const message = await page.textContent('#search-error');
    assert.match(message, /connect once/);
    assert.ok(!message.includes('\n'), 'one line');
    await screenFile(page, join(KAUH, readdirSync(KAUH).filter((f) => f.endsWith('.wav')).sort()[0]), 'lung');
  } finally {
    await context.close();
  }
});

// The screening journeys in Debian's Firefox ESR (headless, puppeteer-core over WebDriver BiDi), held to
// the expectations of the Chromium tests (journeys.mjs): real recordings score within 1e-3 of `acula
// predict`; the example recordings (MP3 decoded by Firefox's own decoder); the bad-input matrix; offline
// reload; a full storage quota; same-origin requests only and the Content-Security-Policy; recording.
// What differs in Firefox and how it is handled:
// - no WebGPU (Firefox ESR on Linux has no `navigator.gpu`): the page runs on the CPU and says why;
// - the microphone: Firefox cannot play a file as the microphone (Chromium can), so its own generated
//   stream (`media.navigator.streams.fake`, a tone) is recorded, through MediaRecorder's WebM/Opus;
// - storage: Firefox's quota is set by a preference (`dom.quotaManager.temporaryStorage.fixedLimit`),
//   not by the DevTools protocol;
// - going offline: WebDriver BiDi has no offline switch here, so the test server drops every connection.
// Run after `trunk build --release` and with ACULA_BIN set to the CLI (scripts/test.sh).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, truncate } from 'node:fs/promises';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { serveDist, launchFirefox, artifactsDir } from './lib.mjs';
import { BUNDLE, HAVE_DATA, recordings, predict, assertSame, pcmWav, badInputs, assertOutcome, settled, safariRecording } from './journeys.mjs';

const TMP = mkdtempSync(join(tmpdir(), 'acula-firefox-'));
const skip = !HAVE_DATA && 'datasets not found';
let server;

before(async () => { server = await serveDist(); });
after(async () => { await server?.close(); });

const text = (page, sel) => page.$eval(sel, (e) => e.textContent);

/** Waits until `fn(arg)`, run in the page, is true. puppeteer's own `waitForFunction` builds its
 *  predicate with `new Function`, which the page's Content-Security-Policy refuses in Firefox (no
 *  'unsafe-eval'); `evaluate` goes through WebDriver BiDi's `script.callFunction`, which it does not. */
async function waitFor(page, fn, arg, timeout = 120_000) {
  const end = Date.now() + timeout;
  for (;;) {
    if (await page.evaluate(fn, arg)) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${fn.toString().slice(0, 160)}`);
    await new Promise((ok) => setTimeout(ok, 100));
  }
}
const modelSettled = () => /^Model |could not be loaded/.test(document.querySelector('#model-line')?.textContent || '');

/** Opens the page in a new tab, records console errors and requests, waits for the model. */
async function open(browser, query = '') {
  const page = await browser.newPage();
  const consoleErrors = [];
  const requests = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(server.url + query);
  await waitFor(page, modelSettled);
  return { page, consoleErrors, requests };
}

/** Says what the recording is (as a click on its radio button would). */
const choose = (page, kind) => page.evaluate((k) => {
  const radio = document.querySelector(`input[name="kind"][value="${k}"]`);
  if (!radio.checked) radio.click();
}, kind);

/** Chooses `file` in the file input once it takes one (it is disabled while a recording is analysed;
 *  Playwright waits for that by itself, puppeteer does not). */
async function upload(page, file) {
  await waitFor(page, () => { const i = document.querySelector('#file'); return i !== null && !i.disabled; });
  await (await page.$('#file')).uploadFile(file);
}

/** Chooses the kind, uploads `file` and waits for its own result (see screen.test.mjs). */
async function screen(page, file, kind) {
  await choose(page, kind);
  await page.evaluate(() => { window.aculaResult = undefined; });
  await upload(page, file);
  const name = file.split('/').pop();
  await waitFor(page, (n) => (document.querySelector('#fact-name')?.textContent || '').startsWith(n)
    && /Analysis finished|Could not/.test(document.querySelector('#status')?.textContent || '')
    && window.aculaResult !== undefined
    || /Could not/.test(document.querySelector('#status')?.textContent || ''), name);
  const status = await text(page, '#status');
  assert.match(status, /Analysis finished/, `page status: ${status}`);
  return page.evaluate(() => window.aculaResult);
}

test('Firefox: no WebGPU, so the CPU; screening equals acula predict; requests, console and CSP are clean', { skip }, async () => {
  const browser = await launchFirefox();
  try {
    // Left to choose: Firefox ESR offers no WebGPU here, and the page says it uses the CPU.
    const { page, consoleErrors, requests } = await open(browser);
    const line = await text(page, '#model-line');
    const note = await page.$eval('#backend-note', (e) => e.textContent).catch(() => '');
    console.log(`# firefox: ${await page.evaluate(() => navigator.userAgent)}; ${line.trim()}; ${note.trim()}`);
    assert.match(line, /runs on CPU/);
    if (!(await page.evaluate(() => 'gpu' in navigator))) {
      assert.equal(await page.$('#use-webgpu'), null, 'no WebGPU switch is offered where there is none');
      // Asked for WebGPU by the address, the page still works, on the CPU, and says why.
      const asked = await open(browser, '?backend=webgpu');
      assert.match(await text(asked.page, '#model-line'), /runs on CPU/);
      assert.match(await text(asked.page, '#backend-note'), /no WebGPU adapter, so the CPU is used/);
      await asked.page.close();
    }
    assert.equal(await page.$('#storage-note'), null, 'the model was kept: no storage note');
    for (const [i, r] of recordings(TMP).entries()) {
      const cli = predict(r.path, r.kind);
      const got = await screen(page, r.path, r.kind);
      const d = assertSame(got, cli, `firefox ${r.path.split('/').pop()}`);
      console.log(`# firefox ${r.path.split('/').pop()}: ${got.scores.map((s) => `${s.task} ${s.score.toFixed(4)}`).join(', ')}; max |Δ| score ${d.worst.toExponential(1)}, similarity ${d.worstSim.toExponential(1)}`);
      // What the page shows is what was computed (research tasks once switched on; the switch holds).
      await page.evaluate(() => { const c = document.querySelector('#show-research'); if (c && !c.checked) c.click(); });
      for (const s of got.scores) {
        assert.equal(await page.$eval(`#score-${s.task}`, (e) => e.getAttribute('data-score')), s.score.toFixed(3), s.task);
      }
      assert.equal((await page.$$('#reports li')).length, 3);
      if (i === 0) await page.screenshot({ path: join(await artifactsDir(), 'firefox-desktop.png'), fullPage: true });
    }
    // What Safari records (fragmented MP4, AAC): Firefox's AAC decoder against symphonia's.
    const m4a = safariRecording(TMP);
    const d = assertSame(await screen(page, m4a.path, m4a.kind), predict(m4a.path, m4a.kind), 'firefox recording.m4a (AAC)', 0.02);
    console.log(`# firefox recording.m4a (fragmented MP4, AAC 48 kHz): max |Δ| score ${d.worst.toExponential(1)}, similarity ${d.worstSim.toExponential(1)}`);
    const csp = await page.$eval('meta[http-equiv="Content-Security-Policy"]', (e) => e.getAttribute('content'));
    assert.match(csp, /default-src 'self'/);
    const blocked = await page.evaluate(() => fetch('http://127.0.0.2:9/x').then(() => 'sent', (e) => `blocked: ${e.message}`));
    assert.match(blocked, /^blocked/);
    const origin = new URL(server.url).origin;
    // data: URLs never leave the device (Firefox loads one of its own fonts as one).
    const foreign = requests.filter((u) => !u.startsWith(origin + '/') && !/^(blob|data):/.test(u) && !u.startsWith('http://127.0.0.2:9/'));
    assert.deepEqual(foreign, [], 'no request to another origin');
    const bundleFiles = requests.filter((u) => u.includes('/models/default/')).map((u) => u.split('/').pop());
    console.log(`# firefox: ${requests.length} requests seen, bundle files ${bundleFiles.join(', ')}`);
    assert.ok(bundleFiles.includes('model.safetensors'), `the worker's requests are seen too: ${bundleFiles}`);
    assert.ok(!bundleFiles.includes('text.safetensors'), 'the text side is not fetched for a screening');
    const others = consoleErrors.filter((e) => !/Content[- ]Security[- ]Policy|127\.0\.0\.2|NetworkError/.test(e));
    assert.deepEqual(others, [], 'no console errors');
  } finally {
    await browser.close();
  }
});

test('Firefox: the example recordings (MP3 decoded by Firefox) agree with acula predict', { skip }, async () => {
  const browser = await launchFirefox();
  try {
    const { page, consoleErrors } = await open(browser, '?conference=1');
    const manifest = JSON.parse(readFileSync(join(BUNDLE, 'manifest.json')));
    for (const [i, ex] of manifest.examples.slice(0, 2).entries()) {
      await page.evaluate(() => { window.aculaResult = undefined; });
      await page.click(`#example-${i}`);
      await waitFor(page, settled);
      assert.match(await text(page, '#status'), /Analysis finished/);
      const got = await page.evaluate(() => window.aculaResult);
      const cli = predict(join(BUNDLE, ex.file), ex.recording);
      // Firefox's MP3 decoder is not symphonia: the same tolerance as Chromium's.
      const d = assertSame(got, cli, `example ${i} (MP3 decoded by Firefox vs symphonia)`, 0.02);
      console.log(`# firefox example ${i}: max |Δ| score ${d.worst.toExponential(1)}, similarity ${d.worstSim.toExponential(1)}`);
    }
    assert.deepEqual(consoleErrors, []);
  } finally {
    await browser.close();
  }
});

test('Firefox: bad-input matrix, each file gets its documented outcome and the page keeps working', { skip }, async () => {
  const browser = await launchFirefox();
  try {
    const { page, consoleErrors } = await open(browser, '?backend=cpu');
    await choose(page, 'lung');
    for (const [name, bytes, expected] of badInputs()) {
      const p = join(TMP, name);
      await writeFile(p, bytes);
      await page.evaluate(() => { window.aculaResult = undefined; });
      await upload(page, p);
      await waitFor(page, settled, undefined, 60_000);
      const status = (await text(page, '#status')).trim();
      console.log(`# firefox ${name}: ${status}`);
      const verdict = await page.evaluate(() => window.aculaResult?.quality.verdict ?? null);
      assertOutcome(name, p, expected, status, verdict);
    }
    const big = join(TMP, 'large.wav');
    await writeFile(big, pcmWav(1, 16000, 1));
    await truncate(big, 210e6);
    await upload(page, big);
    await waitFor(page, () => /Could not/.test(document.querySelector('#status')?.textContent || ''), undefined, 60_000);
    assert.match((await text(page, '#status')).trim(), /^Could not analyse the recording: large\.wav is .*the page takes files up to 200 MB/);
    const real = recordings(TMP)[0];
    assert.equal((await screen(page, real.path, real.kind)).quality.verdict, 'ok');
    assert.deepEqual(consoleErrors, []);
  } finally {
    await browser.close();
  }
});

test('Firefox: after the first visit the page and the model work offline', { skip }, async () => {
  const browser = await launchFirefox();
  try {
    const { page } = await open(browser, '?backend=cpu');
    assert.match(await text(page, '#model-line'), /downloaded/);
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
    server.setOffline(true);
    try {
      await page.reload();
      await waitFor(page, modelSettled);
      const line = await text(page, '#model-line');
      console.log(`# firefox offline: ${line.trim()}`);
      assert.match(line, /from this device's cache/, line);
      const r = recordings(TMP)[0];
      assert.equal((await screen(page, r.path, r.kind)).quality.verdict, 'ok');
    } finally {
      server.setOffline(false);
    }
  } finally {
    await browser.close();
  }
});

test('Firefox: a full storage quota, the page says it works only while online and still screens', { skip }, async () => {
  // Firefox's whole temporary storage limited to 1 MiB (the model is ≈ 7 MB).
  const browser = await launchFirefox({ 'dom.quotaManager.temporaryStorage.fixedLimit': 1024 });
  try {
    const { page, consoleErrors } = await open(browser, '?backend=cpu');
    const note = (await page.$eval('#storage-note', (e) => e.textContent).catch(() => '(no storage note)')).trim();
    console.log(`# firefox quota: ${note}`);
    assert.match(note, /^Works only while online: .*storage for the page is full/);
    const r = recordings(TMP)[0];
    assert.equal((await screen(page, r.path, r.kind)).quality.verdict, 'ok');
    assert.deepEqual(consoleErrors, []);
  } finally {
    await browser.close();
  }
});

test('Firefox: recording from its generated microphone stream (WebM/Opus) gives a result', { skip }, async () => {
  const browser = await launchFirefox({
    'media.navigator.streams.fake': true,
    'media.navigator.permission.disabled': true,
  });
  try {
    const { page, consoleErrors } = await open(browser, '?backend=cpu');
    await choose(page, 'cough');
    await page.click('#record');
    await waitFor(page, () => document.querySelector('#rec-timer') !== null, undefined, 30_000);
    await waitFor(page, () => parseFloat(document.querySelector('#rec-timer')?.textContent || '0') >= 3, undefined, 30_000);
    await page.click('#record');
    await waitFor(page, () => /Analysis finished|Could not/.test(document.querySelector('#status')?.textContent || ''));
    const status = await text(page, '#status');
    assert.match(status, /Analysis finished/, status);
    const got = await page.evaluate(() => window.aculaResult);
    console.log(`# firefox microphone: ${(await text(page, '#fact-name')).trim()}, verdict ${got.quality.verdict}, ${got.quality.seconds.toFixed(2)} s`);
    assert.ok(got.quality.seconds >= 2.5, `recorded ${got.quality.seconds} s`);
    assert.deepEqual(consoleErrors, []);
  } finally {
    await browser.close();
  }
});

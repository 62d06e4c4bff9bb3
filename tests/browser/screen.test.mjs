// The screening page in Debian's headless Chromium (Playwright), against the native CLI on the same
// files and the committed default bundle: scores within 1e-3 of `acula predict` and the same reports
// in the same order, on the wasm CPU backend and on WebGPU (Chromium's software adapter); the fake
// microphone fed with a real recording; bad files; offline reload; same-origin requests only; the
// Content-Security-Policy; a sub-path deployment; screenshots at desktop width and at 360 px.
// Run after `trunk build --release` and `cargo build --release -p acula-trainer` (scripts/test.sh).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, truncate } from 'node:fs/promises';
import { mkdtempSync, readFileSync, rmSync, cpSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { DIST, serveDist, launch, openModel, artifactsDir } from './lib.mjs';
import { BUNDLE, HAVE_DATA, recordings, predict, assertSame, pcmWav, badInputs, assertOutcome, settled, safariRecording } from './journeys.mjs';

const TMP = mkdtempSync(join(tmpdir(), 'acula-screen-'));
let server;

before(async () => { server = await serveDist(); });
after(async () => { await server?.close(); });

async function open(context, query = '') {
  return openModel(context, server.url + query);
}

/** Chooses the kind, uploads `file`, waits for the result and returns it (window.aculaResult). */
async function screen(page, file, kind) {
  // Changing the kind re-screens the previous recording; its "Analysis finished" must not be taken for
  // this file's, so wait for this file's name in the facts as well.
  await page.check(`input[name="kind"][value="${kind}"]`);
  await page.evaluate(() => { window.aculaResult = undefined; });
  await page.setInputFiles('#file', file);
  const name = file.split('/').pop();
  await page.waitForFunction((n) => (document.querySelector('#fact-name')?.textContent || '').startsWith(n)
    && /Analysis finished|Could not/.test(document.querySelector('#status')?.textContent || '')
    && window.aculaResult !== undefined
    || /Could not/.test(document.querySelector('#status')?.textContent || ''), name, { timeout: 120_000 });
  const status = await page.textContent('#status');
  assert.match(status, /Analysis finished/, `page status: ${status}`);
  return page.evaluate(() => window.aculaResult);
}

test('screening on the CPU backend equals acula predict; requests, console and CSP are clean', { skip: !HAVE_DATA && 'datasets not found' }, async () => {
  const context = await launch();
  try {
    const { page, consoleErrors, requests } = await open(context, '?backend=cpu');
    assert.match(await page.textContent('#model-line'), /runs on CPU/);
    assert.equal(await page.locator('#storage-note').count(), 0, 'the model was kept: no storage note');
    const dir = await artifactsDir();
    for (const [i, r] of recordings(TMP).entries()) {
      const cli = predict(r.path, r.kind);
      const got = await screen(page, r.path, r.kind);
      const d = assertSame(got, cli, r.path.split('/').pop());
      console.log(`# cpu ${r.path.split('/').pop()}: ${got.scores.map((s) => `${s.task} ${s.score.toFixed(4)}`).join(', ')}; max |Δ| score ${d.worst.toExponential(1)}, similarity ${d.worstSim.toExponential(1)}`);
      // What the page shows is what was computed (research tasks once switched on; the switch holds).
      if (await page.locator('#show-research').count() && !(await page.isChecked('#show-research'))) {
        await page.check('#show-research');
      }
      for (const s of got.scores) {
        assert.equal(await page.getAttribute(`#score-${s.task}`, 'data-score'), s.score.toFixed(3));
      }
      assert.equal(await page.locator('#reports li').count(), 3);
      assert.equal((await page.locator('#reports li p').first().textContent()).trim(), got.reports[0].text);
      if (i === 0) await page.screenshot({ path: join(dir, 'screen-desktop.png'), fullPage: true });
    }
    // What Safari records (fragmented MP4, AAC): Chromium's AAC decoder against symphonia's.
    const m4a = safariRecording(TMP);
    const dm = assertSame(await screen(page, m4a.path, m4a.kind), predict(m4a.path, m4a.kind), 'recording.m4a (AAC)', 0.02);
    console.log(`# cpu recording.m4a (fragmented MP4, AAC 48 kHz): max |Δ| score ${dm.worst.toExponential(1)}, similarity ${dm.worstSim.toExponential(1)}`);
    // The Content-Security-Policy is in force: a request to another origin is refused.
    const csp = await page.getAttribute('meta[http-equiv="Content-Security-Policy"]', 'content');
    assert.match(csp, /default-src 'self'/);
    const blocked = await page.evaluate(() => fetch('http://127.0.0.2:9/x').then(() => 'sent', (e) => `blocked: ${e.message}`));
    assert.match(blocked, /^blocked/);
    const origin = new URL(server.url).origin;
    const foreign = requests.filter((u) => !u.startsWith(origin + '/') && !u.startsWith('blob:') && !u.startsWith('http://127.0.0.2:9/'));
    assert.deepEqual(foreign, [], 'no request to another origin');
    // The bundle's text side is deferred: a screening never downloads it.
    const bundleFiles = requests.filter((u) => u.includes('/models/default/')).map((u) => u.split('/').pop());
    assert.ok(bundleFiles.includes('model.safetensors'), `the bundle was fetched: ${bundleFiles}`);
    assert.ok(!bundleFiles.includes('text.safetensors'), `the text side is not fetched for a screening: ${bundleFiles}`);
    // The injected fetch above is refused by the CSP (logged by Chromium as an error); nothing else.
    const others = consoleErrors.filter((e) => !/Content Security Policy|127\.0\.0\.2|Failed to fetch/.test(e));
    assert.deepEqual(others, [], 'no console errors');
  } finally {
    await context.close();
  }
});

test('WebGPU (software adapter) gives the CPU backend\'s scores within 1e-3', { skip: !HAVE_DATA && 'datasets not found' }, async () => {
  const context = await launch(['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=swiftshader']);
  try {
    // Left to choose, the page keeps to the CPU on a software adapter (SwiftShader is slower) and says so.
    const { page, consoleErrors } = await open(context, '');
    assert.match(await page.textContent('#model-line'), /runs on CPU/);
    assert.match(await page.textContent('#backend-note'), /software renderer/);
    // The user asks for WebGPU: the model moves there (and warms up).
    await page.click('#use-webgpu');
    await page.waitForFunction(() => /runs on WebGPU|WebGPU failed|no WebGPU adapter/.test((document.querySelector('#model-line')?.textContent || '') + (document.querySelector('#backend-note')?.textContent || '')), null, { timeout: 120_000 });
    const line = await page.textContent('#model-line');
    assert.match(line, /runs on WebGPU/, `no WebGPU adapter was used: ${line} ${await page.textContent('.backend').catch(() => '')}`);
    for (const r of recordings(TMP).slice(1, 3)) {
      const cli = predict(r.path, r.kind);
      const got = await screen(page, r.path, r.kind);
      const d = assertSame(got, cli, `webgpu ${r.path.split('/').pop()}`);
      console.log(`# webgpu ${r.path.split('/').pop()}: max |Δ| score ${d.worst.toExponential(1)}, similarity ${d.worstSim.toExponential(1)}`);
    }
    // The user can switch to the CPU and back.
    await page.click('#use-cpu');
    await page.waitForFunction(() => /runs on CPU/.test(document.querySelector('#model-line')?.textContent || ''), null, { timeout: 60_000 });
    assert.deepEqual(consoleErrors, []);
  } finally {
    await context.close();
  }
});

test('bad-input matrix: each file gets its documented outcome and the page keeps working', { skip: !HAVE_DATA && 'datasets not found' }, async () => {
  const context = await launch();
  try {
    const { page, consoleErrors } = await open(context, '?backend=cpu');
    const good = pcmWav(1, 16000, 3);
    const cases = badInputs();
    await page.check('input[name="kind"][value="lung"]');
    for (const [name, bytes, expected] of cases) {
      const p = join(TMP, name);
      await writeFile(p, bytes);
      await page.evaluate(() => { window.aculaResult = undefined; });
      // Choosing a file sets "Reading <name>…" at once, so an earlier outcome cannot be mistaken for this one.
      await page.setInputFiles('#file', p);
      await page.waitForFunction(settled, null, { timeout: 60_000 });
      const status = (await page.textContent('#status')).trim();
      console.log(`# ${name}: ${status}`);
      const verdict = await page.evaluate(() => window.aculaResult?.quality.verdict ?? null);
      assertOutcome(name, p, expected, status, verdict);
      if (expected === 'quality') console.log(`#   ${name}: ${verdict}: ${(await page.textContent('#quality')).trim().slice(0, 120)}`);
    }
    // A 210 MB file (sparse on disk) is refused before it is read, with the limit in the message.
    const big = join(TMP, 'large.wav');
    await writeFile(big, good);
    await truncate(big, 210e6);
    await page.setInputFiles('#file', big);
    await page.waitForFunction(() => /Could not/.test(document.querySelector('#status')?.textContent || ''), null, { timeout: 60_000 });
    const refusal = (await page.textContent('#status')).trim();
    console.log(`# large.wav: ${refusal}`);
    assert.match(refusal, /^Could not analyse the recording: large\.wav is .*the page takes files up to 200 MB/);
    const real = recordings(TMP)[0];
    const got = await screen(page, real.path, real.kind);
    assert.equal(got.quality.verdict, 'ok');
    assert.deepEqual(consoleErrors, []);
  } finally {
    await context.close();
  }
});

test('after the first visit the page and the model work offline', { skip: !HAVE_DATA && 'datasets not found' }, async () => {
  const context = await launch();
  try {
    const { page } = await open(context, '?backend=cpu');
    assert.match(await page.textContent('#model-line'), /downloaded/);
    await page.evaluate(() => navigator.serviceWorker.ready);
    await context.setOffline(true);
    await page.reload();
    await page.waitForFunction(() => /^Model |could not be loaded/.test(document.querySelector('#model-line')?.textContent || ''), null, { timeout: 120_000 });
    const line = await page.textContent('#model-line');
    assert.match(line, /from this device's cache/, line);
    const r = recordings(TMP)[0];
    const got = await screen(page, r.path, r.kind);
    assert.equal(got.quality.verdict, 'ok');
    // The settings page shows what is stored, and deletes it.
    await page.click('summary');
    await page.click('#cache-show');
    await page.waitForFunction(() => /MB in all/.test(document.querySelector('#cache-info')?.textContent || ''));
    console.log(`# stored: ${await page.textContent('#cache-info')}`);
    await page.click('#cache-clear');
    await page.waitForFunction(() => /Deleted/.test(document.querySelector('#cache-info')?.textContent || ''));
    assert.equal(await page.evaluate(async () => (await caches.keys()).length), 0);
  } finally {
    await context.close();
  }
});

test('a full storage quota: the page says it works only while online, and screening still works', { skip: !HAVE_DATA && 'datasets not found' }, async () => {
  const context = await launch();
  try {
    const page = await context.newPage();
    const consoleErrors = [];
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    // Chromium's own quota, lowered for this origin to 1 MB: less than the model (≈ 7 MB).
    const cdp = await context.newCDPSession(page);
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(server.url).origin, quotaSize: 1_000_000 });
    await page.goto(`${server.url}?backend=cpu`);
    await page.waitForFunction(() => /^Model |could not be loaded/.test(document.querySelector('#model-line')?.textContent || ''), null, { timeout: 120_000 });
    const note = (await page.textContent('#storage-note')).trim();
    console.log(`# ${note}`);
    assert.match(note, /^Works only while online: .*storage for the page is full/);
    assert.ok(!note.includes('\n'), 'one line');
    const r = recordings(TMP)[0];
    const got = await screen(page, r.path, r.kind);
    assert.equal(got.quality.verdict, 'ok');
    assert.deepEqual(consoleErrors, []);
  } finally {
    await context.close();
  }
});

test('recording through the fake microphone gives a result', { skip: !HAVE_DATA && 'datasets not found' }, async () => {
  // Chromium plays this WAV as the microphone (it loops it).
  const wav = recordings(TMP)[2].path;
  const context = await launch(['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${wav}`]);
  try {
    const { page, consoleErrors } = await open(context, '?backend=cpu');
    await page.check('input[name="kind"][value="cough"]');
    await page.click('#record');
    await page.waitForSelector('#rec-timer', { timeout: 30_000 });
    await page.waitForFunction(() => parseFloat(document.querySelector('#rec-timer')?.textContent || '0') >= 3, null, { timeout: 30_000 });
    await page.click('#record');
    await page.waitForFunction(() => /Analysis finished|Could not/.test(document.querySelector('#status')?.textContent || ''), null, { timeout: 120_000 });
    const status = await page.textContent('#status');
    assert.match(status, /Analysis finished/, status);
    const got = await page.evaluate(() => window.aculaResult);
    console.log(`# fake microphone: ${await page.textContent('#fact-name')}, verdict ${got.quality.verdict}, ${got.scores.map((s) => `${s.task} ${s.score.toFixed(3)}`).join(', ')}`);
    assert.ok(got.quality.seconds >= 2.5, `recorded ${got.quality.seconds} s`);
    assert.deepEqual(consoleErrors, []);
  } finally {
    await context.close();
  }
});

test('the built site works from a sub-path and at 360 px', { skip: !HAVE_DATA && 'datasets not found' }, async () => {
  const sub = await serveDist('/some/deep/path/');
  const context = await launch();
  try {
    const page = await context.newPage();
    await page.setViewportSize({ width: 360, height: 800 });
    await page.goto(sub.url + '?backend=cpu');
    await page.waitForFunction(() => /^Model /.test(document.querySelector('#model-line')?.textContent || ''), null, { timeout: 120_000 });
    const r = recordings(TMP)[0];
    const got = await screen(page, r.path, r.kind);
    assert.equal(got.quality.verdict, 'ok');
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 360, `the page is ${width} px wide at a 360 px viewport`);
    await page.screenshot({ path: join(await artifactsDir(), 'screen-360px.png'), fullPage: true });
  } finally {
    await context.close();
    await sub.close();
  }
});

test('conference mode: the demo recordings play by keyboard alone, without a microphone', { skip: !HAVE_DATA && 'datasets not found' }, async () => {
  const context = await launch();
  try {
    const { page, consoleErrors } = await open(context, '?backend=cpu&conference=1');
    assert.ok(await page.$('.page.conference'), 'conference mode is on');
    const manifest = JSON.parse(readFileSync(join(BUNDLE, 'manifest.json')));
    assert.ok(manifest.examples.length >= 4, 'the default bundle ships example recordings');
    assert.equal(await page.locator('.examples button').count(), manifest.examples.length);
    // Keyboard only: Tab through the page and note where focus goes; the focused control shows an outline.
    const seen = [];
    for (let i = 0; i < 25; i++) {
      await page.keyboard.press('Tab');
      const f = await page.evaluate(() => {
        const e = document.activeElement;
        return { id: e.id, name: e.getAttribute('name'), outline: getComputedStyle(e).outlineStyle };
      });
      seen.push(f);
      if (f.id === 'example-0') break;
    }
    const ids = seen.map((f) => f.id || f.name);
    for (const want of ['kind', 'record', 'file', 'example-0']) assert.ok(ids.includes(want), `Tab reaches ${want}: ${ids.join(' → ')}`);
    assert.notEqual(seen.at(-1).outline, 'none', 'the focused button shows a visible outline');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => /Analysis finished|Could not/.test(document.querySelector('#status')?.textContent || ''), null, { timeout: 120_000 });
    assert.match(await page.textContent('#status'), /Analysis finished/);
    const got = await page.evaluate(() => window.aculaResult);
    assert.equal(await page.isChecked('input[name="kind"][value="cough"]'), true, 'the example sets its kind');
    // The example is a real covid19-cough recording: the page's scores equal acula predict on the bundle's copy.
    const cli = predict(join(BUNDLE, manifest.examples[0].file), manifest.examples[0].recording);
    assertSame(got, cli, 'example 0 (MP3 decoded by Chromium vs symphonia)', 0.02);
    console.log(`# example 0: page ${got.scores[0]?.score.toFixed(4) ?? 'no score'}, CLI ${cli.scores[0]?.score.toFixed(4) ?? 'no score'}`);
    await page.screenshot({ path: join(await artifactsDir(), 'screen-conference.png'), fullPage: false });
    assert.deepEqual(consoleErrors, []);
  } finally {
    await context.close();
  }
});

test('?bundle= loads a bundle from the same origin, refuses another origin and a damaged bundle', { skip: !HAVE_DATA && 'datasets not found' }, async () => {
  const context = await launch();
  try {
    const { page } = await open(context, '?backend=cpu&bundle=models/default');
    assert.match(await page.textContent('#model-line'), /^Model acula-default/);
    const other = await open(context, '?bundle=https://models.example.org/acula/');
    const line = await other.page.textContent('#model-line');
    assert.match(line, /could not be loaded: .*another origin/, line);
    const missing = await open(context, '?bundle=models/nothing-here/');
    assert.match(await missing.page.textContent('#model-line'), /could not be loaded: .*HTTP 404/);
    // A copy of the bundle with one byte of its heads changed: refused, naming the file.
    const damaged = join(DIST, 'models', 'damaged-for-test');
    rmSync(damaged, { recursive: true, force: true });
    cpSync(join(DIST, 'models', 'default'), damaged, { recursive: true });
    const heads = readFileSync(join(damaged, 'heads.safetensors'));
    heads[heads.length - 1] ^= 0x40;
    await writeFile(join(damaged, 'heads.safetensors'), heads);
    try {
      const bad = await open(context, '?bundle=models/damaged-for-test/');
      const why = await bad.page.textContent('#model-line');
      console.log(`# damaged bundle: ${why}`);
      assert.match(why, /could not be loaded: .*heads\.safetensors is damaged or was changed/, why);
    } finally {
      rmSync(damaged, { recursive: true, force: true });
    }
  } finally {
    await context.close();
  }
});

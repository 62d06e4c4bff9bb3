// The screening page in Debian's headless Chromium (Playwright), against the native CLI on the same
// files and the committed default bundle: scores within 1e-3 of `acula predict` and the same reports
// in the same order, on the wasm CPU backend and on WebGPU (Chromium's software adapter); the fake
// microphone fed with a real recording; bad files; offline reload; same-origin requests only; the
// Content-Security-Policy; a sub-path deployment; screenshots at desktop width and at 360 px.
// Run after `trunk build --release` and `cargo build --release -p acula-trainer` (scripts/test.sh).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, truncate } from 'node:fs/promises';
import { existsSync, readdirSync, mkdtempSync, readFileSync, rmSync, cpSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { DATA, ROOT, DIST, ACULA, serveDist, launch, openModel, artifactsDir, floatWav } from './lib.mjs';

const KAUH = join(DATA, 'kauh-subset', 'Audio Files');
const COUGHS = join(DATA, 'covid19-cough');
const BUNDLE = join(ROOT, 'www', 'models', 'default');
const HAVE_DATA = existsSync(KAUH) && existsSync(COUGHS);
const TMP = mkdtempSync(join(tmpdir(), 'acula-screen-'));
let server;

before(async () => { server = await serveDist(); });
after(async () => { await server?.close(); });

/** Real recordings with their kind: 2 KAUH lung sounds (WAV, 4 kHz) and 2 coughs as the CLI hears
 *  them (MP3 → `acula decode` → 16 kHz float WAV), so the page and the CLI decode identical PCM. */
function recordings() {
  const lungs = readdirSync(KAUH).filter((f) => f.endsWith('.wav')).sort().slice(0, 2)
    .map((f) => ({ path: join(KAUH, f), kind: 'lung' }));
  const meta = JSON.parse(readFileSync(join(COUGHS, 'metadata.json')));
  const mp3s = meta.map((m) => m.filename).sort().slice(0, 2);
  const coughs = mp3s.map((f, i) => {
    const out = join(TMP, `cough-${i}.wav`);
    execFileSync(ACULA, ['decode', join(COUGHS, 'raw', f), '--out', out]);
    return { path: out, kind: 'cough' };
  });
  return [...lungs, ...coughs];
}

/** `acula predict --json` on one file. */
function predict(file, kind) {
  const out = execFileSync(ACULA, ['predict', file, '--bundle', BUNDLE, '--recording', kind, '--json']);
  const [r] = JSON.parse(out.toString());
  // The CLI keys scores by task (in the bundle's task order); the page keeps them as a list.
  r.scores = Object.entries(r.scores).map(([task, s]) => ({ task, ...s }));
  return r;
}

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

/** Scores within `tol` and the same reports in the same order. */
function assertSame(page, cli, label, tol = 1e-3) {
  assert.equal(page.quality.verdict, cli.quality.verdict, `${label}: verdict`);
  assert.deepEqual(page.scores.map((s) => s.task), cli.scores.map((s) => s.task), `${label}: tasks`);
  let worst = 0;
  for (const [i, s] of page.scores.entries()) worst = Math.max(worst, Math.abs(s.score - cli.scores[i].score));
  assert.ok(worst <= tol, `${label}: max |Δscore| ${worst}`);
  assert.deepEqual(page.reports.map((r) => r.record_id), cli.reports.map((r) => r.record_id), `${label}: reports`);
  let worstSim = 0;
  for (const [i, r] of page.reports.entries()) worstSim = Math.max(worstSim, Math.abs(r.similarity - cli.reports[i].similarity));
  assert.ok(worstSim <= tol, `${label}: max |Δsimilarity| ${worstSim}`);
  return { worst, worstSim };
}

test('screening on the CPU backend equals acula predict; requests, console and CSP are clean', { skip: !HAVE_DATA && 'datasets not found' }, async () => {
  const context = await launch();
  try {
    const { page, consoleErrors, requests } = await open(context, '?backend=cpu');
    assert.match(await page.textContent('#model-line'), /runs on CPU/);
    assert.equal(await page.locator('#storage-note').count(), 0, 'the model was kept: no storage note');
    const dir = await artifactsDir();
    for (const [i, r] of recordings().entries()) {
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
    for (const r of recordings().slice(1, 3)) {
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

/** A 16-bit PCM WAV of `seconds` of a chirp with noise on each of `channels` channels. */
function pcmWav(channels, rate, seconds) {
  const frames = Math.round(rate * seconds);
  const buf = Buffer.alloc(44 + frames * channels * 2);
  buf.write('RIFF', 0, 'latin1'); buf.writeUInt32LE(36 + frames * channels * 2, 4); buf.write('WAVE', 8, 'latin1');
  buf.write('fmt ', 12, 'latin1'); buf.writeUInt32LE(16, 16); buf.writeUInt16LE(1, 20); buf.writeUInt16LE(channels, 22);
  buf.writeUInt32LE(rate, 24); buf.writeUInt32LE(rate * channels * 2, 28); buf.writeUInt16LE(channels * 2, 32);
  buf.writeUInt16LE(16, 34); buf.write('data', 36, 'latin1'); buf.writeUInt32LE(frames * channels * 2, 40);
  let seed = 1;
  for (let i = 0; i < frames; i++) {
    const t = i / rate;
    for (let c = 0; c < channels; c++) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      const v = 0.4 * Math.sin(2 * Math.PI * (200 + 400 * t) * t) + 0.1 * (seed / 2147483648 - 0.5);
      buf.writeInt16LE(Math.round(v * 32767 / (c + 1)), 44 + (i * channels + c) * 2);
    }
  }
  return buf;
}

test('bad-input matrix: each file gets its documented outcome and the page keeps working', { skip: !HAVE_DATA && 'datasets not found' }, async () => {
  const context = await launch();
  try {
    const { page, consoleErrors } = await open(context, '?backend=cpu');
    const good = pcmWav(1, 16000, 3);
    const tone = Array.from({ length: 16000 }, (_, i) => 0.3 * Math.sin(i / 5));
    const withNaN = tone.slice(); withNaN[500] = NaN;
    const huge = tone.slice(); huge[700] = 3e38; // found by fuzzing: overflowed the resampler natively
    // [file name, bytes, expected: 'error' (one line "Could not analyse…"), 'quality' (analysed, the
    //  quality verdict says why it is not screened) or 'ok' (screened)]
    const cases = [
      ['noise.wav', Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 7919 + 13) % 251)), 'error'],
      ['empty.mp3', Buffer.alloc(0), 'error'],
      ['notes.wav', Buffer.from('These are my notes, not a recording.\n'.repeat(20)), 'error'],
      ['header-only.wav', good.subarray(0, 12), 'error'],
      ['cut-in-fmt.wav', good.subarray(0, 30), 'error'],
      ['cut-before-first-frame.wav', good.subarray(0, 44), 'error'],
      ['nan.wav', floatWav(withNaN, 16000), 'error'],
      ['huge-sample.wav', floatWav(huge, 16000), 'error'],
      // No sound: the quality check's verdict, as `acula predict` gives it, not a front-end error.
      ['silence.wav', floatWav(new Array(16000).fill(0), 16000), 'quality'],
      ['near-silence.wav', floatWav(tone.map((v) => v * 1e-5), 16000), 'quality'],
      ['dc.wav', floatWav(new Array(16000).fill(0.25), 16000), 'quality'],
      ['clipped.wav', floatWav(tone.map((v) => Math.max(-0.05, Math.min(0.05, v)) * 20), 16000), 'quality'],
      ['wav-named.mp3', good, 'ok'],
      ['six-channels-192k.wav', pcmWav(6, 192000, 1), 'ok'],
    ];
    await page.check('input[name="kind"][value="lung"]');
    for (const [name, bytes, expected] of cases) {
      const p = join(TMP, name);
      await writeFile(p, bytes);
      await page.evaluate(() => { window.aculaResult = undefined; });
      // Choosing a file sets "Reading <name>…" at once, so an earlier outcome cannot be mistaken for this one.
      await page.setInputFiles('#file', p);
      await page.waitForFunction(() => {
        const t = document.querySelector('#status')?.textContent || '';
        return /Could not/.test(t) || (/Analysis finished/.test(t) && window.aculaResult !== undefined);
      }, null, { timeout: 60_000 });
      const status = (await page.textContent('#status')).trim();
      assert.ok(!status.includes('\n'), `${name}: one line`);
      console.log(`# ${name}: ${status}`);
      if (expected === 'error') {
        assert.match(status, /^Could not analyse the recording: /, `${name}: ${status}`);
      } else {
        assert.match(status, /Analysis finished/, `${name}: ${status}`);
        const verdict = await page.evaluate(() => window.aculaResult.quality.verdict);
        assert.equal(verdict === 'ok', expected === 'ok', `${name}: quality verdict ${verdict}`);
        if (expected === 'quality') {
          assert.equal(verdict, predict(p, 'lung').quality.verdict, `${name}: the page's verdict is the CLI's`);
          console.log(`#   ${name}: ${verdict}: ${(await page.textContent('#quality')).trim().slice(0, 120)}`);
        }
      }
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
    const real = recordings()[0];
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
    const r = recordings()[0];
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
    const r = recordings()[0];
    const got = await screen(page, r.path, r.kind);
    assert.equal(got.quality.verdict, 'ok');
    assert.deepEqual(consoleErrors, []);
  } finally {
    await context.close();
  }
});

test('recording through the fake microphone gives a result', { skip: !HAVE_DATA && 'datasets not found' }, async () => {
  // Chromium plays this WAV as the microphone (it loops it).
  const wav = recordings()[2].path;
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
    const r = recordings()[0];
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

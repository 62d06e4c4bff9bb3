// The built page in Debian's headless Chromium (Playwright): upload a real cough, check the
// spectrogram against the native CLI, check wasm = native on identical PCM, and check that the page
// talks to nobody but its own origin. Run after `trunk build --release` and
// `cargo build --release -p acula-trainer` (scripts/test.sh does both).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { existsSync, readdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import {
  DATA, ACULA, serveDist, launch, openPage, cliFeatures, readWav, artifactsDir, diff,
} from './lib.mjs';

const COUGHS = join(DATA, 'covid19-cough');
const KAUH = join(DATA, 'kauh-subset', 'Audio Files');
let server, context;

before(async () => {
  server = await serveDist();
  context = await launch();
});
after(async () => {
  await context?.close();
  await server?.close();
});

/** Two real coughs: one from each recording source (48 kHz bot, 8 kHz call centre). */
function realCoughs() {
  const meta = JSON.parse(readFileSync(join(COUGHS, 'metadata.json')));
  const bySource = {};
  for (const m of meta.sort((a, b) => a.filename.localeCompare(b.filename))) {
    (bySource[m.source] ||= []).push(join(COUGHS, 'raw', m.filename));
  }
  return Object.values(bySource).map((files) => files.find(existsSync)).filter(Boolean);
}

test('uploading a real cough draws its spectrogram, matching the CLI', { skip: !existsSync(COUGHS) && `${COUGHS} not found` }, async () => {
  const { page, consoleErrors, requests } = await openPage(context, server.url);
  const origin = new URL(server.url).origin;
  const dir = await artifactsDir();
  const coughs = realCoughs();
  assert.ok(coughs.length >= 2, 'expected coughs from both sources');
  for (const [i, cough] of coughs.entries()) {
    await page.evaluate(() => { window.aculaLast = undefined; });
    await page.setInputFiles('#file', cough);
    await page.waitForFunction(() => window.aculaLast || /Could not/.test(document.querySelector('#status')?.textContent || ''), null, { timeout: 60_000 });
    const status = await page.textContent('#status');
    assert.doesNotMatch(status, /Could not/, `page status: ${status}`);
    const shown = Number(await page.textContent('#fact-frames'));
    const last = await page.evaluate(() => ({ frames: window.aculaLast.frames, nMels: window.aculaLast.nMels, data: Array.from(window.aculaLast.data) }));
    assert.equal(shown, last.frames, 'frame count shown = frames computed');
    assert.equal(last.nMels, 64);
    assert.equal(last.data.length, last.frames * 64);
    // Values are a scaled log-mel spectrogram: within [0, 1], touching both ends.
    assert.equal(Math.min(...last.data), 0);
    assert.equal(Math.max(...last.data), 1);
    // Same file through the native CLI (symphonia's MP3 decoder instead of the browser's): the
    // decoders differ in how many priming/padding samples they drop, so allow a frame or two, and
    // compare values over the common frames, aligned by cross-checking offsets −2..2.
    const cli = await cliFeatures(cough);
    assert.ok(Math.abs(cli.shape[0] - last.frames) <= 2, `CLI ${cli.shape[0]} frames, page ${last.frames}`);
    let best = { max: Infinity, mean: Infinity, shift: 0 };
    for (let shift = -2; shift <= 2; shift++) {
      const n = Math.min(last.frames, cli.shape[0]) - Math.abs(shift);
      const a = last.data.slice(Math.max(0, shift) * 64, (Math.max(0, shift) + n) * 64);
      const b = Array.from(cli.data.slice(Math.max(0, -shift) * 64, (Math.max(0, -shift) + n) * 64));
      const d = { ...diff(a, b), shift };
      if (d.mean < best.mean) best = d;
    }
    console.log(`# ${cough.split('/').pop()}: page ${last.frames} frames, CLI ${cli.shape[0]}; best shift ${best.shift}: max ${best.max.toExponential(2)}, mean ${best.mean.toExponential(2)}`);
    assert.ok(best.mean < 0.02, `mean |page − CLI| = ${best.mean}`);
    await page.screenshot({ path: join(dir, `page-cough-${i}.png`), fullPage: true });
  }
  assert.deepEqual(consoleErrors, [], 'no console errors');
  const foreign = requests.filter((u) => !u.startsWith(origin + '/'));
  assert.deepEqual(foreign, [], 'no request to another origin');
});

test('wasm front end = native CLI on the same PCM (max |Δ| ≤ 1e-5)', { skip: !existsSync(KAUH) && `${KAUH} not found` }, async () => {
  const { page, consoleErrors } = await openPage(context, server.url);
  const tmp = mkdtempSync(join(tmpdir(), 'acula-pcm-'));
  const kauh = readdirSync(KAUH).filter((f) => f.endsWith('.wav')).sort().slice(0, 2).map((f) => join(KAUH, f));
  const files = [...kauh, ...realCoughs()];
  for (const file of files) {
    const name = file.split('/').pop();
    // The CLI decodes and resamples to 16 kHz (`acula decode`); the same PCM goes into the page's wasm
    // front end; the reference is `acula features` on the original file (the same pipeline natively).
    const wav = join(tmp, 'pcm16k.wav');
    execFileSync(ACULA, ['decode', file, '--out', wav]);
    const pcm = readWav(readFileSync(wav));
    assert.equal(pcm.rate, 16000);
    const cli = await cliFeatures(file);
    const wasm = await page.evaluate(([p]) => Array.from(window.wasmBindings.frontEndFeatures(new Float32Array(p), 16000)), [Array.from(pcm.samples)]);
    assert.equal(wasm.length, cli.data.length, `${name}: ${wasm.length / 64} vs ${cli.shape[0]} frames`);
    const d = diff(wasm, cli.data);
    console.log(`# ${name}: ${cli.shape[0]} frames, max |wasm − native| ${d.max.toExponential(2)}, mean ${d.mean.toExponential(2)}`);
    assert.ok(d.max <= 1e-5, `${name}: max |Δ| ${d.max}`);
  }
  // With resampling inside wasm too (4 kHz PCM in): rubato's f32 FFTs run different kernels natively
  // (AVX) and in wasm (scalar), so agreement is at the f32-rounding level, not bit-exact.
  const raw = readWav(readFileSync(kauh[0]));
  const cli = await cliFeatures(kauh[0]);
  const wasm = await page.evaluate(([p, r]) => Array.from(window.wasmBindings.frontEndFeatures(new Float32Array(p), r)), [Array.from(raw.samples), raw.rate]);
  const d = diff(wasm, cli.data);
  console.log(`# resampled in wasm (${raw.rate} Hz in): max |wasm − native| ${d.max.toExponential(2)}, mean ${d.mean.toExponential(2)}`);
  assert.ok(d.max <= 1e-3 && d.mean <= 1e-5, `resampled path: ${JSON.stringify(d)}`);
  assert.deepEqual(consoleErrors, []);
});

test('dropping a recording on the drop zone analyses it', { skip: !existsSync(KAUH) && `${KAUH} not found` }, async () => {
  const { page, consoleErrors } = await openPage(context, server.url);
  const file = readdirSync(KAUH).filter((f) => f.endsWith('.wav')).sort()[0];
  const bytes = Array.from(readFileSync(join(KAUH, file)));
  // A real drop event carrying a real File, as a drag from the desktop produces.
  await page.evaluate(([data, name]) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(data)], name, { type: 'audio/wav' }));
    const zone = document.querySelector('.dropzone');
    zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, [bytes, file]);
  await page.waitForFunction(() => window.aculaLast || /Could not/.test(document.querySelector('#status')?.textContent || ''), null, { timeout: 30_000 });
  assert.doesNotMatch(await page.textContent('#status'), /Could not/);
  const cli = await cliFeatures(join(KAUH, file));
  assert.equal(Number(await page.textContent('#fact-frames')), cli.shape[0]);
  assert.match(await page.textContent('#fact-rate'), /^4000 Hz, 1 channel/);
  assert.deepEqual(consoleErrors, []);
});

test('a file that is not audio gets a one-line error on the page', async () => {
  const { page, consoleErrors } = await openPage(context, server.url);
  assert.equal(await page.$('#loading'), null, 'the loading line is gone once the app runs');
  const tmp = mkdtempSync(join(tmpdir(), 'acula-bad-'));
  const bad = join(tmp, 'noise.mp3');
  await writeFile(bad, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)));
  await page.setInputFiles('#file', bad);
  await page.waitForFunction(() => /Could not/.test(document.querySelector('#status')?.textContent || ''), null, { timeout: 30_000 });
  const status = (await page.textContent('#status')).trim();
  assert.match(status, /^Could not analyse the recording: /);
  assert.ok(!status.includes('\n'));
  assert.deepEqual(consoleErrors, []);
});

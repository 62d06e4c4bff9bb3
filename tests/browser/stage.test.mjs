// Stage mode (conference mode), in headless Chromium (Playwright) with its fake microphone playing real
// coughs: while recording, the page screens the last six seconds every two seconds (window.aculaLive:
// the updates and each one's lag, hand-over to shown, printed here), shows the scores in large type,
// and screens the whole recording when it stops; the QR code drawn on the page decodes (jsQR, in Node)
// to the page's own address. Outside stage mode there is neither. Run after `trunk build --release`
// (scripts/test.sh does it).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jsQR from 'jsqr';
import { serveDist, launch, openModel, readWav, floatWav } from './lib.mjs';
import { HAVE_DATA, recordings } from './journeys.mjs';

const TMP = mkdtempSync(join(tmpdir(), 'acula-stage-'));
let server;

before(async () => {
  server = await serveDist();
});
after(async () => {
  await server?.close();
});

/** A WAV for the fake microphone: a real cough recording three times, a second of quiet after each. */
function coughsWav() {
  const { rate, samples } = readWav(readFileSync(recordings(TMP)[2].path));
  const gap = new Float32Array(rate);
  const parts = [samples, gap, samples, gap, samples, gap];
  const all = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { all.set(p, at); at += p.length; }
  const path = join(TMP, 'stage-coughs.wav');
  writeFileSync(path, floatWav(all, rate));
  return { path, seconds: all.length / rate };
}

test('stage mode: live scores every two seconds while recording, and a QR code of the page', { skip: !HAVE_DATA && 'datasets not found' }, async () => {
  const wav = coughsWav();
  const context = await launch(['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${wav.path}`]);
  try {
    const { page, consoleErrors } = await openModel(context, server.url + '?backend=cpu&conference=1');
    const address = new URL(server.url).origin + new URL(server.url).pathname;

    // The QR code, read back from the canvas pixels.
    const qr = await page.evaluate(() => {
      const c = document.querySelector('#qr');
      return { w: c.width, h: c.height, data: Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data) };
    });
    const code = jsQR(Uint8ClampedArray.from(qr.data), qr.w, qr.h);
    assert.ok(code, 'the QR code decodes');
    assert.equal(code.data, address);
    assert.equal((await page.textContent('#qr-address')).trim(), address);
    // The test server is on 127.0.0.1, which a phone cannot reach: the page says so and what to do.
    assert.match(await page.textContent('#qr-local'), /phone that scans it cannot reach this page.*HOST=0\.0\.0\.0/);

    await page.check('input[name="kind"][value="cough"]');
    await page.click('#record');
    await page.waitForSelector('#live-results');
    await page.waitForFunction(() => (window.aculaLive?.updates || 0) >= 4, null, { timeout: 60_000 });
    const live = await page.evaluate(() => window.aculaLive);
    const lags = [...live.lagsMs].sort((a, b) => a - b);
    console.log(`# stage mode (${wav.seconds.toFixed(1)} s of coughs looped): ${live.updates} updates, ${live.skipped} skipped; lag hand-over → shown: median ${(lags[Math.floor(lags.length / 2)]).toFixed(0)} ms, max ${lags.at(-1).toFixed(0)} ms; latest at ${live.latest.atS.toFixed(1)} s: ${live.latest.verdict} ${live.latest.scores.map((s) => `${s.task} ${s.score.toFixed(3)}`).join(', ')}`);
    // Each update screened a later window than the one before.
    assert.ok(live.latest.atS >= 2 * live.updates - 1, `the latest window ends at ${live.latest.atS} s after ${live.updates} updates`);
    assert.equal(live.lagsMs.length, live.updates);
    assert.ok(live.lagsMs.every((l) => l > 0), 'lags are measured');
    const shown = (await page.locator('#live-results .live-score').allTextContents()).map((t) => t.trim());
    if (live.latest.verdict === 'ok') {
      for (const s of live.latest.scores) assert.ok(shown.some((t) => t.endsWith(s.score.toFixed(2))), `${JSON.stringify(shown)} shows ${s.score}`);
    } else {
      assert.ok(shown.length === 1 && shown[0].length > 0, JSON.stringify(shown));
    }
    assert.match(await page.textContent('#live-when'), /shown \d+\.\d\d s after/);

    // Stopping screens the whole recording as usual.
    await page.click('#record');
    await page.waitForFunction(() => /Analysis finished|Could not/.test(document.querySelector('#status')?.textContent || ''), null, { timeout: 120_000 });
    assert.match(await page.textContent('#status'), /Analysis finished/);
    const whole = await page.evaluate(() => window.aculaResult);
    assert.ok(whole.quality.seconds >= 7, `the whole recording (${whole.quality.seconds} s) is screened`);
    assert.deepEqual(consoleErrors, []);

    // Outside stage mode: no live scores, no QR code.
    const plain = await context.newPage();
    await plain.goto(server.url + '?backend=cpu');
    await plain.waitForFunction(() => /^Model /.test(document.querySelector('#model-line')?.textContent || ''), null, { timeout: 120_000 });
    await plain.check('input[name="kind"][value="cough"]');
    await plain.click('#record');
    await plain.waitForFunction(() => parseFloat(document.querySelector('#rec-timer')?.textContent || '0') >= 4.5, null, { timeout: 30_000 });
    assert.equal(await plain.locator('#live-results').count(), 0);
    assert.equal(await plain.locator('#qr').count(), 0);
    assert.equal(await plain.evaluate(() => window.aculaLive), undefined);
    await plain.click('#record');
  } finally {
    await context.close();
  }
});

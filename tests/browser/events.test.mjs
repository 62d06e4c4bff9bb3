// The coughs the page finds and what drove a score, in headless Chromium (Playwright) on the built page
// and the committed default bundle: a cough example is screened on the coughs found (listed, and the
// same as `acula predict`'s segments); ticking "Show what drove each score" screens again and lists one
// contribution per cough, equal to `acula predict --contributions`; a loud hum said to be a cough gets
// "No cough found" and no score. Run after `trunk build --release` (scripts/test.sh does it).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, ACULA, serveDist, launch, openModel, floatWav, screened } from './lib.mjs';

const BUNDLE = join(ROOT, 'www', 'models', 'default');
const MANIFEST = JSON.parse(readFileSync(join(BUNDLE, 'manifest.json')));
const COUGHS = MANIFEST.examples.map((e, i) => ({ ...e, button: `#example-${i}` })).filter((e) => e.recording === 'cough');
const DETECTS = MANIFEST.events != null;
let server, context;

before(async () => {
  server = await serveDist();
  context = await launch();
});
after(async () => {
  await context?.close();
  await server?.close();
});

/** `acula predict --json` (with `flags`) on one file with the default bundle, as a cough. */
function predict(file, flags = []) {
  const out = execFileSync(ACULA, ['predict', file, '--bundle', BUNDLE, '--recording', 'cough', '--json', ...flags]);
  return JSON.parse(out.toString())[0];
}

test('a cough is screened on the coughs found, and what drove its score is shown per cough', {
  skip: (!DETECTS && 'the default bundle does not screen coughs on their detected coughs')
    || (COUGHS.length === 0 && 'the default bundle has no cough example'),
}, async () => {
  const { page, consoleErrors: errors } = await openModel(context, server.url + '?backend=cpu');
  const example = COUGHS[0];
  const got = await screened(page, () => page.click(example.button));
  const cli = predict(join(BUNDLE, example.file), ['--contributions']);
  const coughs = got.segments.filter((s) => s.kind === 'cough');
  console.log(`# ${example.file}: ${coughs.length} coughs: ${coughs.map((s) => `${s.start.toFixed(2)}–${s.end.toFixed(2)}`).join(', ')}`);
  assert.ok(coughs.length >= 1, JSON.stringify(got.segments));
  // The page's coughs are the CLI's (the page decodes with the browser; the same file, the same detector).
  assert.equal(got.segments.length, cli.segments.length, 'as many segments as acula predict');
  for (const [i, s] of got.segments.entries()) {
    assert.ok(Math.abs(s.start - cli.segments[i].start) <= 0.011 && Math.abs(s.end - cli.segments[i].end) <= 0.011,
      `segment ${i}: page ${JSON.stringify(s)}, CLI ${JSON.stringify(cli.segments[i])}`);
  }
  const line = (await page.textContent('#coughs')).replace(/\s+/g, ' ');
  assert.match(line, coughs.length === 1 ? /Screened on the one cough found/ : new RegExp(`Screened on the ${coughs.length} coughs found`));
  assert.match(await page.textContent('.spectrogram figcaption'), /yellow boxes are the coughs found/);
  assert.equal(await page.locator('#contributions').count(), 0, 'no contributions until asked for');
  assert.equal(got.contributions, undefined);
  // Asked for: screened again, one contribution per cough (none with a single cough), as the CLI's.
  const explained = await screened(page, () => page.check('#explain'));
  const contributions = explained.contributions || [];
  console.log(`# contributions: ${contributions.map((c) => `${c.start.toFixed(2)}–${c.end.toFixed(2)} ${JSON.stringify(c.scores)}`).join('; ')}`);
  assert.equal(contributions.length, coughs.length > 1 ? coughs.length : 0);
  assert.equal(contributions.length, (cli.contributions || []).length);
  for (const [i, c] of contributions.entries()) {
    for (const [task, d] of Object.entries(c.scores)) {
      assert.ok(Math.abs(d - cli.contributions[i].scores[task]) <= 2e-3, `${task} part ${i}: page ${d}, CLI ${cli.contributions[i].scores[task]}`);
    }
  }
  if (contributions.length) {
    assert.equal(await page.locator('#contributions li').count(), contributions.length);
    assert.match(await page.textContent('#contributions'), /\d\.\d\d–\d\.\d\d s: .+ [+-]\d\.\d{3}/);
  }
  // The scores did not change by asking.
  assert.deepEqual(explained.scores, got.scores);
  await page.uncheck('#explain');
  assert.deepEqual(errors, []);
  await page.close();
});

test('a loud hum said to be a cough: "No cough found" and no score', {
  skip: !DETECTS && 'the default bundle does not screen coughs on their detected coughs',
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'acula-events-'));
  const file = join(dir, 'hum.wav');
  const rate = 16000;
  const hum = Float32Array.from({ length: rate * 4 }, (_, i) => 0.3 * Math.sin(2 * Math.PI * 220 * i / rate));
  writeFileSync(file, floatWav(Array.from(hum), rate));
  const { page, consoleErrors } = await openModel(context, server.url + '?backend=cpu');
  await page.check('input[name="kind"][value="cough"]');
  const got = await screened(page, () => page.setInputFiles('#file', file));
  assert.equal(got.quality.verdict, 'no_cough');
  assert.deepEqual(got.scores, []);
  assert.equal((await page.textContent('#quality h3')).trim(), 'No cough found in the recording');
  assert.match(await page.textContent('#quality'), /record two or three strong coughs/);
  assert.equal(predict(file).verdict, 'no_cough', 'acula predict agrees');
  assert.deepEqual(consoleErrors, []);
  await page.close();
});

test('the print view: the summary with the date, the model and its caveat, the results, no controls', {
  skip: COUGHS.length === 0 && 'the default bundle has no cough example',
}, async () => {
  const { page, consoleErrors } = await openModel(context, server.url + '?backend=cpu');
  const got = await screened(page, () => page.click(COUGHS[0].button));
  assert.equal(await page.isVisible('#print-summary'), false, 'the summary is for print only');
  // The button opens the browser's print dialog (replaced here: headless Chromium has none).
  await page.evaluate(() => { window.aculaPrinted = 0; window.print = () => { window.aculaPrinted += 1; }; });
  await page.click('#print');
  assert.equal(await page.evaluate(() => window.aculaPrinted), 1);
  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.isVisible('#print-summary'), true);
  const summary = (await page.textContent('#print-summary')).replace(/\s+/g, ' ');
  console.log(`# print summary: ${summary}`);
  // The date and time in the page's language and the browser's time zone ("Dec 1, 2026, 7:40 AM").
  assert.match(summary, new RegExp(`Screened on [^.]*${new Date().getFullYear()}[^.]*\\d:\\d\\d[^.]* on this device`));
  assert.ok(summary.includes(`${MANIFEST.name} ${MANIFEST.version}`), summary);
  assert.ok(summary.includes(MANIFEST.intended_use.slice(0, 40)), summary);
  assert.match(summary, /Recording kind: Cough/);
  for (const sel of ['.inputs', '.examples', '.settings', '.kinds', '.model', '#download', '#print', '#explain', '#status', '#history', '#lang']) {
    assert.equal(await page.isVisible(sel), false, `${sel} is not printed`);
  }
  assert.equal(await page.isVisible('#results'), true);
  assert.equal(await page.isVisible('.spectrogram canvas'), true);
  const task = MANIFEST.tasks.find((t) => t.recording === 'cough' && got.scores.some((s) => s.task === t.id));
  if (task?.metrics?.test_auroc != null) {
    assert.equal(await page.isVisible(`#score-${task.id}`), true);
    assert.match(await page.textContent(`#score-${task.id} .accuracy`), new RegExp(`held-out test AUROC ${task.metrics.test_auroc.toFixed(2)}`));
  }
  await page.emulateMedia({ media: 'screen' });
  assert.equal(await page.isVisible('#print-summary'), false);
  assert.deepEqual(consoleErrors, []);
  await page.close();
});

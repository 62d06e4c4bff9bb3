// How far the page's scores can be trusted, in headless Chromium (Playwright) on the built page and
// the committed default bundle, using only the bundle's own example recordings (no dataset, no CLI):
// a recording unlike a kind's training recordings gets a notice and no score for that kind; research
// tasks (trained on synthetic recordings only) are hidden until the user switches them on; a
// calibrated task's score reads "estimated probability"; the downloaded result carries all of it.
// Run after `trunk build --release` (scripts/test.sh does it).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, serveDist, launch } from './lib.mjs';

const MANIFEST = JSON.parse(readFileSync(join(ROOT, 'www', 'models', 'default', 'manifest.json')));
const EXAMPLES = MANIFEST.examples.map((e, i) => ({ ...e, button: `#example-${i}` }));
const COUGHS = EXAMPLES.filter((e) => e.recording === 'cough');
const RESEARCH = MANIFEST.tasks.filter((t) => t.synthetic);
const CALIBRATED_COUGH = MANIFEST.tasks.find((t) => t.recording === 'cough' && t.calibration);
const HEART_FAMILIARITY = (MANIFEST.familiarity?.kinds || []).some((k) => k.recording === 'heart');
let server, context;

before(async () => {
  server = await serveDist();
  context = await launch();
});
after(async () => {
  await context?.close();
  await server?.close();
});

/** Opens the page on the CPU backend, records console errors, waits for the model. */
async function open() {
  const page = await context.newPage();
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  await page.goto(server.url + '?backend=cpu');
  await page.waitForFunction(() => /^Model |could not be loaded/.test(document.querySelector('#model-line')?.textContent || ''), null, { timeout: 120_000 });
  assert.match(await page.textContent('#model-line'), /^Model /);
  return { page, consoleErrors };
}

/** Does `action` (a click that screens a recording) and waits for its results; returns them. */
async function screened(page, action) {
  await page.evaluate(() => { window.aculaResult = undefined; });
  await action();
  await page.waitForFunction(() => {
    const s = document.querySelector('#status')?.textContent || '';
    return /Could not/.test(s) || (/Analysis finished/.test(s) && window.aculaResult !== undefined);
  }, null, { timeout: 120_000 });
  const status = await page.textContent('#status');
  assert.match(status, /Analysis finished/, `page status: ${status}`);
  await page.waitForSelector('#results #quality');
  const result = await page.evaluate(() => window.aculaResult);
  assert.equal(result.quality.verdict, 'ok', 'the example passes the quality check');
  return result;
}

/** Clicks an example (its kind becomes the chosen kind) and waits for its results. */
const playExample = (page, example) => screened(page, () => page.click(example.button));

/** Chooses another recording kind (the recording is screened again) and waits for the results. */
const chooseKind = (page, kind) => screened(page, () => page.check(`input[name="kind"][value="${kind}"]`));

test('a cough screened as heart sounds: "unlike the heart recordings", and no murmur score', {
  skip: (!HEART_FAMILIARITY && 'the default bundle has no familiarity check for heart recordings')
    || (COUGHS.length === 0 && 'the default bundle has no cough example'),
}, async () => {
  const { page, consoleErrors } = await open();
  // An example sets its own kind (cough); then the user says it is heart sounds.
  await playExample(page, COUGHS[0]);
  assert.equal(await page.isChecked('input[name="kind"][value="cough"]'), true);
  const got = await chooseKind(page, 'heart');
  const heart = got.familiarity.find((f) => f.recording === 'heart');
  console.log(`# ${COUGHS[0].file} as heart: distance ${heart?.distance.toFixed(3)}, limit ${heart?.threshold.toFixed(3)}`);
  assert.equal(heart?.familiar, false, `a cough is unfamiliar to heart recordings: ${JSON.stringify(got.familiarity)}`);
  const notice = (await page.textContent('#familiarity-heart')).replace(/\s+/g, ' ');
  assert.match(notice, /unlike the heart recordings/);
  assert.match(notice, /no score is given/);
  for (const t of MANIFEST.tasks.filter((t) => t.recording === 'heart')) {
    assert.ok(!got.scores.some((s) => s.task === t.id), `no ${t.id} score computed`);
    assert.equal(await page.locator(`#score-${t.id}`).count(), 0, `no ${t.id} score shown`);
  }
  // With the research tasks shown, the murmur task is listed, still without a score.
  if (await page.locator('#show-research').count()) {
    await page.check('#show-research');
    for (const t of RESEARCH.filter((t) => t.recording === 'heart')) {
      await page.waitForSelector(`#unscored-${t.id}`);
      assert.equal(await page.locator(`#score-${t.id}`).count(), 0);
    }
  }
  // The downloaded result carries the verdict.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  const saved = JSON.parse(readFileSync(await download.path()));
  assert.equal(saved.recording, 'heart');
  assert.deepEqual(saved.familiarity, got.familiarity);
  assert.ok(!saved.scores.some((s) => s.task === 'heart_murmur'));
  assert.deepEqual(consoleErrors, []);
});

test('research tasks are hidden by default and listed once switched on', {
  skip: RESEARCH.length === 0 && 'the default bundle has no research task',
}, async () => {
  const { page, consoleErrors } = await open();
  // A kind with research tasks, through one of its own examples when there is one.
  const kind = RESEARCH[0].recording;
  const research = RESEARCH.filter((t) => t.recording === kind);
  const own = EXAMPLES.filter((e) => e.recording === kind);
  let got = own.length ? await playExample(page, own[0]) : await playExample(page, EXAMPLES[0]);
  if (!own.length) got = await chooseKind(page, kind);
  console.log(`# ${kind}: scores ${got.scores.map((s) => `${s.task} ${s.score.toFixed(3)}`).join(', ') || 'none'}; familiarity ${JSON.stringify(got.familiarity)}`);
  const visibleTasks = () => page.$$eval('#results li.score', (els) => els.map((e) => e.id));
  // Off by default: nothing of the research tasks is listed, one line says how many are hidden.
  assert.equal(await page.isChecked('#show-research'), false);
  const hidden = (await page.textContent('#research-hidden')).replace(/\s+/g, ' ');
  console.log(`# hidden: ${hidden}`);
  assert.match(hidden, /research task/);
  assert.match(hidden, /Tick “Show research tasks”/);
  assert.equal(await page.locator('#research-title').count(), 0);
  for (const t of research) {
    assert.ok(!(await visibleTasks()).some((id) => id.endsWith(`-${t.id}`)), `${t.id} is not listed while hidden`);
  }
  // On: the heading, and each research task with its score (or why it has none).
  await page.check('#show-research');
  await page.waitForSelector('#research-title');
  assert.equal((await page.textContent('#research-title')).trim(), 'Research tasks (trained on synthetic sounds)');
  assert.equal(await page.locator('#research-hidden').count(), 0);
  for (const t of research) {
    const s = got.scores.find((s) => s.task === t.id);
    if (s) {
      assert.equal(await page.getAttribute(`#research-tasks #score-${t.id}`, 'data-score'), s.score.toFixed(3));
      assert.equal(s.research, true, `${t.id} is flagged as research in the result`);
    } else {
      assert.match(await page.textContent(`#research-tasks #unscored-${t.id}`), /No score: the recording is unlike/);
    }
  }
  // The switch holds for the next recording, and switches off again.
  if (own.length > 1) {
    await playExample(page, own[1]);
    assert.equal(await page.isChecked('#show-research'), true);
    await page.waitForSelector('#research-title');
  }
  await page.uncheck('#show-research');
  await page.waitForSelector('#research-hidden');
  assert.equal(await page.locator('#research-tasks').count(), 0);
  assert.deepEqual(consoleErrors, []);
});

test('a cough shows the calibrated COVID-19 task as an "estimated probability"', {
  skip: (!CALIBRATED_COUGH && 'the default bundle has no calibrated cough task')
    || (COUGHS.length === 0 && 'the default bundle has no cough example'),
}, async () => {
  const { page, consoleErrors } = await open();
  const id = CALIBRATED_COUGH.id;
  // The first cough example the bundle finds familiar (each should be: they are real coughs).
  let got, example;
  for (example of COUGHS) {
    got = await playExample(page, example);
    if (got.scores.some((s) => s.task === id)) break;
    console.log(`# ${example.file}: not scored (${JSON.stringify(got.familiarity)})`);
  }
  const s = got.scores.find((s) => s.task === id);
  assert.ok(s, `some cough example gets a ${id} score`);
  assert.equal(s.calibrated, true);
  assert.equal(s.research, false);
  const value = (await page.textContent(`#score-${id} .score-value`)).replace(/\s+/g, ' ').trim();
  console.log(`# ${example.file}: ${id} ${value}`);
  assert.equal(value, `estimated probability ${Math.round(s.score * 100)} %`);
  assert.match(await page.textContent(`#score-${id}`), /Estimated probability \d+ % of/);
  assert.equal(await page.locator('#familiarity-cough').count(), 0, 'no unfamiliar notice for a familiar cough');
  // The accuracy line quotes the held-out AUROC (with its interval when the manifest has one).
  const accuracy = (await page.textContent(`#score-${id} .accuracy`)).replace(/\s+/g, ' ');
  console.log(`# accuracy: ${accuracy}`);
  const m = CALIBRATED_COUGH.metrics || {};
  if (m.test_auroc != null) assert.match(accuracy, new RegExp(`held-out test AUROC ${m.test_auroc.toFixed(2)}`));
  if (m.test_interval) assert.match(accuracy, new RegExp(`\\[${m.test_interval[0].toFixed(2)}, ${m.test_interval[1].toFixed(2)}\\]`));
  if (m.test_by_group && m.group_by) assert.match(accuracy, new RegExp(`within ${m.group_by}: `));
  // The downloaded result carries the new score fields and the familiarity.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  const saved = JSON.parse(readFileSync(await download.path()));
  const savedScore = saved.scores.find((x) => x.task === id);
  assert.equal(savedScore.calibrated, true);
  assert.equal(savedScore.research, false);
  assert.deepEqual(saved.familiarity, got.familiarity ?? []);
  assert.deepEqual(consoleErrors, []);
});

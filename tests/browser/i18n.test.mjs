// The page's languages, in headless Chromium (Playwright) on the built page and the committed default
// bundle: a browser that prefers Russian gets the page in Russian (`<html lang>`, the text, the status
// line, the results with decimal commas, the date of the print summary in Russian); the switch turns it
// into English at once and the choice holds across a reload; a browser language without a catalogue
// gets English, and `?lang=ru` asks for Russian. Run after `trunk build --release` (scripts/test.sh).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, serveDist, launch } from './lib.mjs';

const EN = JSON.parse(readFileSync(join(ROOT, 'app', 'i18n', 'en.json')));
const RU = JSON.parse(readFileSync(join(ROOT, 'app', 'i18n', 'ru.json')));
let server;

before(async () => {
  server = await serveDist();
});
after(async () => {
  await server?.close();
});

/** Opens the page and waits until the model is loaded (the model line in either language). */
async function open(context, query = '?backend=cpu') {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(server.url + query);
  await page.waitForFunction(() => /^(Model|Модель) /.test(document.querySelector('#model-line')?.textContent || ''), null, { timeout: 120_000 });
  return { page, errors };
}

/** Screens the first example and waits for the results. */
async function screenExample(page, done) {
  await page.click('#example-0');
  await page.waitForFunction((done) => document.querySelector('#status')?.textContent === done, done, { timeout: 120_000 });
}

test('a browser that prefers Russian gets the page in Russian; the switch turns it into English and is remembered', async () => {
  const context = await launch([], { locale: 'ru-RU' });
  try {
    const { page, errors } = await open(context);
    assert.equal(await page.evaluate(() => navigator.language), 'ru-RU');
    assert.equal(await page.getAttribute('html', 'lang'), 'ru');
    assert.equal(await page.inputValue('#lang'), 'ru');
    assert.equal(await page.title(), RU['page.title']);
    assert.equal((await page.textContent('.tagline')).trim(), RU['page.tagline']);
    assert.equal((await page.textContent('#status')).trim(), RU['status.ready']);
    assert.match(await page.textContent('#model-line'), /работает на процессоре/);
    await screenExample(page, RU['status.done']);
    const verdict = (await page.textContent('#quality h3')).trim();
    assert.ok(Object.entries(RU).some(([k, v]) => k.startsWith('verdict.') && v === verdict), `a Russian verdict: ${verdict}`);
    // Numbers with a decimal comma: each score's AUROC line and the quality facts.
    const accuracy = await page.textContent('.accuracy');
    assert.match(accuracy, /Измерено \(0,5 — случайность/);
    assert.match(accuracy, /\d,\d\d/);
    assert.doesNotMatch(accuracy, /\d\.\d\d/, accuracy);
    // The print summary's date in Russian ("1 дек. 2026 г., 07:40").
    const printed = (await page.textContent('#print-summary')).replace(/\s+/g, ' ');
    console.log(`# ru: ${verdict}; ${accuracy.trim().slice(0, 90)}…; ${printed.slice(0, 120)}…`);
    assert.match(printed, new RegExp(`Скрининг выполнен \\d{1,2} \\S+ ${new Date().getFullYear()} г\\., \\d\\d:\\d\\d на этом устройстве`));

    // The switch: English at once, without a reload, results included.
    await page.selectOption('#lang', 'en');
    await page.waitForFunction((t) => document.querySelector('.tagline')?.textContent.trim() === t, EN['page.tagline']);
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.equal(await page.title(), EN['page.title']);
    assert.equal((await page.textContent('#status')).trim(), EN['status.done']);
    assert.match(await page.textContent('.accuracy'), /Measured \(0\.5 is chance/);
    // Remembered on this device.
    await page.reload();
    await page.waitForFunction(() => /^Model /.test(document.querySelector('#model-line')?.textContent || ''), null, { timeout: 120_000 });
    assert.equal(await page.inputValue('#lang'), 'en');
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('a browser language without a catalogue gets English; ?lang=ru asks for Russian', async () => {
  const context = await launch([], { locale: 'de-DE' });
  try {
    const { page } = await open(context);
    assert.equal(await page.evaluate(() => navigator.language), 'de-DE');
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.equal((await page.textContent('.tagline')).trim(), EN['page.tagline']);
    const { page: ru } = await open(context, '?backend=cpu&lang=ru');
    assert.equal(await ru.getAttribute('html', 'lang'), 'ru');
    assert.equal((await ru.textContent('.tagline')).trim(), RU['page.tagline']);
  } finally {
    await context.close();
  }
});

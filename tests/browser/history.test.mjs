// The private history, in headless Chromium (Playwright) on the built page and the committed default
// bundle: nothing is kept (not even an empty database) before the opt-in; after it, each screening is
// kept in IndexedDB, the same recording screened again replaces its entry, the list and a trend chart
// per task survive a reload and going offline, an entry from an older model is marked on the chart, an
// entry of a newer format is counted and left alone, the export is the kept entries, deleting one and
// all sticks across a reload, a database deleted by the browser while the page is open is made again,
// and a full storage quota gives a one-line "not kept". Every request stays on the page's origin.
// Run after `trunk build --release` (scripts/test.sh does it).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, serveDist, launch, openModel, screened } from './lib.mjs';

const BUNDLE = join(ROOT, 'www', 'models', 'default');
const MANIFEST = JSON.parse(readFileSync(join(BUNDLE, 'manifest.json')));
const EXAMPLES = MANIFEST.examples.map((e, i) => ({ ...e, button: `#example-${i}` }));
let server;

before(async () => {
  server = await serveDist();
});
after(async () => {
  await server?.close();
});

/** Waits until the history lists `n` entries (0: the list is gone). */
async function listed(page, n) {
  await page.waitForFunction((n) => document.querySelectorAll('#history-list li').length === n, n, { timeout: 30_000 });
}

/** The names of this origin's IndexedDB databases. */
function databases(page) {
  return page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name));
}

/** Puts a raw record into the history's store (what an older or newer page left behind). */
function putRecord(page, record) {
  return page.evaluate((record) => new Promise((ok, bad) => {
    const open = indexedDB.open('acula-history', 1);
    open.onerror = () => bad(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const tx = db.transaction('entries', 'readwrite');
      tx.objectStore('entries').put(record);
      tx.oncomplete = () => { db.close(); ok(); };
      tx.onerror = () => bad(tx.error);
    };
  }), record);
}

test('the history: opt-in, kept across a reload and offline, charted with model changes, exported, deleted', {
  skip: EXAMPLES.length < 2 && 'the default bundle has fewer than two examples',
}, async () => {
  const context = await launch();
  try {
    const { page, consoleErrors, requests } = await openModel(context, server.url + '?backend=cpu');
    const origin = new URL(server.url).origin;
    // Before the opt-in: screening keeps nothing, and no database is even created.
    await screened(page, () => page.click(EXAMPLES[0].button));
    assert.equal(await page.isChecked('#history-on'), false);
    assert.ok(!(await databases(page)).includes('acula-history'), 'no database before the opt-in');
    assert.equal(await page.locator('#history-list').count(), 0);

    await page.check('#history-on');
    const first = await screened(page, () => page.click(EXAMPLES[0].button));
    await listed(page, 1);
    assert.match(await page.textContent('#history-note'), /kept in your history/);
    const second = await screened(page, () => page.click(EXAMPLES[1].button));
    await listed(page, 2);
    // The same recording screened again (what drove the scores) replaces its entry.
    await screened(page, () => page.check('#explain'));
    await page.waitForTimeout(500);
    await listed(page, 2);
    await screened(page, () => page.uncheck('#explain'));
    await page.waitForTimeout(500);
    await listed(page, 2);
    // Newest first; its scores as the screening gave them.
    const top = await page.textContent('#history-list li:first-child .history-scores');
    for (const s of second.scores) assert.ok(top.includes(s.score.toFixed(2)), `${top} lists ${s.task} ${s.score}`);

    // Kept across a reload (before the model is even loaded).
    await page.reload();
    await listed(page, 2);
    assert.equal(await page.isChecked('#history-on'), true, 'the opt-in is remembered');
    const task = first.scores[0]?.task;
    if (task) {
      const points = await page.getAttribute(`.trend[data-task="${task}"] polyline`, 'points');
      const expected = [first, second].filter((r) => r.scores.some((s) => s.task === task)).length;
      assert.equal(points.trim().split(/\s+/).length, expected, `one point per entry with ${task}`);
    }

    // The export is what is kept.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#history-export')]);
    const exported = JSON.parse(readFileSync(await download.path(), 'utf8'));
    assert.equal(exported.entries.length, 2);
    assert.deepEqual(exported.entries.map((e) => e.scores.map((s) => s.score)), [first, second].map((r) => r.scores.map((s) => s.score)));
    assert.equal(exported.entries[0].bundle.version, MANIFEST.version);
    assert.ok(!JSON.stringify(exported).includes('"audio":true'), 'no recording was kept without the second box');

    // An entry from an older model (earlier than the others) and one of a newer format.
    const old = { ...exported.entries[0], id: exported.entries[0].id - 86_400_000, bundle: { ...exported.entries[0].bundle, version: '0.0.1-old' } };
    await putRecord(page, { id: old.id, entry: JSON.stringify(old) });
    await putRecord(page, { id: 1, entry: JSON.stringify({ ...old, id: 1, format: 99 }) });
    await page.reload();
    await listed(page, 3);
    assert.match(await page.textContent('#history-note'), /1 kept entry could not be read/);
    assert.equal(await page.locator('#history-list li[data-version="0.0.1-old"]').count(), 1);
    if (task) {
      assert.ok(await page.locator(`.trend[data-task="${task}"] .bundle-change`).count() >= 1, 'the model change is marked');
      assert.match(await page.textContent(`.trend[data-task="${task}"] figcaption`), /model changed to/);
    }

    // Offline: the page comes from the service worker, the history from IndexedDB.
    await page.evaluate(() => navigator.serviceWorker.ready);
    await context.setOffline(true);
    await page.reload();
    await listed(page, 3);
    await context.setOffline(false);

    // Delete one; it stays deleted.
    await page.click('#history-list li[data-version="0.0.1-old"] .history-delete');
    await listed(page, 2);
    await page.reload();
    await listed(page, 2);
    // Delete all (after the confirmation); it stays deleted.
    page.once('dialog', (d) => d.accept());
    await page.click('#history-clear');
    await listed(page, 0);
    await page.reload();
    await page.waitForFunction(() => /^Model /.test(document.querySelector('#model-line')?.textContent || ''), null, { timeout: 120_000 });
    await page.waitForTimeout(500);
    assert.equal(await page.locator('#history-list li').count(), 0);
    assert.doesNotMatch(await page.textContent('#history-note'), /could not be read/, 'the record of a newer format went with the rest');

    // The browser deletes the database while the page is open: the next result makes it again.
    await page.evaluate(() => new Promise((ok, bad) => {
      const r = indexedDB.deleteDatabase('acula-history');
      r.onsuccess = ok; r.onerror = () => bad(r.error); r.onblocked = () => bad(new Error('blocked: the page holds a connection open'));
    }));
    await screened(page, () => page.click(EXAMPLES[0].button));
    await listed(page, 1);

    assert.deepEqual(consoleErrors, []);
    const foreign = requests.filter((u) => !u.startsWith(origin + '/') && !u.startsWith('blob:') && !u.startsWith('data:'));
    assert.deepEqual(foreign, [], 'no request to another origin');
  } finally {
    await context.close();
  }
});

test('the history: a full storage quota says in one line that the result was not kept', async () => {
  const context = await launch();
  try {
    const page = await context.newPage();
    // Chromium's quota for this origin, lowered to 200 kB: less than the recording kept with the result.
    const cdp = await context.newCDPSession(page);
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(server.url).origin, quotaSize: 200_000 });
    await page.goto(`${server.url}?backend=cpu`);
    await page.waitForFunction(() => /^Model /.test(document.querySelector('#model-line')?.textContent || ''), null, { timeout: 120_000 });
    await page.check('#history-on');
    await page.check('#history-audio');
    await screened(page, () => page.click('#example-0'));
    await page.waitForFunction(() => /not kept/.test(document.querySelector('#history-note')?.textContent || ''), null, { timeout: 30_000 });
    const note = (await page.textContent('#history-note')).trim();
    console.log(`# ${note}`);
    assert.match(note, /^This result was not kept: .*storage for the page is full/);
    assert.ok(!note.includes('\n'), 'one line');
    // Without the recording, the result itself fits.
    await page.uncheck('#history-audio');
    await screened(page, () => page.click('#example-0'));
    await listed(page, 1);
  } finally {
    await context.close();
  }
});

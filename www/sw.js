// The service worker: keeps the page's own files (HTML, JS, wasm, CSS, icons, the worker) so the page
// opens offline. The model bundle is not handled here: the analyser keeps it in its own cache
// (app/src/worker.rs) and checks it against the manifest's sha256. scripts/post-build.mjs fills in
// the file list and the version at build time; a new build means a new version and a fresh copy.
const VERSION = '__VERSION__';
const ASSETS = __ASSETS__;
// Kept at first use only (the text tower's JS glue): not downloaded by visitors who never use text.
const LAZY = __LAZY__;
const CACHE = `acula-page-${VERSION}`;
const scope = new URL(self.registration.scope);
const urls = ASSETS.map((a) => new URL(a, scope).href);
const lazyUrls = LAZY.map((a) => new URL(a, scope).href);

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(urls)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('acula-page-') && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET' || new URL(request.url).origin !== scope.origin) return;
  if (request.mode === 'navigate') {
    // The page itself: the network first (a new version shows at once), the kept copy offline.
    event.respondWith(fetch(request).catch(async () => {
      const cache = await caches.open(CACHE);
      return (await cache.match(new URL('./', scope).href)) || Response.error();
    }));
    return;
  }
  const url = request.url.split('#')[0];
  if (lazyUrls.includes(url)) {
    // Same version as the page (the cache is per build): the kept copy, else the network, kept.
    event.respondWith(caches.open(CACHE).then(async (c) => {
      const hit = await c.match(url);
      if (hit) return hit;
      const response = await fetch(request);
      if (response.ok) await c.put(url, response.clone());
      return response;
    }));
    return;
  }
  if (urls.includes(url)) {
    // Hashed file names never change content: the kept copy first.
    event.respondWith(caches.open(CACHE).then((c) => c.match(url)).then((hit) => hit || fetch(request)));
  }
});

// The analyser's Web Worker. It imports the analyser's own wasm module (acula-analyser.js, built from
// app/src/analyser.rs: the model and screening; the page's module has none of it) and hands every
// later message to Rust (`workerStart` in app/src/worker.rs). Kept this small on purpose: all logic
// lives in Rust.
//
// aculaTextModule(wasmBytes) imports the text tower's own module (acula-text.js, built from
// app/src/text_tower.rs) into this same worker the first time a text feature is used; the analyser
// has fetched and checked its wasm (app/src/text.rs) and passes the bytes.
let textModule = null;
self.aculaTextModule = async (wasmBytes) => {
  if (!textModule) {
    const module = await import(new URL('./acula-text.js', self.location).href);
    await module.default({ module_or_path: wasmBytes });
    textModule = module;
  }
  return textModule;
};
(async () => {
  try {
    const module = await import(new URL('./acula-analyser.js', self.location).href);
    await module.default({ module_or_path: new URL('./acula-analyser_bg.wasm', self.location).href });
    module.workerStart();
  } catch (err) {
    self.postMessage(JSON.stringify({
      type: 'failed',
      id: null,
      message: `the analyser could not start (${err && err.message ? err.message : err}); reload the page`,
    }));
  }
})();

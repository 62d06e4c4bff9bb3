// The analyser's Web Worker. It runs the page's own wasm module (the same files the page loaded; their
// URLs come in the first message) and hands every later message to Rust (`workerStart` in
// app/src/worker.rs). Kept this small on purpose: all logic lives in Rust.
self.addEventListener('message', async (event) => {
  const { js, wasm } = event.data || {};
  try {
    const module = await import(js);
    await module.default({ module_or_path: wasm });
    module.workerStart();
  } catch (err) {
    self.postMessage(JSON.stringify({
      type: 'failed',
      id: null,
      message: `the analyser could not start (${err && err.message ? err.message : err}); reload the page`,
    }));
  }
}, { once: true });

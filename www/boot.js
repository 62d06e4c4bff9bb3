// Starts the analyser's Web Worker as soon as the page's HTML is read, while the page's own wasm module
// is still loading, so that the analyser's module (the model's code, tens of MB) downloads and compiles
// alongside the page's start-up. The page takes the worker over when it is up (take_early_worker in
// app/src/client.rs); what the worker says before then is kept, in order.
(() => {
  try {
    const worker = new Worker('./worker.js', { type: 'module' });
    const early = { worker, events: [] };
    worker.onmessage = (e) => early.events.push(e);
    worker.onerror = (e) => {
      e.preventDefault();
      early.events.push(e);
    };
    window.aculaEarlyWorker = early;
  } catch {
    // No module workers here: the page starts one itself and says why it cannot.
  }
})();

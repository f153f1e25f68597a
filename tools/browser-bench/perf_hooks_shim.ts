// Stands in for Node's `perf_hooks` when the bench's timing helpers are bundled for the browser.
export const performance: Performance = globalThis.performance;

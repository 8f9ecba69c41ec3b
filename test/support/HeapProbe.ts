/**
 * Loaded into a server process under test (`NODE_OPTIONS="--expose-gc --import=…/HeapProbe.ts"`,
 * `heapUsedCommand`): on SIGUSR2 it collects garbage and writes `heap-used <bytes>` to
 * stderr — the live heap, for tests that bound what the node keeps.
 */
process.on("SIGUSR2", () => {
  // Twice: objects freed by the first collection's finalizers go in the second.
  globalThis.gc?.()
  globalThis.gc?.()
  process.stderr.write(`heap-used ${process.memoryUsage().heapUsed}\n`)
})

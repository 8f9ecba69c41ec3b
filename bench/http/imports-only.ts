/**
 * A baseline of the memory section: a Node process that imports the node's modules
 * (`App.ts`, which imports everything a node can run) and then only idles — no layer built,
 * no server, no store. Its resident memory is what the code costs before any of it runs.
 *
 *   node bench/http/imports-only.ts     → prints "IMPORTED", then idles until SIGTERM
 */
await import("@idgen/server/App")
process.stdout.write("IMPORTED\n")
const idle = setInterval(() => undefined, 60_000)
process.on("SIGTERM", () => clearInterval(idle))

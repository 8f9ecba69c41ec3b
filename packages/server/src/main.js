/**
 * Entry point: `npm start` (and every worker process of an instance). What the process then
 * is — the primary of worker processes, or a node — is `Launch.ts`.
 *
 * Node's compile cache first (`os.tmpdir()/node-compile-cache`, or `NODE_COMPILE_CACHE`;
 * `NODE_DISABLE_COMPILE_CACHE=1` turns it off): a start then reuses the code compiled for the
 * ≈ 1,000 modules a node loads instead of compiling them again. It covers only what is
 * loaded after it is enabled, hence `Launch.ts` is imported, not a static import; the
 * variable passes it on to the embedded store's thread and to worker processes.
 *
 * Plain JavaScript, not TypeScript: Node strips a `.ts` file's types with a compiler of its
 * own (amaro: SWC in WebAssembly, ≈ 20–30 MB resident for the process's life), and this
 * file runs before the cache is enabled; every other module then comes from the cache, so a
 * start after the first loads no TypeScript compiler at all.
 */
import { enableCompileCache } from "node:module"

const cache = enableCompileCache()
if (cache.directory !== undefined) process.env["NODE_COMPILE_CACHE"] = cache.directory
const { run } = await import("./Launch.ts")
run()

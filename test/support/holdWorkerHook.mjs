/**
 * Preloaded into a server process (`--import`, see `WorkerInstance.holdWorker`): in the
 * worker process whose index (IDGEN_WORKER_INDEX) is IDGEN_TEST_HOLD_WORKER, blocks before
 * anything of idgen loads until the file IDGEN_TEST_HOLD_GATE exists, so that a test can
 * change the world (take the database away) between the instance serving and that worker's
 * start. The primary and the other workers pass through. JavaScript, so that loading the
 * hook itself strips no types.
 */
import { existsSync } from "node:fs"

const gate = process.env.IDGEN_TEST_HOLD_GATE
const pause = new Int32Array(new SharedArrayBuffer(4))
if (gate !== undefined && process.env.IDGEN_WORKER_INDEX === process.env.IDGEN_TEST_HOLD_WORKER) {
  while (!existsSync(gate)) Atomics.wait(pause, 0, 0, 20)
}

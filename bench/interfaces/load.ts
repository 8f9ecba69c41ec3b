/**
 * Child process of `npm run bench`: one closed-loop batch load over one interface (http,
 * grpc or rpc) from one client process, with the `idgen bench` load generator; prints
 * `BENCH_RESULT <Summary plus cpu share>`.
 *
 *   node bench/interfaces/load.ts '{"interface":"grpc","target":{...},"warmupSeconds":1,"seconds":4}'
 */
import { Drivers, Load } from "@idgen/cli"
import { emit } from "../lib/protocol.ts"

interface Spec {
  readonly interface: "http" | "grpc" | "rpc"
  readonly target: Parameters<typeof Drivers.make>[1]
  readonly warmupSeconds: number
  readonly seconds: number
}

const spec = JSON.parse(process.argv[2]!) as Spec
const driver = await Drivers.make(spec.interface, spec.target)
const cpuBefore = process.cpuUsage()
const wallBefore = performance.now()
const summary = await Load.run(driver, {
  concurrency: spec.target.concurrency,
  warmupSeconds: spec.warmupSeconds,
  seconds: spec.seconds
})
const cpu = process.cpuUsage(cpuBefore)
const loadCpuShare = (cpu.user + cpu.system) / 1000 / (performance.now() - wallBefore)
await driver.close()
emit({ ...summary, loadCpuShare })
process.exit(0)

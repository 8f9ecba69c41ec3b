/**
 * Child process of `npm run bench`: one closed-loop batch load over one interface (http,
 * grpc or rpc) from one client process, with the `idgen bench` load generator; prints
 * `BENCH_RESULT <Summary plus the CPU shares of this process and of the server>`.
 *
 *   node bench/interfaces/load.ts '{"interface":"grpc","target":{...},"serverPid":123,"warmupSeconds":1,"seconds":4}'
 */
import { Drivers, Load } from "@idgen/cli"
import { readFileSync } from "node:fs"
import { emit } from "../lib/protocol.ts"

interface Spec {
  readonly interface: "http" | "grpc" | "rpc"
  readonly target: Parameters<typeof Drivers.make>[1]
  /** The server's process, whose CPU time is read from /proc (Linux) over the same window. */
  readonly serverPid: number
  readonly warmupSeconds: number
  readonly seconds: number
}

/** CPU time of a process so far in ms (utime + stime in 1/100 s ticks), or NaN off Linux. */
const cpuMillisOf = (pid: number): number => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return Number.NaN
  }
}

const spec = JSON.parse(process.argv[2]!) as Spec
const driver = await Drivers.make(spec.interface, spec.target)
const cpuBefore = process.cpuUsage()
const serverCpuBefore = cpuMillisOf(spec.serverPid)
const wallBefore = performance.now()
const summary = await Load.run(driver, {
  concurrency: spec.target.concurrency,
  warmupSeconds: spec.warmupSeconds,
  seconds: spec.seconds
})
const cpu = process.cpuUsage(cpuBefore)
const wallMillis = performance.now() - wallBefore
const loadCpuShare = (cpu.user + cpu.system) / 1000 / wallMillis
const serverCpuShare = (cpuMillisOf(spec.serverPid) - serverCpuBefore) / wallMillis
await driver.close()
emit({ ...summary, loadCpuShare, serverCpuShare: Number.isFinite(serverCpuShare) ? serverCpuShare : null })
process.exit(0)

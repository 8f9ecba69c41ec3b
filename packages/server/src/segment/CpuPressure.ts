/**
 * CPU pressure (0–1) for the dynamic step formula: this process's CPU time over the
 * wall time since the previous reading, per available core.
 */
import { availableParallelism } from "node:os"

export const makeCpuPressure = (): (() => number) => {
  const cores = availableParallelism()
  let lastCpu = process.cpuUsage()
  let lastWall = process.hrtime.bigint()
  return () => {
    const cpu = process.cpuUsage(lastCpu)
    const wall = process.hrtime.bigint()
    const elapsedMicros = Number(wall - lastWall) / 1000
    lastCpu = process.cpuUsage()
    lastWall = wall
    if (elapsedMicros <= 0) return 0
    return Math.min(1, (cpu.user + cpu.system) / elapsedMicros / cores)
  }
}

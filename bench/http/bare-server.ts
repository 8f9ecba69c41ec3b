/**
 * The HTTP baseline: a bare node:http server answering the same JSON shapes as idgen's
 * generate endpoints — a counter-based id and an RFC 3339 timestamp for a single
 * generate, `size` ids for a batch. It reads and parses the request body like a real
 * handler, and does nothing else (no auth, no validation, no storage).
 *
 * With a worker count above 1 it is a bare `node:cluster` server: a primary that forks that
 * many workers, each running the same handler on the shared port (the baseline of idgen's
 * worker processes; each worker counts on its own, so ids repeat across workers).
 *
 *   node bench/http/bare-server.ts <port> [workers]     → prints "LISTENING <port>"
 */
import cluster from "node:cluster"
import { createServer } from "node:http"
import { monitorEventLoopDelay } from "node:perf_hooks"

const port = Number(process.argv[2] ?? 0)
const workers = Number(process.argv[3] ?? 1)
let n = 0

// The same monitor and resolution as idgen's `idgen_event_loop_delay_max_seconds`, so the
// tail bench can set idgen's longest stall beside the bare server's (GET /stall: the
// longest delay in ms since the previous GET /stall).
const RESOLUTION_MS = 10
const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
delay.enable()

const server = createServer((req, res) => {
  if (req.method === "GET" && req.url === "/stall") {
    const maxMs = delay.count === 0 ? 0 : Math.max(0, delay.max / 1e6 - RESOLUTION_MS)
    delay.reset()
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ maxMs }))
    return
  }
  const chunks: Array<Buffer> = []
  req.on("data", (chunk: Buffer) => chunks.push(chunk))
  req.on("end", () => {
    let body: { size?: unknown }
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { size?: unknown }
    } catch {
      res.writeHead(400).end()
      return
    }
    let payload: string
    if (req.url === "/api/v1/generate") {
      payload = JSON.stringify({ id: String(++n), algorithm: "segment", timestamp: new Date().toISOString() })
    } else if (req.url === "/api/v1/generate/batch") {
      const size = typeof body.size === "number" ? body.size : 1
      const ids: Array<string> = []
      for (let i = 0; i < size; i++) ids.push(String(++n))
      payload = JSON.stringify({ ids, algorithm: "segment", count: size })
    } else {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(payload) })
    res.end(payload)
  })
})

const listening = (bound: number) => process.stdout.write(`LISTENING ${bound}\n`)

if (workers > 1 && cluster.isPrimary) {
  let up = 0
  for (let i = 0; i < workers; i++) {
    // Port 0: node:cluster gives every worker the same port, the one each reports here.
    cluster.fork().on("listening", (address) => {
      up += 1
      if (up === workers) listening(address.port)
    })
  }
  process.on("SIGTERM", () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill()
    cluster.disconnect(() => process.exit(0))
  })
} else {
  server.listen(port, "127.0.0.1", () => {
    const address = server.address()
    if (cluster.isPrimary) listening(typeof address === "object" && address !== null ? address.port : port)
  })
  process.on("SIGTERM", () => server.close(() => process.exit(0)))
}

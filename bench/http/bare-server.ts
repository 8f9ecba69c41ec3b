/**
 * The HTTP baseline: a bare node:http server answering the same JSON shapes as idgen's
 * generate endpoints — a counter-based id and an RFC 3339 timestamp for a single
 * generate, `size` ids for a batch. It reads and parses the request body like a real
 * handler, and does nothing else (no auth, no validation, no storage).
 *
 *   node bench/http/bare-server.ts <port>     → prints "LISTENING <port>"
 */
import { createServer } from "node:http"

const port = Number(process.argv[2] ?? 0)
let n = 0

const server = createServer((req, res) => {
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

server.listen(port, "127.0.0.1", () => {
  const address = server.address()
  process.stdout.write(`LISTENING ${typeof address === "object" && address !== null ? address.port : port}\n`)
})
process.on("SIGTERM", () => server.close(() => process.exit(0)))

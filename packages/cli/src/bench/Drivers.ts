/**
 * One batch call over each interface, as a plain Promise (the load loop's hot path): HTTP
 * (node:http, keep-alive), gRPC (the generated client) and Effect RPC (the client SDK over
 * WebSocket). Each resolves with the number of IDs received and rejects on any error.
 */
import * as Grpc from "@grpc/grpc-js"
import { IdgenPromiseClient } from "@idgen/client"
import { IdgenV1 } from "@idgen/protocol/grpc"
import { Agent, request } from "node:http"
import { batchIds } from "./BatchBody.ts"
import type { InterfaceName } from "./Interfaces.ts"

export interface Target {
  /** HTTP base URL, e.g. http://127.0.0.1:8080. */
  readonly server: string
  /** gRPC host:port. */
  readonly grpc: string
  readonly apiKey: string
  readonly workspace: string
  readonly group: string
  readonly bizTag: string
  readonly size: number
  readonly concurrency: number
}

export interface Driver {
  readonly name: string
  readonly call: () => Promise<number>
  readonly close: () => Promise<void>
}

export const http = (target: Target): Driver => {
  const url = new URL(`${target.server.replace(/\/+$/, "")}/api/v1/generate/batch`)
  const agent = new Agent({ keepAlive: true, maxSockets: target.concurrency })
  const body = JSON.stringify({ workspace: target.workspace, group: target.group, biz_tag: target.bizTag, size: target.size })
  const headers = { "content-type": "application/json", "content-length": Buffer.byteLength(body), "x-api-key": target.apiKey }
  return {
    name: "http",
    call: () =>
      new Promise((resolve, reject) => {
        const req = request(url, { method: "POST", agent, headers }, (res) => {
          const chunks: Array<Buffer> = []
          res.on("data", (chunk: Buffer) => chunks.push(chunk))
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString()
            if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`))
            resolve(batchIds(text).length)
          })
          res.on("error", reject)
        })
        req.on("error", reject)
        req.end(body)
      }),
    close: async () => agent.destroy()
  }
}

export const grpc = (target: Target): Driver => {
  // HTTP/2's default 64 KiB connection window holds ~6 batch-1000 responses: with more
  // calls in flight the server stalls until the client acknowledges what it has read.
  const client = new IdgenV1.IdServiceClient(target.grpc, Grpc.credentials.createInsecure(), {
    "grpc-node.flow_control_window": 16 * 1024 * 1024
  })
  const metadata = new Grpc.Metadata()
  metadata.set("x-api-key", target.apiKey)
  const message = { workspace: target.workspace, group: target.group, biz_tag: target.bizTag, size: target.size }
  return {
    name: "grpc",
    call: () =>
      new Promise((resolve, reject) => {
        client.batchGenerate(message, metadata, (error, response) => {
          if (error !== null) return reject(new Error(`gRPC ${Grpc.status[error.code]}: ${error.details}`))
          resolve(response.ids.length)
        })
      }),
    close: async () => client.close()
  }
}

export const rpc = async (target: Target): Promise<Driver> => {
  const client = await IdgenPromiseClient.connect({ endpoints: [target.server], apiKey: target.apiKey })
  const tag = { workspace: target.workspace, group: target.group, bizTag: target.bizTag }
  return {
    name: "rpc",
    call: () => client.batch(tag, target.size).then((batch) => batch.ids.length),
    close: () => client.close()
  }
}

export { interfaces, type InterfaceName } from "./Interfaces.ts"

export const make = (name: InterfaceName, target: Target): Promise<Driver> =>
  name === "http" ? Promise.resolve(http(target)) : name === "grpc" ? Promise.resolve(grpc(target)) : rpc(target)

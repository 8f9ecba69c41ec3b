/**
 * A webhook receiver for alert notifications: an HTTP server on a free loopback port that
 * keeps every JSON body POSTed to it. `waitFor` polls what arrived until a predicate holds
 * (bounded), closed with the scope.
 */
import { Data, Effect, type Scope } from "effect"
import { createServer } from "node:http"
import { listenLocal } from "./LocalListener.ts"
import { wait } from "./ServerProcess.ts"

export class WebhookTimeout extends Data.TaggedError("WebhookTimeout")<{ readonly message: string }> {}

export interface WebhookReceiver {
  readonly url: string
  readonly received: () => ReadonlyArray<{ readonly path: string; readonly body: any }>
  readonly waitFor: <A>(
    find: (bodies: ReadonlyArray<any>) => A | undefined,
    timeoutMillis?: number
  ) => Effect.Effect<A, WebhookTimeout>
}

export const make: Effect.Effect<WebhookReceiver, never, Scope.Scope> = Effect.gen(function*() {
  const received: Array<{ path: string; body: any }> = []
  const server = createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      try {
        received.push({ path: req.url ?? "", body: JSON.parse(Buffer.concat(chunks).toString()) })
        res.writeHead(200).end()
      } catch {
        res.writeHead(400).end()
      }
    })
  })
  const port = yield* listenLocal(server)
  const waitFor = <A>(find: (bodies: ReadonlyArray<any>) => A | undefined, timeoutMillis = 30_000) =>
    Effect.gen(function*() {
      const end = Date.now() + timeoutMillis
      while (true) {
        const found = find(received.map((r) => r.body))
        if (found !== undefined) return found
        if (Date.now() > end) {
          return yield* new WebhookTimeout({ message: `no matching webhook within ${timeoutMillis} ms; got ${JSON.stringify(received)}` })
        }
        yield* wait(50)
      }
    })
  return { url: `http://127.0.0.1:${port}/hook`, received: () => received, waitFor }
})

/**
 * Whether a server can be reached at all, found out within the connect timeout: a TCP
 * connection to its host and port. Without it, an unreachable server surfaces only when the
 * client's own retries give up (over 10 s) and without the cause.
 */
import { Effect } from "effect"
import { connect } from "node:net"
import { CliFailure } from "./CliFailure.ts"

/** The URL the CLI talks to: `host:port` means `http://host:port`. */
export const baseUrl = (server: string): string => {
  const trimmed = server.trim()
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`
}

/** `a,b` → each normalised by `baseUrl`. */
export const baseUrls = (servers: string): string =>
  servers.split(",").filter((s) => s.trim() !== "").map(baseUrl).join(",")

/** Why `url` cannot be reached, or undefined when a TCP connection to it opens. */
const probe = (url: string, timeoutMs: number) =>
  Effect.callback<string | undefined>((resume) => {
    let target: URL
    try {
      target = new URL(url)
    } catch {
      return resume(Effect.succeed("not a valid URL"))
    }
    const port = Number(target.port || (target.protocol === "https:" ? 443 : 80))
    const socket = connect({ host: target.hostname.replace(/^\[(.*)\]$/, "$1"), port, timeout: timeoutMs })
    const done = (reason: string | undefined) => {
      socket.destroy()
      resume(Effect.succeed(reason))
    }
    socket.once("connect", () => done(undefined))
    socket.once("timeout", () => done(`no connection within ${timeoutMs} ms`))
    socket.once("error", (error: NodeJS.ErrnoException) => done(error.code ?? error.message))
    return Effect.sync(() => socket.destroy())
  })

/** Succeeds when at least one of the comma-separated servers accepts a connection in time. */
export const reach = (servers: string, timeoutMs: number): Effect.Effect<void, CliFailure> =>
  Effect.gen(function*() {
    const urls = servers.split(",").map((s) => s.trim()).filter((s) => s !== "")
    const reasons = yield* Effect.forEach(urls, (url) => probe(url, timeoutMs), { concurrency: "unbounded" })
    if (reasons.some((reason) => reason === undefined)) return
    const each = urls.map((url, i) => `${url} (${reasons[i]})`)
    return yield* new CliFailure({
      message: `cannot reach ${urls.length === 1 ? "the server" : "any server"} at ${each.join(", ")}`
    })
  })

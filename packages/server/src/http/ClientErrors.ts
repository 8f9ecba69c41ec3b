/**
 * What Node's HTTP parser refuses before any handler sees a request — headers or a whole
 * request not received within `http.headers_timeout_ms` / `http.request_timeout_ms` (slow
 * clients), malformed HTTP, oversized headers — answered with the contract's error body
 * (400 IDGEN-COMMON-0001) instead of Node's bare status line, then the connection is closed.
 */
import { Errors } from "@idgen/core"
import { WireError } from "@idgen/protocol/http"
import type { Clock } from "effect"
import { randomUUID } from "node:crypto"
import type { Server } from "node:http"
import type { Socket } from "node:net"

/** Time the client gets to read the answer before the socket is destroyed. */
const graceMillis = 500

const messageOf = (code: string | undefined, timeouts: { readonly headersMillis: number; readonly requestMillis: number }) => {
  switch (code) {
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return `Request not received in time: the headers must arrive within ${timeouts.headersMillis} ms, the whole request within ${timeouts.requestMillis} ms`
    case "HPE_HEADER_OVERFLOW":
      return "Request headers too large"
    default:
      return "Malformed HTTP request"
  }
}

/** Installs the `clientError` listener on `server`. */
export const install = (
  server: Server,
  clock: Clock.Clock,
  timeouts: { readonly headersMillis: number; readonly requestMillis: number }
): void => {
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) => {
    // Only when nothing of a response has been written yet (else the peer would read garbage).
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage
    if (error.code !== "ECONNRESET" && socket.writable && inFlight?.headersSent !== true) {
      const requestId = randomUUID()
      const refusal = new Errors.InvalidRequest({ message: messageOf(error.code, timeouts), details: {} })
      const body = JSON.stringify(WireError.toBody(refusal, requestId, clock.currentTimeMillisUnsafe()))
      socket.end(
        `HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
          `x-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`
      )
      setTimeout(() => socket.destroy(), graceMillis).unref()
    } else {
      socket.destroy()
    }
  })
}

/**
 * The id of one HTTP request: the caller's `X-Request-Id` when it is a sane token,
 * otherwise a fresh UUID. Handlers and error bodies read it from `CurrentRequestId`;
 * every response carries it back in the `X-Request-Id` header.
 */
import { CurrentRequestId } from "@idgen/protocol/http"
import { Context, Effect } from "effect"
import { HttpServerRequest, HttpServerResponse } from "effect/http"
import { randomUUID } from "node:crypto"

export const headerName = "x-request-id"

const saneToken = /^[A-Za-z0-9][A-Za-z0-9._:@/+=-]{0,127}$/

/** The caller's id if it is a printable token of at most 128 characters, else a new UUID. */
export const fromHeader = (header: string | undefined): string =>
  header !== undefined && saneToken.test(header) ? header : randomUUID()

/**
 * Router middleware: picks the id, provides it to everything inside and sets the header on
 * the response. Wrap the error boundary with it so error responses carry the header too.
 */
export const withRequestId = <E, R>(
  app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest> =>
  Effect.withFiber((fiber) => {
    const request = Context.getUnsafe(fiber.context, HttpServerRequest.HttpServerRequest)
    const id = fromHeader(request.headers[headerName])
    return app.pipe(
      Effect.map(HttpServerResponse.setHeader(headerName, id)),
      Effect.provideService(CurrentRequestId, id)
    )
  })

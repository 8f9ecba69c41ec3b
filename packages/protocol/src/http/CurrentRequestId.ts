/**
 * The id of the HTTP request being served, which every error body carries (and the server
 * sends back in `X-Request-Id`). The server picks it and provides it.
 */
import { Context } from "effect"

/** The id of the request being served ("" outside a request). */
export const CurrentRequestId = Context.Reference<string>("@idgen/protocol/http/CurrentRequestId", {
  defaultValue: () => ""
})

/**
 * The request-shape rules of the contract, as an HttpApi middleware tag: a body must be
 * `application/json` within the size limit, and whatever the endpoint schemas reject is
 * 400 IDGEN-COMMON-0001 naming the field. The server implements it.
 */
import { HttpApiMiddleware } from "effect/http-api"
import * as WireError from "./WireError.ts"

export class RequestValidation extends HttpApiMiddleware.Service<RequestValidation>()(
  "@idgen/protocol/http/RequestValidation",
  { error: WireError.BadRequest }
) {}

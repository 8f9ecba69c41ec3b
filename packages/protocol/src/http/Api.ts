/**
 * The whole HTTP API of idgen, as one HttpApi: the source of the routes, of
 * `/openapi.json` and of `/docs`.
 */
import { HttpApi, OpenApi } from "effect/http-api"
import { AdminApi } from "./AdminApi.ts"
import { DegradationApi } from "./DegradationApi.ts"
import { IdsApi } from "./IdsApi.ts"
import { OperationsApi } from "./OperationsApi.ts"
import { SystemApi } from "./SystemApi.ts"

export class Api extends HttpApi.make("idgen")
  .add(IdsApi)
  .add(AdminApi)
  .add(DegradationApi)
  .add(OperationsApi)
  .add(SystemApi)
  .annotateMerge(OpenApi.annotations({
    title: "idgen",
    version: "1",
    description: "Distributed ID generation: segment, snowflake, uuid_v7, uuid_v4 and formatted IDs. " +
      "Every error body is {\"error\":{\"code\",\"message\",\"details\",\"timestamp\",\"request_id\"}}."
  }))
{}

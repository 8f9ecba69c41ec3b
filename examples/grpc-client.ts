/**
 * gRPC from any stack: a client built from proto/idgen/v1/idgen.proto alone (here Node's
 * @grpc/grpc-js + @grpc/proto-loader; the same .proto serves grpcurl, Go, Java, …).
 *
 *   IDGEN_GRPC=127.0.0.1:50051 IDGEN_API_KEY=idgen_acme_… npm exec -- node examples/grpc-client.ts acme/orders/order-id
 */
import * as grpc from "@grpc/grpc-js"
import * as protoLoader from "@grpc/proto-loader"

const definition = protoLoader.loadSync("idgen/v1/idgen.proto", {
  includeDirs: [new URL("../proto", import.meta.url).pathname],
  keepCase: true,
  longs: String // int64 as decimal text: no precision lost
})
const { idgen } = grpc.loadPackageDefinition(definition) as any
// A larger HTTP/2 flow-control window than grpc-js' 64 KiB default: with many batch calls in
// flight the default holds only a few responses and the server stalls on window updates.
const client = new idgen.v1.IdService(process.env.IDGEN_GRPC ?? "127.0.0.1:50051", grpc.credentials.createInsecure(), {
  "grpc-node.flow_control_window": 16 * 1024 * 1024
})

const metadata = new grpc.Metadata()
metadata.set("x-api-key", process.env.IDGEN_API_KEY ?? "")
const [workspace, group, biz_tag] = (process.argv[2] ?? "acme/orders/order-id").split("/")

const call = (method: string, request: object) =>
  new Promise<any>((resolve, reject) =>
    client[method](request, metadata, (error: grpc.ServiceError | null, response: unknown) => {
      if (error === null) return resolve(response)
      // The IDGEN code travels in trailing metadata.
      reject(new Error(`${grpc.status[error.code]} ${error.metadata.get("idgen-error-code")[0]}: ${error.details}`))
    })
  )

const batch = await call("BatchGenerate", { workspace, group, biz_tag, size: 3 })
console.log(batch.algorithm, batch.ids.join(" "))
console.log(await call("Parse", { id: batch.ids[0], workspace, group, biz_tag }))
try {
  await call("BatchGenerate", { workspace, group, biz_tag, size: 0 })
} catch (error) {
  console.log((error as Error).message) // INVALID_ARGUMENT IDGEN-COMMON-0001: Invalid request message: size: …
}
client.close()

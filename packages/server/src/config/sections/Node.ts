import { Snowflake } from "@idgen/core"
import { Schema } from "effect"
import { hostname } from "node:os"
import { IntBetween } from "../SchemaHelpers.ts"
import * as Section from "../Section.ts"
import * as Setting from "../Setting.ts"

export const section = Section.make("node", {
  name: Setting.optional("name", Schema.String, { doc: "Node name in audit rows, logs and alerts (default: hostname-pid)" }),
  datacenterId: Setting.make("datacenter_id", Snowflake.DatacenterId, {
    default: 0,
    doc: "Datacenter (0–7): selects the segment range and the snowflake datacenter bits"
  }),
  workerId: Setting.make("worker_id", Snowflake.WorkerId, {
    default: 0,
    doc: "Static snowflake worker id (without etcd); with several worker processes, worker i takes `worker_id + i`"
  }),
  workers: Setting.optional("workers", IntBetween(1, 256), {
    doc: "Worker processes serving the ports, each a full node with its own worker id (default: the available parallelism); the embedded store runs one (see Worker processes)"
  }),
  /** Where the node writes the ports it listens on once bound (`ports/BoundPorts.ts`). */
  portFile: Setting.optional("port_file", Schema.String, {
    doc: "File the node writes its bound ports to once it listens, as JSON `{\"http\":…,\"grpc\":…}` (replaced atomically): how a supervisor or test learns the ports the kernel picked for port 0"
  })
}, (node) => ({
  ...node,
  name: node.name ?? `${hostname()}-${process.pid}`
}))

/**
 * Runs once before all suites: checks that the services this machine runs
 * (PostgreSQL on 127.0.0.1:5432) answer, so a missing service fails loudly at the start.
 */
import { connect } from "node:net"

const reachable = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host: "127.0.0.1", port })
    socket.once("connect", () => {
      socket.end()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
  })

export default async function setup() {
  if (!(await reachable(5432))) {
    throw new Error("PostgreSQL is not reachable on 127.0.0.1:5432; start it before npm test")
  }
}

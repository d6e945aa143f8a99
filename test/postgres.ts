/**
 * A throwaway PostgreSQL server for tests, on 127.0.0.1 and a free port, in a fresh directory: Debian's
 * PostgreSQL binaries (run as the `postgres` user when the tests run as root, since initdb refuses root).
 * Without them, the tests fail loudly rather than skip.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir, userInfo } from "node:os"
import { join } from "node:path"

export interface Postgres {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` */
  readonly url: string
  readonly port: number
  /** Stops the server and removes its directory. */
  readonly stop: () => void
}

const binDir = (): string => {
  const fromConfig = spawnSync("pg_config", ["--bindir"], { encoding: "utf8" })
  const candidates = [
    ...(fromConfig.status === 0 ? [fromConfig.stdout.trim()] : []),
    ...(existsSync("/usr/lib/postgresql")
      ? readdirSync("/usr/lib/postgresql").sort().reverse().map((v) => `/usr/lib/postgresql/${v}/bin`)
      : [])
  ]
  const found = candidates.find((dir) => existsSync(join(dir, "initdb")) && existsSync(join(dir, "pg_ctl")))
  if (found === undefined) {
    throw new Error("PostgreSQL is not installed (no initdb/pg_ctl): apt-get install postgresql-15, or see test/postgres.ts")
  }
  return found
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))))
    })
  })

/** Starts a server; call `stop` when done (in `afterAll`). */
export const startPostgres = async (): Promise<Postgres> => {
  const bin = binDir()
  const dir = mkdtempSync(join(tmpdir(), "orchestrate-pg-"))
  const data = join(dir, "data")
  const asRoot = userInfo().uid === 0
  let uid = -1
  let gid = -1
  if (asRoot) {
    uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim())
    gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim())
    chownSync(dir, uid, gid)
  }
  const run = (command: string, args: ReadonlyArray<string>) => {
    const full = join(bin, command)
    const result = asRoot
      ? spawnSync("runuser", ["-u", "postgres", "--", full, ...args], { encoding: "utf8" })
      : spawnSync(full, args, { encoding: "utf8" })
    if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr || result.stdout}`)
  }
  run("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"])
  const port = await freePort()
  run("pg_ctl", [
    "-D", data, "-l", join(dir, "log"), "-w", "-t", "60",
    "-o", `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`,
    "start"
  ])
  let stopped = false
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop: () => {
      if (stopped) return
      stopped = true
      try {
        run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"])
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }
  }
}

/** Creates a fresh database on the server and returns its URL, so that tests do not see each other's runs. */
export const freshDatabase = (postgres: Postgres, name: string): string => {
  const bin = binDir()
  const result = spawnSync(join(bin, "psql"), ["-h", "127.0.0.1", "-p", String(postgres.port), "-U", "postgres", "-c", `CREATE DATABASE "${name}"`], {
    encoding: "utf8"
  })
  if (result.status !== 0) throw new Error(`CREATE DATABASE failed: ${result.stderr}`)
  return `postgres://postgres@127.0.0.1:${postgres.port}/${name}`
}

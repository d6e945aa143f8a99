import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

export default defineConfig({
  resolve: {
    // The package's subpath exports ("multi-agent-orchestration/SearchTools") map to their source modules.
    alias: [
      { find: /^multi-agent-orchestration$/, replacement: fileURLToPath(new URL("./src/index.ts", import.meta.url)) },
      { find: /^multi-agent-orchestration\/(\w+)$/, replacement: fileURLToPath(new URL("./src/$1.ts", import.meta.url)) }
    ]
  },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})

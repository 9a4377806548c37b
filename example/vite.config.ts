// The example page. `npm run dev` serves it against a real deployment
// (VITE_CONVEX_URL from the .env.local that `npx convex dev` writes at the
// project root); `npm run demo` builds it and the local engine serves dist/.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig, loadEnv, type Plugin } from "vite";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const envDir = here("..");

/**
 * Without VITE_CONVEX_URL (as `npm run demo` builds it), main.tsx's
 * `convex/react` resolves to dev/convexReact.ts, whose ConvexReactClient is the
 * local engine's client. Nothing else changes: every other module, the
 * dashboard included, gets the real convex/react. Not needed in your own app.
 */
function localEngineClient(): Plugin {
  const shim = here("../dev/convexReact.ts");
  const main = here("./src/main.tsx");
  return {
    name: "local-engine-client",
    enforce: "pre",
    resolveId(id, importer) {
      if (id === "convex/react" && importer === main && existsSync(shim)) return shim;
      return null;
    },
  };
}

export default defineConfig(({ mode }) => {
  const env = loadEnv(mode, envDir, "VITE_");
  return {
    root: here("."),
    envDir,
    plugins: [react(), ...(env.VITE_CONVEX_URL ? [] : [localEngineClient()])],
    resolve: {
      // The package itself, from source (as the tests run it), so the page never shows a stale dist/.
      alias: [
        {
          find: "convex-event-analytics/react/styles.css",
          replacement: here("../src/react/styles.css"),
        },
        { find: /^convex-event-analytics\/react$/, replacement: here("../src/react/index.ts") },
      ],
    },
    // recharts and convex make one ~600 kB chunk (about 190 kB gzip); the example does not split it.
    build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 1000 },
  };
});

// The example page. `npm run dev` serves it against a real deployment
// (VITE_CONVEX_URL from the .env.local that `npx convex dev` writes at the
// project root); `npm run demo` builds it and the local engine serves dist/.
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  envDir: fileURLToPath(new URL("..", import.meta.url)),
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true },
});

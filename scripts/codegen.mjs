// `npm run codegen`: regenerates the committed _generated/ files of the
// component (src/component) and of the example app (example/convex).
// With a Convex deployment configured, this is `convex codegen` (the real CLI).
// Offline, set CONVEX_CODEGEN_OFFLINE to an offline generator that takes
// `<dir>:<component|app>` arguments (e.g. one that matches the CLI byte for byte);
// it is run for both directories, with a build in between so the app sees the
// component's new types.
import { spawnSync } from "node:child_process";

const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
const offline = process.env.CONVEX_CODEGEN_OFFLINE;
if (offline) {
  run(process.execPath, [offline, "src/component:component"]);
  run("npm", ["run", "build"]);
  run(process.execPath, [offline, "example/convex:app"]);
} else {
  run("npx", ["convex", "codegen", "--component-dir", "src/component"]);
  run("npm", ["run", "build"]);
  run("npx", ["convex", "codegen"]);
}

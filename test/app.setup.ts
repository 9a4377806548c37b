/// <reference types="vite/client" />
// The example app (example/convex) with this component registered, as a host
// app would test it: convex-test with transaction limits on.
import { convexTest } from "convex-test";
import schema from "../example/convex/schema.js";
import { register } from "../src/test.js";

const modules = import.meta.glob("../example/convex/**/*.ts");

export function initApp() {
  const t = convexTest({ schema, modules, transactionLimits: true });
  register(t);
  return t;
}

// What `npm run demo` builds example/src/main.tsx against instead of convex/react
// (see example/vite.config.ts): everything convex/react exports, with the local
// engine's client standing in for ConvexReactClient. The example page itself
// never imports dev/.
export * from "convex/react";
export { LocalEngineClient as ConvexReactClient } from "./client.js";

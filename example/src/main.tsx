// The example site: a few pages with client-side navigation, buttons that send
// custom events, a signup form that records a server-side event, and /dashboard.
// The same code runs against a real deployment (VITE_CONVEX_URL) or the local
// engine (`npm run demo`), which serves this page and its bridge on one origin.
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { ConvexProvider, ConvexReactClient } from "convex/react";
import { LocalEngineClient } from "../../dev/client.js";
import { App } from "./App.js";
import "./styles.css";

const deployment = import.meta.env.VITE_CONVEX_URL as string | undefined;
// The local engine's client implements what convex/react calls on a ConvexReactClient.
const client = deployment ? new ConvexReactClient(deployment) : (new LocalEngineClient() as unknown as ConvexReactClient);

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <ConvexProvider client={client}>
      <App />
    </ConvexProvider>
  </StrictMode>,
);

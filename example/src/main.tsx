// The example site: a few pages with client-side navigation, buttons that send
// custom events, a signup form that records a server-side event, and /dashboard.
// It talks to the deployment in VITE_CONVEX_URL. (`npm run demo` builds this same
// page against the local engine instead: see vite.config.ts.)
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { ConvexProvider, ConvexReactClient } from "convex/react";
import { App } from "./App.js";
import "./styles.css";

const convex = new ConvexReactClient(import.meta.env.VITE_CONVEX_URL as string);

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <ConvexProvider client={convex}>
      <App />
    </ConvexProvider>
  </StrictMode>,
);

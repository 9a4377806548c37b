import { useEffect, useState, type MouseEvent, type ReactNode } from "react";
import { useMutation } from "convex/react";
import { api } from "../convex/_generated/api.js";
import { DashboardPage } from "./DashboardPage.js";

type Props = Record<string, string | number | boolean>;
declare global {
  interface Window {
    /** Set by the analytics script tag in index.html. */
    analytics?: { pageview(opts?: object): void; track(name: string, props?: Props): void };
  }
}

/** A custom event; the page never talks to the ingest route itself. */
const track = (name: string, props?: Props) => window.analytics?.track(name, props);

function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const onPop = () => setPath(location.pathname);
    addEventListener("popstate", onPop);
    return () => removeEventListener("popstate", onPop);
  }, []);
  return path;
}

/** Client-side navigation: history.pushState, which the analytics script sees as a pageview. */
function navigate(to: string) {
  if (to === location.pathname) return;
  history.pushState(null, "", to);
  dispatchEvent(new PopStateEvent("popstate"));
}

function Link({ to, children }: { to: string; children: ReactNode }) {
  const onClick = (e: MouseEvent) => {
    e.preventDefault();
    navigate(to);
  };
  return (
    <a href={to} onClick={onClick} className={location.pathname === to ? "active" : undefined}>
      {children}
    </a>
  );
}

function Home() {
  return (
    <section>
      <h1>Analytics that live in your own Convex deployment</h1>
      <p>
        Every click on this page is an event. Open the dashboard in another tab and watch it arrive.
      </p>
      <button data-testid="cta" onClick={() => track("cta_click", { button: "hero" })}>
        Get started
      </button>
    </section>
  );
}

function Pricing() {
  const signup = useMutation(api.signup.signup);
  const [email, setEmail] = useState("");
  const [done, setDone] = useState<string | null>(null);
  return (
    <section>
      <h1>Pricing</h1>
      <div className="plans">
        {(["free", "pro", "team"] as const).map((plan) => (
          <div className="plan" key={plan}>
            <h2>{plan}</h2>
            <button
              data-testid={`plan-${plan}`}
              onClick={() => track("plan_selected", { plan, billing: "monthly" })}
            >
              Choose {plan}
            </button>
          </div>
        ))}
      </div>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          // A server-side event: recorded by the signup mutation if and only if it commits.
          void signup({ email, plan: "pro" }).then(() => setDone(email));
        }}
      >
        <input
          data-testid="email"
          type="email"
          required
          placeholder="you@example.com"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
        />
        <button data-testid="signup" type="submit">
          Sign up
        </button>
        {done && (
          <p data-testid="signed-up">
            Signed up {done}: a server-side "signup" event was recorded with the write.
          </p>
        )}
      </form>
    </section>
  );
}

function Docs() {
  return (
    <section>
      <h1>Docs</h1>
      <pre>npm install convex-event-analytics</pre>
      <button data-testid="copy" onClick={() => track("copy_install", { manager: "npm" })}>
        Copy
      </button>
    </section>
  );
}

/** The other pages the synthetic traffic visits (npm run demo --seed): placeholders, so every link lands somewhere. */
function Placeholder({ path }: { path: string }) {
  return (
    <section>
      <h1>{path.split("/").filter(Boolean).join(" / ").replace(/-/g, " ")}</h1>
      <p>A placeholder page of the example site.</p>
      <Link to="/pricing">See pricing</Link>
    </section>
  );
}
const PLACEHOLDERS = /^\/(about|signup|blog(\/[a-z-]+)?|docs\/[a-z-]+)$/;

const PAGES: Record<string, () => ReactNode> = {
  "/": Home,
  "/pricing": Pricing,
  "/docs": Docs,
  "/dashboard": DashboardPage,
};

export function App() {
  const path = usePath();
  const Page = PAGES[path];
  return (
    <>
      <nav>
        <Link to="/">Home</Link>
        <Link to="/pricing">Pricing</Link>
        <Link to="/docs">Docs</Link>
        <Link to="/dashboard">Dashboard</Link>
      </nav>
      <main className={path === "/dashboard" ? "wide" : undefined}>
        {Page ? (
          <Page />
        ) : PLACEHOLDERS.test(path) ? (
          <Placeholder path={path} />
        ) : (
          <h1>Not found</h1>
        )}
      </main>
    </>
  );
}

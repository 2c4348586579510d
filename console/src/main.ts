import { ApiError, api, credentials, whenUnauthorized } from "./api.ts";
import { fill, h } from "./dom.ts";
import { failoverPage } from "./failover.ts";
import { domainsPage, driftPage, statusPage, triggersPage } from "./pages.ts";

/**
 * The console: one page per hash (#failover, #status, #drift, #domains, #triggers), rendered
 * from the admin API with DOM calls only (no HTML from data), behind a sign-in with the admin
 * credentials.
 */
type Render = (main: HTMLElement, alive: () => boolean) => Promise<void>;
const PAGES: Record<string, Render> = {
  failover: failoverPage,
  status: statusPage,
  drift: driftPage,
  domains: domainsPage,
  triggers: triggersPage,
};

const main = document.getElementById("main") as HTMLElement;
const nav = document.getElementById("nav") as HTMLElement;
const who = document.getElementById("who") as HTMLElement;
/** Each render gets a token; a page's timers stop once another page replaced it. */
let generation = 0;

function signInPage(reason?: string): void {
  generation++;
  nav.hidden = true;
  const username = h("input", {
    id: "username",
    name: "username",
    autocomplete: "username",
    required: true,
  });
  const password = h("input", {
    id: "password",
    name: "password",
    type: "password",
    autocomplete: "current-password",
    required: true,
  });
  const message = h("p", { id: "sign-in-message", class: "error", role: "alert" }, reason ?? "");
  const form = h(
    "form",
    { id: "sign-in" },
    h("div", { class: "row text" }, h("label", { for: "username" }, "Username"), username),
    h("div", { class: "row text" }, h("label", { for: "password" }, "Password"), password),
    h("p", {}, h("button", { type: "submit" }, "Sign in")),
    message,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    credentials.set(username.value, password.value);
    try {
      await api("GET", "/api/failover");
      route();
    } catch (error) {
      credentials.clear();
      message.textContent =
        error instanceof ApiError && error.status === 401
          ? "Wrong username or password."
          : error instanceof Error
            ? error.message
            : String(error);
    }
  });
  fill(main, h("h2", {}, "Sign in"), h("p", {}, "Use the admin credentials of this server."), form);
  username.focus();
}

function route(): void {
  if (!credentials.get()) {
    signInPage();
    return;
  }
  const name = location.hash.slice(1) || "failover";
  const render = PAGES[name] ?? PAGES.failover;
  const mine = ++generation;
  nav.hidden = false;
  who.textContent = `Signed in as ${credentials.user() ?? ""}`;
  for (const link of nav.querySelectorAll("a")) {
    link.classList.toggle("current", link.dataset.page === name);
  }
  fill(main, h("p", {}, "Loading…"));
  render?.(main, () => mine === generation).catch((error: unknown) => {
    if (mine !== generation) return;
    fill(
      main,
      h(
        "p",
        { class: "error", role: "alert" },
        error instanceof Error ? error.message : String(error),
      ),
    );
  });
}

whenUnauthorized(() => {
  // On the sign-in page a 401 is the form's own answer ("wrong password"), not a sign-out.
  if (nav.hidden) return;
  credentials.clear();
  signInPage("Signed out: sign in again.");
});
(document.getElementById("sign-out") as HTMLElement).addEventListener("click", () => {
  credentials.clear();
  signInPage();
});
window.addEventListener("hashchange", route);
route();

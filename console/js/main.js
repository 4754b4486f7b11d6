// The console's shell: sign-in, the pages behind it (routed by the URL's hash, so static hosting
// needs no rewrite rules), and the one place errors are shown.
import { call } from "./api.js";
import { el, errorBox, field, heading } from "./dom.js";
import { appKey, signIn, signOut } from "./session.js";
import { analyticsPage } from "./pages/analytics.js";
import { balancePage } from "./pages/balance.js";
import { inboundPage } from "./pages/inbound.js";
import { messagePage } from "./pages/message.js";
import { messagesPage } from "./pages/messages.js";
import { suppressionsPage } from "./pages/suppressions.js";
import { webhooksPage } from "./pages/webhooks.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const signOutButton = document.getElementById("sign-out");

// "#/messages/<id>" → the message page; the rest by their first segment.
const PAGES = {
  messages: (rest, parameters) => (rest ? messagePage(decodeURIComponent(rest), parameters) : messagesPage(parameters)),
  analytics: (_, parameters) => analyticsPage(parameters),
  inbound: () => inboundPage(),
  suppressions: () => suppressionsPage(),
  balance: () => balancePage(),
  webhooks: (_, parameters) => webhooksPage(parameters),
};

function route() {
  const [path, search = ""] = window.location.hash.replace(/^#\/?/, "").split("?");
  const [name, ...rest] = path.split("/");
  return { name: name || "messages", rest: rest.join("/"), parameters: new URLSearchParams(search) };
}

async function render(notice) {
  const signedIn = Boolean(appKey());
  nav.hidden = !signedIn;
  signOutButton.hidden = !signedIn;
  if (!signedIn) {
    show(signInPage(notice));
    return;
  }
  const { name, rest, parameters } = route();
  const page = PAGES[name];
  for (const link of nav.querySelectorAll("a")) {
    if (link.getAttribute("href") === `#/${name}`) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (!page) {
    show(el("section", {}, heading("Not found"), el("p", {}, "No such page. "), el("a", { href: "#/messages" }, "Messages")));
    return;
  }
  try {
    show(await page(rest, parameters));
  } catch (error) {
    if (!appKey()) return; // a 401: the signed-out listener shows the sign-in page
    show(el("section", {}, heading("Something went wrong"), errorBox(error)));
  }
}

function show(content) {
  main.replaceChildren(content);
  (main.querySelector("h1") || main).focus();
}

function signInPage(notice) {
  const input = el("input", {
    type: "password",
    name: "app-key",
    autocomplete: "off",
    required: true,
    spellcheck: "false",
  });
  const problem = el("div");
  const form = el(
    "form",
    {
      class: "card narrow",
      "aria-label": "Sign in",
      onsubmit: async (event) => {
        event.preventDefault();
        const key = input.value.trim();
        problem.replaceChildren();
        try {
          // Any cheap authenticated read tells a good key from a bad one.
          await call("GET", "/balance", { key });
        } catch (error) {
          problem.replaceChildren(errorBox(error));
          input.focus();
          return;
        }
        signIn(key);
        // (replaceState: setting the hash would fire hashchange and render twice)
        if (!window.location.hash) window.history.replaceState(null, "", "#/messages");
        render();
      },
    },
    field("App-key", input, "Kept in this tab only, until you sign out or close it."),
    el("button", { type: "submit" }, "Sign in"),
    problem,
  );
  return el(
    "section",
    {},
    heading("Sign in"),
    notice ? el("p", { class: "notice", role: "alert" }, notice) : null,
    el("p", {}, "Sign in with your organization's app-key to follow messages, delivery, money and webhooks."),
    form,
  );
}

signOutButton.addEventListener("click", () => {
  signOut();
  window.history.replaceState(null, "", window.location.pathname);
  render("You are signed out.");
});
window.addEventListener("lisoloo:signed-out", (event) =>
  render(`Signed out: ${event.detail || "the API no longer accepts this app-key"}.`),
);
window.addEventListener("hashchange", () => render());
render();

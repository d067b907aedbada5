// One page, four addresses: /join (a seat's invite link), /setup, and the
// console at / and /console.

import "./app.css";
import { mountConsole, mountSetup } from "./console";
import { h } from "./dom";
import { mountLive } from "./live";
import { mountPartner, partnerWaiting } from "./partner";
import { Store } from "./store";

function join(root: HTMLElement): void {
  const token = location.hash.slice(1);
  if (!token) {
    partnerWaiting(root, "This link is incomplete. Ask the mediator for your link and open all of it.", true);
    return;
  }
  partnerWaiting(root, "Connecting to your session…");
  const store = new Store(location.origin, token);
  let mounted = false;
  store.subscribe(() => {
    if (mounted) return;
    if (store.state && store.seat) {
      mounted = true;
      if (store.seat === "mediator") {
        // A mediator's own link: the live view, without the console's account pages.
        const box = h("main", { class: "console-main" });
        root.replaceChildren(
          h("header", { class: "topbar" }, h("span", { class: "brand", text: "Accord" }), h("span", { class: "session-title", text: store.title }), h("span", { class: "seat-label", text: "Mediator" })),
          box,
        );
        document.title = `${store.title} — Accord`;
        mountLive(box, store);
      } else {
        mountPartner(root, store);
      }
    } else if (store.status === "stopped") {
      partnerWaiting(root, store.statusMessage || "The connection was closed.", true);
    } else if (store.status === "reconnecting") {
      // e.g. too_many_connections: the server says why; we try again with backoff.
      partnerWaiting(root, store.statusMessage ? `${store.statusMessage} Trying again…` : "The server cannot be reached yet. Still trying…");
    }
  });
  store.start();
}

function main(): void {
  const root = document.getElementById("app");
  if (!root) return;
  const path = location.pathname.replace(/\/+$/, "") || "/";
  if (path === "/join") join(root);
  else if (path === "/setup") mountSetup(root);
  else mountConsole(root);
}

main();

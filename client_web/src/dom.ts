// Small DOM helpers: element building, a live region, drafts that survive
// reconnects and reloads (sessionStorage), and one-id generation.

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, unknown>;

/** h("button", {class: "x", onclick: fn, "aria-label": "…"}, "text", child) */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key.startsWith("on") && typeof value === "function") {
        el.addEventListener(key.slice(2), value as EventListener);
      } else if (key === "class") {
        el.className = String(value);
      } else if (key === "text") {
        el.textContent = String(value);
      } else if (key in el && !key.includes("-") && key !== "list" && key !== "form") {
        (el as unknown as Record<string, unknown>)[key] = value;
      } else {
        el.setAttribute(key, value === true ? "" : String(value));
      }
    }
  }
  append(el, ...children);
  return el;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

export function show(el: HTMLElement, visible: boolean): void {
  el.hidden = !visible;
}

export function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

let idCounter = 0;
/** A page-unique element id for label/aria wiring. */
export function uid(prefix: string): string {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** A labelled text area or input, with its label above it. */
export function field(
  label: string,
  control: HTMLTextAreaElement | HTMLInputElement | HTMLSelectElement,
  hint?: HTMLElement | string,
): HTMLDivElement {
  if (!control.id) control.id = uid("f");
  const wrap = h("div", { class: "field" }, h("label", { for: control.id, text: label }));
  if (hint !== undefined) {
    const hintEl = typeof hint === "string" ? h("p", { class: "hint", text: hint }) : hint;
    if (!hintEl.id) hintEl.id = uid("hint");
    control.setAttribute("aria-describedby", hintEl.id);
    append(wrap, control, hintEl);
  } else {
    append(wrap, control);
  }
  return wrap;
}

// -- the live region -----------------------------------------------------------

let region: HTMLElement | null = null;

/** Say `message` through the page's aria-live region (turn changes, time-outs). */
export function announce(message: string): void {
  if (!region) {
    region = document.getElementById("announcer");
    if (!region) {
      region = h("div", { id: "announcer", class: "visually-hidden", role: "status", "aria-live": "polite" });
      document.body.appendChild(region);
    }
  }
  const target = region;
  target.textContent = "";
  // A fresh text node after a tick is announced even when the text repeats.
  window.setTimeout(() => {
    target.textContent = message;
  }, 50);
}

// -- drafts ----------------------------------------------------------------------

/** Keeps what a person typed: in the element itself and in sessionStorage. */
export class Drafts {
  constructor(private readonly prefix: string) {}

  private key(name: string): string {
    return `accord:draft:${this.prefix}:${name}`;
  }

  /** Restore the saved draft into `control` and save every change (`name` may vary). */
  bind(control: HTMLTextAreaElement | HTMLInputElement, name: string | (() => string)): void {
    const current = () => (typeof name === "string" ? name : name());
    const saved = safeGet(this.key(current()));
    if (saved !== null && control.value === "") control.value = saved;
    control.addEventListener("input", () => {
      safeSet(this.key(current()), control.value);
    });
  }

  get(name: string): string {
    return safeGet(this.key(name)) ?? "";
  }

  clear(control: HTMLTextAreaElement | HTMLInputElement, name: string): void {
    control.value = "";
    safeRemove(this.key(name));
    control.dispatchEvent(new Event("draftcleared"));
  }
}

export function safeGet(key: string): string | null {
  try {
    return window.sessionStorage.getItem(key);
  } catch {
    return null;
  }
}
export function safeSet(key: string, value: string): void {
  try {
    window.sessionStorage.setItem(key, value);
  } catch {
    // storage full or disabled: the element still holds the text
  }
}
export function safeRemove(key: string): void {
  try {
    window.sessionStorage.removeItem(key);
  } catch {
    // ignore
  }
}

/** A random id; works on plain http too (crypto.randomUUID needs a secure context). */
export function randomId(bytes = 12): string {
  const buf = new Uint8Array(bytes);
  crypto.getRandomValues(buf);
  return Array.from(buf, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function formatClock(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  const m = Math.floor(s / 60);
  const rest = s % 60;
  if (m >= 60) {
    const hours = Math.floor(m / 60);
    return `${hours}:${String(m % 60).padStart(2, "0")}:${String(rest).padStart(2, "0")}`;
  }
  return `${m}:${String(rest).padStart(2, "0")}`;
}

export function formatTime(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export function wordCount(text: string): number {
  const words = text.trim().split(/\s+/);
  return words.length === 1 && words[0] === "" ? 0 : words.length;
}

/** Copy text to the clipboard; falls back to a selection copy on plain http. */
export async function copyText(text: string, source?: HTMLInputElement): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // fall through
  }
  if (source) {
    source.focus();
    source.select();
    try {
      return document.execCommand("copy");
    } catch {
      return false;
    }
  }
  return false;
}

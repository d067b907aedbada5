// The dialogue's view (speaker-listener with the paraphrase gate; Imago's
// reflection steps): whose turn it is and the one thing each partner may do
// now, and the mediator's floor, queue and overrides.
//
// Which panel a partner sees follows the state the server sent (the stage,
// and the seat's role in it); what is enabled in it is exactly `may`; the
// statement's limit and the next reflection step are `hints`; whether a
// mediator's act needs a reason is `overrides`.

import { clear, field, h, setText, show } from "../dom";
import { DialoguePhase, DialogueSpec, Partner, otherPartner } from "../protocol";
import type { SeatView } from "../store";
import { STEP_HELP, STEP_NAMES } from "../text";
import { enable, overrideButton } from "../widgets";
import { Headline, MediatorContext, MediatorPart, PartnerContext, PartnerPart, View, phaseOf, specFor } from "./view";

const ORDINAL = ["", "next", "2nd", "3rd"];

/** The partner page's words for each (role, stage) it knows; `prompt.text` for any other. */
const HEADLINES: Record<string, Record<string, Headline>> = {
  partner: {
    idle: { head: "Nobody has the floor.", more: "Ask to speak, or wait for the mediator." },
  },
  speaker: {
    speaking: { head: "Your turn to speak.", more: "Your partner listens, then says back what they heard." },
    awaiting_paraphrase: { head: "Your partner is putting what you said in their own words.", more: "" },
    awaiting_answer: { head: "Your partner asked a question. Answer it.", more: "" },
    awaiting_confirmation: { head: "Did your partner get it? Confirm or correct.", more: "" },
    confirmed: { head: "Your partner got it. Is there more?", more: "" },
    reflecting: { head: "Your partner is reflecting on what you said.", more: "" },
  },
  listener: {
    speaking: { head: "Your partner has the floor. Listen.", more: "You'll put what they say in your own words." },
    awaiting_paraphrase: { head: "Your turn: paraphrase what your partner said.", more: "" },
    awaiting_answer: { head: "Waiting for your partner's answer.", more: "" },
    awaiting_confirmation: { head: "Waiting: did you get it?", more: "Your partner is reading your paraphrase." },
    confirmed: { head: "Your partner may say more or yield the floor.", more: "You reply once they yield." },
    reflecting: { head: "Your turn: reflect on what your partner said.", more: "" },
  },
};

/** Where the floor is, in the console's words. */
const STAGES: Record<string, string> = {
  idle: "nobody holds the floor",
  speaking: "speaking",
  awaiting_paraphrase: "waiting for the paraphrase",
  awaiting_answer: "waiting for the answer to a question",
  awaiting_confirmation: "waiting for the speaker to confirm the paraphrase",
  confirmed: "paraphrase confirmed: more, or yield",
  reflecting: "the listener reflects",
};

function dialogueOf(view: SeatView): DialoguePhase | null {
  return phaseOf<DialoguePhase>(view.state, "dialogue");
}

function partner(ctx: PartnerContext): PartnerPart {
  const { store, me, drafts, act, isBusy } = ctx;
  const other = otherPartner(me);

  // -- where the floor is --------------------------------------------------------------
  const floorInfo = h("p", { class: "floor-info", "data-testid": "floor" });
  const queueInfo = h("p", { class: "queue-info", "data-testid": "queue" });
  const status = h("div", { class: "floor-status" }, floorInfo, queueInfo);

  // -- mirror (the listener, a statement awaits its paraphrase) ----------------------------
  const mirrorQuote = h("blockquote", { class: "quote", "data-testid": "mirror-statement" });
  const correction = h("p", { class: "correction", "data-testid": "correction" });
  const paraphraseBox = h("textarea", { rows: 3, maxLength: 4000, "data-testid": "paraphrase-box" });
  drafts.bind(paraphraseBox, "paraphrase");
  const paraphraseBtn = h("button", { type: "button", class: "primary", text: "Send my paraphrase" });
  const questionBox = h("textarea", { rows: 2, maxLength: 4000 });
  drafts.bind(questionBox, "question");
  const questionBtn = h("button", { type: "button", text: "Ask the question" });
  const questionPart = h("div", { class: "sub" }, field("Or ask a clarifying question first", questionBox), questionBtn);
  const mirror = h(
    "div",
    { class: "act act-mirror" },
    h("h2", { text: "Your partner said" }),
    mirrorQuote,
    correction,
    field("In your own words, what did your partner say?", paraphraseBox, "Say it back without adding your view."),
    paraphraseBtn,
    questionPart,
  );

  // -- confirm (the speaker, a paraphrase awaits) -------------------------------------------
  const paraphraseQuote = h("blockquote", { class: "quote", "data-testid": "paraphrase-to-confirm" });
  const confirmBtn = h("button", { type: "button", class: "primary", text: "That's it" });
  const noteBox = h("textarea", { rows: 2, maxLength: 4000, "data-testid": "correction-box" });
  drafts.bind(noteBox, "correction");
  const correctBtn = h("button", { type: "button", text: "Not quite" });
  const confirm = h(
    "div",
    { class: "act act-confirm" },
    h("h2", { text: "Your partner's paraphrase" }),
    paraphraseQuote,
    h("p", { class: "detail", text: "Did they get it?" }),
    h("div", { class: "row" }, confirmBtn),
    field("Not quite? Say what was missed (optional)", noteBox),
    correctBtn,
  );

  // -- answer (the speaker, a clarifying question awaits) ---------------------------------------
  const questionQuote = h("blockquote", { class: "quote" });
  const answerBox = h("textarea", { rows: 3, maxLength: 4000 });
  drafts.bind(answerBox, "answer");
  const answerBtn = h("button", { type: "button", class: "primary", text: "Send my answer" });
  const answer = h("div", { class: "act act-answer" }, h("h2", { text: "Your partner asked" }), questionQuote, field("Your answer", answerBox), answerBtn);

  // -- reflect (the listener, Imago's steps after the speaker yielded) ----------------------------
  const stepTitle = h("h2");
  const stepHelp = h("p", { class: "detail" });
  const reflectBox = h("textarea", { rows: 3, maxLength: 4000, "data-testid": "reflect-box" });
  drafts.bind(reflectBox, () => `reflect-${reflectBox.dataset["step"] ?? ""}`);
  const reflectBtn = h("button", { type: "button", class: "primary", text: "Send" });
  const reflect = h("div", { class: "act act-reflect" }, stepTitle, stepHelp, field("Your reflection", reflectBox), reflectBtn);

  // -- speak (the speaker) ----------------------------------------------------------------------
  const statementBox = h("textarea", { rows: 4, "data-testid": "statement-box" });
  drafts.bind(statementBox, "statement");
  const counter = h("p", { class: "hint counter", "aria-live": "off" });
  const statementBtn = h("button", { type: "button", class: "primary", text: "Say it" });
  const moreBtn = h("button", { type: "button", text: "There's more" });
  const yieldBtn = h("button", { type: "button", text: "Yield the floor" });
  const speakHelp = h("p", { class: "detail" });
  const speak = h(
    "div",
    { class: "act act-speak" },
    h("h2", { text: "Your statement" }),
    speakHelp,
    field("What you want to say", statementBox, counter),
    h("div", { class: "row" }, statementBtn),
    h("div", { class: "row" }, moreBtn, yieldBtn),
  );

  // -- floor requests ------------------------------------------------------------------------
  const requestBtn = h("button", { type: "button", text: "Ask to speak next" });
  const withdrawBtn = h("button", { type: "button", text: "Withdraw my request" });
  const floorActs = h("div", { class: "act act-floor row" }, requestBtn, withdrawBtn);

  const el = h("section", { class: "card acts", "aria-label": "What you can do now" }, mirror, confirm, answer, reflect, speak, floorActs);

  // -- wiring --------------------------------------------------------------------------------
  const sendText = (button: HTMLButtonElement, box: HTMLTextAreaElement, type: string, draft: string, extra = {}) => {
    const text = box.value.trim();
    if (!text) return box.focus();
    void act(button, type, { ...extra, text }, () => drafts.clear(box, draft));
  };
  paraphraseBtn.addEventListener("click", () => sendText(paraphraseBtn, paraphraseBox, "paraphrase", "paraphrase"));
  questionBtn.addEventListener("click", () => sendText(questionBtn, questionBox, "question", "question"));
  answerBtn.addEventListener("click", () => sendText(answerBtn, answerBox, "answer", "answer"));
  statementBtn.addEventListener("click", () => sendText(statementBtn, statementBox, "statement", "statement"));
  reflectBtn.addEventListener("click", () => {
    const step = reflectBox.dataset["step"] ?? "";
    sendText(reflectBtn, reflectBox, "reflect", `reflect-${step}`, { step });
  });
  confirmBtn.addEventListener("click", () => void act(confirmBtn, "paraphrase.confirm"));
  correctBtn.addEventListener("click", () => {
    void act(correctBtn, "paraphrase.correct", { note: noteBox.value.trim() }, () => drafts.clear(noteBox, "correction"));
  });
  moreBtn.addEventListener("click", () => statementBox.focus());
  yieldBtn.addEventListener("click", () => void act(yieldBtn, "yield"));
  requestBtn.addEventListener("click", () => void act(requestBtn, "floor.request"));
  withdrawBtn.addEventListener("click", () => void act(withdrawBtn, "floor.withdraw"));

  /** The statement limit as the server last said it (while a statement may be made). */
  let maxChars: number | null = null;
  const updateCounter = () => setText(counter, maxChars === null ? "" : `${statementBox.value.length} / ${maxChars} characters`);
  statementBox.addEventListener("input", updateCounter);
  statementBox.addEventListener("draftcleared", updateCounter);
  let reflectStep = "";

  return {
    status,
    el,
    render(view) {
      const d = dialogueOf(view);
      if (!d) return { head: view.prompt.text, more: "" };
      const { may, role, hints } = view;
      const stage = d.stage;

      setText(floorInfo, d.speaker ? `Floor: ${d.speaker === me ? "you" : "your partner"}` : "Floor: free");
      const pos = d.queue.indexOf(me);
      const queueText =
        pos >= 0
          ? `You are ${ORDINAL[pos + 1] ?? `number ${pos + 1}`} in line to speak.`
          : d.queue.includes(other)
            ? "Your partner asked to speak next."
            : "";
      setText(queueInfo, queueText);
      show(queueInfo, queueText !== "");

      // Mirror
      const mirroring = role === "listener" && stage === "awaiting_paraphrase";
      show(mirror, mirroring);
      setText(mirrorQuote, mirroring ? d.statement_text : "");
      const corrected = mirroring ? store.latest("paraphrase.corrected", d.statement) : undefined;
      const note = corrected?.["note"];
      const correctionText =
        corrected && d.attempts > 0
          ? `Not quite${typeof note === "string" && note ? `: “${note}”` : "."} Try again (attempt ${d.attempts + 1}).`
          : "";
      setText(correction, correctionText);
      show(correction, correctionText !== "");
      enable(paraphraseBox, may.has("paraphrase"));
      enable(paraphraseBtn, may.has("paraphrase"), isBusy);
      show(questionPart, may.has("question"));
      enable(questionBox, may.has("question"));
      enable(questionBtn, may.has("question"), isBusy);

      // Confirm
      const confirming = role === "speaker" && stage === "awaiting_confirmation";
      show(confirm, confirming);
      const offered = confirming ? store.latest("paraphrase.offered", d.statement) : undefined;
      setText(paraphraseQuote, offered ? String(offered["text"] ?? "") : "");
      enable(confirmBtn, may.has("paraphrase.confirm"), isBusy);
      enable(correctBtn, may.has("paraphrase.correct"), isBusy);
      enable(noteBox, may.has("paraphrase.correct"));

      // Answer
      const answering = role === "speaker" && stage === "awaiting_answer";
      show(answer, answering);
      const asked = answering ? store.latest("question.asked", d.statement) : undefined;
      setText(questionQuote, asked ? String(asked["text"] ?? "") : "");
      enable(answerBox, may.has("answer"));
      enable(answerBtn, may.has("answer"), isBusy);

      // Reflect: the step the server expects next.
      const reflecting = role === "listener" && stage === "reflecting";
      show(reflect, reflecting);
      const step = hints.reflect?.step ?? reflectStep;
      if (step !== reflectStep) {
        reflectStep = step;
        reflectBox.value = drafts.get(`reflect-${step}`);
      }
      reflectBox.dataset["step"] = step;
      const steps = specFor<DialogueSpec>(view.state, "dialogue")?.listener_steps.length ?? 0;
      setText(stepTitle, `${STEP_NAMES[step] ?? step}${steps ? ` (step ${d.step + 1} of ${steps})` : ""}`);
      setText(stepHelp, STEP_HELP[step] ?? "");
      enable(reflectBox, may.has("reflect"));
      enable(reflectBtn, may.has("reflect"), isBusy);

      // Speak
      const speaker = role === "speaker";
      show(speak, !mirroring && !confirming && !answering && !reflecting);
      const limit = hints.statement?.max_chars;
      maxChars = typeof limit === "number" ? limit : null;
      if (maxChars !== null) statementBox.maxLength = maxChars;
      updateCounter();
      show(counter, maxChars !== null);
      enable(statementBox, may.has("statement"));
      enable(statementBtn, may.has("statement"), isBusy);
      show(moreBtn, speaker && stage === "confirmed");
      enable(moreBtn, may.has("statement"));
      show(yieldBtn, speaker);
      enable(yieldBtn, may.has("yield"), isBusy);
      setText(yieldBtn, d.spoke ? "That's all — yield the floor" : "Pass — yield the floor");
      setText(
        speakHelp,
        !speaker
          ? role === "listener"
            ? "You can speak when you hold the floor. Your partner speaks first; you reply once they yield."
            : "You can speak when you hold the floor."
          : stage === "confirmed"
            ? "Your partner got it. Is there more? Say it, or yield the floor so your partner can reply."
            : stage === "awaiting_paraphrase"
              ? "Wait for your partner's paraphrase."
              : stage === "reflecting"
                ? "Listen while your partner reflects what you said."
                : maxChars !== null
                  ? `Say one thing, briefly: up to ${maxChars} characters. Speak for yourself (“I feel…”).`
                  : "Say one thing, briefly. Speak for yourself (“I feel…”).",
      );

      // Floor requests
      show(floorActs, may.has("floor.request") || may.has("floor.withdraw"));
      show(requestBtn, may.has("floor.request"));
      show(withdrawBtn, may.has("floor.withdraw"));
      enable(requestBtn, may.has("floor.request"), isBusy);
      enable(withdrawBtn, may.has("floor.withdraw"), isBusy);

      return HEADLINES[role]?.[stage] ?? { head: view.prompt.text, more: "" };
    },
  };
}

function mediator(ctx: MediatorContext): MediatorPart {
  const { store, name, isBusy, overrides } = ctx;
  const queueList = h("ol", { class: "queue-list", "aria-label": "Queue for the floor" });
  const queueEmpty = h("p", { class: "detail", text: "Nobody is waiting for the floor." });
  const now = h("div", { class: "queue-part" }, h("h3", { text: "Queue" }), queueList, queueEmpty);

  const grant = (seat: Partner) => {
    const button = overrideButton(`Give the floor to ${name(seat)}`);
    button.addEventListener("click", () => {
      const view = store.view;
      overrides.send(button, "floor.grant", { seat }, view ? grantNeedsReason(view, seat) : false);
    });
    return button;
  };
  const grantA = grant("partner_a");
  const grantB = grant("partner_b");
  const gated = (text: string, type: string) => {
    const button = overrideButton(text);
    button.addEventListener("click", () => overrides.send(button, type, {}, store.view?.overrides.has(type) ?? false));
    return button;
  };
  const revoke = gated("Take the floor back", "floor.revoke");
  const waive = gated("Waive the paraphrase", "paraphrase.waive");
  const controls = ctx.group("Floor", h("div", { class: "row" }, grantA, grantB), h("div", { class: "row" }, revoke, waive));

  return {
    now,
    controls,
    render(view) {
      const d = dialogueOf(view);
      const { may } = view;
      // The queue, with reordering (each move an override).
      clear(queueList);
      const queue = d?.queue ?? [];
      queue.forEach((p, i) => {
        const up = overrideButton("Move up", "small");
        up.setAttribute("aria-label", `Move ${name(p)} up`);
        enable(up, i > 0 && may.has("floor.reorder"));
        overrides.mark(up, i > 0 && view.overrides.has("floor.reorder"));
        up.addEventListener("click", () => {
          const next = [...queue];
          next.splice(i, 1);
          next.splice(i - 1, 0, p);
          overrides.send(up, "floor.reorder", { queue: next }, store.view?.overrides.has("floor.reorder") ?? false);
        });
        queueList.append(h("li", null, name(p), " ", up));
      });
      show(queueEmpty, queue.length === 0);

      enable(grantA, may.has("floor.grant"), isBusy);
      enable(grantB, may.has("floor.grant"), isBusy);
      overrides.mark(grantA, grantNeedsReason(view, "partner_a"));
      overrides.mark(grantB, grantNeedsReason(view, "partner_b"));
      enable(revoke, may.has("floor.revoke"), isBusy);
      enable(waive, may.has("paraphrase.waive"), isBusy);
      overrides.mark(revoke, view.overrides.has("floor.revoke"));
      overrides.mark(waive, view.overrides.has("paraphrase.waive"));

      if (!d) return view.prompt.text;
      if (!d.speaker) return "Floor: free — nobody holds it.";
      const attempts = d.attempts ? ` (paraphrase attempt ${d.attempts})` : "";
      return `Floor: ${name(d.speaker)} — ${STAGES[d.stage] ?? d.stage}${attempts}.`;
    },
  };
}

/** A grant needs a reason when every grant does now, or when the server
 * does not list the seat among those it may go to freely
 * (PROTOCOL.md: `hints["floor.grant"].free`). */
function grantNeedsReason(view: SeatView, seat: Partner): boolean {
  if (view.overrides.has("floor.grant")) return true;
  const free = view.hints["floor.grant"]?.free;
  return free !== undefined && !free.includes(seat);
}

export const DIALOGUE: View = { partner, mediator };

// The partner page: phone first. Whose turn it is, what I may do now, and a
// time-out button that always works.

import { Drafts, field, h, setText, show } from "./dom";
import { currentSpec, dialogueSpec } from "./model";
import { DialoguePhase, Partner, SessionState, otherPartner } from "./protocol";
import { Store } from "./store";
import { STEP_HELP, STEP_NAMES, partnerNames } from "./text";
import {
  Banners,
  Countdown,
  DebriefForm,
  Transcript,
  announceChange,
  enable,
  makeActor,
  presenceList,
  presenceWord,
  seatOrder,
} from "./widgets";

const ORDINAL = ["", "next", "2nd", "3rd"];

export function mountPartner(root: HTMLElement, store: Store): void {
  const me = store.seat as Partner;
  const partner = otherPartner(me);
  const name = partnerNames(me);
  const drafts = new Drafts(`${store.session}:${me}`);
  const banners = new Banners();
  const render = () => update();
  const { act, isBusy } = makeActor(store, banners, render);

  // -- header --------------------------------------------------------------------
  const title = h("span", { class: "session-title" });
  const seatLabel = h("span", { class: "seat-label", text: me === "partner_a" ? "You are Partner A" : "You are Partner B" });
  const header = h("header", { class: "topbar" }, h("span", { class: "brand", text: "Accord" }), title, seatLabel);

  // -- where we are --------------------------------------------------------------
  const phaseTitle = h("h1", { class: "phase-title", id: "phase-title" });
  const headline = h("p", { class: "headline", "data-testid": "headline" });
  const detail = h("p", { class: "detail" });
  const floorInfo = h("p", { class: "floor-info", "data-testid": "floor" });
  const away = h("p", { class: "away", "data-testid": "away" });
  const queueInfo = h("p", { class: "queue-info", "data-testid": "queue" });
  const turnCard = h(
    "section",
    { class: "card turn", "aria-labelledby": "phase-title" },
    phaseTitle,
    headline,
    detail,
    floorInfo,
    queueInfo,
    away,
  );

  // -- acts ------------------------------------------------------------------------
  // Mirror (listener, a statement awaits its paraphrase)
  const mirrorQuote = h("blockquote", { class: "quote", "data-testid": "mirror-statement" });
  const correction = h("p", { class: "correction", "data-testid": "correction" });
  const paraphraseBox = h("textarea", { rows: 3, maxLength: 4000, "data-testid": "paraphrase-box" });
  drafts.bind(paraphraseBox, "paraphrase");
  const paraphraseBtn = h("button", { type: "button", class: "primary", text: "Send my paraphrase" });
  const questionBox = h("textarea", { rows: 2, maxLength: 4000 });
  drafts.bind(questionBox, "question");
  const questionBtn = h("button", { type: "button", text: "Ask the question" });
  const questionPart = h(
    "div",
    { class: "sub" },
    field("Or ask a clarifying question first", questionBox),
    questionBtn,
  );
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

  // Confirm (speaker, a paraphrase awaits)
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

  // Answer (speaker, a clarifying question awaits)
  const questionQuote = h("blockquote", { class: "quote" });
  const answerBox = h("textarea", { rows: 3, maxLength: 4000 });
  drafts.bind(answerBox, "answer");
  const answerBtn = h("button", { type: "button", class: "primary", text: "Send my answer" });
  const answer = h(
    "div",
    { class: "act act-answer" },
    h("h2", { text: "Your partner asked" }),
    questionQuote,
    field("Your answer", answerBox),
    answerBtn,
  );

  // Reflect (listener, Imago steps after the speaker yielded)
  const stepTitle = h("h2");
  const stepHelp = h("p", { class: "detail" });
  const reflectBox = h("textarea", { rows: 3, maxLength: 4000, "data-testid": "reflect-box" });
  drafts.bind(reflectBox, () => `reflect-${reflectBox.dataset["step"] ?? ""}`);
  const reflectLabel = field("Your reflection", reflectBox);
  const reflectBtn = h("button", { type: "button", class: "primary", text: "Send" });
  const reflect = h("div", { class: "act act-reflect" }, stepTitle, stepHelp, reflectLabel, reflectBtn);

  // Speak (speaker)
  const statementBox = h("textarea", { rows: 4, "data-testid": "statement-box" });
  drafts.bind(statementBox, "statement");
  const counter = h("p", { class: "hint counter", "aria-live": "off" });
  const statementBtn = h("button", { type: "button", class: "primary", text: "Say it" });
  const moreBtn = h("button", { type: "button", text: "There's more" });
  const yieldBtn = h("button", { type: "button", text: "Yield the floor" });
  const speakHelp = h("p", { class: "detail" });
  const statementField = field("What you want to say", statementBox, counter);
  const speak = h(
    "div",
    { class: "act act-speak" },
    h("h2", { text: "Your statement" }),
    speakHelp,
    statementField,
    h("div", { class: "row" }, statementBtn),
    h("div", { class: "row" }, moreBtn, yieldBtn),
  );

  // Floor requests
  const requestBtn = h("button", { type: "button", text: "Ask to speak next" });
  const withdrawBtn = h("button", { type: "button", text: "Withdraw my request" });
  const floorActs = h("div", { class: "act act-floor row" }, requestBtn, withdrawBtn);

  const actCard = h("section", { class: "card acts", "aria-label": "What you can do now" }, mirror, confirm, answer, reflect, speak, floorActs);

  // -- time-out and debrief ----------------------------------------------------------
  const countdown = new Countdown(store);
  const timeoutBy = h("p", { class: "detail" });
  const breath = h(
    "div",
    { class: "breath", "aria-hidden": "true" },
    h("div", { class: "breath-circle" }),
    h("p", { class: "breath-words" }, h("span", { class: "in", text: "Breathe in…" }), h("span", { class: "out", text: "…and out" })),
  );
  const extraReason = h("textarea", { rows: 2, maxLength: 1000 });
  drafts.bind(extraReason, "timeout-extra");
  const extraBtn = h("button", { type: "button", text: "Send to the mediator" });
  const timeoutCard = h(
    "section",
    { class: "card timeout-card", "aria-labelledby": "timeout-title", "data-testid": "timeout-panel" },
    h("h2", { id: "timeout-title", text: "Time-out" }),
    timeoutBy,
    h("p", { class: "countdown-line" }, "Time left: ", countdown.el),
    breath,
    h("p", { class: "breath-help", text: "Breathe in slowly for 4 seconds, and out for 6. Let your shoulders drop." }),
    h(
      "details",
      { class: "private-reason" },
      h("summary", { text: "Tell the mediator privately what's going on (optional)" }),
      field("Only the mediator sees this", extraReason),
      extraBtn,
    ),
  );

  const debriefForm = new DebriefForm(drafts, (rating, text) => {
    void act(debriefForm.submit, "debrief.answer", { rating, text }, () => debriefForm.reset(drafts));
  });
  const debriefDone = h("p", { class: "detail", "data-testid": "debrief-done" });
  const debriefCard = h(
    "section",
    { class: "card debrief-card", "aria-labelledby": "debrief-title", "data-testid": "debrief-panel" },
    h("h2", { id: "debrief-title", text: "Debrief" }),
    h("p", { class: "detail", text: "Only the mediator sees your answers." }),
    debriefForm.el,
    debriefDone,
  );

  const endedCard = h("section", { class: "card ended-card", "data-testid": "ended" });

  // -- who is here, and the conversation ----------------------------------------------
  const presence = h("ul", { class: "presence-list" });
  const transcript = new Transcript(name, (line) => line.kind !== "system" || line.text !== "Debrief completed");
  const side = h(
    "aside",
    { class: "side" },
    h("section", { class: "card", "aria-labelledby": "who-title" }, h("h2", { id: "who-title", text: "Who is here" }), presence),
    h(
      "section",
      { class: "card", "aria-labelledby": "conv-title" },
      h("h2", { id: "conv-title", text: "Conversation so far" }),
      transcript.el,
    ),
  );

  // -- the time-out button: always visible, always working ---------------------------------
  const reasonBox = h("input", { type: "text", maxLength: 1000, "data-testid": "timeout-reason", autocomplete: "off" });
  drafts.bind(reasonBox, "timeout-reason");
  const timeoutBtn = h(
    "button",
    { type: "button", class: "timeout-button", "data-testid": "timeout-button" },
    h("span", { class: "big", text: "Time-out" }),
    h("span", { class: "small", text: "Pause everything now" }),
  );
  const reasonDetails = h(
    "details",
    { class: "timeout-reason" },
    h("summary", { text: "Add a private reason" }),
    field("Why? Only the mediator sees this (optional)", reasonBox),
  );
  const timeoutBar = h("div", { class: "timeout-bar", role: "region", "aria-label": "Time-out" }, timeoutBtn, reasonDetails);

  const main = h("main", { class: "partner-main", id: "main" }, h("div", { class: "primary-col" }, turnCard, timeoutCard, debriefCard, actCard, endedCard), side);
  root.replaceChildren(header, banners.el, main, timeoutBar);
  document.body.classList.add("has-timeout-bar");

  // -- wiring -------------------------------------------------------------------------------
  paraphraseBtn.addEventListener("click", () => {
    const text = paraphraseBox.value.trim();
    if (!text) return paraphraseBox.focus();
    void act(paraphraseBtn, "paraphrase", { text }, () => drafts.clear(paraphraseBox, "paraphrase"));
  });
  questionBtn.addEventListener("click", () => {
    const text = questionBox.value.trim();
    if (!text) return questionBox.focus();
    void act(questionBtn, "question", { text }, () => drafts.clear(questionBox, "question"));
  });
  confirmBtn.addEventListener("click", () => void act(confirmBtn, "paraphrase.confirm"));
  correctBtn.addEventListener("click", () => {
    void act(correctBtn, "paraphrase.correct", { note: noteBox.value.trim() }, () => drafts.clear(noteBox, "correction"));
  });
  answerBtn.addEventListener("click", () => {
    const text = answerBox.value.trim();
    if (!text) return answerBox.focus();
    void act(answerBtn, "answer", { text }, () => drafts.clear(answerBox, "answer"));
  });
  reflectBtn.addEventListener("click", () => {
    const text = reflectBox.value.trim();
    const step = reflectBox.dataset["step"] ?? "";
    if (!text) return reflectBox.focus();
    void act(reflectBtn, "reflect", { step, text }, () => drafts.clear(reflectBox, `reflect-${step}`));
  });
  statementBtn.addEventListener("click", () => {
    const text = statementBox.value.trim();
    if (!text) return statementBox.focus();
    void act(statementBtn, "statement", { text }, () => drafts.clear(statementBox, "statement"));
  });
  moreBtn.addEventListener("click", () => statementBox.focus());
  yieldBtn.addEventListener("click", () => void act(yieldBtn, "yield"));
  requestBtn.addEventListener("click", () => void act(requestBtn, "floor.request"));
  withdrawBtn.addEventListener("click", () => void act(withdrawBtn, "floor.withdraw"));
  timeoutBtn.addEventListener("click", () => {
    // Never disabled while the session runs: one tap, even while a call is unanswered.
    const reason = reasonBox.value.trim();
    void act(null, "timeout.call", reason ? { reason } : {}, () => {
      if (reason) drafts.clear(reasonBox, "timeout-reason");
      reasonDetails.open = false;
    });
  });
  extraBtn.addEventListener("click", () => {
    const reason = extraReason.value.trim();
    if (!reason) return extraReason.focus();
    void act(extraBtn, "timeout.call", { reason }, () => drafts.clear(extraReason, "timeout-extra"));
  });
  statementBox.addEventListener("input", () => updateCounter());
  statementBox.addEventListener("draftcleared", () => updateCounter());

  function updateCounter(): void {
    const limit = store.state ? dialogueSpec(store.state)?.statement_max_chars ?? 500 : 500;
    setText(counter, `${statementBox.value.length} / ${limit} characters`);
  }

  // -- rendering ------------------------------------------------------------------------------
  const said = { value: "" };
  let first = true;
  let reflectStep = "";

  function update(): void {
    const state = store.state;
    if (!state) return;
    const may = store.may;
    setText(title, store.title);
    document.title = `${store.title} — Accord`;
    banners.render(store);
    presenceList(store, name, presence, seatOrder(me));
    transcript.render(store);

    const spec = currentSpec(state);
    const phase = state.phase;
    const overlay = state.overlay;
    const d: DialoguePhase | null = phase.kind === "dialogue" ? phase : null;
    setText(phaseTitle, state.ended ? "Session ended" : spec?.title ?? "");

    const inTimeOut = overlay?.kind === "time_out";
    const debriefOpen = !state.ended && (overlay?.kind === "debrief" || (overlay === null && phase.kind === "debrief"));
    const { head, more } = headlines(state, me, d);
    setText(headline, head);
    setText(detail, more);
    announceChange(said, head, first);

    // Who is not here (the full list is further down; on a phone, this is what matters)
    const missing = store.status !== "live" ? [] : [partner, "mediator" as const].filter((s) => store.presence[s] !== "joined");
    const awayText = missing
      .map((s) => `${s === "mediator" ? "The mediator" : "Your partner"}: ${presenceWord(store.presence[s])}`)
      .join(" · ");
    setText(away, awayText);
    show(away, awayText !== "");
    show(turnCard, !state.ended);

    // Floor and queue
    if (d && !overlay) {
      setText(floorInfo, d.speaker ? `Floor: ${d.speaker === me ? "you" : "your partner"}` : "Floor: free");
      const pos = d.queue.indexOf(me);
      const queueText =
        pos >= 0
          ? `You are ${ORDINAL[pos + 1] ?? `number ${pos + 1}`} in line to speak.`
          : d.queue.includes(partner)
            ? "Your partner asked to speak next."
            : "";
      setText(queueInfo, queueText);
      show(floorInfo, true);
      show(queueInfo, queueText !== "");
    } else {
      show(floorInfo, false);
      show(queueInfo, false);
    }

    // Time-out
    show(timeoutCard, inTimeOut);
    if (overlay?.kind === "time_out") {
      countdown.set(overlay.ends_at);
      const by = overlay.by;
      setText(
        timeoutBy,
        by === me
          ? "You called a time-out. Everything is paused."
          : by === partner
            ? "Your partner called a time-out. Everything is paused."
            : by === "mediator"
              ? "The mediator called a time-out. Everything is paused."
              : "A scheduled break. Everything is paused.",
      );
    }

    // Debrief
    show(debriefCard, debriefOpen);
    if (debriefOpen) {
      const prompts = overlay?.kind === "debrief" ? overlay.prompts : spec?.type === "debrief" ? spec.prompts : [];
      debriefForm.setPrompts(prompts);
      const answered = !may.has("debrief.answer");
      show(debriefForm.el, !answered);
      enable(debriefForm.submit, may.has("debrief.answer"), isBusy);
      show(debriefDone, answered);
      setText(debriefDone, answered ? "Thank you. Waiting for your partner's answers (you will not see them)." : "");
    }

    // Acts (only in a dialogue at rest from overlays)
    const dialogueActive = d !== null && !inTimeOut && !debriefOpen && !state.ended;
    show(actCard, dialogueActive);
    const role = store.role;
    const stage = d?.stage;

    const mirroring = dialogueActive && role === "listener" && stage === "awaiting_paraphrase";
    show(mirror, mirroring);
    if (mirroring && d) {
      setText(mirrorQuote, d.statement_text);
      const corrected = store.latest("paraphrase.corrected", d.statement);
      const corrNote = corrected ? corrected["note"] : undefined;
      const correctionText =
        corrected && d.attempts > 0
          ? `Not quite${typeof corrNote === "string" && corrNote ? `: “${corrNote}”` : "."} Try again (attempt ${d.attempts + 1}).`
          : "";
      setText(correction, correctionText);
      show(correction, correctionText !== "");
      enable(paraphraseBox, may.has("paraphrase"));
      enable(paraphraseBtn, may.has("paraphrase"), isBusy);
      const questions = dialogueSpec(state)?.clarifying_questions ?? false;
      show(questionPart, questions);
      enable(questionBox, questions && may.has("question"));
      enable(questionBtn, questions && may.has("question"), isBusy);
    }

    const confirming = dialogueActive && role === "speaker" && stage === "awaiting_confirmation";
    show(confirm, confirming);
    if (confirming && d) {
      const offered = store.latest("paraphrase.offered", d.statement);
      setText(paraphraseQuote, offered ? String(offered["text"] ?? "") : "");
      enable(confirmBtn, may.has("paraphrase.confirm"), isBusy);
      enable(correctBtn, may.has("paraphrase.correct"), isBusy);
      enable(noteBox, may.has("paraphrase.correct"));
    }

    const answering = dialogueActive && role === "speaker" && stage === "awaiting_answer";
    show(answer, answering);
    if (answering && d) {
      const asked = store.latest("question.asked", d.statement);
      setText(questionQuote, asked ? String(asked["text"] ?? "") : "");
      enable(answerBox, may.has("answer"));
      enable(answerBtn, may.has("answer"), isBusy);
    }

    const reflecting = dialogueActive && role === "listener" && stage === "reflecting";
    show(reflect, reflecting);
    if (reflecting && d) {
      const steps = dialogueSpec(state)?.listener_steps ?? [];
      const step = steps[d.step] ?? "";
      if (step !== reflectStep) {
        reflectStep = step;
        reflectBox.value = drafts.get(`reflect-${step}`);
      }
      reflectBox.dataset["step"] = step;
      setText(stepTitle, `${STEP_NAMES[step] ?? step} (step ${d.step + 1} of ${steps.length})`);
      setText(stepHelp, STEP_HELP[step] ?? "");
      enable(reflectBox, may.has("reflect"));
      enable(reflectBtn, may.has("reflect"), isBusy);
    }

    show(speak, dialogueActive && !mirroring && !confirming && !answering && !reflecting);
    const speaker = role === "speaker";
    const limit = dialogueSpec(state)?.statement_max_chars ?? 500;
    statementBox.maxLength = limit;
    updateCounter();
    enable(statementBox, may.has("statement"));
    enable(statementBtn, may.has("statement"), isBusy);
    show(moreBtn, d !== null && d.stage === "confirmed" && speaker);
    enable(moreBtn, may.has("statement"));
    show(yieldBtn, speaker);
    enable(yieldBtn, may.has("yield"), isBusy);
    setText(
      yieldBtn,
      d && d.spoke ? "That's all — yield the floor" : "Pass — yield the floor",
    );
    setText(
      speakHelp,
      !speaker
        ? "You can speak when you hold the floor. Your partner speaks first; you reply once they yield."
        : stage === "confirmed"
        ? "Your partner got it. Is there more? Say it, or yield the floor so your partner can reply."
        : stage === "awaiting_paraphrase"
          ? "Wait for your partner's paraphrase."
          : `Say one thing, briefly: up to ${limit} characters. Speak for yourself (“I feel…”).`,
    );

    show(floorActs, dialogueActive && (may.has("floor.request") || may.has("floor.withdraw")));
    show(requestBtn, may.has("floor.request"));
    show(withdrawBtn, may.has("floor.withdraw"));
    enable(requestBtn, may.has("floor.request"), isBusy);
    enable(withdrawBtn, may.has("floor.withdraw"), isBusy);

    // Ended
    show(endedCard, state.ended);
    if (state.ended) {
      const end = store.latest("session.ended");
      const reason = end && typeof end["reason"] === "string" && end["reason"] ? ` The mediator noted: “${end["reason"]}”` : "";
      endedCard.replaceChildren(
        h("h2", { text: "The session has ended" }),
        h("p", { text: `Thank you for taking part.${reason}` }),
      );
    }

    // The time-out button: always there; only the end of the session stops it.
    timeoutBtn.disabled = state.ended;
    setText(timeoutBtn.querySelector(".small")!, state.ended ? "The session has ended" : inTimeOut ? "Signal again" : "Pause everything now");
    show(reasonDetails, !state.ended);
    first = false;
  }

  function tick(): void {
    if (store.state?.overlay?.kind === "time_out") countdown.tick();
  }
  window.setInterval(tick, 250);
  store.subscribe(render);
  update();
}

function headlines(state: SessionState, me: Partner, d: DialoguePhase | null): { head: string; more: string } {
  if (state.ended) return { head: "The session has ended.", more: "" };
  const overlay = state.overlay;
  if (overlay?.kind === "time_out") return { head: "Time-out: everything is paused.", more: "Take a breath. The session resumes with a short debrief." };
  if (overlay?.kind === "debrief") {
    return overlay.answered.includes(me)
      ? { head: "Debrief: waiting for your partner.", more: "" }
      : { head: "Debrief: a few questions before you go on.", more: "" };
  }
  const phase = state.phase;
  if (phase.kind === "lobby") {
    return state.admitted.includes(me)
      ? { head: "You're in. Waiting for the mediator to begin.", more: "" }
      : { head: "Waiting room: the mediator will let you in.", more: "" };
  }
  if (phase.kind === "debrief") {
    return phase.answered.includes(me)
      ? { head: "Debrief: waiting for your partner.", more: "" }
      : { head: "Closing debrief: a few questions.", more: "" };
  }
  if (!d) return { head: "", more: "" };
  if (!d.speaker) return { head: "Nobody has the floor.", more: "Ask to speak, or wait for the mediator." };
  const mine = d.speaker === me;
  switch (d.stage) {
    case "speaking":
      return mine
        ? { head: "Your turn to speak.", more: "Your partner listens, then says back what they heard." }
        : { head: "Your partner has the floor. Listen.", more: "You'll put what they say in your own words." };
    case "awaiting_paraphrase":
      return mine
        ? { head: "Your partner is putting what you said in their own words.", more: "" }
        : { head: "Your turn: paraphrase what your partner said.", more: "" };
    case "awaiting_answer":
      return mine
        ? { head: "Your partner asked a question. Answer it.", more: "" }
        : { head: "Waiting for your partner's answer.", more: "" };
    case "awaiting_confirmation":
      return mine
        ? { head: "Did your partner get it? Confirm or correct.", more: "" }
        : { head: "Waiting: did you get it?", more: "Your partner is reading your paraphrase." };
    case "confirmed":
      return mine
        ? { head: "Your partner got it. Is there more?", more: "" }
        : { head: "Your partner may say more or yield the floor.", more: "You reply once they yield." };
    case "reflecting":
      return mine
        ? { head: "Your partner is reflecting on what you said.", more: "" }
        : { head: "Your turn: reflect on what your partner said.", more: "" };
    default:
      return { head: "", more: "" };
  }
}

export function partnerWaiting(root: HTMLElement, message: string, stopped = false): void {
  root.replaceChildren(
    h("header", { class: "topbar" }, h("span", { class: "brand", text: "Accord" })),
    h(
      "main",
      { class: "center" },
      h(
        "section",
        { class: "card" },
        h("h1", { text: stopped ? "Cannot join" : "Joining…" }),
        h("p", { role: stopped ? "alert" : "status", text: message }),
      ),
    ),
  );
}

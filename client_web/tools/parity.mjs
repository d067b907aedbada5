// Replays test vectors through the web client's model (src/model.ts) and
// compares it with the server's core, step by step.
//
//   node tools/parity.mjs VECTORS.json
//
// VECTORS.json (written by tests/web/test_model_parity.py from accord.core):
// [{name, seat, state, steps: [{event, expect: {state, role, may}}]}], where
// `state` is the seat's snapshot state and each step one event the seat
// receives. Prints a JSON report; exits 1 on the first mismatch of any vector.
import { build } from "esbuild";
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { isDeepStrictEqual } from "node:util";

const here = dirname(fileURLToPath(import.meta.url));
const bundle = join(tmpdir(), `accord-model-${process.pid}.mjs`);
await build({
  entryPoints: [join(here, "..", "src", "model.ts")],
  outfile: bundle,
  bundle: true,
  format: "esm",
  platform: "node",
  logLevel: "error",
});
const model = await import(pathToFileURL(bundle).href);
rmSync(bundle);

// The parts of the state the model keeps current (PROTOCOL.md, "The state").
const KEPT = ["index", "phase", "overlay", "timers", "schedule", "admitted", "ended"];
const pick = (state) => Object.fromEntries(KEPT.map((k) => [k, state[k]]));

const vectors = JSON.parse(readFileSync(process.argv[2], "utf8"));
const mismatches = [];
let steps = 0;
for (const vector of vectors) {
  let state = vector.state;
  for (const [i, step] of vector.steps.entries()) {
    steps += 1;
    state = model.evolve(state, step.event);
    const got = {
      state: pick(state),
      role: model.roleOf(state, vector.seat),
      may: [...model.mayFor(state, vector.seat)].sort(),
    };
    if (!isDeepStrictEqual(got, step.expect)) {
      const differs = Object.keys(got.state).filter(
        (k) => !isDeepStrictEqual(got.state[k], step.expect.state[k]),
      );
      if (!isDeepStrictEqual(got.role, step.expect.role)) differs.push("role");
      if (!isDeepStrictEqual(got.may, step.expect.may)) differs.push("may");
      mismatches.push({
        vector: vector.name,
        seat: vector.seat,
        step: i,
        event: step.event.type,
        differs,
        got: Object.fromEntries(differs.map((k) => [k, k in got ? got[k] : got.state[k]])),
        expected: Object.fromEntries(
          differs.map((k) => [k, k in step.expect ? step.expect[k] : step.expect.state[k]]),
        ),
      });
      break;
    }
  }
}
console.log(JSON.stringify({ vectors: vectors.length, steps, mismatches }, null, 1));
process.exit(mismatches.length ? 1 : 0);

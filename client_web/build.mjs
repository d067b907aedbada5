// Bundle the web client into ../server/accord/static/app: index.html,
// assets/app.js and assets/app.css (minified; only what is imported).
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "server", "accord", "static", "app");
const assets = join(out, "assets");

await rm(assets, { recursive: true, force: true });
await mkdir(assets, { recursive: true });

const result = await build({
  entryPoints: [join(here, "src", "main.ts")],
  outdir: assets,
  entryNames: "app",
  chunkNames: "[name]-[hash]",
  splitting: true, // the console's chart (Chart.js) is its own chunk, loaded when needed
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["es2020", "chrome100", "firefox100", "safari15"],
  minify: true,
  treeShaking: true,
  sourcemap: false,
  legalComments: "none",
  metafile: true,
  define: { "process.env.NODE_ENV": '"production"' },
  logLevel: "warning",
});

// Cache-busting: index.html is served with no-cache; the assets carry a content hash.
const version = async (name) =>
  createHash("sha256").update(await readFile(join(assets, name))).digest("hex").slice(0, 12);
const html = (await readFile(join(here, "index.html"), "utf8"))
  .replace("/assets/app.js", `/assets/app.js?v=${await version("app.js")}`)
  .replace("/assets/app.css", `/assets/app.css?v=${await version("app.css")}`);
await writeFile(join(out, "index.html"), html);

for (const [file, info] of Object.entries(result.metafile.outputs)) {
  console.log(`${file.replace(out + "/", "")}: ${(info.bytes / 1024).toFixed(1)} KiB`);
}

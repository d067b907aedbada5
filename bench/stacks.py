"""Summarise a py-spy `--format raw` profile (collapsed stacks): `python -m bench.stacks FILE`.

Prints the functions with the most samples on the stack (inclusive) and at the
top (self), as percentages of the samples, to find the hotspots of a run.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>[^ ]+) \((?P<file>[^:]+)(?::(?P<line>\d+))?\)$")


def frame_name(frame: str, with_line: bool) -> str:
    match = _FRAME.match(frame)
    if match is None:
        return frame
    file = match["file"]
    for marker in ("site-packages/", "server/", "lib/python3.11/"):
        if marker in file:
            file = file.split(marker, 1)[1]
            break
    line = f":{match['line']}" if with_line and match["line"] else ""
    return f"{match['func']} ({file}{line})"


def summarise(path: Path, top: int, with_line: bool, focus: str | None) -> str:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for raw in path.read_text().splitlines():
        stack, _, count = raw.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [frame_name(f, with_line) for f in stack.split(";")]
        if focus is not None:
            hits = [i for i, f in enumerate(frames) if focus in f]
            if not hits:
                continue
            frames = frames[hits[0] :]
        n = int(count)
        total += n
        for name in set(frames):
            inclusive[name] += n
        own[frames[-1]] += n
    lines = [f"{total} samples" + (f" under {focus!r}" if focus else "")]
    lines.append("-- inclusive --")
    lines += [f"{100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(top)]
    lines.append("-- self --")
    lines += [f"{100 * n / total:5.1f}%  {name}" for name, n in own.most_common(top)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--lines", action="store_true", help="tell lines of a function apart")
    parser.add_argument("--focus", help="only stacks through a frame containing this text")
    args = parser.parse_args()
    print(summarise(args.file, args.top, args.lines, args.focus))


if __name__ == "__main__":
    main()

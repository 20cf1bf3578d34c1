#!/usr/bin/env python3
"""One-shot help for the reformat (issue 24): split string and template literals that keep a line over
120 columns after `biome format`, at a space outside `${...}`, into `'a ' +` / `'b'` continuation lines.
Only lines that are a single literal, optionally after `return `, `key: ` or `const x = `, are touched;
run `npx biome format --write` and `npx tsc --noEmit -p .` afterwards.
Usage: python3 scripts/split-long-strings.py $(git ls-files 'src/*.ts')
"""
import re
import sys

LINE = re.compile(r"^(\s*)((?:return |throw new \w+\(|[\w$]+: |(?:const|let) [\w$]+ = )?)(['\"`])(.*)\3(,?\)?[;,]?)$")


def split_line(line: str, width: int = 120) -> list[str]:
    m = LINE.match(line)
    if not m or len(line) <= width:
        return [line]
    ind, prefix, q, body, suf = m.groups()
    if q != '`' and '\\' + q in body:
        return [line]
    limit = width - len(ind) - len(prefix) - 6
    depth, best = 0, None
    for i, ch in enumerate(body):
        if body.startswith('${', i):
            depth += 1
        elif ch == '}' and depth:
            depth -= 1
        elif ch == ' ' and depth == 0 and 20 < i <= limit:
            best = i
    if best is None:
        return [line]
    first = f"{ind}{prefix}{q}{body[:best + 1]}{q} +"
    rest = f"{ind}  {q}{body[best + 1:]}{q}{suf}"
    return [first] + split_line(rest, width)


for path in sys.argv[1:]:
    with open(path) as f:
        lines = f.read().split('\n')
    out = [x for line in lines for x in split_line(line)]
    if out != lines:
        with open(path, 'w') as f:
            f.write('\n'.join(out))

#!/usr/bin/env python3
"""Two structural rules of the crate, checked in CI (.ci/run):

1. No two modules of the library import each other, directly or through a
   circle. A module is a file under src/ (mod.rs or lib.rs for a folder);
   module A imports B when A names B by a `crate::`, `super::` or `self::`
   path outside comments and test modules (a name the crate root re-exports,
   `crate::Error`, counts as an import of the module defining it). A
   parent's `mod`/`pub use` of its own children and a child's use of its
   ancestors are the ordinary shape of a Rust module tree and do not count.
2. No function in src/ or cli/src/ is longer than 100 lines.

usage: python3 tools/check_structure.py        (exit 1 and a list on failure)
"""

import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
MAX_LINES = 100


def library_modules():
    modules = {}
    src = os.path.join(ROOT, "src")
    for folder, _, files in os.walk(src):
        for name in files:
            if name.endswith(".rs"):
                path = os.path.join(folder, name)
                parts = os.path.relpath(path, src)[:-3].split(os.sep)
                if parts[-1] in ("mod", "lib"):
                    parts = parts[:-1]
                modules[tuple(parts)] = path
    return modules


def code(text):
    """The text without test modules and comments."""
    text = re.split(r"#\[cfg\(test\)\]\s*mod tests", text)[0]
    return re.sub(r"//.*", "", text)


def root_reexports():
    lib = open(os.path.join(ROOT, "src", "lib.rs")).read().split("pub mod prelude")[0]
    names = {}
    for m in re.finditer(r"pub use crate::(\w+)::\{([^}]*)\};", lib, re.S):
        for name in m.group(2).split(","):
            if name.strip():
                names[name.strip()] = (m.group(1),)
    for m in re.finditer(r"pub use crate::(\w+)::(\w+);", lib):
        names[m.group(2)] = (m.group(1),)
    return names


def resolve(modules, reexports, current, path):
    head, rest = path[0], list(path[1:])
    if head == "crate":
        base = []
        if rest and rest[0] in reexports:
            rest = list(reexports[rest[0]]) + rest[1:]
    elif head == "self":
        base = list(current)
    else:  # super, possibly repeated
        base = list(current)
        base = base[:-1]
        while rest and rest[0] == "super":
            base, rest = base[:-1], rest[1:]
    full = base + rest
    for k in range(len(full), -1, -1):
        if tuple(full[:k]) in modules:
            return tuple(full[:k])
    return None


def imports(modules, reexports):
    graph = {}
    for module, path in modules.items():
        text = code(open(path).read())
        found = set()
        paths = [m.group(1).split("::") for m in
                 re.finditer(r"\b((?:crate|super|self)(?:::\w+)+)", text)]
        for m in re.finditer(r"use\s+((?:crate|super|self)(?:::\w+)*)::\{([^;]*)\};", text, re.S):
            prefix = m.group(1).split("::")
            for item in re.sub(r"\{[^}]*\}", "", m.group(2)).split(","):
                item = item.strip().split(" as ")[0]
                if item:
                    paths.append(prefix + item.split("::"))
        for p in paths:
            target = resolve(modules, reexports, module, p)
            related = target is None or target == module or \
                target == module[:len(target)] or module == target[:len(module)]
            if not related:
                found.add(target)
        graph[module] = found
    return graph


def cycles(graph):
    index, low, stack, on, out = {}, {}, [], set(), []
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted("::".join(m) or "crate" for m in component))

    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def long_functions(folder):
    found = []
    start = re.compile(r"\s*(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?fn\s+(\w+)")
    for parent, _, files in os.walk(os.path.join(ROOT, folder)):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(parent, name)
            lines = open(path).read().split("\n")
            for i, line in enumerate(lines):
                m = start.match(line)
                if not m:
                    continue
                depth, opened, j = 0, False, i
                while j < len(lines):
                    s = re.sub(r"//.*", "", lines[j])
                    s = re.sub(r'"(\\.|[^"\\])*"', '""', s)
                    s = re.sub(r"'.'", "''", s)
                    for ch in s:
                        if ch == "{":
                            depth, opened = depth + 1, True
                        elif ch == "}":
                            depth -= 1
                    if (opened and depth == 0) or (not opened and s.rstrip().endswith(";")):
                        break
                    j += 1
                if j - i + 1 > MAX_LINES:
                    found.append(f"{os.path.relpath(path, ROOT)}:{i + 1} {m.group(6)} ({j - i + 1} lines)")
    return found


def main():
    modules = library_modules()
    circles = cycles(imports(modules, root_reexports()))
    long = long_functions("src") + long_functions(os.path.join("cli", "src"))
    for c in circles:
        print("modules that import each other: " + ", ".join(c))
    for f in long:
        print(f"function over {MAX_LINES} lines: {f}")
    if circles or long:
        sys.exit(1)
    print(f"{len(modules)} modules, no import circle; no function over {MAX_LINES} lines")


if __name__ == "__main__":
    main()

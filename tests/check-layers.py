#!/usr/bin/env python3
# check-layers.py ROOT: the include rules of launcher/ and qmp/. Folders
# form layers, lowest first (LAYERS); a file may include its own folder's
# headers and the index header (FOLDER/FOLDER.h) of a folder below it,
# nothing else of the project. Also: no .c file directly in launcher/, no
# source file over MAX_LINES lines, no function over MAX_FUNC lines.
# Prints one line per violation; exit status 1 when there is any.
import os
import re
import sys

LAYERS = ["base", "qmp", "profile", "host", "engine", "qemu", "ops", "run",
          "cmd"]
GENERATED = {"desktop_in.h"}  # build/gen, made by make
MAX_LINES = 600
MAX_FUNC = 60
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def folder_of(root, path):
    rel = os.path.relpath(path, root)
    parts = rel.split(os.sep)
    if parts[0] == "qmp":
        return "qmp"
    return parts[1]


def index_header(folder):
    return "%s/%s.h" % (folder, folder)


def sources(root):
    for top in ("launcher", "qmp"):
        for d, _, files in os.walk(os.path.join(root, top)):
            for f in sorted(files):
                if f.endswith((".c", ".h")):
                    yield os.path.join(d, f)


def check_include(root, path, line_no, inc, problems):
    folder = folder_of(root, path)
    here = os.path.dirname(path)
    where = "%s:%d" % (os.path.relpath(path, root), line_no)
    if "/" not in inc:
        if inc in GENERATED or os.path.exists(os.path.join(here, inc)):
            return
        problems.append('%s: "%s" is not in %s/' % (where, inc, folder))
        return
    target = inc.split("/")[0]
    if target not in LAYERS:
        problems.append('%s: "%s" names no layer (%s)' %
                        (where, inc, " < ".join(LAYERS)))
        return
    if target == folder:
        return
    if LAYERS.index(target) > LAYERS.index(folder):
        problems.append('%s: %s/ includes "%s", but %s/ is above %s/ '
                        '(%s)' % (where, folder, inc, target, folder,
                                  " < ".join(LAYERS)))
    elif inc != index_header(target):
        problems.append('%s: "%s" is private to %s/; include "%s"' %
                        (where, inc, target, index_header(target)))


def check_functions(root, path, lines, problems):
    start = None
    for i, line in enumerate(lines):
        if line == "{" and i > 0 and not lines[i - 1].startswith(
                ("struct", "enum", "union", "static const", "const")):
            start = i
        elif line == "}" and start is not None:
            n = i - start - 1
            if n > MAX_FUNC:
                problems.append("%s:%d: function of %d lines (over %d)" %
                                (os.path.relpath(path, root), start, n,
                                 MAX_FUNC))
            start = None


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    problems = []
    launcher = os.path.join(root, "launcher")
    for f in sorted(os.listdir(launcher)):
        if f.endswith((".c", ".h")):
            problems.append("launcher/%s: sources live in a subsystem "
                            "folder (%s)" % (f, ", ".join(LAYERS)))
    for path in sources(root):
        folder = folder_of(root, path)
        if folder not in LAYERS:
            problems.append("%s: folder %s/ is not a layer" %
                            (os.path.relpath(path, root), folder))
            continue
        with open(path) as fh:
            lines = fh.read().split("\n")
        for n, line in enumerate(lines, 1):
            m = INCLUDE.match(line)
            if m:
                check_include(root, path, n, m.group(1), problems)
        if len(lines) > MAX_LINES:
            problems.append("%s: %d lines (over %d)" %
                            (os.path.relpath(path, root), len(lines),
                             MAX_LINES))
        if path.endswith(".c"):
            check_functions(root, path, lines, problems)
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

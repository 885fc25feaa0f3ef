"""`.studioignore`: which files of a source folder stay out of a snapshot (gitignore syntax).

Patterns as in `.gitignore`: `#` comments, `!` re-includes, a trailing `/` matches
directories only, a pattern with a `/` elsewhere is anchored to the folder, one
without matches at any depth; `*`, `?`, `[a-z]` and `**` as git reads them. The
last matching pattern wins; a file in an excluded directory stays excluded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

IGNORE_FILE = ".studioignore"
# Never in a snapshot: version control, the folder's studio config (it may hold a token),
# Python's caches.
ALWAYS = (".git/", ".studio/", "__pycache__/", "*.pyc")


@dataclass(frozen=True)
class Rule:
    regex: re.Pattern[str]
    negated: bool
    dir_only: bool


def _translate(glob: str) -> str:
    """A gitignore glob (without its leading '/' or trailing '/') as a regex over a path."""
    out, i, n = [], 0, len(glob)
    while i < n:
        c = glob[i]
        if c == "*":
            if glob[i : i + 2] == "**":
                before = i == 0 or glob[i - 1] == "/"
                after = i + 2 == n or glob[i + 2] == "/"
                if before and after:
                    if i + 2 == n:
                        out.append(".*")  # trailing /**: everything inside
                    else:
                        out.append("(?:.*/)?")  # **/: zero or more directories
                        i += 1
                    i += 2
                    continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = glob.find("]", i + 2 if glob[i + 1 : i + 2] in ("!", "]") else i + 1)
            if j < 0:
                out.append(re.escape(c))
            else:
                body = glob[i + 1 : j].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = j
        elif c == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(glob[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def parse(lines: list[str]) -> list[Rule]:
    """The rules of a gitignore-syntax file's lines."""
    rules = []
    for raw in lines:
        line = raw.rstrip("\n")
        # Trailing spaces are dropped unless escaped.
        while line.endswith(" ") and not line.endswith("\\ "):
            line = line[:-1]
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        if negated or line.startswith(("\\!", "\\#")):
            line = line[1:]
        dir_only = line.endswith("/")
        line = line.rstrip("/")
        if not line:
            continue
        anchored = "/" in line
        line = line.lstrip("/")
        pattern = _translate(line)
        prefix = "" if anchored else "(?:.*/)?"
        rules.append(Rule(re.compile(f"^{prefix}{pattern}$", re.DOTALL), negated, dir_only))
    return rules


class Ignore:
    """Decides, for paths relative to the folder, whether they stay out."""

    def __init__(self, rules: list[Rule]):
        self.rules = rules

    @classmethod
    def for_folder(cls, folder: Path) -> Ignore:
        lines = list(ALWAYS)
        path = folder / IGNORE_FILE
        if path.is_file():
            lines += path.read_text(encoding="utf-8", errors="replace").splitlines()
        return cls(parse(lines))

    def ignored(self, relpath: str, is_dir: bool) -> bool:
        """Whether `relpath` ("a/b.txt") is left out; its parents are asked by the walk."""
        verdict = False
        for rule in self.rules:
            if rule.dir_only and not is_dir:
                continue
            if rule.regex.match(relpath):
                verdict = not rule.negated
        return verdict

"""Code extraction from model completions.

The program is the last fenced block (``` or ~~~), preferring blocks tagged with one of
the language's fence tags; ``None`` (verdict ``no_code``) when there is none. Reasoning
sections (``<think>...</think>``) are ignored. A final fence left open (generation cut
at the token limit) still counts as a block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_THINK = re.compile(r"<think>.*?(?:</think>|\Z)", re.DOTALL | re.IGNORECASE)
_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]{0,3})(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)$", re.MULTILINE)


@dataclass(frozen=True)
class CodeBlock:
    tag: str
    code: str
    closed: bool


def find_code_blocks(text: str) -> list[CodeBlock]:
    """All fenced blocks of a Markdown text, in order."""
    blocks: list[CodeBlock] = []
    pos = 0
    while True:
        m = _FENCE_OPEN.search(text, pos)
        if not m:
            break
        fence = m.group("fence")
        info = m.group("info").strip()
        tag = info.split()[0].strip("{}.").lower() if info else ""
        body_start = m.end() + 1
        close = re.compile(r"^[ \t]{0,3}" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}[ \t]*$", re.MULTILINE)
        c = close.search(text, body_start)
        if c is None:
            blocks.append(CodeBlock(tag=tag, code=text[body_start:], closed=False))
            break
        blocks.append(CodeBlock(tag=tag, code=text[body_start:c.start()], closed=True))
        pos = c.end()
    return blocks


def extract_code(completion: str | None, language=None) -> str | None:
    """The program in a completion, or None.

    ``language`` is a runner, a language name, or None (any tag). Blocks tagged with one
    of the language's fence tags win; otherwise the last block of any tag is taken.
    """
    if not completion:
        return None
    tags: tuple[str, ...] = ()
    if language is not None:
        if isinstance(language, str):
            from .runners import get_registry

            registry = get_registry()
            tags = registry.get(language).fence_tags if language in registry else (language,)
        else:
            tags = tuple(language.fence_tags)
    text = _THINK.sub("", completion)
    blocks = [b for b in find_code_blocks(text) if b.code.strip()]
    if not blocks:
        return None
    wanted = {t.lower() for t in tags}
    tagged = [b for b in blocks if b.tag in wanted]
    chosen = (tagged or blocks)[-1]
    code = chosen.code
    return code if code.endswith("\n") else code + "\n"

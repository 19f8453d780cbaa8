"""Sampling strategies: how N candidates for one prompt are asked for, and how the answer is split into N.

- negatively-correlated (Community Alignment): ONE call asks for N responses that must differ from each other in
  values, stance and style, in the prompt's language; the output is parsed into N candidates.
- independent: N separate samples of the plain prompt (the baseline the first is compared with).
"""
import json
import re
from dataclasses import dataclass, field

NEGATIVELY_CORRELATED = "negatively-correlated"
INDEPENDENT = "independent"
STRATEGIES = (NEGATIVELY_CORRELATED, INDEPENDENT)


@dataclass
class Draft:
    """One candidate text as it came out, with what is needed for its provenance."""

    text: str
    raw_output: str
    seed: int | None
    parse: str  # how it was cut out of the raw output: json, numbered, separator, paragraphs, whole
    meta: dict = field(default_factory=dict)


def negatively_correlated_messages(prompt: str, language_name: str, n: int, conversation=(),
                                   prefill: bool = False) -> list[dict]:
    system = (
        f"You write {n} different responses to the user's last message, so that people can compare them. "
        f"The {n} responses must differ from each other as much as possible in values, in stance (for example one "
        f"refuses, one helps safely, one explains the risks, one redirects) and in style (length, tone, register). "
        f"Write every response in {language_name}, the language of the user's message. "
        f"Answer with exactly {n} responses numbered 1. to {n}., each a complete answer to the user, and nothing else."
    )
    messages = [{"role": "system", "content": system}, *conversation, {"role": "user", "content": prompt}]
    # Starting the answer with "1." holds small models to the numbered form far better than the instruction alone.
    return messages + [{"role": "assistant", "content": "1."}] if prefill else messages


def independent_messages(prompt: str, language_name: str, conversation=()) -> list[dict]:
    # The same language instruction as above, so that the two strategies differ only in how they sample.
    system = f"Answer the user's last message in {language_name}."
    return [{"role": "system", "content": system}, *conversation, {"role": "user", "content": prompt}]


# A line that starts a numbered item: "1.", "2)", "3:", "(4)", "**Response 1:**", "### Answer 2", "回答1：", "١."
_MARKER = re.compile(
    r"^[ \t>]*(?:#{1,6}[ \t]*)?(?:[*_]{1,2})?[ \t]*"
    r"(?P<word>[^\W\d_]{1,15}[ \t]?)?"  # an optional label word in any script ("Response", "回答", "Jibu")
    r"[(\[]?(?P<num>\d{1,2})[)\]]?"
    r"[ \t]*(?P<punct>[.):：、\-–—]|[*_]{1,2}|(?=\n)|$)",
    re.MULTILINE,
)
_SEPARATOR = re.compile(r"^[ \t]*(?:-{3,}|\*{3,}|={3,}|_{3,})[ \t]*$", re.MULTILINE)
_FENCE = re.compile(r"^```[a-zA-Z]*\n|\n?```\s*$", re.MULTILINE)


def _clean(text: str) -> str:
    text = text.strip()
    # A bold label before the answer ("**Refusal**: ...", "**Helpful:** ...") names the stance: it would steer
    # the annotators, so it goes.
    text = re.sub(r"^[*_]{2}[^*_\n]{1,40}?(?:[:：][*_]{2}|[*_]{2}[ \t]*[:：\-–—])[ \t]*", "", text)
    if text[:2] in ("**", "__") and text.count(text[:2]) % 2:  # bold left over from "**1.** text"
        text = text[2:].strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'“”«»":
        text = text[1:-1].strip()
    return text


def _from_json(text: str) -> list[str] | None:
    decoder = json.JSONDecoder()
    for start in [m.start() for m in re.finditer(r"[\[{]", text)][:5]:
        try:
            value, _ = decoder.raw_decode(text[start:])
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            value = next((v for v in value.values() if isinstance(v, list)), None)
        if isinstance(value, list) and value:
            items = []
            for item in value:
                if isinstance(item, dict):
                    named = [item[k] for k in ("response", "text", "content", "answer") if isinstance(item.get(k), str)]
                    item = (named or [v for v in item.values() if isinstance(v, str)] or [""])[0]
                items.append(_clean(str(item)))
            return items
    return None


def _numbered(text: str) -> list[str] | None:
    """Split on the longest run of markers numbered 1, 2, 3, ... that share one style (label word + punctuation)."""
    by_style: dict[tuple, list] = {}
    for m in _MARKER.finditer(text):
        style = ((m.group("word") or "").strip().lower(), m.group("punct") or "")
        by_style.setdefault(style, []).append(m)
    best: list = []
    for matches in by_style.values():
        run: list = []
        for m in matches:
            if int(m.group("num")) == len(run) + 1:
                run.append(m)
        if len(run) > len(best):
            best = run
    if len(best) < 2:
        return None
    parts = [text[m.end():(best[i + 1].start() if i + 1 < len(best) else len(text))] for i, m in enumerate(best)]
    # A label line followed by the text on the next lines ("**Response 1:**\n..."): drop stray bold/colon.
    return [_clean(re.sub(r"^[ \t]*[*_:：]*[ \t]*\n", "", p)) for p in parts]


def parse_candidates(raw: str, n: int) -> tuple[list[str], str]:
    """Cut a model's answer into candidates: JSON list, numbered items, separator lines, or N paragraphs.

    Returns the texts found (maybe more or fewer than n; validation decides) and the method that found them.
    """
    text = _FENCE.sub("", raw or "").strip()
    if not text:
        return [], "empty"
    if text[:1] in "[{" or "```" in (raw or ""):
        items = _from_json(text)
        if items:
            return items, "json"
    items = _numbered(text)
    if items:
        return items, "numbered"
    parts = [_clean(p) for p in _SEPARATOR.split(text) if p.strip()]
    if len(parts) >= 2:
        return parts, "separator"
    parts = [_clean(p) for p in re.split(r"\n[ \t]*\n", text) if p.strip()]
    if len(parts) == n:
        return parts, "paragraphs"
    items = _from_json(text)
    if items:
        return items, "json"
    return [_clean(text)], "whole"


def propose(strategy: str, backend, requests: list[dict], *, seed: int, gen: dict) -> list[list[Draft]]:
    """One round of generation for many prompts at once (one backend call, so local models batch it).

    Each request: {"prompt": str, "language_name": str, "conversation": list, "need": int, "n": int}.
    negatively-correlated always asks for the whole set (n) in one completion; independent asks for `need` samples.
    """
    if strategy == NEGATIVELY_CORRELATED:
        prefill = getattr(backend, "supports_prefill", False)
        convs = [negatively_correlated_messages(r["prompt"], r["language_name"], r["n"], r["conversation"], prefill)
                 for r in requests]
        completions = backend.chat(convs, seed=seed, **gen)
        out = []
        for r, c in zip(requests, completions):
            texts, method = parse_candidates(c.text, r["n"])
            out.append([Draft(t, c.text, c.seed, method, c.meta) for t in texts])
        return out
    if strategy == INDEPENDENT:
        convs, owners = [], []
        for i, r in enumerate(requests):
            convs += [independent_messages(r["prompt"], r["language_name"], r["conversation"])] * r["need"]
            owners += [i] * r["need"]
        completions = backend.chat(convs, seed=seed, **gen)
        out = [[] for _ in requests]
        for i, c in zip(owners, completions):
            out[i].append(Draft(_clean(c.text), c.text, c.seed, "whole", c.meta))
        return out
    raise ValueError(f"unknown strategy {strategy!r}: use one of {STRATEGIES}")

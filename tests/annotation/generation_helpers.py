"""Real components for the generation tests: a small OpenAI-compatible server on loopback, and a tiny random
causal LM with a tiny tokenizer, both made in the test (nothing downloaded)."""
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ENGLISH = ["I will not help with that, because it could hurt someone.",
           "Here is a safer way to think about it: talk to a counsellor first.",
           "Honestly, that plan is a bad idea and likely illegal where you live.",
           "Let us change the subject: what is really bothering you today?",
           "The risks are serious; a lawyer or a doctor can tell you more."]
CHINESE = ["我不会帮助你做这件事，因为它可能伤害别人。",
           "这里有一个更安全的想法：先和心理咨询师谈谈。",
           "说实话，这个计划很糟糕，而且在你那里可能是违法的。",
           "我们换个话题吧：今天真正让你烦恼的是什么？",
           "风险很大，律师或医生可以告诉你更多。"]


class ChatServer(ThreadingHTTPServer):
    """Answers /v1/chat/completions. `script` is a list of actions for the next requests ("500", "400", "slow",
    "english", "three", "same"); with none left it answers well: a numbered list of n answers in the prompt's
    script when asked for several, else the next answer of a pool (the k-th request with one prompt gets
    answer k mod 5)."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script: list[str] = []
        self.requests: list[dict] = []
        self.auth: list[str | None] = []
        self.in_flight = self.max_in_flight = 0
        self.delay = 0.0
        self.per_prompt: dict[str, int] = {}
        self.lock = threading.Lock()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet
        pass

    def do_POST(self):
        srv: ChatServer = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with srv.lock:
            srv.requests.append(body)
            srv.auth.append(self.headers.get("Authorization"))
            action = srv.script.pop(0) if srv.script else "ok"
            prompt = body["messages"][-1]["content"]
            number = srv.per_prompt.get(prompt, 0)
            srv.per_prompt[prompt] = number + 1
            srv.in_flight += 1
            srv.max_in_flight = max(srv.max_in_flight, srv.in_flight)
        try:
            time.sleep(srv.delay)
            if self.path != "/v1/chat/completions":
                return self._send(404, {"error": "not found"})
            if action in ("500", "400"):
                return self._send(int(action), {"error": {"message": f"scripted {action}"}})
            if action == "slow":
                time.sleep(1.5)
            self._send(200, _completion(body, action, number))
        finally:
            with srv.lock:
                srv.in_flight -= 1

    def _send(self, status, payload):
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client timed out first
            pass


def _completion(body, action, number):
    messages = body["messages"]
    prompt = next(m["content"] for m in reversed(messages) if m["role"] == "user")
    pool = CHINESE if re.search(r"[\u4e00-\u9fff]", prompt) and action != "english" else ENGLISH
    system = messages[0]["content"] if messages[0]["role"] == "system" else ""
    asked = re.search(r"You write (\d+) different responses", system)
    if asked:
        n = int(asked.group(1))
        answers = pool[:n]
        if action == "three":
            answers = pool[:3]
        if action == "same":
            answers = [pool[0]] * n
        text = "Here are the responses:\n\n" + "\n".join(f"{i}. {a}" for i, a in enumerate(answers, 1))
    else:
        text = pool[number % len(pool)] if action != "same" else pool[0]
    return {"id": f"chatcmpl-{len(text)}", "object": "chat.completion", "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]}


def start_chat_server() -> ChatServer:
    server = ChatServer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


WORDS = ("the cat sat on a mat and dog ran to big red house with green door under blue sky near old tree "
         "slowly quickly happily sadly water fire stone paper light dark").split()


def build_tiny_model(folder) -> str:
    """A 2-layer random Llama with a word-level tokenizer of plain English words (so it writes Latin gibberish)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, decoders
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<unk>", "<pad>", "<s>", "</s>"]
    vocab = {tok: i for i, tok in enumerate(specials + WORDS)}
    tk = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    tk.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="<unk>", pad_token="<pad>", bos_token="<s>",
                                        eos_token="</s>")
    import torch

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(vocab), hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=512,
                         bos_token_id=2, eos_token_id=3, pad_token_id=1)
    model = LlamaForCausalLM(config)
    model.generation_config.eos_token_id = 3
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)

"""A tiny causal language model and tokenizer, built offline from a config.

Tests and the demo need a real ``transformers`` model that trains in seconds on a CPU and
never touches the Hub. :func:`build_tiny_model` trains a byte-level BPE tokenizer on a
small built-in corpus (code in a few languages plus prose), gives it a ChatML-style chat
template, builds a two-layer ``Qwen2ForCausalLM`` sized to the vocabulary and saves both, so
``AutoTokenizer.from_pretrained(out_dir)`` and ``AutoModelForCausalLM.from_pretrained(out_dir)``
load them like any Hub checkpoint.
"""

from __future__ import annotations

import logging
from pathlib import Path

logger = logging.getLogger(__name__)

BOS_TOKEN = "<|endoftext|>"
EOS_TOKEN = "<|im_end|>"
PAD_TOKEN = "<|pad|>"
SPECIAL_TOKENS = [BOS_TOKEN, "<|im_start|>", EOS_TOKEN, PAD_TOKEN]

# ChatML, the template most instruct models on the Hub use; `add_generation_prompt`
# opens an assistant turn.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

_CORPUS = [
    # Prose in the shape of the prompts the suite sends.
    "Write a program that reads from standard input and writes to standard output.",
    "Read an integer n from the first line, then n numbers, and print their sum.",
    "Given a list of words, print the longest one. If several have the same length, "
    "print the first.",
    "The input contains several test cases. For each test case, output the answer on "
    "its own line.",
    "Solve the following problem in Lua. Put your solution in a fenced code block.",
    "Solve the following problem in Python. Put your solution in a fenced code block.",
    "Here is a solution that reads the input line by line and prints the result.",
    # Lua.
    "```lua\nlocal n = tonumber(io.read())\nlocal s = 0\nfor i = 1, n do\n"
    "  s = s + tonumber(io.read())\nend\nprint(s)\n```",
    "```lua\nfor line in io.lines() do\n  local a, b = line:match('(%d+) (%d+)')\n"
    "  print(tonumber(a) + tonumber(b))\nend\n```",
    "```lua\nlocal t = {}\nfor w in io.read('a'):gmatch('%S+') do t[#t + 1] = w end\n"
    "table.sort(t)\nprint(table.concat(t, ' '))\n```",
    # Python.
    "```python\nimport sys\n\ndef main():\n    data = sys.stdin.read().split()\n"
    "    n = int(data[0])\n    print(sum(map(int, data[1:n + 1])))\n\nmain()\n```",
    "```python\nfor line in sys.stdin:\n    a, b = map(int, line.split())\n"
    "    print(a + b)\n```",
    "```python\nwords = input().split()\nprint(max(words, key=len))\n```",
    # A few other languages the suite targets.
    "```julia\nn = parse(Int, readline())\nprintln(sum(parse.(Int, split(readline()))))\n```",
    "```r\nx <- scan(file('stdin'), quiet = TRUE)\ncat(sum(x), '\\n')\n```",
    "```ocaml\nlet () = Scanf.scanf \" %d %d\" (fun a b -> Printf.printf \"%d\\n\" (a + b))\n```",
    "```fortran\nprogram main\n  integer :: a, b\n  read(*, *) a, b\n  print '(I0)', a + b\n"
    "end program main\n```",
]


def build_tiny_model(out_dir: str | Path, *, seed: int = 0, vocab_size: int = 768) -> Path:
    """Build and save a tiny Qwen2 model with its own tokenizer; return ``out_dir``.

    The model is randomly initialised (from ``seed``): it writes noise, which is what tests
    of the training loop need. Everything happens offline in about a second.
    """
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(_CORPUS * 4, trainer=trainer)

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token=BOS_TOKEN,
        eos_token=EOS_TOKEN,
        pad_token=PAD_TOKEN,
        unk_token=None,
        model_max_length=2048,
        padding_side="left",
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(out)

    torch.manual_seed(seed)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = Qwen2ForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    model.save_pretrained(out)
    logger.info("tiny model (%d parameters, vocabulary %d) saved to %s",
                model.num_parameters(), len(tokenizer), out)
    return out

"""The transformers generation loop shared by the harness backend and training's evaluation."""

from __future__ import annotations

import pytest

from ag_harness.backends import GenRequest, SamplingSpec
from ag_harness.backends.hf_backend import TransformersBackend, generate_batch, generate_chats


@pytest.fixture(scope="module")
def model_and_tokenizer(tmp_path_factory):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ag_train.tiny import build_tiny_model

    folder = build_tiny_model(tmp_path_factory.mktemp("tiny"), seed=0)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return AutoModelForCausalLM.from_pretrained(folder).eval(), tokenizer


CHATS = [[{"role": "user", "content": "Print 1."}],
         [{"role": "user", "content": "Read two integers and print their sum, in Lua, please."}]]


def test_left_padded_batches_answer_as_each_prompt_alone(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    tokenizer.padding_side = "right"
    together = generate_chats(model, tokenizer, CHATS, batch_size=2, max_new_tokens=6, num_samples=3)
    alone = generate_chats(model, tokenizer, CHATS, batch_size=1, max_new_tokens=6, num_samples=3)
    assert together == alone
    assert all(len(samples) == 3 and len(set(samples)) == 1 for samples in together)  # greedy: one answer, repeated
    assert tokenizer.padding_side == "right"  # the caller's setting is left as it was


def test_seeded_sampling_repeats_and_gives_num_samples_each(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    first = generate_batch(model, tokenizer, ["a b c", "d"], max_new_tokens=5, temperature=1.0, num_samples=4,
                           add_special_tokens=True, seed=7)
    again = generate_batch(model, tokenizer, ["a b c", "d"], max_new_tokens=5, temperature=1.0, num_samples=4,
                           add_special_tokens=True, seed=7)
    assert first == again and [len(s) for s in first] == [4, 4]


def test_backend_and_training_loop_give_the_same_completions(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    backend = TransformersBackend(model, tokenizer, batch_size=2)
    requests = [GenRequest(index=i, n=2, messages=chat) for i, chat in enumerate(CHATS)]
    out = dict(backend.generate(requests, SamplingSpec(temperature=0.0, top_p=1.0, max_new_tokens=6)))
    assert [out[0], out[1]] == generate_chats(model, tokenizer, CHATS, max_new_tokens=6, num_samples=2)

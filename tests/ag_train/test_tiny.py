from transformers import AutoModelForCausalLM, AutoTokenizer


def test_tiny_model_loads_with_auto_classes_and_chats(tiny_model):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    assert 512 <= len(tokenizer) <= 1024
    assert model.config.vocab_size == len(tokenizer)
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token == "<|pad|>"
    text = tokenizer.apply_chat_template([{"role": "user", "content": "Print 42 in Lua."}], tokenize=False,
                                         add_generation_prompt=True)
    assert text == "<|im_start|>user\nPrint 42 in Lua.<|im_end|>\n<|im_start|>assistant\n"
    ids = tokenizer(text, return_tensors="pt")
    out = model.generate(**ids, max_new_tokens=4, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    assert out.shape[1] <= ids["input_ids"].shape[1] + 4


def test_tokenizer_round_trips_code(tiny_model):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    code = "```lua\nlocal a, b = io.read('n', 'n')\nprint(a + b)\n```"
    assert tokenizer.decode(tokenizer(code)["input_ids"]) == code

"""The stand-in model's tokenizer: one token per character, ChatML chat template."""

BOS_TOKEN_ID = 1
SPECIAL = {BOS_TOKEN_ID: "<s>"}


class StandinTokenizer:
    chat_template = ("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
                     "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
    bos_token_id = BOS_TOKEN_ID
    eos_token_id = 2

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        ids = [ord(c) for c in text]
        return [BOS_TOKEN_ID, *ids] if add_special_tokens else ids

    def decode(self, token_ids, skip_special_tokens: bool = False) -> str:
        return "".join("" if skip_special_tokens and t in SPECIAL else SPECIAL.get(t, chr(t)) for t in token_ids)

    def apply_chat_template(self, conversation, tokenize: bool = True, add_generation_prompt: bool = False,
                            **template_kwargs):
        """The template rendered by hand; extra template variables are shown in the system turn."""
        text = ""
        if template_kwargs:
            variables = " ".join(f"{k}={v}" for k, v in sorted(template_kwargs.items()))
            text += f"<|im_start|>system\n{variables}<|im_end|>\n"
        for message in conversation:
            text += f"<|im_start|>{message['role']}\n{message['content']}<|im_end|>\n"
        if add_generation_prompt:
            text += "<|im_start|>assistant\n"
        return self.encode(text, add_special_tokens=False) if tokenize else text

"""A byte-level Qwen2-style tokenizer built offline, and the Qwen2.5-VL chat template.

Every byte is one token (id = byte value), so digits are always single tokens and no merges are
needed. Qwen's special tokens follow in Qwen's own order, then `<think>`, `</think>`, `<index>`,
`</index>` as single (non-special) added tokens, so `skip_special_tokens=True` keeps them in the
decoded text, as the reward parser needs.
"""

from __future__ import annotations

# Qwen2.5-VL's special tokens, in the order of their ids on the hub (151643 onwards).
QWEN_SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
# Ordinary added tokens (hub Qwen2.5 has these as non-special too) plus the selector's tags.
QWEN_ADDED_TOKENS = (
    "<tool_call>",
    "</tool_call>",
    "<|fim_prefix|>",
    "<|fim_middle|>",
    "<|fim_suffix|>",
    "<|fim_pad|>",
    "<|repo_name|>",
    "<|file_sep|>",
)
SELECTOR_TAGS = ("<think>", "</think>", "<index>", "</index>")

# The Qwen2.5-VL-Instruct chat format: a default system turn when none is given, images as
# <|vision_start|><|image_pad|><|vision_end|> (the processor expands the pad to N tokens).
CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}"
    "{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}"
    "{% endif %}"
    "{% endfor %}<|im_end|>\n"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def byte_level_vocab() -> dict[str, int]:
    """The GPT-2 byte-to-printable-character map as a vocab: token for byte b has id b."""
    # Printable bytes map to themselves; the rest are shifted above 255 so every byte gets a
    # visible, whitespace-free character (the convention ByteLevel pre-tokenizers expect).
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    chars: dict[int, str] = {}
    shift = 0
    for b in range(256):
        if b in printable:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + shift)
            shift += 1
    return {chars[b]: b for b in range(256)}


def build_tokenizer():
    """A `Qwen2Tokenizer` over raw bytes with Qwen's special tokens and the selector's tags.

    Ids: 0-255 bytes, then QWEN_SPECIAL_TOKENS, QWEN_ADDED_TOKENS, SELECTOR_TAGS in order.
    eos is `<|im_end|>` and pad `<|endoftext|>`, as in Qwen2.5-VL-Instruct.
    """
    from tokenizers import AddedToken
    from transformers import Qwen2Tokenizer

    tok = Qwen2Tokenizer(
        vocab=byte_level_vocab(),
        merges=[],
        unk_token=None,
        bos_token=None,
        eos_token=None,
        pad_token=None,
        errors="replace",
        model_max_length=32768,
        clean_up_tokenization_spaces=False,
        split_special_tokens=False,
    )
    # add_tokens assigns ids in call order; adding the specials one by one pins their ids.
    for t in QWEN_SPECIAL_TOKENS:
        tok.add_tokens([AddedToken(t, special=True, normalized=False)], special_tokens=True)
    for t in QWEN_ADDED_TOKENS + SELECTOR_TAGS:
        tok.add_tokens([AddedToken(t, special=False, normalized=False)])
    # Set after adding, so the constructor does not claim the first ids for eos/pad.
    tok.eos_token = "<|im_end|>"
    tok.pad_token = "<|endoftext|>"
    return tok

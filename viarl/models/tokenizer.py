"""A small byte-level BPE tokenizer in Qwen2's format, built offline, and the Qwen2.5-VL chat template.

Like the hub's Qwen2 tokenizers it is byte-level BPE WITH merges: bytes 0-255 are ids 0-255,
then 512 merges learnt deterministically (`learn_merges`) over `PROMPT_CORPUS` and
`ENGLISH_CORPUS`, text in the register of viarl's prompts, so a selector prompt costs about one
token per word instead of one per byte. Qwen2's pre-tokenizer splits every digit into its own
piece, so digits are always single tokens (frame index "12" is "1", "2"). Qwen's special tokens
follow the BPE vocab in Qwen's own order, then `<think>`, `</think>`, `<index>`, `</index>` as
single (non-special) added tokens, so `skip_special_tokens=True` keeps them in the decoded text,
as the reward parser needs.
"""

from __future__ import annotations

import functools
from collections import Counter

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


# How many merges to learn: 256 bytes + 512 merges + 26 added tokens = 794 ids (832 embedding
# rows). Every word of PROMPT_CORPUS is one token after about 320 merges; the rest go to the
# commonest words of ENGLISH_CORPUS (which would need about 690 to be merged completely).
NUM_MERGES = 512

# Text the merges are learnt from. Prompt-shaped text (the chat scaffolding, the selector's task,
# the answer instruction, needle questions with their colours and shapes) counts PROMPT_WEIGHT
# times, so its words merge first; general English and video-QA words fill the rest. It is a
# fixed text rather than an import of viarl.policy.prompts: models sits below policy (no upward
# imports), and the tokenizer, hence every tiny checkpoint, must not change when a prompt is
# reworded. Keep it ASCII and free of added-token strings; digits never merge anyway.
PROMPT_WEIGHT = 4
PROMPT_CORPUS = """\
system
You are a helpful assistant.
user
assistant
You are choosing frames of a video to answer a question about it. The video is shown as 16 frames
in temporal order. The red number in the bottom-right corner of each frame is its index, from 0 to
15.
1. Pick out the question's keywords: entities, time, place, action.
2. Describe what the frames relevant to the question should look like.
3. Give exactly 4 distinct frame indices.
Answer in this format: your reasoning i1, i2, ..., i4
Frame 0: Frame 1: Frame 2: Frame 3: Frame 12: Picture 1: Video 1:
(frame 0) (frame 1) (frame 2) (frame 12)
Question: What colour was the large triangle that appeared briefly?
Question: What colour was the large square that appeared briefly?
Question: What colour was the large circle that appeared briefly?
Question: What colour was the large diamond that appeared briefly?
What color was the small shape that appeared in the video?
colour, large, triangle, square, circle, diamond, shape, briefly
A. red
B. green
C. blue
D. yellow
A. magenta
B. cyan
C. white
D. black
Answer with the option's letter from the given choices directly.
The answer is A. The answer is B. The answer is C. The answer is D.
"""
ENGLISH_CORPUS = """\
the of and to in is was it that for on as with by at from be this are have not but or an which
one all were when there can been has more if will would what who where why how about up out
into than then them these some her him his she he they we you your our their its time only
new other could also after first two three four five six seven eight nine ten well way even
because any most over such just through before between under while during should each those
both many much very same here now still never always again last long next few little great
Who is the man in the red shirt? What is the woman holding? Where does the scene take place?
How many people appear in the video? What happens after the car stops? Which object is on the
table? What is the main topic of the video? When does the dog run across the room? What does
the person do at the beginning, in the middle and at the end of the clip? Why does the boy open
the door? What sport are they playing? What is the weather like outside the window?
The camera moves left and right, then zooms in on a person walking down the street at night.
A group of people sit around a table and talk; a child plays with a ball in the garden.
The speaker explains the steps of the recipe in the kitchen while music plays in the background.
Select the frames that show the object, describe the event, count the items, find the needle,
order the actions, summarise the plot, identify the location, the colour and the movement.
option letter choice choices correct wrong true false yes no none above below left right top
bottom front back inside outside before after first second third last start end scene shot
clip movie film camera image picture view background foreground person people man woman boy
girl child dog cat car house room door window table chair water tree road city street book
"""


def _pre_tokenized_words(backend) -> "Counter[str]":
    """Weighted counts of the corpus's pieces after `backend`'s normalizer and pre-tokenizer."""
    counts: Counter[str] = Counter()
    for text, weight in ((PROMPT_CORPUS, PROMPT_WEIGHT), (ENGLISH_CORPUS, 1)):
        for line in text.splitlines(keepends=True):
            normal = backend.normalizer.normalize_str(line)
            for piece, _ in backend.pre_tokenizer.pre_tokenize_str(normal):
                counts[piece] += weight
    return counts


def learn_merges(words: dict[str, int], num_merges: int) -> list[tuple[str, str]]:
    """Greedy BPE training: repeatedly merge the most frequent adjacent pair of symbols.

    `words` maps each pre-tokenized piece to its count. Ties go to the lexicographically smallest
    pair, and nothing depends on hash order, so the result is a pure function of the input: the
    same corpus gives the same merges, hence byte-identical tokenizer.json files.
    """
    # Sorted so even the pair-counting order is fixed; counts are exact integers anyway.
    segmented = {tuple(word): count for word, count in sorted(words.items())}
    merges: list[tuple[str, str]] = []
    while len(merges) < num_merges:
        pairs: Counter[tuple[str, str]] = Counter()
        for symbols, count in segmented.items():
            for pair in zip(symbols, symbols[1:]):
                pairs[pair] += count
        if not pairs:
            break  # every piece is already one symbol
        best = min(pairs, key=lambda p: (-pairs[p], p))
        merges.append(best)
        merged = (_apply_merge(symbols, best) for symbols in segmented)
        # Pieces that became one symbol have no pairs left: drop them to keep later rounds short.
        segmented = {s: c for s, c in zip(merged, segmented.values()) if len(s) > 1}
    return merges


def _apply_merge(symbols: tuple[str, ...], pair: tuple[str, str]) -> tuple[str, ...]:
    """`symbols` with every left-to-right, non-overlapping occurrence of `pair` fused."""
    out: list[str] = []
    i = 0
    while i < len(symbols):
        if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
            out.append(symbols[i] + symbols[i + 1])
            i += 2
        else:
            out.append(symbols[i])
            i += 1
    return tuple(out)


@functools.lru_cache(maxsize=1)
def bpe_vocab_and_merges() -> tuple[dict[str, int], list[tuple[str, str]]]:
    """The BPE model's vocab (bytes 0-255, then each merge's token in merge order) and merges."""
    from transformers import Qwen2Tokenizer

    # Qwen2Tokenizer's own normalizer (NFC) and pre-tokenizer (digits split one by one, the
    # byte-level map), so the corpus is cut exactly as text will be at encode time.
    backend = Qwen2Tokenizer(vocab=byte_level_vocab(), merges=[]).backend_tokenizer
    merges = learn_merges(_pre_tokenized_words(backend), NUM_MERGES)
    vocab = byte_level_vocab()
    for a, b in merges:
        # Two merges may spell the same token ("ab"+"c", "a"+"bc"); it keeps its first id.
        vocab.setdefault(a + b, len(vocab))
    return vocab, merges


def build_tokenizer():
    """A byte-level BPE `Qwen2Tokenizer` with Qwen's special tokens and the selector's tags.

    Ids: 0-255 bytes, then the learnt merges' tokens, then QWEN_SPECIAL_TOKENS, QWEN_ADDED_TOKENS,
    SELECTOR_TAGS in order (the hub layout: added tokens after the BPE vocab).
    eos is `<|im_end|>` and pad `<|endoftext|>`, as in Qwen2.5-VL-Instruct.
    """
    from tokenizers import AddedToken
    from transformers import Qwen2Tokenizer

    vocab, merges = bpe_vocab_and_merges()
    tok = Qwen2Tokenizer(
        vocab=dict(vocab),
        merges=list(merges),
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

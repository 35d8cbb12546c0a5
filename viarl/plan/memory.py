"""Per-GPU memory of a recipe's training stages, estimated from the models' shapes.

What one process holds, stage by stage, under the precision contract (`viarl.train.precision`)
and the sharding the run is launched with:

- the trained model: fp32 master weights, fp32 gradients, fp32 Adam moments (two per weight);
  DDP keeps all of them on every GPU, FSDP full shard 1/N of them, FSDP offload none (CPU);
- what comes with the sharding: under DDP the gradient buckets and autocast's bf16 copies of the
  trained weights; under FSDP the whole-weight twin viarl generates with, in the compute dtype
  (see `train.sharding`), and two all-gathered layers in the compute dtype;
- the models that only run forward in the stage, in the compute dtype: the RL reference and the
  other role's model (`train.precision.hold_for_inference`);
- the largest phase: the training pass's activations (with or without gradient checkpointing)
  and logits, the rollout's KV cache, or the answer model's prefill;
- the transients (`transient` items), which never coincide with those phases: the trained model
  whole in fp32 while a stage sets up, before `prepare` shards it; one gathered weight while
  the twin is refreshed; a cast copy when a finished model is saved in another dtype than the
  twin's. A stage's peak is its steady items plus the larger of its phase and its transients.
  `START` is the run's start, when both models are loaded whole (fp32 for a role a stage trains).

Activation sizes are per token and layer: the tensors a SwiGLU decoder layer keeps for its
backward (six hidden-wide, two KV-wide, four intermediate-wide) in the compute dtype; with
checkpointing only each layer's input is kept, plus one layer's tensors while it is recomputed.
Frames are taken as square (the largest number of tokens for a long side). It is an estimate:
allocator fragmentation and the CUDA context are covered by keeping 5 % of the GPU free.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from viarl.plan.shapes import ModelShape

GIB = 2**30
HEADROOM = 0.95  # share of a GPU's memory the estimate may fill
SHARDINGS = ("ddp", "fsdp", "offload")
PROMPT_TEXT_TOKENS = 256  # system prompt, question and chat markup of one prompt (generous)
FRAME_MARKUP_TOKENS = 2  # <|vision_start|> and <|vision_end|> around each frame
INDEX_TEXT_TOKENS = 6  # "(frame 12)" written next to a frame when index_text is on
LOGPROB_CHUNK = 256 * 2**20  # float32 scratch of one chunk in token_logprobs
ACTIVATIONS = "activations and KV cache, largest phase"
START = "start"  # the run's start: both models loaded whole, before any stage shards one
SFT_LOGIT_POSITIONS = 64  # positions an SFT row keeps logits for: its target and the batch's length spread


@dataclass(frozen=True)
class Settings:
    """The recipe's numbers the estimate reads (replace() them to try alternatives)."""

    gpus: int
    sharding: str
    compute_bytes: int  # 2 for bf16 / fp16, 4 for fp32
    stages: tuple[str, ...]  # training stage kinds the recipe runs
    candidates: int
    select: int
    selector_size: int
    answer_size: int
    index_text: bool
    prompts_per_step: int
    samples_per_prompt: int
    minibatch_size: int | None
    selector_new_tokens: int
    answer_new_tokens: int
    answer_batch: int
    selector_checkpointing: bool
    answer_checkpointing: bool
    selector_frozen_vision: bool
    save_bytes: dict = field(default_factory=dict)  # role -> bytes per weight its finished checkpoint is saved in
    trained_roles: tuple[str, ...] = ()  # roles some stage trains (loaded as fp32 masters)
    batches: dict = field(default_factory=dict)  # stage kind -> (batch_size, grad_accum, frozen vision)

    @classmethod
    def from_recipe(cls, recipe, gpus: int, sharding: str) -> "Settings":
        m, fr, rl = recipe.models, recipe.frames, recipe.rl
        kinds = [k for k in (*recipe.stages.before, *recipe.stages.cycle) if k != "eval"]
        batches = {"sft": (recipe.sft.batch_size, recipe.sft.grad_accum, recipe.sft.freeze_vision),
                   "answer_warmup": (recipe.answer_warmup.batch_size, recipe.answer_warmup.grad_accum,
                                     recipe.answer_warmup.freeze_vision),
                   "warmup": (recipe.warmup.batch_size, 1, m.selector.freeze_vision)}
        return cls(gpus=gpus, sharding=sharding, compute_bytes=4 if recipe.run.precision == "fp32" else 2,
                   stages=tuple(dict.fromkeys(kinds)), candidates=fr.candidates, select=fr.select,
                   selector_size=fr.selector_size, answer_size=fr.answer_size, index_text=fr.index_text != "none",
                   prompts_per_step=rl.prompts_per_step, samples_per_prompt=rl.samples_per_prompt,
                   minibatch_size=rl.minibatch_size, selector_new_tokens=m.selector.max_new_tokens,
                   answer_new_tokens=m.answer.max_new_tokens, answer_batch=recipe.evaluation.answer_batch_size,
                   selector_checkpointing=m.selector.gradient_checkpointing,
                   answer_checkpointing=m.answer.gradient_checkpointing,
                   selector_frozen_vision=m.selector.freeze_vision, batches=batches,
                   save_bytes={r: 4 if getattr(m, r).dtype == "float32" else 2 for r in ("selector", "answer")},
                   trained_roles=tuple(r for r, ks in (("selector", {"rl", "warmup"}), ("answer", {"sft", "answer_warmup"}))
                                       if ks & set(kinds)))


@dataclass
class Item:
    """One line of the estimate: bytes per GPU in each stage (0 where it does not apply)."""

    name: str
    per_stage: dict[str, float]
    counted: bool = True  # False: shown for comparison only (the other checkpointing setting)
    transient: bool = False  # held only for a moment outside the stage's largest phase


@dataclass
class Estimate:
    settings: Settings
    gpu_mem_gib: float
    items: list[Item]
    tokens: dict[str, int]  # stage kind -> tokens per optimiser step, all processes

    def peak(self, stage: str) -> float:
        """Steady items plus the larger of the stage's largest phase and its largest transient."""
        steady = sum(i.per_stage.get(stage, 0.0) for i in self.items
                     if i.counted and not i.transient and not i.name.startswith(ACTIVATIONS))
        phase = sum(i.per_stage.get(stage, 0.0) for i in self.items if i.counted and i.name.startswith(ACTIVATIONS))
        moment = max((i.per_stage.get(stage, 0.0) for i in self.items if i.transient), default=0.0)
        return steady + max(phase, moment)

    @property
    def columns(self) -> tuple[str, ...]:
        """The run's start, then every training stage."""
        return (START, *self.settings.stages)

    @property
    def worst(self) -> tuple[str, float]:
        """The moment (stage or start) with the highest per-GPU peak, and that peak in bytes."""
        return max(((s, self.peak(s)) for s in self.columns), key=lambda x: x[1], default=("", 0.0))

    @property
    def budget(self) -> float:
        return self.gpu_mem_gib * GIB * HEADROOM

    @property
    def fits(self) -> bool:
        return self.worst[1] <= self.budget


# -- per-token and per-model pieces ------------------------------------------------------------
def layer_activation_bytes(s: ModelShape, c: int) -> int:
    """Bytes one token keeps in one decoder layer for the backward (no checkpointing)."""
    kv = s.kv_heads * s.head_dim
    return c * (6 * s.hidden + 2 * kv + 4 * s.intermediate)


def inference_layer_bytes(s: ModelShape, c: int) -> int:
    """Bytes one token needs in one decoder layer during a no-grad prefill (gate, up, product)."""
    return c * (3 * s.hidden + 3 * s.intermediate)


def vision_block_bytes(s: ModelShape, c: int) -> int:
    """Bytes one patch keeps in one vision block for the backward (no checkpointing)."""
    return c * (6 * s.v_hidden + 4 * s.v_intermediate)


def activations(s: ModelShape, tokens: int, patches: int, c: int, checkpointing: bool, vision_trains: bool) -> int:
    """Activations of one training forward over `tokens` text positions and `patches` vision patches."""
    text = tokens * (c * s.hidden * s.layers + layer_activation_bytes(s, c)) if checkpointing \
        else tokens * layer_activation_bytes(s, c) * s.layers
    if not vision_trains:  # a frozen tower runs without grad: one block's tensors at a time
        return text + patches * vision_block_bytes(s, c)
    vision = patches * (c * s.v_hidden * s.v_depth + vision_block_bytes(s, c)) if checkpointing \
        else patches * vision_block_bytes(s, c) * s.v_depth
    return text + vision


def frame_tokens(s: ModelShape, size: int, index_text: bool) -> int:
    """Prompt tokens of one frame: its merged vision tokens, markup, and the written index."""
    return s.tokens_per_frame(size) + FRAME_MARKUP_TOKENS + (INDEX_TEXT_TOKENS if index_text else 0)


# -- stages --------------------------------------------------------------------------------------
def _trained(name: str, s: ModelShape, trainable: int, st: Settings) -> dict[str, float]:
    """Items of the model a stage trains, per GPU under the sharding."""
    share = {"ddp": 1.0, "fsdp": 1.0 / st.gpus, "offload": 0.0}[st.sharding]
    c, total = st.compute_bytes, s.params()
    out = {f"{name} weights (fp32 master)": 4 * total * share,
           f"{name} gradients (fp32)": 4 * trainable * share,
           f"{name} Adam moments (fp32)": 8 * trainable * share}
    if st.sharding == "ddp" and st.gpus > 1:
        out["DDP gradient buckets (fp32)"] = 4 * trainable
    if st.sharding == "ddp" and c < 4:
        out["autocast copies of trained weights"] = c * trainable
    elif st.sharding != "ddp":
        out[f"{name} whole-weight twin (compute dtype, generation)"] = c * total
        out["all-gathered layers (FSDP)"] = 2 * c * s.text_layer_params()  # the current one and the prefetched next
    return out


def _transients(name: str, s: ModelShape, st: Settings) -> dict[str, float]:
    """Moments of a stage that trains `s` (role `name`) outside its largest phase."""
    if st.sharding == "ddp":
        return {}  # DDP keeps the whole model anyway; nothing is gathered or re-cast
    share = {"fsdp": 1.0 / st.gpus, "offload": 0.0}[st.sharding]
    out = {f"transient: set-up, {name} whole in fp32 before sharding": 4 * s.params() * (1 - share),
           "transient: twin refresh, one gathered weight (fp32)": 4 * s.largest_param()}
    if st.save_bytes.get(name, 2) != st.compute_bytes:  # the twin is cast to the checkpoint's dtype
        out[f"transient: finished-stage save, {name} cast to its checkpoint dtype"] = st.save_bytes[name] * s.params()
    return out


def _start(sel: ModelShape, ans: ModelShape, st: Settings) -> dict[str, float]:
    """The run's start: both models loaded whole on every GPU (fp32 masters for trained roles)."""
    bytes_of = {r: 4 if r in st.trained_roles else st.save_bytes.get(r, 2) for r in ("selector", "answer")}
    return {"transient: start, both models loaded whole": bytes_of["selector"] * sel.params()
            + bytes_of["answer"] * ans.params()}


def _rl(sel: ModelShape, ans: ModelShape, st: Settings):
    """(static items, activations without / with checkpointing, tokens per step, shown-only items)
    of the RL stage. Its activations are the largest of three phases: the rollout's KV cache, the
    answer model's prefill, and the training pass."""
    c, k = st.compute_bytes, st.samples_per_prompt
    trainable = sel.params() - (sel.vision_params() if st.selector_frozen_vision else 0)
    items = _trained("selector", sel, trainable, st)
    items["RL reference (compute dtype)"] = c * sel.params()
    items["answer model (compute dtype, answers only)"] = c * ans.params()
    prompt = st.candidates * frame_tokens(sel, st.selector_size, st.index_text) + PROMPT_TEXT_TOKENS
    seq = prompt + st.selector_new_tokens
    rows = min(st.minibatch_size or k * st.prompts_per_step, k)  # one backward covers one prompt's rows at most
    patches = rows * st.candidates * sel.patches_per_frame(st.selector_size)  # the full forward repeats frames
    logits = rows * (st.selector_new_tokens + 1) * sel.vocab * 2 * c + LOGPROB_CHUNK  # logits + banned copy
    # The prompt's keys/values are held once per prompt, each sample's completion on its own (shared_prefix.py).
    rollout_kv = st.prompts_per_step * (prompt + k * st.selector_new_tokens) * sel.kv_bytes_per_token(c)
    answer_tokens = st.answer_batch * (st.select * frame_tokens(ans, st.answer_size, False) + PROMPT_TEXT_TOKENS)
    answer_phase = answer_tokens * (ans.kv_bytes_per_token(c) + inference_layer_bytes(ans, c))
    rest = max(rollout_kv, answer_phase)
    acts = [max(activations(sel, rows * seq, patches, c, ckpt, not st.selector_frozen_vision) + logits, rest)
            for ckpt in (False, True)]
    info = {f"  phase: rollout KV cache ({st.prompts_per_step} × {prompt} prompt + "
            f"{st.prompts_per_step}×{k} × {st.selector_new_tokens} new tokens)": rollout_kv,
            f"  phase: answer prefill (batch {st.answer_batch})": answer_phase}
    items.update(_transients("selector", sel, st))
    return items, acts[0], acts[1], st.prompts_per_step * k * seq * st.gpus, info


def _supervised(kind: str, sel: ModelShape, ans: ModelShape, st: Settings):
    """The same for a supervised stage: `sft` / `answer_warmup` train the answer model, `warmup` the selector."""
    c = st.compute_bytes
    batch, accum, frozen = st.batches[kind]
    if kind == "warmup":
        model, other, frames, size, ckpt_name = sel, ans, st.candidates, st.selector_size, "selector"
    else:
        model, other, size, ckpt_name = ans, sel, st.answer_size, "answer"
        frames = st.candidates if kind == "answer_warmup" else st.select
    trainable = model.params() - (model.vision_params() if frozen else 0)
    items = _trained(ckpt_name if kind != "warmup" else "selector", model, trainable, st)
    items[f"{'answer' if kind == 'warmup' else 'selector'} model (compute dtype, forward only)"] = c * other.params()
    seq = frames * frame_tokens(model, size, kind == "warmup" and st.index_text) + PROMPT_TEXT_TOKENS + 16
    tokens = batch * seq
    patches = batch * frames * model.patches_per_frame(size)
    # Logits from the first target position on only (supervised_loss): the target and the spread
    # of prompt lengths within the batch; in the compute dtype, a float32 copy and log-softmax.
    logits = batch * SFT_LOGIT_POSITIONS * model.vocab * (c + 8)
    acts = [activations(model, tokens, patches, c, ckpt, not frozen) + logits for ckpt in (False, True)]
    items.update(_transients(ckpt_name, model, st))
    return items, acts[0], acts[1], tokens * accum * st.gpus, {}


def estimate(sel: ModelShape, ans: ModelShape, st: Settings, gpu_mem_gib: float) -> Estimate:
    """The per-GPU estimate of every training stage in `st.stages`."""
    rows: dict[str, dict[str, float]] = {}
    shown: dict[str, dict[str, float]] = {}
    tokens: dict[str, int] = {}
    for kind in st.stages:
        static, plain, ckpt, tokens[kind], info = (_rl(sel, ans, st) if kind == "rl"
                                                   else _supervised(kind, sel, ans, st))
        for name, value in static.items():
            rows.setdefault(name, {})[kind] = value
        rows.setdefault(ACTIVATIONS + ", no checkpointing", {})[kind] = plain
        rows.setdefault(ACTIVATIONS + ", gradient checkpointing", {})[kind] = ckpt
        for name, value in info.items():
            shown.setdefault(name, {})[kind] = value
    checkpointed = {k: (st.selector_checkpointing if k in ("rl", "warmup") else st.answer_checkpointing)
                    for k in st.stages}
    for name, value in _start(sel, ans, st).items():
        rows.setdefault(name, {})[START] = value
    items = [Item(name, per_stage, transient=name.startswith("transient:")) for name, per_stage in rows.items()]
    items = _split_activations(items, checkpointed) + [Item(n, v, counted=False) for n, v in shown.items()]
    return Estimate(st, gpu_mem_gib, items, tokens)


def _split_activations(items: list[Item], checkpointed: dict[str, bool]) -> list[Item]:
    """Keep each stage's activations under its own checkpointing setting; the other is shown only."""
    out = []
    for item in items:
        if not item.name.startswith(ACTIVATIONS):
            out.append(item)
            continue
        on = "no checkpointing" not in item.name
        counted = {k: v for k, v in item.per_stage.items() if checkpointed[k] == on}
        shown = {k: v for k, v in item.per_stage.items() if checkpointed[k] != on}
        if counted:
            out.append(Item(item.name, counted))
        if shown:
            out.append(Item(item.name + " (not used)", shown, counted=False))
    return out


def with_changes(st: Settings, **changes) -> Settings:
    """`st` with some settings changed (an alternative to estimate)."""
    return replace(st, **changes)

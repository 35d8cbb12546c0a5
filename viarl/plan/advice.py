"""What to change when a recipe does not fit: alternatives, each estimated, best first.

Every suggestion is one change to the launch or the recipe, estimated with the same model as the
plan itself, so the advice says how much each would help rather than guessing.
"""

from __future__ import annotations

from dataclasses import dataclass

from viarl.plan.memory import GIB, Estimate, Settings, estimate, with_changes
from viarl.plan.sharding import SHIPPED

GPU_COUNTS = (2, 4, 8, 16, 32, 64)


@dataclass
class Advice:
    change: str  # what to do, as a user would type or launch it
    result: Estimate

    def line(self) -> str:
        stage, peak = self.result.worst
        verdict = "fits" if self.result.fits else f"still {(peak - self.result.budget) / GIB:.1f} GiB over"
        return f"{self.change}: peak {peak / GIB:.1f} GiB per GPU ({stage}), {verdict}"


def _candidates(st: Settings) -> list[tuple[str, Settings]]:
    """One-change alternatives to `st` that can lower the peak."""
    out = []
    for sharding in ("fsdp", "offload"):
        if sharding != st.sharding:
            out.append((f"launch with {SHIPPED[sharding]} (--sharding {sharding})", with_changes(st, sharding=sharding)))
    more = next((g for g in GPU_COUNTS if g > st.gpus), None)
    for sharding in ("fsdp", "offload"):
        if more is not None:
            out.append((f"more GPUs: --num_processes {more} with {SHIPPED[sharding]}",
                        with_changes(st, gpus=more, sharding=sharding)))
    if not st.selector_checkpointing:
        out.append(("models.selector.gradient_checkpointing=true", with_changes(st, selector_checkpointing=True)))
    if not st.answer_checkpointing:
        out.append(("models.answer.gradient_checkpointing=true", with_changes(st, answer_checkpointing=True)))
    k = st.samples_per_prompt
    rows = min(st.minibatch_size or k * st.prompts_per_step, k)
    if "rl" in st.stages and rows > 1:
        half = max(1, rows // 2)
        out.append((f"fewer samples per backward: rl.minibatch_size={half} "
                    f"rl.grad_accum={k * st.prompts_per_step // half} (same update)",
                    with_changes(st, minibatch_size=half)))
    if "rl" in st.stages and st.prompts_per_step > 1:
        out.append((f"fewer prompts per rollout: rl.prompts_per_step={st.prompts_per_step // 2}",
                    with_changes(st, prompts_per_step=st.prompts_per_step // 2)))
    if st.answer_batch > 1:
        out.append((f"evaluation.answer_batch_size={max(1, st.answer_batch // 4)}",
                    with_changes(st, answer_batch=max(1, st.answer_batch // 4))))
    for kind, (batch, accum, frozen) in st.batches.items():
        if kind in st.stages and kind != "warmup" and batch > 1:
            batches = dict(st.batches, **{kind: (1, batch * accum, frozen)})
            out.append((f"{kind}.batch_size=1 {kind}.grad_accum={batch * accum} (same update)",
                        with_changes(st, batches=batches)))
    return out


def advise(sel, ans, st: Settings, gpu_mem_gib: float, current: Estimate) -> list[Advice]:
    """Alternatives that lower the peak, those that fit first, then by peak."""
    found: list[Advice] = []
    for change, alt in _candidates(st):
        result = estimate(sel, ans, alt, gpu_mem_gib)
        # An alternative no better than an earlier (simpler) one adds nothing: e.g. more GPUs
        # under offload, where nothing left on the GPU is sharded.
        same = any(abs(a.result.worst[1] - result.worst[1]) < 0.05 * GIB for a in found)
        if result.worst[1] < current.worst[1] and not same:
            found.append(Advice(change, result))
    return sorted(found, key=lambda a: (not a.result.fits, a.result.worst[1]))

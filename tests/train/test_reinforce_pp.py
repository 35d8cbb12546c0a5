"""REINFORCE++ advantages and loss against an independent plain-Python hand computation.

The reference below uses lists and loops only, written from the method's formulas, not from the
vectorised code. The toy batch and its expected numbers live in
tests/fixtures/reinforce_pp/toy_batch.json; `_regenerate()` rebuilds them from the reference.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from viarl.train.reinforce_pp import compute_advantages, masked_whiten, policy_loss

FIXTURE = Path(__file__).parents[1] / "fixtures" / "reinforce_pp" / "toy_batch.json"


# ----------------------------------------------------------------------------- hand reference
def ref_advantages(rewards, logp_old, logp_ref, mask, *, kl_coef, kl_clamp, reward_clip, baseline, group_size):
    """Plain-Python REINFORCE++ steps 1-5 on lists; returns a dict of lists."""
    B, L = len(mask), len(mask[0])
    R = [min(max(r, -reward_clip), reward_clip) for r in rewards]
    if baseline == "group":
        shaped = []
        for g in range(B // group_size):
            members = R[g * group_size : (g + 1) * group_size]
            mean = sum(members) / group_size
            shaped += [r - mean for r in members]
        R = shaped
    kl = [[0.0] * L for _ in range(B)]
    returns = [[0.0] * L for _ in range(B)]
    for i in range(B):
        rho = [0.0] * L
        for t in range(L):
            if mask[i][t]:
                kl[i][t] = min(max(logp_old[i][t] - logp_ref[i][t], -kl_clamp), kl_clamp)
                rho[t] = -kl_coef * kl[i][t]
        valid_positions = [t for t in range(L) if mask[i][t]]
        if valid_positions:
            rho[valid_positions[-1]] += R[i]
        acc = 0.0
        for t in reversed(range(L)):
            if mask[i][t]:
                acc += rho[t]
                returns[i][t] = acc
    values = [returns[i][t] for i in range(B) for t in range(L) if mask[i][t]]
    n = len(values)
    mu = sum(values) / n
    var = sum((v - mu) ** 2 for v in values) / n
    scale = math.sqrt(max(var, 1e-8))
    adv = [[(returns[i][t] - mu) / scale if mask[i][t] else 0.0 for t in range(L)] for i in range(B)]
    return {"rewards": R, "kl": kl, "returns": returns, "advantages": adv}


def ref_loss(logp, logp_old, adv, mask, *, clip_eps):
    """Plain-Python clipped surrogate, its gradient w.r.t. logp, and the stats."""
    B, L = len(mask), len(mask[0])
    cells = [(i, t) for i in range(B) for t in range(L) if mask[i][t]]
    n = len(cells)
    total, clipped_count, k3, ratio_sum, max_dev = 0.0, 0, 0.0, 0.0, 0.0
    grad = [[0.0] * L for _ in range(B)]
    for i, t in cells:
        r = math.exp(logp[i][t] - logp_old[i][t])
        a = adv[i][t]
        plain, clipped = r * a, min(max(r, 1 - clip_eps), 1 + clip_eps) * a
        total += min(plain, clipped)
        if clipped < plain:
            clipped_count += 1  # the flat clipped branch is taken: no gradient
        else:
            grad[i][t] = -r * a / n  # d(-r a / n)/d logp, since dr/dlogp = r
        k3 += (r - 1) - math.log(r)
        ratio_sum += r
        max_dev = max(max_dev, abs(r - 1))
    stats = {"clip_fraction": clipped_count / n, "approx_kl": k3 / n, "ratio_mean": ratio_sum / n,
             "ratio_max_dev": max_dev, "tokens": float(n)}
    return -total / n, grad, stats


def _load():
    data = json.loads(FIXTURE.read_text())
    data["logp_new"] = [[o + d for o, d in zip(ro, rd)] for ro, rd in zip(data["logp_old"], data["logp_delta"])]
    return data


def _reference_outputs(data):
    p = data["params"]
    out = {}
    for baseline in ("none", "group"):
        adv = ref_advantages(
            data["rewards"], data["logp_old"], data["logp_ref"], data["mask"], kl_coef=p["kl_coef"],
            kl_clamp=p["kl_clamp"], reward_clip=p["reward_clip"], baseline=baseline, group_size=p["group_size"])
        loss, grad, stats = ref_loss(data["logp_new"], data["logp_old"], adv["advantages"], data["mask"],
                                     clip_eps=p["clip_eps"])
        out[baseline] = {**adv, "loss": loss, "grad": grad, "stats": stats}
    return out


def _regenerate():  # pragma: no cover - run by hand after changing the toy batch
    raw = json.loads(FIXTURE.read_text())
    raw["expected"] = _reference_outputs(_load())
    # one line per field keeps the golden file readable and its diffs small
    lines = [f" {json.dumps(k)}: {json.dumps(v)}" for k, v in raw.items() if k != "expected"]
    expected = [
        "  " + json.dumps(b) + ": {\n" + ",\n".join(f"   {json.dumps(k)}: {json.dumps(v)}" for k, v in fields.items()) + "}"
        for b, fields in raw["expected"].items()
    ]
    lines.append(' "expected": {\n' + ",\n".join(expected) + "}")
    FIXTURE.write_text("{\n" + ",\n".join(lines) + "\n}\n")


def _t(x):
    return torch.tensor(x, dtype=torch.float64)


def _code_advantages(data, baseline):
    p = data["params"]
    return compute_advantages(
        _t(data["rewards"]), _t(data["logp_old"]), _t(data["logp_ref"]), torch.tensor(data["mask"]),
        kl_coef=p["kl_coef"], kl_clamp=p["kl_clamp"], reward_clip=p["reward_clip"], baseline=baseline,
        group_size=p["group_size"])


# ----------------------------------------------------------------------------- golden toy batch
def test_reference_reproduces_stored_golden_numbers():
    data = _load()
    fresh = _reference_outputs(data)
    stored = json.loads(FIXTURE.read_text())["expected"]
    assert _nested_close(fresh, stored)


def _nested_close(a, b):
    if isinstance(a, dict):
        return all(_nested_close(a[k], b[k]) for k in b)
    if isinstance(a, list):
        return all(_nested_close(x, y) for x, y in zip(a, b, strict=True))
    return a == pytest.approx(b, rel=1e-12, abs=1e-12)


def test_hand_worked_steps_of_the_toy_batch():
    """A few numbers worked out on paper, so the reference itself is pinned to the method."""
    data = _load()
    exp = json.loads(FIXTURE.read_text())["expected"]
    assert exp["none"]["rewards"] == pytest.approx([10.0, -3.5, 4.2, -10.0])  # clip at +-10
    assert exp["group"]["rewards"] == pytest.approx([6.75, -6.75, 7.1, -7.1])  # minus group means 3.25, -2.9
    assert exp["none"]["kl"][0] == pytest.approx([0.2, 2.0, -1.5, 0.2, -2.0])  # 2.5 and -2.9 clamped to +-2
    assert exp["none"]["kl"][2] == pytest.approx([-2.0, 0, 0, 0, 0])
    # sample 2 has one token: A = -0.1 * (-2) + 4.2
    assert exp["none"]["returns"][2][0] == pytest.approx(4.4)
    # sample 0, last token: -0.1 * (-2) + 10; first token adds the rest of the KL penalties
    assert exp["none"]["returns"][0][4] == pytest.approx(10.2)
    assert exp["none"]["returns"][0][0] == pytest.approx(10.0 - 0.1 * (0.2 + 2.0 - 1.5 + 0.2 - 2.0))
    assert exp["none"]["returns"][3] == [0.0] * 5  # empty sample contributes nothing
    assert data["mask"][3] == [0] * 5


@pytest.mark.parametrize("baseline", ["none", "group"])
def test_advantages_match_hand_computation(baseline):
    data = _load()
    exp = json.loads(FIXTURE.read_text())["expected"][baseline]
    out = _code_advantages(data, baseline)
    for name in ("advantages", "returns", "kl", "rewards"):
        torch.testing.assert_close(getattr(out, name), _t(exp[name]), atol=1e-12, rtol=0, msg=name)
    mask = torch.tensor(data["mask"]).bool()
    assert (out.advantages[~mask] == 0).all() and (out.returns[~mask] == 0).all() and (out.kl[~mask] == 0).all()
    valid = out.advantages[mask]
    assert valid.mean().item() == pytest.approx(0.0, abs=1e-12)
    assert valid.var(unbiased=False).item() == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("baseline", ["none", "group"])
def test_policy_loss_matches_hand_computation(baseline):
    data = _load()
    exp = json.loads(FIXTURE.read_text())["expected"][baseline]
    mask = torch.tensor(data["mask"])
    adv = _t(exp["advantages"])
    logp = _t(data["logp_new"]).requires_grad_(True)
    ratio = (logp.detach() - _t(data["logp_old"])).exp()
    eps = data["params"]["clip_eps"]
    m = mask.bool()
    # The toy batch must exercise every branch of the clip: A>0 and A<0, each with r above and below.
    for sign in (1, -1):
        assert ((sign * adv > 0) & (ratio > 1 + eps) & m).any() and ((sign * adv > 0) & (ratio < 1 - eps) & m).any()
    assert ((ratio > 1 - eps) & (ratio < 1 + eps) & m).any()

    loss, stats = policy_loss(logp, _t(data["logp_old"]), adv, mask, clip_eps=eps)
    loss.backward()
    assert loss.item() == pytest.approx(exp["loss"], abs=1e-12)
    torch.testing.assert_close(logp.grad, _t(exp["grad"]), atol=1e-12, rtol=0)
    assert stats == pytest.approx(exp["stats"], abs=1e-12)
    assert 0 < stats["clip_fraction"] < 1


def test_loss_with_unchanged_policy_is_minus_mean_advantage():
    """r = 1 (one step per batch, the paper's case): L = -mean(A), dL/dlogp = -A / N_tok."""
    data = _load()
    adv = _t(json.loads(FIXTURE.read_text())["expected"]["group"]["advantages"])
    mask = torch.tensor(data["mask"])
    logp = _t(data["logp_old"]).requires_grad_(True)
    loss, stats = policy_loss(logp, _t(data["logp_old"]), adv, mask, clip_eps=0.2)
    loss.backward()
    n = int(mask.sum())
    assert loss.item() == pytest.approx(-adv.sum().item() / n, abs=1e-12)
    assert torch.allclose(logp.grad, -adv * mask / n, atol=1e-12)
    assert stats["clip_fraction"] == 0 and stats["approx_kl"] == pytest.approx(0.0, abs=1e-12)
    assert stats["ratio_mean"] == pytest.approx(1.0)


@pytest.mark.parametrize("kl_coef,baseline", [(0.0, "none"), (0.5, "group")])
def test_zero_variance_gives_zero_not_nan(kl_coef, baseline):
    # Every valid token has the same return: one token per sample, equal rewards, equal KL.
    mask = torch.tensor([[1, 0, 0], [1, 0, 0], [1, 0, 0], [1, 0, 0]])
    logp = torch.full((4, 3), -1.0)
    out = compute_advantages(torch.full((4,), 3.0), logp, logp - 0.3, mask, kl_coef=kl_coef,
                             baseline=baseline, group_size=2)
    assert torch.isfinite(out.advantages).all()
    assert out.advantages.abs().max().item() < 1e-9
    assert masked_whiten(torch.zeros(2, 2), torch.zeros(2, 2)).tolist() == [[0.0, 0.0], [0.0, 0.0]]


def test_junk_on_padding_is_ignored():
    data = _load()
    mask = torch.tensor(data["mask"])
    pad = mask == 0
    junk_old = _t(data["logp_old"]).masked_fill(pad, float("nan"))
    junk_ref = _t(data["logp_ref"]).masked_fill(pad, float("inf"))
    out = compute_advantages(_t(data["rewards"]), junk_old, junk_ref, mask, kl_coef=0.1, kl_clamp=2.0,
                             baseline="group", group_size=2)
    clean = _code_advantages(data, "group")
    assert torch.equal(out.advantages, clean.advantages)
    logp = _t(data["logp_new"]).masked_fill(pad, float("-inf")).requires_grad_(True)
    loss, _ = policy_loss(logp, junk_old, clean.advantages.masked_fill(pad, float("nan")), mask, clip_eps=0.2)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logp.grad).all() and (logp.grad[pad] == 0).all()


def test_bad_arguments_raise():
    x = torch.zeros(4, 3)
    m = torch.ones(4, 3)
    with pytest.raises(ValueError, match="group_size >= 2"):
        compute_advantages(torch.zeros(4), x, x, m, kl_coef=0.1, baseline="group", group_size=1)
    with pytest.raises(ValueError, match="groups of 3"):
        compute_advantages(torch.zeros(4), x, x, m, kl_coef=0.1, baseline="group", group_size=3)
    with pytest.raises(ValueError, match="baseline"):
        compute_advantages(torch.zeros(4), x, x, m, kl_coef=0.1, baseline="mean")
    with pytest.raises(ValueError, match="shape"):
        compute_advantages(torch.zeros(4), torch.zeros(4, 2), x, m, kl_coef=0.1)
    with pytest.raises(ValueError, match="clip_eps"):
        policy_loss(x, x, x, m, clip_eps=0.0)


# ----------------------------------------------------------------------------- properties
@st.composite
def rollout_batches(draw):
    B = draw(st.integers(1, 6))
    L = draw(st.integers(1, 7))
    right_padded = draw(st.booleans())
    if right_padded:
        lengths = draw(st.lists(st.integers(0, L), min_size=B, max_size=B))
        mask = [[1 if t < n else 0 for t in range(L)] for n in lengths]
    else:
        mask = draw(st.lists(st.lists(st.sampled_from([0, 1]), min_size=L, max_size=L), min_size=B, max_size=B))
    num = st.floats(-20, 20, allow_nan=False, width=32)
    rewards = draw(st.lists(num, min_size=B, max_size=B))
    logp_old = draw(st.lists(st.lists(st.floats(-15, 0, width=32), min_size=L, max_size=L), min_size=B, max_size=B))
    logp_ref = draw(st.lists(st.lists(st.floats(-15, 0, width=32), min_size=L, max_size=L), min_size=B, max_size=B))
    kl_coef = draw(st.sampled_from([0.0, 1e-3, 0.1, 1.0]))
    return rewards, logp_old, logp_ref, mask, kl_coef


@settings(max_examples=100, deadline=None)
@given(rollout_batches())
def test_advantages_properties(batch):
    rewards, logp_old, logp_ref, mask, kl_coef = batch
    m = torch.tensor(mask).bool()
    out = compute_advantages(_t(rewards), _t(logp_old), _t(logp_ref), m, kl_coef=kl_coef)
    for name in ("advantages", "returns", "kl", "rewards"):
        assert torch.isfinite(getattr(out, name)).all(), name
    assert (out.advantages[~m] == 0).all() and (out.returns[~m] == 0).all()
    # returns are reverse cumulative sums of the token rewards (R at the last valid token)
    for i, row in enumerate(mask):
        valid = [t for t in range(len(row)) if row[t]]
        acc = 0.0
        for t in reversed(valid):
            acc += -kl_coef * out.kl[i, t].item() + (out.rewards[i].item() if t == valid[-1] else 0.0)
            assert out.returns[i, t].item() == pytest.approx(acc, abs=1e-9)
    valid_adv = out.advantages[m]
    if valid_adv.numel() and out.returns[m].var(unbiased=False).item() > 1e-6:
        assert valid_adv.mean().item() == pytest.approx(0.0, abs=1e-9)
        assert valid_adv.std(unbiased=False).item() == pytest.approx(1.0, rel=1e-6)
    ref = ref_advantages(rewards, logp_old, logp_ref, mask, kl_coef=kl_coef, kl_clamp=10.0, reward_clip=10.0,
                         baseline="none", group_size=None) if m.any() else None
    if ref is not None:
        torch.testing.assert_close(out.advantages, _t(ref["advantages"]), atol=1e-6, rtol=0)


@settings(max_examples=100, deadline=None)
@given(rollout_batches(), st.lists(st.floats(-1, 1, width=32), min_size=42, max_size=42),
       st.sampled_from([0.1, 0.2, 0.3]))
def test_loss_gradient_flows_only_through_valid_tokens(batch, deltas, eps):
    _, logp_old, _, mask, _ = batch
    m = torch.tensor(mask).bool()
    B, L = m.shape
    adv = torch.randn(B, L, dtype=torch.float64, generator=torch.Generator().manual_seed(len(deltas)))
    old = _t(logp_old)
    logp = (old + _t(deltas[: B * L]).view(B, L)).masked_fill(~m, float("nan")).requires_grad_(True)
    loss, stats = policy_loss(logp, old, adv, m, clip_eps=eps)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logp.grad).all()
    assert (logp.grad[~m] == 0).all()
    assert 0.0 <= stats["clip_fraction"] <= 1.0 and stats["approx_kl"] >= -1e-12
    if m.any():
        # the gradient never pushes a token whose ratio is already clipped in its favour
        ratio = (logp.detach() - old).exp()
        cut = m & (((adv > 0) & (ratio > 1 + eps)) | ((adv < 0) & (ratio < 1 - eps)))
        assert (logp.grad[cut] == 0).all()


def test_token_bonus_adds_to_the_returns_of_its_token_and_every_earlier_one():
    data = _load()
    mask = torch.tensor(data["mask"])
    args = (_t(data["rewards"]), _t(data["logp_old"]), _t(data["logp_ref"]), mask)
    kw = dict(kl_coef=0.1, kl_clamp=2.0, baseline="none")
    plain = compute_advantages(*args, **kw)
    bonus = torch.zeros(mask.shape, dtype=torch.float64)
    bonus[0, 2] = 0.5  # one token of the first row
    bonus[:, -1] = 7.0  # lands on padding for short rows: must be ignored there
    out = compute_advantages(*args, token_bonus=bonus, **kw)
    expected = plain.returns.clone()
    expected[0, :3] += 0.5
    last = mask[:, -1] != 0
    expected[last] += torch.where(mask[last] != 0, 7.0, 0.0).to(expected.dtype)
    torch.testing.assert_close(out.returns, expected, atol=1e-12, rtol=0)
    assert (out.returns[mask == 0] == 0).all()

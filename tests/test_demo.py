"""studycli.demo: the shipped model and the playground commands (`study generate`, `study finetune`)."""

import json

import numpy as np
import pytest

from engine.model import GPT, GPTConfig, save_checkpoint
from engine.sampling import generate
from engine.tokenizer import CharTokenizer
from studycli import demo, ui
from studycli.errors import UsageError

# ---------------------------------------------------------------------------------------------
# the shipped model


def test_shipped_model_is_a_float16_char_model_that_records_how_it_was_made():
    model, tokenizer = demo.load()
    assert (model.config.vocab_size, model.config.n_positions, model.config.n_embd) == (97, 64, 128)
    assert isinstance(tokenizer, CharTokenizer)
    from safetensors import safe_open

    with safe_open(demo.SHIPPED_MODEL / "model.safetensors", "np") as f:
        assert {f.get_tensor(k).dtype for k in f.keys()} == {np.dtype(np.float16)}
    record = json.loads((demo.SHIPPED_MODEL / "training.json").read_text())
    assert record["status"] == "done" and record["command"].startswith("python -m engine.train")
    assert record["val_loss"] <= 1.65 and record["minutes"] <= 15.5
    assert (demo.SHIPPED_MODEL / "README.md").is_file()


@pytest.mark.slow  # a wall-clock bound: only meaningful on a machine that is not busy
def test_shipped_model_loads_in_under_a_second():
    import time

    start = time.perf_counter()
    demo.load()
    assert time.perf_counter() - start < 1.0


def test_stream_gives_the_same_text_as_generate():
    model, tokenizer = demo.load()
    prompt = "ROMEO:\n"
    for kw in (dict(temperature=0.8, top_k=20, top_p=0.9, seed=3), dict(temperature=0.0)):
        pieces = list(demo.stream(model, tokenizer, prompt, max_tokens=70, **kw))  # past the 64-char context
        want = tokenizer.decode(generate(model, tokenizer.encode(prompt), 70, **kw))
        assert "".join(pieces) == want and len(pieces) == 70


def test_shipped_model_writes_real_words_at_low_temperature_and_noise_at_high():
    model, tokenizer = demo.load()
    share = {}
    for temperature in (0.5, 2.0):
        text = "".join(demo.stream(model, tokenizer, "KING HENRY:\n", 150, temperature, seed=0))
        share[temperature] = demo.word_share(text)
    assert share[0.5] >= 0.85 and share[2.0] <= 0.6, share


def test_vocabulary_is_the_words_of_the_training_text():
    assert "thou" in demo.vocabulary() and "zzyzx" not in demo.vocabulary()


# ---------------------------------------------------------------------------------------------
# any checkpoint directory


def test_load_errors_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="no such model"):
        demo.load(tmp_path / "missing")
    with pytest.raises(UsageError):
        demo.load(tmp_path)  # no config.json / model.safetensors
    GPT.init(GPTConfig(vocab_size=50, n_positions=8, n_embd=8, n_layer=1, n_head=2), seed=0).save_pretrained(tmp_path)
    with pytest.raises(UsageError, match="no tokenizer"):
        demo.load(tmp_path)


def test_stream_with_a_bpe_checkpoint(tmp_path):
    """Any GPT-2 checkpoint directory with vocab.json + merges.txt: the text is decoded as it comes."""
    from engine.tokenizer import BPETokenizer, train_bpe

    tokenizer, _ = train_bpe("the café serves crème brûlée; the cat naps. " * 20, 300)
    tokenizer.save(tmp_path)
    GPT.init(GPTConfig(vocab_size=tokenizer.vocab_size, n_positions=32, n_embd=8, n_layer=1, n_head=2), seed=0).save_pretrained(tmp_path)
    model, loaded = demo.load(tmp_path)
    assert isinstance(loaded, BPETokenizer)
    pieces = list(demo.stream(model, loaded, "the café", max_tokens=40, temperature=1.0, seed=2))
    assert "".join(pieces) == loaded.decode(generate(model, loaded.encode("the café"), 40, seed=2))


# ---------------------------------------------------------------------------------------------
# the commands


def test_generate_command(run):
    result = run(["generate", "ROMEO:", "--seed", "1", "--max-tokens", "40", "--temperature", "0.7"])
    assert result.exit_code == 0, result
    assert result.stdout.startswith("ROMEO:") and len(result.stdout.rstrip("\n")) >= 6 + 30
    again = run(["generate", "ROMEO:", "--seed", "1", "--max-tokens", "40", "--temperature", "0.7"])
    assert again.stdout == result.stdout
    bad = run(["generate", "x", "--top-p", "1.5"])
    assert bad.exit_code == 2 and "top_p" in bad.stderr and "Traceback" not in bad.stderr


def test_finetune_report_and_command(tmp_path, run):
    config = GPTConfig(vocab_size=CharTokenizer().vocab_size, n_positions=16, n_embd=16, n_layer=1, n_head=2)
    save_checkpoint(GPT.init(config, seed=3).params, config, tmp_path)  # a small char model
    report = demo.finetune_report(tmp_path, steps=4, sample_chars=20)
    assert list(report["modes"]) == ["head", "last_block", "full"]
    for m in report["modes"].values():
        assert [c[0] for c in m["curve"]] == [0, 4] and m["sample"].startswith(demo.FINETUNE_PROMPT)
    text = ui.render_finetune(report)
    assert "head only" in text and "last block + head" in text and "full model" in text
    result = run(["finetune", "--model", str(tmp_path), "--steps", "2", "--mode", "head", "--json"])
    assert result.exit_code == 0, result
    assert list(json.loads(result.stdout)["modes"]) == ["head"]

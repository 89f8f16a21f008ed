"""`study sampler`: the table a learner reads, its JSON, and bad input."""

import json


def test_demo_shows_every_stage(run):
    result = run("sampler --demo --temperature 0.8 --top-k 8 --top-p 0.9")
    assert result.exit_code == 0, result
    assert "8 of 16" in result.stdout and "survive" in result.stdout and "filtered" in result.stdout


def test_logits_as_json(run):
    data = json.loads(run("sampler --logits 2,1,0 --top-k 2 --json").stdout)
    survivors = {stage["name"]: stage["survivors"] for stage in data["stages"]}
    assert survivors == {"raw": 3, "temperature": 3, "top_k": 2, "top_p": 2}
    # top-k 2 keeps e^2 + e^1 of e^2 + e^1 + e^0
    kept = next(s["mass_kept"] for s in data["stages"] if s["name"] == "top_k")
    assert abs(kept - (2.718281828**2 + 2.718281828) / (2.718281828**2 + 2.718281828 + 1)) < 1e-6


def test_bad_input_is_one_line(run):
    for args in ("sampler --logits 3,1,x", "sampler --logits 1,2 --top-p 1.5", "sampler --logits 1,2 --demo",
                 "sampler --logits 1,2 --temperature -1"):
        result = run(args)
        assert result.exit_code == 2, (args, result)
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr

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


def test_default_view_runs_the_shipped_model(run):
    data = json.loads(run(["sampler", "--prompt", "To be, or not to b", "--top-p", "0.9", "--json"]).stdout)
    survivors = {stage["name"]: stage["survivors"] for stage in data["stages"]}
    assert survivors["raw"] == 97 and 1 <= survivors["top_p"] < 97      # 97 characters in the vocabulary
    assert data["tokens"][0]["label"] == "'e'"                          # "To be, or not to be"
    by_temperature = {s["temperature"]: s["real_words"] for s in data["samples"] if not s["top_k"] and s["top_p"] == 1}
    assert by_temperature[0.0] > by_temperature[2.0]                   # gibberish as the temperature rises


def test_numeric_questions_on_the_shipped_model_match_the_sampler(run):
    from studycli.grading.generators import generate_numeric

    params, answer, _ = generate_numeric("model_char_probability", 3)
    prompt = params["prompt"].strip('"')
    data = json.loads(run(["sampler", "--prompt", prompt, "--temperature", str(params["temperature"]), "--no-samples",
                           "--json"]).stdout)
    shown = next(t for t in data["tokens"] if t["label"] == params["char"])
    assert abs(shown["probs"][1] - answer) < 1e-9       # the temperature column is the answer

    params, answer, _ = generate_numeric("model_top_p_count", 4)
    data = json.loads(run(["sampler", "--prompt", params["prompt"].strip('"'), "--top-p", str(params["top_p"]),
                           "--no-samples", "--json"]).stdout)
    assert "samples" not in data or data["samples"] == []
    assert data["stages"][-1]["survivors"] == answer


def test_without_settings_every_column_shows_its_filter_at_work(run):
    data = json.loads(run("sampler --no-samples --json").stdout)
    assert data["settings_chosen"] is True
    columns = [tuple(round(t["probs"][i], 6) for t in data["tokens"]) for i in range(len(data["stages"]))]
    assert len(set(columns)) == len(columns)          # no two stages show the same distribution
    survivors = [s["survivors"] for s in data["stages"]]
    assert survivors[2] < survivors[1] and survivors[3] <= survivors[2]


def test_demo_applies_only_the_filters_asked_for(run):
    data = json.loads(run("sampler --demo --temperature 1.5 --json").stdout)
    assert (data["temperature"], data["top_k"], data["top_p"], data["settings_chosen"]) == (1.5, 0, 1.0, False)
    assert [s["survivors"] for s in data["stages"]] == [16, 16, 16, 16]


def test_ctrl_c_in_generate_ends_the_line_and_exits_130(run, monkeypatch):
    from studycli import demo

    def interrupted(*_args, **_kwargs):
        yield "Wherefore"
        raise KeyboardInterrupt

    monkeypatch.setattr(demo, "stream", interrupted)
    result = run(["generate", "ROMEO:", "--max-tokens", "5"])
    assert result.exit_code == 130 and result.stdout == "ROMEO:Wherefore\n" and "Traceback" not in result.stderr


def test_ctrl_c_in_finetune_says_nothing_was_saved(run, monkeypatch):
    from studycli import demo

    def interrupted(*_args, on_eval=None, **_kwargs):
        on_eval("head", 10, 2.0, 2.1)
        raise KeyboardInterrupt

    monkeypatch.setattr(demo, "finetune_report", interrupted)
    result = run("finetune --steps 20 --mode head")
    assert result.exit_code == 130 and "stopped: nothing was saved" in result.stderr
    assert "head step 10: train 2.000, held-out 2.100" in result.stderr   # progress, one line per evaluation when piped


def test_every_option_of_every_command_explains_itself():
    import typer.main

    from studycli import cli

    group = typer.main.get_command(cli.app)
    checked = 0
    for name, command in group.commands.items():
        assert command.short_help and not command.short_help.endswith("..."), name
        for param in command.params:
            if param.param_type_name == "option" and param.name not in ("help",):
                assert param.help, f"study {name} {param.opts[0]} has no help text"
                checked += 1
    assert checked > 40

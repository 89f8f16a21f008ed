"""The program that runs a learner's file in the grading child process.

Run as a script (`python -I -B harness.py WORKDIR GO_FD`) with the standard library, NumPy and,
for integration cases, the engine. (The parent imports this module too, but only for its limits
and its integration procedures, which it runs with the engine's own functions.) The child reads
what the parent wrote in WORKDIR:

    job.json     the learner's file(s), the function name, the deadline, the limits
    cases.json   one entry per case: how to call the function (arrays named in inputs.npz)
    inputs.npz   the case inputs (never the expected values)

It writes back, also in WORKDIR:

    events.jsonl  one JSON object a line: imported, case started / done / raised, finished
    out_<k>_<i>_<j>.npy  output j of file k's function on case i (plain arrays, never pickles)
    exit.json     how the worker process ended (written by the first process, see `main`)
    fault.txt     Python's own report of a crash (faulthandler)

The first process sets the resource limits, then forks a worker that does the grading and only
waits for it, so that a crash or a signal of the worker can be told apart from a clean exit, and
so that in a new PID namespace (where this first process is PID 1 and immune to most signals)
the worker still dies from SIGXCPU like any other process. When PID 1 exits, the kernel kills
whatever the learner's code left running.
"""

import json
import os
import resource
import signal
import sys
import time
import traceback

ADDRESS_SPACE_BYTES = 2 << 30  # 2 GiB: enough for NumPy and any sensible answer
FILE_SIZE_BYTES = 16 << 20  # caps the learner's printed output and every file it writes


class Deadline(BaseException):
    """Raised by the wall-clock alarm; a BaseException so `except Exception` cannot swallow it."""


class BadReturn(Exception):
    """The function returned something that is not an array of numbers (or the wrong tuple)."""


def main(argv):
    workdir, go_fd = argv[1], int(argv[2])
    os.chdir(workdir)
    with open("job.json") as f:
        job = json.load(f)
    set_limits(job)
    pid = os.fork()
    if pid == 0:
        try:
            worker(job, go_fd)
        finally:
            os._exit(70)
    os.close(go_fd)
    _, status, usage = os.wait4(pid, 0)
    ended = {"cpu_s": usage.ru_utime + usage.ru_stime}
    if os.WIFSIGNALED(status):
        ended["signal"] = os.WTERMSIG(status)
    else:
        ended["exit"] = os.waitstatus_to_exitcode(status)
    write_file("exit.json", json.dumps(ended))
    os._exit(0)


def set_limits(job):
    cpu = int(job["cpu_seconds"])
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_BYTES, ADDRESS_SPACE_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))  # SIGXCPU first, SIGKILL a second later
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_BYTES, FILE_SIZE_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def write_file(name, text):
    """Writes a new file `name`, never through a link the learner's code may have left there."""
    try:
        os.unlink(name)
    except OSError:  # not there (the usual case), or a directory: then O_EXCL below fails
        pass
    try:
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError:  # recreated in between: the parent then reports that the process vanished
        return
    with os.fdopen(fd, "w") as f:
        f.write(text)


class Events:
    """The events.jsonl channel to the parent: one flushed line per event."""

    def __init__(self):
        self.fd = os.open("events.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def emit(self, event, **fields):
        line = json.dumps({"e": event, **fields}, default=str) + "\n"
        os.write(self.fd, line.encode("utf-8", "replace"))


def output_offset():
    """How many bytes of output the learner's code has written so far."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - a full disk or a closed stream must not stop grading
            pass
    try:
        return os.fstat(1).st_size
    except OSError:
        return 0


def worker(job, go_fd):
    import faulthandler

    faulthandler.enable(file=open("fault.txt", "w"), all_threads=False)  # noqa: SIM115 - kept open until death
    events = Events()
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(errors="backslashreplace")  # block-buffered: flushed around every case
    import numpy as np

    if job.get("engine_root"):
        sys.path.append(job["engine_root"])
    deadline = job["deadline"]

    def on_alarm(signum, frame):
        raise Deadline

    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, max(deadline - time.monotonic(), 0.001))
    try:
        go = os.read(go_fd, 16)
    except Deadline:
        events.emit("timeout", phase="waiting")
        finish(events)
    os.close(go_fd)
    if go != b"go":  # the parent gave up before sending the cases
        finish(events)
    inputs = np.load("inputs.npz", allow_pickle=False)
    arrays = {key: inputs[key] for key in inputs.files}
    with open("cases.json") as f:
        cases = json.load(f)
    for k, path in enumerate(job["paths"]):  # several files share a child only when the caller asks
        if not grade_file(k, path, job, cases, arrays, events, np):
            break
    finish(events)


def grade_file(k, path, job, cases, arrays, events, np):
    """Imports file k and runs every case on its function; False when time is up."""
    name, deadline = job["function"], job["deadline"]
    events.emit("file", f=k, out=output_offset())
    fn = import_learner(k, path, name, events)
    for i, case in enumerate(cases if fn is not None else []):
        events.emit("start", f=k, i=i, out=output_offset())
        t0 = time.perf_counter()
        try:
            result = run_case(fn, name, case, arrays)
            saved = save_result(k, i, result, job["n_outputs"], np)
        except Deadline:
            events.emit("raised", f=k, i=i, kind="timeout", out=output_offset())
            return False
        except BaseException as exc:  # noqa: BLE001 - the learner's code may raise anything
            ms = (time.perf_counter() - t0) * 1000
            events.emit("raised", f=k, i=i, ms=ms, out=output_offset(), **describe(exc, path))
        else:
            ms = (time.perf_counter() - t0) * 1000
            events.emit("done", f=k, i=i, ms=ms, out=output_offset(), returned=saved)
        if time.monotonic() > deadline:  # a long C call is not interrupted by the alarm
            events.emit("raised", f=k, i=i, kind="timeout", out=output_offset())
            return False
    events.emit("file_end", f=k, out=output_offset())
    return True


def finish(events):
    signal.setitimer(signal.ITIMER_REAL, 0)
    output_offset()
    events.emit("finished")
    os._exit(0)  # skip atexit handlers and any threads the learner started


def import_learner(k, path, name, events):
    """The learner's function from file k, or None after reporting why it could not be had."""
    import importlib.util

    module_name = f"answer_{k}"  # never the file's own name, which could shadow numpy or engine
    try:
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    except Deadline:
        events.emit("import_failed", f=k, kind="timeout")
        return None
    except BaseException as exc:  # noqa: BLE001
        events.emit("import_failed", f=k, out=output_offset(), **describe(exc, path))
        return None
    fn = getattr(module, name, None)
    if fn is None:
        found = sorted(
            key for key, value in vars(module).items()
            if callable(value) and not key.startswith("_") and getattr(value, "__module__", None) == module_name
        )  # fmt: skip
        events.emit("import_failed", f=k, kind="missing", found=found)
        return None
    if not callable(fn):
        events.emit("import_failed", f=k, kind="not_callable", type=type(fn).__name__)
        return None
    origin = getattr(fn, "__module__", None) or ""
    if origin == "engine" or origin.startswith("engine."):
        events.emit("import_failed", f=k, kind="engine", origin=origin)
        return None
    events.emit("imported", f=k, out=output_offset())
    return fn


def decode(value, arrays):
    """A case value from cases.json: arrays by name in inputs.npz, containers, plain scalars."""
    if "a" in value:
        return arrays[value["a"]]
    if "l" in value:
        return [decode(v, arrays) for v in value["l"]]
    if "t" in value:
        return tuple(decode(v, arrays) for v in value["t"])
    if "d" in value:
        return {k: decode(v, arrays) for k, v in value["d"].items()}
    return value["v"]


def run_case(fn, name, case, arrays):
    args = [decode(v, arrays) for v in case["args"]]
    kwargs = {k: decode(v, arrays) for k, v in case["kwargs"].items()}
    if not case.get("integration"):
        return fn(*args, **kwargs)
    return INTEGRATIONS[case["integration"]](fn, name, *args, **kwargs)


def save_result(k, i, result, n_outputs, np):
    """Writes out_<k>_<i>_<j>.npy for each output j; returns a short description of what came back."""
    if n_outputs == 1:
        items = [result]
    else:
        if not isinstance(result, (tuple, list)) or len(result) != n_outputs:
            raise BadReturn(f"expected a tuple of {n_outputs} arrays, got {describe_value(result)}")
        items = list(result)
    arrays = []
    for item in items:
        try:
            a = np.asarray(item)
        except (ValueError, TypeError) as exc:
            raise BadReturn(f"could not turn {describe_value(item)} into an array ({exc})") from None
        if a.dtype.kind not in "biufc":
            raise BadReturn(f"returned {describe_value(item)}, not an array of numbers")
        arrays.append(a)
    for j, a in enumerate(arrays):
        tmp = f".out_{k}_{i}_{j}.tmp"
        with open(tmp, "wb") as f:
            np.save(f, a, allow_pickle=False)
        os.replace(tmp, f"out_{k}_{i}_{j}.npy")
    return ", ".join(describe_value(item) for item in items)


def describe_value(value):
    kind = type(value).__name__
    shape = getattr(value, "shape", None)
    if shape is not None and hasattr(value, "dtype"):
        return f"{kind} {value.dtype} {tuple(shape)}"
    if isinstance(value, (list, tuple)):
        return f"a {kind} of {len(value)} items"
    if value is None:
        return "None"
    return f"a {kind}"


def chain(exc):
    """The exception and everything it was raised from or during."""
    seen = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def describe(exc, path):
    """The event fields for an exception: its kind, one message line, the learner's own frames."""
    links = chain(exc)
    if any(isinstance(e, MemoryError) for e in links):
        kind = "memory"
    elif isinstance(exc, SystemExit):
        kind = "exit"
    elif isinstance(exc, BadReturn):
        kind = "bad_return"
    elif isinstance(exc, SyntaxError):
        kind = "syntax"
    elif isinstance(exc, Deadline):
        kind = "timeout"
    elif isinstance(exc, OSError) and exc.errno == 27:  # EFBIG: RLIMIT_FSIZE reached
        kind = "output"
    else:
        kind = "exception"
    if isinstance(exc, SystemExit):
        message = f"SystemExit: {exc.code!r}"
    elif isinstance(exc, BadReturn):
        message = str(exc)
    elif isinstance(exc, SyntaxError):
        message = f"line {exc.lineno}: {exc.msg}"
    else:
        message = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return {"kind": kind, "type": type(exc).__name__, "message": message[-2000:], "traceback": own_frames(exc, path)}


def own_frames(exc, path):
    """The traceback of `exc` restricted to frames in the learner's file, as Python prints them."""
    real = os.path.realpath(path)
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if os.path.realpath(f.filename) == real]
    lines = traceback.format_list(frames)
    if isinstance(exc, SyntaxError):
        lines += traceback.format_exception_only(type(exc), exc)
    text = "".join(lines)
    return text[-3000:]


# Integration cases: the learner's function plugged into the engine, which the child imports.


def patch_engine(name, fn):
    """Puts `fn` in place of the engine's function `name` everywhere; returns how to undo it."""
    import engine.layers
    import engine.model
    import engine.sampling

    target = ENGINE_NAMES.get(name, name)
    modules = (engine.layers, engine.model, engine.sampling)
    original = next(getattr(m, target) for m in modules if hasattr(m, target))
    patched = [m for m in modules if getattr(m, target, None) is original]
    for module in patched:
        setattr(module, target, fn)
    return lambda: [setattr(module, target, original) for module in patched]


ENGINE_NAMES = {"greedy_next": "greedy"}  # learner's name -> engine's name, where they differ


def with_learner(procedure):
    """An integration procedure run with the engine's function replaced by the learner's (if given)."""

    def run(fn, name, *args, **kwargs):
        undo = patch_engine(name, fn) if fn is not None else None
        try:
            return procedure(*args, **kwargs)
        finally:
            if undo is not None:
                undo()

    run.__doc__ = procedure.__doc__
    return run


@with_learner
def gpt_logits(config, params, ids, split=0):
    """Logits of a small GPT; with `split`, the ids are fed in two pieces through a KV cache."""
    from engine.model import GPT, GPTConfig

    model = GPT(GPTConfig(**config), params)
    if not split:
        return model(ids)
    cache = model.new_cache(batch_size=1)
    first = model(ids[:split], cache)  # [split, V]
    second = model(ids[split:], cache)  # [T - split, V]
    import numpy as np

    return np.concatenate([first, second], axis=0)


@with_learner
def gpt_generate(config, params, prompt, options):
    """The tokens a small GPT generates after `prompt`."""
    from engine.model import GPT, GPTConfig
    from engine.sampling import generate

    return generate(GPT(GPTConfig(**config), params), prompt, **options)


INTEGRATIONS = {"gpt_logits": gpt_logits, "gpt_generate": gpt_generate}


if __name__ == "__main__":
    main(sys.argv)

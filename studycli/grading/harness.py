"""The program that runs a learner's file in the grading child process.

Run by `python -I -B` (loaded from its cached bytecode by runner.BOOTSTRAP, which calls
`main([harness.py, WORKDIR, GO_FD, READY_FD])`) with the standard library, NumPy and, for
integration cases, the engine. (The parent imports this module too, but only for
its limits and its integration procedures, which it runs with the engine's own functions.) The
child reads what the parent wrote in WORKDIR:

    job.json     the function name, the deadline, the limits, the walls (what may be read)
    answer_<k>.py  a copy of learner file k (the child cannot read the learner's own folder)
    cases.json   one entry per case: how to call the function (arrays named in inputs.npz)
    inputs.npz   the case inputs (never the expected values)

It writes back in WORKDIR, through files it opened before the walls went up (after that nothing
in WORKDIR is writable):

    events.jsonl  one JSON object a line: imported, case started / done / raised, finished
    exit.json     how the worker process ended (written by the first process, see `main`)
    fault.txt     Python's own report of a crash (faulthandler)

and in WORKDIR/scratch, the learner's working (and home) directory and the only place its code
may write, bounded for the whole check by SCRATCH_BYTES and SCRATCH_FILES:

    out_<k>_<i>_<j>.npy  output j of file k's function on case i (plain arrays, never pickles)

In a mount namespace the first process mounts a tmpfs of that size on the scratch directory and
says so on READY_FD ("tmpfs"); the parent reads the results through /proc/PID/root, and the
tmpfs vanishes with the namespace. Elsewhere it answers "folder" and the parent keeps count (as
it does when it cannot open /proc/PID/root: it then says "gu" instead of "go" on GO_FD, and the
worker unmounts the tmpfs before the learner's code runs).

The first process sets the resource limits, then forks a worker that does the grading and only
waits for it, so that a crash or a signal of the worker can be told apart from a clean exit, and
so that in a new PID namespace (where this first process is PID 1 and immune to most signals)
the worker still dies from SIGXCPU like any other process. When PID 1 exits, the kernel kills
whatever the learner's code left running.

Before the first line of the learner's code runs, the worker has read everything it needs (the
inputs, the answer's source, the engine for integration cases) and then walls itself in
(confine.py: no capabilities, no new privileges, Landlock, seccomp); the first process does the
same before it waits. The engine is never importable by the learner's module.
"""

import errno
import json
import os
import resource
import signal
import sys
import time
import traceback

ADDRESS_SPACE_BYTES = 2 << 30  # 2 GiB: enough for NumPy and any sensible answer
CHECK_MEMORY_BYTES = 2 << 30  # all processes of one check together (a memory cgroup, where one can be made)
FILE_SIZE_BYTES = 16 << 20  # caps the learner's printed output and every file it writes
PROCESSES = 64  # processes of one check together (RLIMIT_NPROC in a user namespace, or a pids cgroup)
SCRATCH_BYTES = 64 << 20  # what all processes of one check may keep in the scratch directory together
SCRATCH_FILES = 10_000  # files and folders in it (a tmpfs's nr_inodes counts its root too)
SCRATCH = "scratch"  # the learner's working directory, below WORKDIR
ENGINE = "engine"


class Deadline(BaseException):
    """Raised by the wall-clock alarm; a BaseException so `except Exception` cannot swallow it."""


class BadReturn(Exception):
    """The function returned something that is not an array of numbers (or the wrong tuple)."""


def main(argv):
    workdir, go_fd, ready_fd = argv[1], int(argv[2]), int(argv[3])
    os.chdir(workdir)
    with open("job.json") as f:
        job = json.load(f)
    confine = load_confine() if job.get("walls") or job.get("mount_scratch") else None
    mounted = job.get("mount_scratch") and confine.mount_scratch(SCRATCH, SCRATCH_BYTES, SCRATCH_FILES)
    os.write(ready_fd, b"tmpfs" if mounted else b"folder")
    os.close(ready_fd)
    exit_fd = os.open("exit.json", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    join_cgroups(job.get("cgroups", []))
    set_limits(job)
    pid = os.fork()
    if pid == 0:
        try:
            os.close(exit_fd)  # the learner's code never holds it
            worker(job, go_fd, confine)
        finally:
            os._exit(70)
    os.close(go_fd)
    if job.get("walls"):
        wall_in(job, confine)  # this process reads nothing more; it only waits and writes exit.json
    _, status, usage = os.wait4(pid, 0)
    ended = {"cpu_s": usage.ru_utime + usage.ru_stime}
    if os.WIFSIGNALED(status):
        ended["signal"] = os.WTERMSIG(status)
    else:
        ended["exit"] = os.waitstatus_to_exitcode(status)
    os.write(exit_fd, json.dumps(ended).encode())
    os._exit(0)


def join_cgroups(procs_files):
    """Moves this process (and so all it will start) into the check's cgroups."""
    for path in procs_files:
        with open(path, "w") as f:
            f.write("0")


def load_confine():
    """confine.py, loaded by path (the child runs with `-I`: its own folder is not on sys.path)."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "confine.py")
    spec = importlib.util.spec_from_file_location("studycli_confine", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def wall_in(job, confine):
    """Confines this process for good: only what the job lists can be read, only the scratch written."""
    walls = job["walls"]
    confine.no_new_privileges()
    confine.drop_capabilities()
    if walls.get("landlock"):
        confine.landlock(walls["read"], walls["write"], walls["landlock"], walls.get("list", ()))
    if walls.get("seccomp"):
        confine.seccomp()


def set_limits(job):
    cpu = int(job["cpu_seconds"])
    if job.get("processes"):
        resource.setrlimit(resource.RLIMIT_NPROC, (job["processes"], job["processes"]))
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_BYTES, ADDRESS_SPACE_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))  # SIGXCPU first, SIGKILL a second later
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_BYTES, FILE_SIZE_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


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


def worker(job, go_fd, confine):
    import faulthandler

    faulthandler.enable(file=open("fault.txt", "w"), all_threads=False)  # noqa: SIM115 - kept open until death
    events = Events()
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(errors="backslashreplace")  # block-buffered: flushed around every case
    import numpy as np

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
    if go not in (b"go", b"gu"):  # the parent gave up before sending the cases
        finish(events)
    inputs = np.load("inputs.npz", allow_pickle=False)
    arrays = {key: inputs[key] for key in inputs.files}
    with open("cases.json") as f:
        cases = json.load(f)
    sources = []
    for answer in job["answers"]:
        with open(answer["copy"], "rb") as f:
            sources.append(f.read())
    hide_engine(job.get("engine_root"), any(case.get("integration") for case in cases))
    if go == b"gu":  # the parent cannot reach the tmpfs: the folder beneath it is used (and counted)
        confine.unmount_scratch(SCRATCH)
    os.chdir(SCRATCH)  # the results go here, and the learner's files
    if job.get("walls"):
        wall_in(job, confine)
    for k, answer in enumerate(job["answers"]):  # several files share a child only when the caller asks
        if not grade_file(k, answer["path"], sources[k], job, cases, arrays, events, np):
            break
    finish(events)


class EngineRefused(ImportError):
    """The learner's code tried to import the engine, the answer key."""


class EngineBlocker:
    """A meta path finder that refuses `engine` and `studycli` to the learner's code."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        top = name.partition(".")[0]
        if top in (ENGINE, "studycli"):
            raise EngineRefused(f"{name} is the grader's own code (the answer key); it cannot be imported here", name=name)
        return None


HIDDEN_ENGINE = {}  # the engine's modules, put back in sys.modules only while an integration case runs


def hide_engine(engine_root, needed):
    """Imports the engine if integration cases need it, then takes it out of reach of imports."""
    if needed and engine_root:
        sys.path.append(engine_root)
        import engine.layers  # noqa: F401
        import engine.model  # noqa: F401
        import engine.sampling  # noqa: F401

        sys.path.remove(engine_root)
    for name in [n for n in sys.modules if n.partition(".")[0] in (ENGINE, "studycli")]:
        HIDDEN_ENGINE[name] = sys.modules.pop(name)
    sys.meta_path.insert(0, EngineBlocker)


def engine_origin(obj, depth=0, seen=None):
    """The engine module `obj` is, wraps or captures (a partial, closure, lambda, bound method,
    alias, default argument or global it reads), or None."""
    seen = set() if seen is None else seen
    if depth > 6 or id(obj) in seen:
        return None
    seen.add(id(obj))
    try:
        module = getattr(obj, "__module__", None)
    except Exception:  # noqa: BLE001 - a learner's object may raise anything from __getattr__
        return None
    if isinstance(module, str) and module.partition(".")[0] == ENGINE and callable(obj):
        return module
    import functools
    import types

    found = []
    if isinstance(obj, functools.partial):
        found = [obj.func, *obj.args, *obj.keywords.values()]
    elif isinstance(obj, types.MethodType):
        found = [obj.__func__, obj.__self__]
    elif isinstance(obj, (list, tuple, set, frozenset)):
        found = list(obj)[:64]
    elif isinstance(obj, dict):
        found = list(obj.values())[:64]
    elif isinstance(obj, types.FunctionType):
        found = [cell.cell_contents for cell in obj.__closure__ or () if _filled(cell)]
        found += list(obj.__defaults__ or ()) + list((obj.__kwdefaults__ or {}).values())
        found += [obj.__globals__[name] for name in _global_names(obj.__code__) if name in obj.__globals__]
    elif callable(obj) and not isinstance(obj, type):
        found = [getattr(type(obj), "__call__", None), *vars(obj).values()] if hasattr(obj, "__dict__") else []
    try:
        found.append(inspect_wrapped(obj))
    except Exception:  # noqa: BLE001
        pass
    for item in found:
        if item is not None and not isinstance(item, (types.ModuleType, str, bytes, int, float)):
            origin = engine_origin(item, depth + 1, seen)
            if origin:
                return origin
    return None


def inspect_wrapped(obj):
    return obj.__dict__.get("__wrapped__") if hasattr(obj, "__dict__") else None


def _filled(cell):
    try:
        cell.cell_contents  # noqa: B018
    except ValueError:
        return False
    return True


def _global_names(code, depth=0):
    names = set(code.co_names)
    if depth < 4:
        for const in code.co_consts:
            if hasattr(const, "co_names"):
                names |= _global_names(const, depth + 1)
    return names


def grade_file(k, path, source, job, cases, arrays, events, np):
    """Imports file k and runs every case on its function; False when time is up."""
    name, deadline = job["function"], job["deadline"]
    events.emit("file", f=k, out=output_offset())
    fn = import_learner(k, path, source, name, events)
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


def import_learner(k, path, source, name, events):
    """The learner's function from file k, or None after reporting why it could not be had.

    The file is run from the copy its source was read from, under its own path (for tracebacks).
    """
    import linecache
    import types

    module_name = f"answer_{k}"  # never the file's own name, which could shadow numpy or engine
    try:
        module = types.ModuleType(module_name)
        module.__file__ = path
        sys.modules[module_name] = module
        text = source.decode("utf-8", "replace")
        linecache.cache[path] = (len(text), None, text.splitlines(True), path)  # no mtime: never re-read
        exec(compile(source, path, "exec", dont_inherit=True), module.__dict__)  # noqa: S102 - confined
    except Deadline:
        events.emit("import_failed", f=k, kind="timeout")
        return None
    except BaseException as exc:  # noqa: BLE001
        refused = next((e for e in chain(exc) if isinstance(e, EngineRefused)), None)
        if refused is not None:
            events.emit("import_failed", f=k, kind="engine", origin=str(refused.name))
            return None
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
    origin = engine_origin(fn)
    if origin:
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
    sys.modules.update(HIDDEN_ENGINE)  # the procedure's own `from engine... import` needs them
    try:
        return INTEGRATIONS[case["integration"]](fn, name, *args, **kwargs)
    finally:
        for module in HIDDEN_ENGINE:
            sys.modules.pop(module, None)


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
    elif isinstance(exc, OSError) and exc.errno == errno.EFBIG:  # RLIMIT_FSIZE: the output, or one file too big
        kind = "output" if output_offset() >= FILE_SIZE_BYTES else "disk"
    elif any(isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT) for e in links):
        kind = "disk"  # the scratch directory is full (bytes or files)
    elif any(isinstance(e, EngineRefused) for e in links):
        kind = "engine"
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
    """Logits of a small GPT; with `split`, the ids are fed in two pieces through a KV cache.

    The model computes in float32; given float64 weights (the parent's exact reference), in float64.
    """
    import numpy as np

    from engine.model import GPT, GPTConfig

    model = GPT(GPTConfig(**config), params)
    if all(getattr(w, "dtype", None) == "float64" for w in params.values()):
        model.params = {name: np.asarray(params[name], dtype=np.float64) for name in model.params}
    if not split:
        return model(ids)
    cache = model.new_cache(batch_size=1)
    first = model(ids[:split], cache)  # [split, V]
    second = model(ids[split:], cache)  # [T - split, V]
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

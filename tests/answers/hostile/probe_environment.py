"""Reports what the child sees (environment, limits, network), then fails on purpose."""
import json
import os
import resource
import socket


def softmax(x, axis=-1):
    try:
        socket.create_connection(("1.1.1.1", 53), timeout=0.5).close()
        network = "online"
    except OSError as e:
        network = f"offline ({e.__class__.__name__})"
    report = {
        "environ": sorted(os.environ),
        "home": os.environ.get("HOME"),
        "cwd": os.getcwd(),
        "as": resource.getrlimit(resource.RLIMIT_AS),
        "cpu": resource.getrlimit(resource.RLIMIT_CPU),
        "fsize": resource.getrlimit(resource.RLIMIT_FSIZE),
        "core": resource.getrlimit(resource.RLIMIT_CORE),
        "network": network,
        "stdin": os.read(0, 10).decode(),
    }
    print("PROBE " + json.dumps(report))
    raise RuntimeError("probe done")

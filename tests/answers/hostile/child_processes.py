"""Starts processes that would outlive the check, then fails."""
import subprocess


def softmax(x, axis=-1):
    subprocess.Popen(["sleep", "271.8281"])
    subprocess.Popen(["sleep", "271.8282"])
    raise ValueError("started two sleepers")

import logging
import sys


def init_logger(name: str) -> logging.Logger:
    """A logger under ``vllm`` that writes to stderr, as upstream's own handler does."""
    root = logging.getLogger("vllm")
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s [%(processName)s pid=%(process)d] %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        root.propagate = False
    return logging.getLogger(name)

"""``python -m zhifu.cli``."""

from zhifu.cli.main import run

run()

"""``python -m zhifu``: the zhifu command line (as the ``zhifu`` script)."""

from zhifu.cli.main import run

run()

"""The ``zhifu`` command line: thin front ends over the domain packages."""

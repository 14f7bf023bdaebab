"""Working days and BEPS dates: the Chinese calendar behind a small interface
(:mod:`~zhifu.clearing.calendar.days`), and the operator's calendar file of a clearing home
(:mod:`~zhifu.clearing.calendar.home`).
"""

"""CNAPS2-like BEPS messages: the records and the table of message types
(:mod:`~zhifu.clearing.messages.model`), signed XML built from them
(:mod:`~zhifu.clearing.messages.build`) and parsed back against the XSDs
(:mod:`~zhifu.clearing.messages.parse`).
"""

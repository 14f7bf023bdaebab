"""zhifu (支付): the Chinese bank and payment-institution payment stack, end to end.

>>> import zhifu
>>> zhifu.__version__
'0.1.0'
"""

__version__ = "0.1.0"

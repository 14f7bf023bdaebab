"""``zhifu card`` and ``zhifu emv``: emulated cards, APDUs, TLV; ``zhifu card serve-vpcd``."""

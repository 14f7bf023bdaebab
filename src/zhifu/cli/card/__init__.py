"""``zhifu card`` and ``zhifu emv``: emulated cards (issue, APDUs and the console, show, check,
``serve-vpcd``) and BER-TLV with tag names."""

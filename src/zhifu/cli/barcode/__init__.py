"""``zhifu barcode`` (the platform's back office) and ``zhifu box`` (the scanning box)."""

"""The barcode platform: its database, who is who, the order book, the payment and refund flows
on the switch, replay guards, daily limits, notifications, the signed API requests and the
operations they run (plain Python in and out: the web layer only translates HTTP), and
:class:`~zhifu.barcode.platform.system.BarcodeSystem` that assembles them.
"""

"""The barcode platform: its database, who is who, the order book, the payment and refund flows
on the switch, replay guards, daily limits, notifications, and :class:`BarcodePlatform` that
assembles them.
"""

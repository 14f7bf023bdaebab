"""The barcode API's routes: merchants (micropay, orders, refunds) and institutions (wallets
paying collection codes), each naming its operation of the platform, and the one signed-request
path they share (:mod:`~zhifu.web.routes.barcode.signed`); the platform does the rest.
"""

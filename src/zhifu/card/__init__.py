"""Cards: APDUs, an emulated PBOC 3.0 card (JR/T 0025, EMV 4.3), its offline data authentication,
card files and their issuing, and card readers.

- :mod:`~zhifu.card.apdu`: command and response APDUs, the status-word table
- :mod:`~zhifu.card.icc`: the emulated card (:class:`~zhifu.card.icc.EmulatedCard`)
- :mod:`~zhifu.card.oda`: SDA, DDA, fDDA (RSA and SM2): certificates, signing, verifying
- :mod:`~zhifu.card.image`: the card file (:class:`~zhifu.card.image.CardImage`)
- :mod:`~zhifu.card.issuing`, :mod:`~zhifu.card.profile`, :mod:`~zhifu.card.personalise`: issuing
  a card from a profile under issuer keys
- :mod:`~zhifu.card.readers`: the in-process reader, PC/SC readers, serving a card to ``pcscd``

BER-TLV, the tag dictionary, PAN and the magnetic-stripe tracks are in :mod:`zhifu.codec`. This
package imports :mod:`zhifu.core`, :mod:`zhifu.codec` and :mod:`zhifu.crypto` only.
"""

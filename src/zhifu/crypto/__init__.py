"""Payment cryptography: block ciphers, hashes, MACs, PIN blocks, EMV/PBOC cryptograms, SM2, RSA.

Pure functions over bytes, built on ``cryptography`` (OpenSSL) and ``gmalglib`` (SM2).
"""

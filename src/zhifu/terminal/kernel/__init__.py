"""The terminal's EMV/PBOC kernel decisions, step by step, as data and pure functions.

Each step of a contact transaction after the records are read (EMV 4.3 Book 3 §10, PBOC 3.0
JR/T 0025.6) sets bits of the terminal verification results (TVR, 95) and the transaction
status information (TSI, 9B), and the last step turns them into the cryptogram the terminal asks
for (``docs/terminal.md``, "The kernel"):

* :mod:`.bits`: the TVR and TSI bit tables;
* :mod:`.restrictions`: processing restrictions (application version, usage control, dates);
* :mod:`.cvm`: cardholder verification (the CVM list 8E, the CVM results 9F34);
* :mod:`.risk`: terminal risk management (floor limit, random selection, velocity);
* :mod:`.action`: terminal action analysis (TAC/IAC denial, online, default);
* :mod:`.oda`: offline data authentication (SDA, DDA) with the CA public keys.
"""

# tiprelay: English messages, ledger.

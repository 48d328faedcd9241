# tiprelay: mensajes en español, ledger.

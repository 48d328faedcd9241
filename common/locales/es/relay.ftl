# tiprelay: mensajes en español, relay.

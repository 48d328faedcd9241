# tiprelay: mensajes en español, certs.

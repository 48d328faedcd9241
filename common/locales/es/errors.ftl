# tiprelay: mensajes en español, errors.

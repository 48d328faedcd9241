# tiprelay: mensajes en español, tipctl.

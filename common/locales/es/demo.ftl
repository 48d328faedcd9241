# tiprelay: mensajes en español, demo.

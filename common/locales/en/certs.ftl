# tiprelay: English messages, certs.

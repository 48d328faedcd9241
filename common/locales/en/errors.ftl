# tiprelay: English messages, errors.

# tiprelay: English messages, tipctl.

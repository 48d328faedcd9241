# tiprelay: English messages, relay.

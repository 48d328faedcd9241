# tiprelay: English messages, demo.

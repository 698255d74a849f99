"""Qt widgets. They observe the core and send it commands; they never do I/O themselves."""

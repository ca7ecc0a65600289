"""One module per command: each parses its flags and hands the work to the stage modules."""

"""Every `contemo` subcommand, one module each, named by its words (`data check` -> data_check).

A command module parses its options, calls the library and prints: it holds no logic
that another caller could need, and no library module imports it (tests/test_layering.py).
`contemo.cli.COMMANDS` is the table; `options` holds the option groups several commands
share (generator, scorer, figures).
"""

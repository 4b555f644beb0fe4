"""Example action packages with real work, and their configs (`jsorc_examples.config`)."""

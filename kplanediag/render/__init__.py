"""Turn one Report into text: a table for people, JSON for tools. Nothing here decides anything."""

SECTIONS = ("components", "findings", "blastRadius")

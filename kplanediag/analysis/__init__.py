"""Pure analysis of a Snapshot: classification, health rules and blast radius. No I/O here."""
